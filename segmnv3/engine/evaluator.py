"""Evaluation: (multi-scale, flipped) inference and the device-side confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from segmnv3.data.metrics import ConfusionMatrix, SegmentationScores


def autocast_context(device: torch.device, amp: str):
    """``torch.autocast`` for CUDA with ``bf16``/``fp16``; a no-op on CPU or with ``none``."""
    if device.type != "cuda" or amp == "none":
        return nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@torch.no_grad()
def predict_probabilities(
    model: nn.Module,
    images: torch.Tensor,
    *,
    scales: Sequence[float] = (1.0,),
    flip: bool = False,
) -> torch.Tensor:
    """Class probabilities at the input's resolution, averaged over scales and flips.

    Args:
        model: maps (B, 3, h, w) to logits (B, C, h, w).
        images: (B, 3, H, W) normalised images.
        scales: the input is resized by each factor (0.5 = half-resolution input); the
            logits are upsampled back to (H, W) before the softmax.
        flip: also run the horizontally mirrored input and un-mirror its output.

    Returns:
        (B, C, H, W) float32 probabilities.
    """
    height, width = images.shape[-2:]
    total = None
    for scale in scales:
        size = (round(height * scale), round(width * scale))
        if size != (height, width):  # the models need at least 32x32 inputs
            size = (max(32, size[0]), max(32, size[1]))
        scaled = images if size == (height, width) else _resize(images, size)
        views = [scaled, scaled.flip(-1)] if flip else [scaled]
        for index, view in enumerate(views):
            logits = model(view).float()  # (B, C, h, w)
            if index == 1:
                logits = logits.flip(-1)
            if logits.shape[-2:] != (height, width):
                logits = _resize(logits, (height, width))
            probabilities = logits.softmax(dim=1)  # (B, C, H, W)
            total = probabilities if total is None else total + probabilities
    return total / (len(scales) * (2 if flip else 1))


def _resize(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    num_classes: int,
    device: torch.device,
    scales: Sequence[float] = (1.0,),
    flip: bool = False,
    amp: str = "none",
    channels_last: bool = False,
    progress: bool = True,
    on_batch: Callable[[int, torch.Tensor], None] | None = None,
) -> SegmentationScores:
    """mIoU of ``model`` over ``loader`` (summed over ranks when distributed).

    Args:
        model: segmentation model; put in eval mode here (train mode is restored by
            the caller if needed).
        loader: yields (images (B, 3, H, W), masks (B, H, W) train ids / 255).
        num_classes: number of train ids.
        device: where inference and the confusion matrix live.
        scales / flip: test-time augmentation, see :func:`predict_probabilities`.
        amp: ``bf16``/``fp16`` autocast on CUDA, ``none`` otherwise.
        channels_last: feed NHWC inputs (CUDA speed-up).
        progress: show a tqdm bar.
        on_batch: called with (batch index, predictions (B, H, W) int64 on the device),
            e.g. to write prediction images.

    Returns:
        The scores of the confusion matrix accumulated over all batches and ranks.
    """
    model.eval()
    matrix = ConfusionMatrix(num_classes, device=device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for index, (images, masks) in enumerate(tqdm(loader, desc="eval", disable=not progress)):
        images = images.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        masks = masks.to(device, non_blocking=True)  # (B, H, W)
        with autocast_context(device, amp):
            probabilities = predict_probabilities(model, images, scales=scales, flip=flip)
        predictions = probabilities.argmax(dim=1)  # (B, H, W)
        matrix.update(masks, predictions)
        if on_batch is not None:
            on_batch(index, predictions)
    matrix.all_reduce()
    return matrix.compute()
