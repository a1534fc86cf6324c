"""Data-pipeline benchmark: decoded + augmented training samples per second per worker.

Times (CPU time) each stage of a training sample in one process with one thread (what one
DataLoader worker does), for every read path in the same run, interleaved round by round
so that load from other jobs falls on all paths alike:

- ``PNG``: cv2.imread of the image, label decode + train-id lookup, augmentation (one
  scale+pad+crop warp, flip, normalise);
- ``PNG, albumentations chain``: the same decodes with the textbook resize -> pad -> crop
  chain (``build_reference_train_transform``), the baseline of the one-warp augmentation;
- ``cache``: the frame cache's memory maps (``segmnv3.data.cache``), whose pages are read
  while the warp touches them (counted in the augmentation), then the same augmentation;
- ``cache, normalise on device``: the same without the float conversion and normalisation
  (``data.normalize_on_device``: the GPU does them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from segmnv3.data.cache import CacheEntry, entry_for, write_entry
from segmnv3.data.config import DataConfig
from segmnv3.data.dataset import read_pair_mask
from segmnv3.data.decode import read_image
from segmnv3.data.device_normalize import build_uint8_train_transform
from segmnv3.data.layout import Pair
from segmnv3.data.layouts import open_layout
from segmnv3.data.transforms import build_reference_train_transform, build_train_transform

FRAMES = 8  # distinct frames the benchmark cycles through


@dataclass
class PathTimes:
    """Mean CPU milliseconds per sample for each stage of one read path."""

    name: str
    stages: dict[str, float]

    @property
    def total_ms(self) -> float:
        return sum(self.stages.values())

    @property
    def samples_per_s(self) -> float:
        return 1000.0 / self.total_ms


@dataclass
class StageTimes:
    """Per-stage timings of every read path, measured in one run."""

    paths: list[PathTimes]
    image_size: tuple[int, int]
    samples: int
    cache_bytes_per_pair: int
    load_average: tuple[float, float, float] = field(default_factory=os.getloadavg)

    def path(self, name: str) -> PathTimes:
        return next(p for p in self.paths if p.name == name)


def _interleaved_ms(stages: dict[str, Callable[[int], object]], samples: int, rounds: int = 4):
    """Mean CPU ms per call of each stage, running the stages in turn, ``rounds`` times.

    Process time, so other jobs on a shared machine do not inflate it (one thread, so it
    equals wall time on an idle core); page faults served from the page cache count.
    """
    for function in stages.values():
        function(0)  # warm-up (allocations, lazy imports)
    totals = dict.fromkeys(stages, 0.0)
    per_round = max(1, samples // rounds)
    for round_index in range(rounds):
        for name, function in stages.items():
            start = time.process_time()
            for i in range(round_index * per_round, (round_index + 1) * per_round):
                function(i)
            totals[name] += time.process_time() - start
    return {name: total / (per_round * rounds) * 1000.0 for name, total in totals.items()}


def bench_frames(
    root: str | Path, split: str, cache_dir: Path
) -> tuple[list[Pair], list[CacheEntry]]:
    """The first pairs of ``root/split`` (any layout) and their cache entries, written to
    ``cache_dir`` (no manifest: the benchmark's private copy, whatever the root's own
    cache holds)."""
    pairs = open_layout(root).pairs(split)[:FRAMES]
    entries = [entry_for(cache_dir, split, pair) for pair in pairs]
    for job in zip(pairs, entries, strict=True):
        write_entry(job)
    return pairs, entries


def _seeded(transform, inputs: Callable[[int], tuple]) -> Callable[[int], object]:
    def run(i: int):
        transform.seed(i)  # the same crops on every path
        return transform(*inputs(i))

    return run


def _stage_functions(pairs: list[Pair], entries: list[CacheEntry], cfg: DataConfig) -> dict:
    count = len(pairs)
    decoded = [(read_image(pair.image), read_pair_mask(pair)) for pair in pairs]
    fast, reference = build_train_transform(cfg), build_reference_train_transform(cfg)
    uint8 = build_uint8_train_transform(cfg)
    return {
        "png image": lambda i: read_image(pairs[i % count].image),
        "png label": lambda i: read_pair_mask(pairs[i % count]),
        "augment": _seeded(fast, lambda i: decoded[i % count]),
        "augment reference": _seeded(reference, lambda i: decoded[i % count]),
        "open maps": lambda i: entries[i % count].load(),
        "open + augment": _seeded(fast, lambda i: entries[i % count].load()),
        "open + augment uint8": _seeded(uint8, lambda i: entries[i % count].load()),
    }


def time_stages(
    pairs: list[Pair],
    entries: list[CacheEntry],
    cfg: DataConfig,
    *,
    samples: int = 40,
) -> StageTimes:
    """Per-stage timings of every read path over ``samples`` samples of these frames."""
    import cv2
    import torch

    cv2.setNumThreads(1)  # one DataLoader worker = one core
    torch.set_num_threads(1)
    ms = _interleaved_ms(_stage_functions(pairs, entries, cfg), samples)
    pair_bytes = entries[0].image.stat().st_size + entries[0].mask.stat().st_size
    height, width = entries[0].load()[1].shape
    decode = {
        "decode image (cv2.imread)": ms["png image"],
        "decode label + lookup": ms["png label"],
    }
    opened = {"open cached arrays (memory maps)": ms["open maps"]}
    paths = [
        PathTimes("PNG", {**decode, "augment: warp, flip, normalise": ms["augment"]}),
        PathTimes(
            "PNG, albumentations chain",
            {**decode, "augment: resize->pad->crop chain": ms["augment reference"]},
        ),
        PathTimes(
            "cache",
            {**opened, "augment, reading the crop's pages": ms["open + augment"] - ms["open maps"]},
        ),
        PathTimes(
            "cache, normalise on device",
            {**opened, "augment, uint8 out": ms["open + augment uint8"] - ms["open maps"]},
        ),
    ]
    return StageTimes(paths, (height, width), samples, pair_bytes)


def format_table(times: StageTimes, crop: tuple[int, int]) -> str:
    """The per-stage table, samples/s per worker of each path and the cache's disk cost."""
    height, width = times.image_size
    load = ", ".join(f"{v:.2f}" for v in times.load_average)
    lines = [
        f"{crop[0]}x{crop[1]} training crops from {width}x{height} PNGs: one worker, one thread, "
        f"{times.samples} samples per stage, CPU ms per sample (load average {load})"
    ]
    baseline = times.path("PNG").samples_per_s
    for path in times.paths:
        lines.append(f"  {path.name}")
        lines += [f"    {stage:<50s} {ms:7.1f} ms" for stage, ms in path.stages.items()]
        lines.append(
            f"    => {path.samples_per_s:.1f} samples/s per worker "
            f"(x{path.samples_per_s / baseline:.2f} the PNG path)"
        )
    full_train = times.cache_bytes_per_pair * 2975 * (1024 * 2048) / (height * width)
    lines.append(
        f"  cache on disk: {times.cache_bytes_per_pair / 1e6:.2f} MB per pair here; "
        f"full Cityscapes train (2975 pairs at 2048x1024): {full_train / 1e9:.1f} GB"
    )
    return "\n".join(lines)
