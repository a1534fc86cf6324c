"""Paired image/mask transforms (albumentations), configured from ``DataConfig``.

Train (paper protocol): random scale 0.5-2.0, pad to the crop size (image 0, mask 255),
random crop (769x769 by default), horizontal flip, optional colour jitter, ImageNet
normalisation. Eval: normalisation at full resolution, optionally resized. Masks are
always resized with NEAREST and padded with ``IGNORE_INDEX``, so they never hold
interpolated values.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch

from segmnv3.data.config import DataConfig
from segmnv3.data.labels import IGNORE_INDEX
from segmnv3.errors import ConfigError


class PairTransform:
    """Callable ``(image RGB uint8 (H, W, 3), mask uint8 (H, W)) -> (image, mask)`` tensors.

    Returns ``image`` as float32 (3, H', W') normalised and ``mask`` as int64 (H', W').
    """

    def __init__(self, augment: A.Compose, image_only: A.Compose | None = None) -> None:
        self.augment = augment
        self.image_only = image_only  # applied to the image alone (eval resize without mask)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.augment(image=image, mask=mask)
        image, mask = out["image"], out["mask"]
        if self.image_only is not None:
            image = self.image_only(image=image)["image"]
        image_tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))  # (3, H, W)
        mask_tensor = torch.from_numpy(np.ascontiguousarray(mask)).long()  # (H, W)
        return image_tensor, mask_tensor

    def __repr__(self) -> str:
        return f"PairTransform({self.augment!r}, image_only={self.image_only!r})"


def _size(value, name: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be [H, W], got {value!r}") from None
    if height < 1 or width < 1:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return height, width


def _normalize(cfg: DataConfig) -> A.Normalize:
    return A.Normalize(mean=tuple(cfg.mean), std=tuple(cfg.std), max_pixel_value=255.0)


def build_train_transform(cfg: DataConfig) -> PairTransform:
    """Random scale -> pad -> random crop -> flip -> (jitter) -> normalise, from ``cfg``."""
    crop_h, crop_w = _size(cfg.crop_size, "data.crop_size")
    low, high = (float(s) for s in cfg.scale_range)
    if not 0 < low <= high:
        raise ConfigError(f"data.scale_range must satisfy 0 < low <= high, got {cfg.scale_range!r}")
    steps: list[A.BasicTransform] = [
        # scale_limit is relative to 1 in albumentations: (0.5, 2.0) -> (-0.5, 1.0).
        A.RandomScale(
            scale_limit=(low - 1, high - 1),
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            p=1.0,
        ),
        A.PadIfNeeded(
            min_height=crop_h,
            min_width=crop_w,
            position="top_left",  # as torchvision's reference: pad bottom/right
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            fill_mask=IGNORE_INDEX,
        ),
        A.RandomCrop(height=crop_h, width=crop_w),
    ]
    if cfg.hflip:
        steps.append(A.HorizontalFlip(p=0.5))
    if cfg.photometric:
        brightness, contrast, saturation, hue = (float(v) for v in cfg.color_jitter)
        steps.append(A.ColorJitter(brightness, contrast, saturation, hue, p=0.8))
    steps.append(_normalize(cfg))
    return PairTransform(A.Compose(steps))


def build_eval_transform(cfg: DataConfig) -> PairTransform:
    """Normalisation at full resolution, or resized to ``cfg.eval_size`` when set.

    With ``eval_size`` and ``eval_resize_mask=False`` only the image is resized; the mask
    stays at full resolution (the evaluator upsamples logits to the mask's size).
    """
    if cfg.eval_size is None:
        return PairTransform(A.Compose([_normalize(cfg)]))
    height, width = _size(cfg.eval_size, "data.eval_size")
    resize = A.Resize(
        height, width, interpolation=cv2.INTER_LINEAR, mask_interpolation=cv2.INTER_NEAREST
    )
    if cfg.eval_resize_mask:
        return PairTransform(A.Compose([resize, _normalize(cfg)]))
    return PairTransform(A.Compose([]), image_only=A.Compose([resize, _normalize(cfg)]))
