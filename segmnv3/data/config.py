"""Data section of the config (owned by the data pipeline; see segmnv3/data/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class DataConfig:
    """Where the data lies and how samples are augmented (paper protocol defaults).

    Attributes:
        dataset: ``cityscapes`` (real layout at ``root``) or ``synthetic`` (the built-in
            generator's output at ``root``, generated on demand).
        root: dataset root holding ``leftImg8bit/`` and ``gtFine/``.
        train_split / val_split: split names under ``leftImg8bit/``.
        cities: optional city filter (None = all cities).
        crop_size: training crop (H, W); the paper uses 769x769.
        scale_range: random scale range for training.
        hflip: random horizontal flip for training.
        photometric: optional colour jitter for training.
        color_jitter: (brightness, contrast, saturation, hue) strengths of that jitter
            (albumentations ColorJitter: factors in [1 - s, 1 + s], hue shift in [-h, h]).
        eval_size: optional (H, W) to resize evaluation inputs to (e.g. 512x1024 for
            half-resolution evaluation); None = full resolution.
        eval_resize_mask: also resize the evaluation mask (NEAREST) to ``eval_size``. Off by
            default: the mask keeps full resolution and the evaluator upsamples the logits,
            so the score is comparable with full-resolution results.
        mean / std: ImageNet normalisation.
        num_workers: DataLoader worker processes.
    """

    dataset: Literal["cityscapes", "synthetic"] = "cityscapes"
    root: str = "datasets/cityscapes"
    train_split: str = "train"
    val_split: str = "val"
    cities: list[str] | None = None
    crop_size: tuple[int, int] = (769, 769)
    scale_range: tuple[float, float] = (0.5, 2.0)
    hflip: bool = True
    photometric: bool = False
    color_jitter: tuple[float, float, float, float] = (0.3, 0.3, 0.3, 0.05)
    eval_size: tuple[int, int] | None = None
    eval_resize_mask: bool = False
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    num_workers: int = 4
