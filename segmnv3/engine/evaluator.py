"""Evaluation: (multi-scale, flipped) inference and the device-side confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext

import torch
from torch import nn
from tqdm import tqdm

from segmnv3.core.contract import MIN_INPUT_SIZE
from segmnv3.data.metrics import ConfusionMatrix, SegmentationScores
from segmnv3.models.layers import resize


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
    size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Class probabilities at ``size`` (default: the input's), averaged over scales and flips.

    Args:
        model: maps (B, 3, h, w) to logits (B, C, h, w).
        images: (B, 3, H, W) normalised images.
        scales: the input is resized by each factor (0.5 = half-resolution input); the
            logits are upsampled back to (H, W) before the softmax.
        flip: also run the horizontally mirrored input and un-mirror its output.
        size: (H_out, W_out) of the result, e.g. the mask's when ``data.eval_size`` shrank
            the image but not the mask; the logits are resized there before the softmax.

    Returns:
        (B, C, H_out, W_out) float32 probabilities.
    """
    height, width = images.shape[-2:]
    out_size = (height, width) if size is None else tuple(size)
    total = None
    for scale in scales:
        scaled_size = (round(height * scale), round(width * scale))
        if scaled_size != (height, width):  # the models need inputs of MIN_INPUT_SIZE
            scaled_size = tuple(max(MIN_INPUT_SIZE, side) for side in scaled_size)
        scaled = images if scaled_size == (height, width) else resize(images, scaled_size)
        views = [scaled, scaled.flip(-1)] if flip else [scaled]
        for index, view in enumerate(views):
            logits = model(view).float()  # (B, C, h, w)
            if index == 1:
                logits = logits.flip(-1)
            if logits.shape[-2:] != out_size:
                logits = resize(logits, out_size)
            probabilities = logits.softmax(dim=1)  # (B, C, H_out, W_out)
            total = probabilities if total is None else total + probabilities
    return total / (len(scales) * (2 if flip else 1))


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
    across_ranks: bool = True,
) -> SegmentationScores:
    """mIoU of ``model`` over ``loader`` (summed over ranks when distributed).

    Args:
        model: segmentation model; put in eval mode here (train mode is restored by
            the caller if needed).
        loader: yields (images (B, 3, h, w), masks (B, H, W) train ids / 255); the mask may
            be larger than the image (``data.eval_size`` without ``eval_resize_mask``):
            predictions are made at the mask's size.
        num_classes: number of train ids.
        device: where inference and the confusion matrix live.
        scales / flip: test-time augmentation, see :func:`predict_probabilities`.
        amp: ``bf16``/``fp16`` autocast on CUDA, ``none`` otherwise.
        channels_last: feed NHWC inputs (CUDA speed-up).
        progress: show a tqdm bar.
        on_batch: called with (batch index, predictions (B, H, W) int64 on the device),
            e.g. to write prediction images.
        across_ranks: sum the confusion matrix over the ranks of ``torch.distributed``
            (every rank evaluates a share of one model); False when each rank scores a
            model of its own (``segmnv3 adapt``'s proposals).

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
            probabilities = predict_probabilities(
                model, images, scales=scales, flip=flip, size=tuple(masks.shape[-2:])
            )
        predictions = probabilities.argmax(dim=1)  # (B, H, W)
        matrix.update(masks, predictions)
        if on_batch is not None:
            on_batch(index, predictions)
    if across_ranks:
        matrix.all_reduce()
    return matrix.compute()
