"""Data-pipeline benchmark: decoded + augmented training samples per second per worker.

Times (CPU time) each stage of ``CityscapesDataset.__getitem__`` in one process with one
thread (what one DataLoader worker does): PNG decode, label decode + train-id lookup, augmentation.
The baseline, measured in the same run on the same images, is the textbook albumentations
chain (``build_reference_train_transform``), which resizes the whole frame before cropping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from segmnv3.core.files import atomic_path
from segmnv3.data.cityscapes import find_pairs, read_image, read_mask
from segmnv3.data.config import DataConfig
from segmnv3.data.transforms import build_reference_train_transform, build_train_transform


@dataclass
class StageTimes:
    """Mean milliseconds per sample for each stage."""

    decode_image: float
    decode_label: float
    augment: float
    augment_reference: float
    image_size: tuple[int, int]
    samples: int

    @property
    def samples_per_s(self) -> float:
        return 1000.0 / (self.decode_image + self.decode_label + self.augment)

    @property
    def reference_samples_per_s(self) -> float:
        return 1000.0 / (self.decode_image + self.decode_label + self.augment_reference)


def _mean_ms(function, inputs: list, repeats: int) -> float:
    """Mean CPU milliseconds per call: process time, so other jobs on a shared machine do
    not inflate it (one thread, so it equals wall time on an idle core)."""
    function(*inputs[0])  # warm-up (allocations, lazy imports)
    start = time.process_time()
    for i in range(repeats):
        function(*inputs[i % len(inputs)])
    return (time.process_time() - start) / repeats * 1000.0


def time_stages(
    root: str | Path, cfg: DataConfig, *, split: str = "train", samples: int = 40
) -> StageTimes:
    """Per-stage timings over ``samples`` samples drawn cyclically from ``root/split``."""
    import cv2
    import torch

    cv2.setNumThreads(1)  # one DataLoader worker = one core
    torch.set_num_threads(1)
    images, labels = find_pairs(root, split)
    images, labels = images[:8], labels[:8]
    decoded = [(read_image(i), read_mask(m)) for i, m in zip(images, labels, strict=True)]
    fast, reference = build_train_transform(cfg), build_reference_train_transform(cfg)
    return StageTimes(
        decode_image=_mean_ms(read_image, [(p,) for p in images], samples),
        decode_label=_mean_ms(read_mask, [(p,) for p in labels], samples),
        augment=_mean_ms(fast, decoded, samples),
        augment_reference=_mean_ms(reference, decoded, samples),
        image_size=decoded[0][0].shape[:2],
        samples=samples,
    )


def format_table(times: StageTimes, crop: tuple[int, int]) -> str:
    height, width = times.image_size
    rows = [
        ("decode image (cv2.imread)", times.decode_image),
        ("decode label + train-id lookup", times.decode_label),
        ("augment: scale+pad+crop warp, flip, normalise", times.augment),
        ("  baseline: albumentations resize->pad->crop chain", times.augment_reference),
    ]
    lines = [
        f"{crop[0]}x{crop[1]} training crops from {width}x{height} PNGs: one worker, one thread, "
        f"{times.samples} samples per stage, CPU ms per sample"
    ]
    lines += [f"  {name:<52s} {ms:7.1f} ms" for name, ms in rows]
    ratio = times.samples_per_s / times.reference_samples_per_s
    lines.append(
        f"  => {times.samples_per_s:.2f} samples/s per worker "
        f"(baseline chain {times.reference_samples_per_s:.2f}; x{ratio:.2f})"
    )
    return "\n".join(lines)


def plot(times: StageTimes, path: str | Path) -> Path:
    """Stacked bars (ms per sample, by stage) for our pipeline and the baseline, as a PNG.

    Needs matplotlib (``segmnv3[plots]``); ``segmnv3 bench-data`` checks before calling.
    """
    from segmnv3.core.optional import pyplot

    plt = pyplot()
    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 3.0))
    names = ["one warp (ours)", "albumentations chain"]
    decode = [times.decode_image + times.decode_label] * 2
    augment = [times.augment, times.augment_reference]
    ax.barh(names, decode, color="#8da0cb", label="decode image + label")
    ax.barh(names, augment, left=decode, color="#fc8d62", label="augment")
    for y, (d, a) in enumerate(zip(decode, augment, strict=True)):
        ax.text(d + a, y, f" {1000 / (d + a):.1f} samples/s", va="center")
    ax.set_xlabel("CPU ms per training sample (one worker)")
    ax.set_xlim(0, max(d + a for d, a in zip(decode, augment, strict=True)) * 1.35)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120)
    plt.close(fig)
    return path
