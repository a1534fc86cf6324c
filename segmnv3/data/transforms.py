"""Paired image/mask transforms (albumentations), configured from ``DataConfig``.

Train (paper protocol): random scale 0.5-2.0, pad to the crop size (image 0, mask 255),
random crop (769x769 by default), horizontal flip, optional colour jitter, ImageNet
normalisation. Eval: normalisation at full resolution, optionally resized. Masks are
always resized with NEAREST and padded with ``IGNORE_INDEX``, so they never hold
interpolated values.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import albumentations as A
import cv2
import numpy as np
import torch

from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.data.config import DataConfig


@runtime_checkable
class Seedable(Protocol):
    """A transform whose randomness a caller can seed per sample (``SeededDataset``).

    Albumentations draws from its own generators, not Python's or NumPy's global ones, so
    seeding those is not enough for reproducible crops; a transform that augments says
    how it is seeded by implementing ``seed``.
    """

    def seed(self, seed: int) -> None:
        """Make the next call's random choices a function of ``seed`` alone."""


class PairTransform:
    """Callable ``(image RGB uint8 (H, W, 3), mask uint8 (H, W)) -> (image, mask)`` tensors.

    Returns ``image`` as float32 (3, H', W') normalised and ``mask`` as int64 (H', W').
    Implements :class:`Seedable`: ``seed(n)`` seeds both albumentations pipelines.
    """

    def __init__(self, augment: A.Compose, image_only: A.Compose | None = None) -> None:
        self.augment = augment
        self.image_only = image_only  # applied to the image alone (eval resize without mask)

    def seed(self, seed: int) -> None:
        """Seed the albumentations pipelines (their generators ignore the global ones)."""
        self.augment.set_random_seed(seed)
        if self.image_only is not None:
            self.image_only.set_random_seed(seed)

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


def _normalize(cfg: DataConfig) -> A.Normalize:
    return A.Normalize(mean=tuple(cfg.mean), std=tuple(cfg.std), max_pixel_value=255.0)


class RandomScaleCrop(A.DualTransform):
    """Random scale, pad (bottom/right) and random crop, computed as one affine warp.

    Equivalent to ``RandomScale -> PadIfNeeded(top_left) -> RandomCrop`` but only the
    crop's pixels are computed: at scale 2 a 2048x1024 frame would otherwise be resized
    to 4096x2048 to keep a 769x769 window. Image: bilinear, padded with 0; mask: nearest,
    padded with ``fill_mask`` (``IGNORE_INDEX``). Both use the same half-pixel-centred map,
    so they stay aligned.
    """

    def __init__(
        self,
        height: int,
        width: int,
        scale_range=(0.5, 2.0),
        fill_mask: int = IGNORE_INDEX,
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.height, self.width = int(height), int(width)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.fill_mask = fill_mask

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        height, width = params["shape"][:2]
        scale = self.py_random.uniform(*self.scale_range)
        scaled_h, scaled_w = round(height * scale), round(width * scale)
        top = int(self.py_random.random() * max(scaled_h - self.height, 0))
        left = int(self.py_random.random() * max(scaled_w - self.width, 0))
        offset = 0.5 * scale - 0.5  # pixel centres: dst + 0.5 = scale * (src + 0.5)
        matrix = np.array([[scale, 0, offset - left], [0, scale, offset - top]], dtype=np.float64)
        # rows/columns past the scaled frame are padding (bottom/right, as PadIfNeeded top_left)
        valid = (min(self.height, scaled_h - top), min(self.width, scaled_w - left))
        return {"matrix": matrix, "valid": valid}

    def _warp(
        self, array: np.ndarray, matrix: np.ndarray, valid, interpolation: int, fill
    ) -> np.ndarray:
        # Replicate the border while warping (no dark seam where the crop touches the frame's
        # edge), then write the padding explicitly so image and mask pad the same pixels.
        size = (self.width, self.height)
        out = cv2.warpAffine(
            array, matrix, size, flags=interpolation, borderMode=cv2.BORDER_REPLICATE
        )
        out[valid[0] :] = fill
        out[:, valid[1] :] = fill
        return out

    def apply(self, img: np.ndarray, matrix: np.ndarray, valid=(0, 0), **params) -> np.ndarray:
        return self._warp(img, matrix, valid, cv2.INTER_LINEAR, 0)

    def apply_to_mask(
        self, mask: np.ndarray, matrix: np.ndarray, valid=(0, 0), **params
    ) -> np.ndarray:
        return self._warp(mask, matrix, valid, cv2.INTER_NEAREST, self.fill_mask)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("height", "width", "scale_range", "fill_mask")


def _flip_jitter_normalize(cfg: DataConfig) -> list[A.BasicTransform]:
    steps: list[A.BasicTransform] = [A.HorizontalFlip(p=0.5)] if cfg.hflip else []
    if cfg.photometric:
        brightness, contrast, saturation, hue = (float(v) for v in cfg.color_jitter)
        steps.append(A.ColorJitter(brightness, contrast, saturation, hue, p=0.8))
    return [*steps, _normalize(cfg)]


def build_train_transform(cfg: DataConfig) -> PairTransform:
    """Random scale + pad + crop (one warp) -> flip -> (jitter) -> normalise, from ``cfg``."""
    crop_h, crop_w = cfg.crop_size  # DataConfig validated the sizes and the scale range
    scale_crop = RandomScaleCrop(crop_h, crop_w, scale_range=cfg.scale_range)
    return PairTransform(A.Compose([scale_crop, *_flip_jitter_normalize(cfg)]))


def build_reference_train_transform(cfg: DataConfig) -> PairTransform:
    """The same augmentation as albumentations' textbook chain (resize the whole frame, pad,
    crop): the baseline of ``segmnv3 bench-data`` and a cross-check in the tests."""
    (crop_h, crop_w), (low, high) = cfg.crop_size, cfg.scale_range
    scale = A.RandomScale(
        scale_limit=(low - 1, high - 1),  # relative to 1: (0.5, 2.0) -> (-0.5, 1.0)
        interpolation=cv2.INTER_LINEAR,
        mask_interpolation=cv2.INTER_NEAREST,
        p=1.0,
    )
    pad = A.PadIfNeeded(
        crop_h,
        crop_w,
        position="top_left",
        border_mode=cv2.BORDER_CONSTANT,
        fill=0,
        fill_mask=IGNORE_INDEX,
    )
    steps = [scale, pad, A.RandomCrop(height=crop_h, width=crop_w)]
    return PairTransform(A.Compose([*steps, *_flip_jitter_normalize(cfg)]))


def build_eval_transform(cfg: DataConfig) -> PairTransform:
    """Normalisation at full resolution, or resized to ``cfg.eval_size`` when set.

    With ``eval_size`` and ``eval_resize_mask=False`` only the image is resized; the mask
    stays at full resolution (the evaluator upsamples logits to the mask's size).
    """
    if cfg.eval_size is None:
        return PairTransform(A.Compose([_normalize(cfg)]))
    height, width = cfg.eval_size
    resize = A.Resize(
        height, width, interpolation=cv2.INTER_LINEAR, mask_interpolation=cv2.INTER_NEAREST
    )
    if cfg.eval_resize_mask:
        return PairTransform(A.Compose([resize, _normalize(cfg)]))
    return PairTransform(A.Compose([]), image_only=A.Compose([resize, _normalize(cfg)]))
