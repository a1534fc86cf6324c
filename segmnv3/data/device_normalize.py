"""Training batches that leave the loader as uint8 and are normalised on the device.

With the frame cache a loader worker spends more time turning a 769x769 crop into a
normalised float32 CHW tensor (and shipping 4x the bytes to the main process) than on
reading and warping it. :class:`Uint8PairTransform` stops after the uint8 augmentation
(warp, flip, optional jitter) and returns ``(H, W, 3)`` / ``(H, W)`` uint8 tensors;
:meth:`Uint8PairTransform.finish_batch` moves a collated batch to the device, where
``permute`` gives a channels_last ``(B, 3, H, W)`` view for free and the conversion to
float and the normalisation cost microseconds on a GPU.

The result equals the CPU path (``build_train_transform``) to float32 rounding (< 1e-5);
the uint8 crops themselves are identical for the same seed.
"""

from __future__ import annotations

import albumentations as A
import numpy as np
import torch

from segmnv3.data.config import DataConfig
from segmnv3.data.transforms import PairTransform, RandomScaleCrop


class Uint8PairTransform(PairTransform):
    """The training augmentation without normalisation: uint8 ``(H, W, 3)``, ``(H, W)`` out.

    Args:
        augment: the uint8 augmentation (scale-crop warp, flip, optional jitter).
        mean / std: per-channel normalisation of [0, 1] RGB, applied by ``finish_batch``.
    """

    def __init__(self, augment: A.Compose, mean, std) -> None:
        super().__init__(augment)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.augment(image=image, mask=mask)
        image_tensor = torch.from_numpy(np.ascontiguousarray(out["image"]))  # (H, W, 3) uint8
        mask_tensor = torch.from_numpy(np.ascontiguousarray(out["mask"]))  # (H, W) uint8
        return image_tensor, mask_tensor

    def finish_batch(
        self, images: torch.Tensor, masks: torch.Tensor, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 ``(B, H, W, 3)`` / ``(B, H, W)`` -> normalised float32 ``(B, 3, H, W)``
        (channels_last memory) and int64 ``(B, H, W)`` on ``device``."""
        images = images.to(device, non_blocking=True).permute(0, 3, 1, 2)  # (B, 3, H, W) NHWC
        masks = masks.to(device, non_blocking=True).long()  # (B, H, W)
        mean = torch.tensor(self.mean, device=device).view(1, 3, 1, 1) * 255.0
        scale = 1.0 / (torch.tensor(self.std, device=device).view(1, 3, 1, 1) * 255.0)
        return (images.float() - mean) * scale, masks

    def __repr__(self) -> str:
        return f"Uint8PairTransform({self.augment!r}, mean={self.mean}, std={self.std})"


def build_uint8_train_transform(cfg: DataConfig) -> Uint8PairTransform:
    """``build_train_transform`` minus the normalisation, which ``finish_batch`` does."""
    crop_h, crop_w = cfg.crop_size
    steps: list[A.BasicTransform] = [RandomScaleCrop(crop_h, crop_w, scale_range=cfg.scale_range)]
    if cfg.hflip:
        steps.append(A.HorizontalFlip(p=0.5))
    if cfg.photometric:
        brightness, contrast, saturation, hue = (float(v) for v in cfg.color_jitter)
        steps.append(A.ColorJitter(brightness, contrast, saturation, hue, p=0.8))
    return Uint8PairTransform(A.Compose(steps), cfg.mean, cfg.std)
