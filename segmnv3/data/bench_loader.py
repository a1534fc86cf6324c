"""Loader scaling: samples/s of a real DataLoader with 1, 2, ... workers, per read path.

Wall-clock rate of training samples out of ``torch.utils.data.DataLoader`` (batches of
4, each worker one thread), after the first batch (worker start-up) and including the
transfer of the tensors to the main process. The read paths run in turn for each worker
count, in ``rounds`` passes, so that load from other jobs falls on all of them alike.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from segmnv3.core.files import atomic_path
from segmnv3.data.cache import CacheEntry
from segmnv3.data.config import DataConfig
from segmnv3.data.dataset import FileReader
from segmnv3.data.device_normalize import build_uint8_train_transform
from segmnv3.data.layout import Pair
from segmnv3.data.transforms import build_train_transform

PATHS = ("PNG", "cache", "cache, normalise on device")


class _Frames(Dataset):
    """``samples`` seeded training samples cycling over a few frames, PNG or cached."""

    def __init__(self, pairs, entries, transform, samples: int) -> None:
        self.files, self.entries, self.frames = FileReader(pairs), entries, len(pairs)
        self.transform, self.samples = transform, samples

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int):
        frame = index % self.frames
        pair = self.files(frame) if self.entries is None else self.entries[frame].load()
        self.transform.seed(index)
        return self.transform(*pair)


def _one_thread(_worker: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _rate(dataset: Dataset, workers: int) -> float:
    loader = DataLoader(dataset, batch_size=4, num_workers=workers, worker_init_fn=_one_thread)
    iterator = iter(loader)
    first = next(iterator)
    start, count = time.perf_counter(), 0
    for images, _ in iterator:
        count += len(images)
    del first
    return count / (time.perf_counter() - start)


@dataclass
class LoaderRates:
    """samples/s per read path and worker count (wall clock)."""

    rates: dict[str, dict[int, float]]
    load_average: tuple[float, float, float] = field(default_factory=os.getloadavg)


def loader_rates(
    pairs: list[Pair],
    entries: list[CacheEntry],
    cfg: DataConfig,
    *,
    workers: list[int],
    samples: int = 48,
    rounds: int = 2,
) -> LoaderRates:
    """Mean samples/s of each path in :data:`PATHS` with each worker count."""
    float_transform, uint8_transform = build_train_transform(cfg), build_uint8_train_transform(cfg)
    sources = {
        "PNG": (None, float_transform),
        "cache": (entries, float_transform),
        "cache, normalise on device": (entries, uint8_transform),
    }
    rates: dict[str, dict[int, float]] = {name: dict.fromkeys(workers, 0.0) for name in PATHS}
    for _ in range(rounds):
        for count in workers:
            for name, (cached, transform) in sources.items():
                dataset = _Frames(pairs, cached, transform, samples * max(1, count))
                rates[name][count] += _rate(dataset, count) / rounds
    return LoaderRates(rates)


def format_rates(result: LoaderRates) -> str:
    """One line per path: samples/s with each worker count."""
    load = ", ".join(f"{v:.2f}" for v in result.load_average)
    lines = [f"DataLoader samples/s by workers (wall clock, load average {load}):"]
    for name, by_workers in result.rates.items():
        shown = ", ".join(f"{n} worker{'s' * (n > 1)}: {r:6.1f}" for n, r in by_workers.items())
        lines.append(f"  {name:<28s} {shown}")
    return "\n".join(lines)


def plot(times, result: LoaderRates | None, path: str | Path) -> Path:
    """Stacked ms-per-stage bars of every path and, with ``result``, samples/s by workers.

    Needs matplotlib (``segmnv3[plots]``); ``segmnv3 bench-data`` checks before calling.
    """
    from segmnv3.core.optional import pyplot

    plt = pyplot()
    path = Path(path)
    fig, axes = plt.subplots(1, 2 if result else 1, figsize=(12 if result else 7, 3.4))
    stages_axis = axes[0] if result else axes
    for row, times_path in enumerate(times.paths):
        left = 0.0
        for stage, ms in times_path.stages.items():
            stages_axis.barh(row, ms, left=left, color=_stage_colour(stage))
            left += ms
        stages_axis.text(left, row, f" {times_path.samples_per_s:.0f}/s", va="center")
    stages_axis.set_yticks(range(len(times.paths)), [p.name for p in times.paths])
    stages_axis.invert_yaxis()
    stages_axis.set_xlabel("CPU ms per sample, one worker (blue: decode/read, orange: augment)")
    if result:
        for name, by_workers in result.rates.items():
            axes[1].plot(list(by_workers), list(by_workers.values()), marker="o", label=name)
        axes[1].set_xticks(list(next(iter(result.rates.values()))))
        axes[1].set_xlabel("DataLoader workers")
        axes[1].set_ylabel("samples/s (wall clock)")
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120)
    plt.close(fig)
    return path


def _stage_colour(stage: str) -> str:
    return "#fc8d62" if stage.startswith("augment") else "#8da0cb"
