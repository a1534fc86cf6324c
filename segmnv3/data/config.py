"""Data section of the config (owned by the data pipeline; see segmnv3/data/), validated once."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Literal

from segmnv3.core.contract import IMAGENET_MEAN, IMAGENET_STD, MIN_INPUT_SIZE
from segmnv3.core.errors import ConfigError
from segmnv3.core.image_header import LIMIT_VARIABLE, max_image_pixels

Dataset = Literal["cityscapes", "synthetic", "folder"]


@dataclass
class DataConfig:
    """Where the data lies and how samples are augmented (paper protocol defaults).

    Attributes:
        dataset: ``cityscapes`` (real layout at ``root``), ``synthetic`` (the built-in
            generator's output at ``root``, generated on demand) or ``folder`` (your own
            data: ``root/labels.yaml``, ``root/images/<split>/``, ``root/masks/<split>/``;
            datasets/README.md).
        root: dataset root (``leftImg8bit/`` and ``gtFine/``, or a folder dataset).
        labels: the label set: a preset name (``cityscapes-labelids``,
            ``cityscapes-trainids``) or a path to a labels file (relative to ``root``);
            None = the layout's own (``root/labels.yaml``, or Cityscapes' 19 classes).
        train_split / val_split: split names (folders under ``leftImg8bit/`` or ``images/``).
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
        mean / std: per-channel normalisation of [0, 1] RGB (default: the contract's ImageNet
            values); stored in every checkpoint, so inference normalises the same way.
        num_workers: DataLoader worker processes.
        cache: read decoded frames from the frame cache (``segmnv3 prepare --cache``) where
            it holds them, instead of decoding PNGs (~40 ms each); frames it lacks are read
            from PNG with a warning, so the cache is never required.
        cache_dir: where the frame cache lies; None = ``<root>/.segmnv3_cache``.
        normalize_on_device: training batches leave the loader as uint8 and are converted
            to float, normalised and made channels_last on the training device
            (``segmnv3.data.device_normalize``): about half a worker's time per sample with
            the cache. Same values as the CPU path; evaluation is unchanged.

    Raises:
        ConfigError: on construction, naming the key and what is allowed.
    """

    dataset: Dataset = "cityscapes"
    root: str = "datasets/cityscapes"
    labels: str | None = None
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
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    num_workers: int = 4
    cache: bool = False
    cache_dir: str | None = None
    normalize_on_device: bool = False

    def __post_init__(self) -> None:
        if self.dataset not in typing.get_args(Dataset):
            allowed = list(typing.get_args(Dataset))
            raise ConfigError(f"data.dataset={self.dataset!r} is not one of {allowed}")
        _check_size("crop_size", self.crop_size)
        if self.eval_size is not None:
            _check_size("eval_size", self.eval_size)
        low, high = _numbers("scale_range", self.scale_range, 2)
        if not 0 < low <= high:
            raise ConfigError(
                f"data.scale_range must satisfy 0 < low <= high, got {self.scale_range!r}"
            )
        jitter = _numbers("color_jitter", self.color_jitter, 4)
        if min(jitter) < 0 or jitter[3] > 0.5:
            raise ConfigError(
                "data.color_jitter must be (brightness, contrast, saturation, hue) >= 0 with "
                f"hue <= 0.5, got {self.color_jitter!r}"
            )
        _numbers("mean", self.mean, 3)
        if min(_numbers("std", self.std, 3)) <= 0:
            raise ConfigError(f"data.std must be 3 positive numbers, got {self.std!r}")
        if isinstance(self.num_workers, bool) or self.num_workers < 0:
            raise ConfigError(f"data.num_workers must be an integer >= 0, got {self.num_workers!r}")


def _check_size(name: str, value: Any) -> tuple[int, int]:
    """(H, W) with both sides >= MIN_INPUT_SIZE, or ConfigError naming ``data.<name>``."""
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError):
        height = width = None
    if height is None or min(height, width) < MIN_INPUT_SIZE:
        raise ConfigError(
            f"data.{name} must be [H, W] with both >= {MIN_INPUT_SIZE} (the network's total "
            f"stride), got {value!r}"
        )
    limit = max_image_pixels()
    if height * width > limit:
        raise ConfigError(
            f"data.{name} {height}x{width} is {height * width / 1e6:.0f} MP, above the "
            f"{limit / 1e6:.0f} MP image limit ({LIMIT_VARIABLE}): its tensors would not fit "
            "in memory; use a size like the paper's [769, 769]"
        )
    return height, width


def _numbers(name: str, value: Any, count: int) -> tuple[float, ...]:
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != count:
        raise ConfigError(f"data.{name} must be {count} numbers, got {value!r}")
    return numbers
