"""Confusion matrix, IoU and mIoU computed exactly as the official Cityscapes script does.

Conventions of ``cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling`` (matched
here, and checked by ``tests/test_engine_metrics.py`` to 1e-4):

* Pixels whose ground truth is ignored (train id 255: label ids with ``ignoreInEval``)
  count nowhere: neither as false positives nor as false negatives.
* ``IoU_c = TP / (TP + FP + FN)`` over the remaining pixels.
* A class with ``TP + FP + FN == 0`` (absent from the ground truth and never predicted on
  a valid pixel) has IoU NaN and is left out of the mean; a class absent from the ground
  truth but predicted somewhere has IoU 0 and counts.
* ``mIoU`` is the mean over the non-NaN classes.

Pixel accuracy is ``correct / valid`` over non-ignored pixels. (The official script's
optional per-image accuracy mixes up its masks, so it is not used as a reference.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist

from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import UserError


@dataclass(frozen=True)
class SegmentationScores:
    """Scores derived from one confusion matrix.

    Attributes:
        iou: per-class IoU, NaN for classes with no valid pixel in GT or prediction.
        miou: mean of the non-NaN IoUs (NaN if there are none).
        pixel_accuracy: correctly labelled / valid (non-ignored) pixels.
        valid_pixels: number of non-ignored ground-truth pixels counted.
    """

    iou: tuple[float, ...]
    miou: float
    pixel_accuracy: float
    valid_pixels: int

    def to_dict(self, class_names: list[str] | tuple[str, ...]) -> dict:
        """JSON-ready dict; NaN IoUs become ``None``."""
        return {
            "miou": _none_if_nan(self.miou),
            "pixel_accuracy": _none_if_nan(self.pixel_accuracy),
            "valid_pixels": self.valid_pixels,
            "iou": {
                name: _none_if_nan(value) for name, value in zip(class_names, self.iou, strict=True)
            },
        }

    def format_table(self, class_names: list[str] | tuple[str, ...]) -> str:
        """Per-class IoU table followed by mIoU and pixel accuracy, as printed by ``eval``."""
        lines = [f"{'class':<15}{'IoU':>8}", "-" * 23]
        for name, value in zip(class_names, self.iou, strict=True):
            shown = "   n/a" if math.isnan(value) else f"{100 * value:6.2f}"
            lines.append(f"{name:<15}{shown:>8}")
        lines.append("-" * 23)
        lines.append(f"{'mIoU':<15}{100 * self.miou:8.2f}")
        lines.append(f"{'pixel accuracy':<15}{100 * self.pixel_accuracy:8.2f}")
        return "\n".join(lines)


class ConfusionMatrix:
    """Accumulates a (num_classes, num_classes) matrix of (ground truth, prediction) counts.

    The matrix lives on ``device`` and is updated with one ``bincount``, so evaluation
    never copies masks to the host. Rows are ground truth, columns predictions.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        device: torch.device | str = "cpu",
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def update(self, target: torch.Tensor, prediction: torch.Tensor) -> None:
        """Add a batch.

        Args:
            target: (B, H, W) or (H, W) integer train ids, ``ignore_index`` for void.
            prediction: same shape, integer class ids in ``[0, num_classes)``.
        """
        if target.shape != prediction.shape:
            raise ValueError(
                f"target {tuple(target.shape)} != prediction {tuple(prediction.shape)}"
            )
        target = target.reshape(-1).to(torch.int64)
        prediction = prediction.reshape(-1).to(torch.int64)
        valid = target != self.ignore_index
        target, prediction = target[valid], prediction[valid]
        count = self.num_classes
        if target.numel() and (target.min() < 0 or target.max() >= count):
            raise UserError(_labels_out_of_range(target, count, self.ignore_index))
        index = target * count + prediction
        if index.numel() and (index.min() < 0 or index.max() >= count * count):
            raise ValueError(f"predictions outside 0..{count - 1} reached the metric")
        self.matrix += torch.bincount(index, minlength=count * count).reshape(count, count)

    def all_reduce(self) -> None:
        """Sum the matrix over all ranks (no-op outside ``torch.distributed``)."""
        all_reduce_sum(self.matrix)

    def reset(self) -> None:
        self.matrix.zero_()

    def compute(self) -> SegmentationScores:
        """IoU per class, mIoU and pixel accuracy (official Cityscapes conventions)."""
        return scores_from_matrix(self.matrix)


def scores_from_matrix(matrix: torch.Tensor) -> SegmentationScores:
    """Scores of a (C, C) confusion matrix of counts (rows ground truth, columns prediction)."""
    matrix = matrix.detach().to("cpu", torch.float64)
    true_positive = matrix.diagonal()
    union = matrix.sum(0) + matrix.sum(1) - true_positive  # TP + FP + FN
    iou = torch.where(union > 0, true_positive / union.clamp(min=1), torch.nan)
    present = ~torch.isnan(iou)
    miou = float(iou[present].mean()) if present.any() else math.nan
    valid = float(matrix.sum())
    accuracy = float(true_positive.sum()) / valid if valid else math.nan
    return SegmentationScores(
        iou=tuple(float(v) for v in iou),
        miou=miou,
        pixel_accuracy=accuracy,
        valid_pixels=int(valid),
    )


def check_train_ids(
    masks: torch.Tensor, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> None:
    """UserError naming both numbers when ``masks`` hold ids outside ``0..num_classes - 1``.

    ``ignore_index`` pixels are allowed. Call it on a CPU batch (the first one of a run):
    on CUDA an out-of-range target is a device-side assert, not a readable error.
    """
    flat = masks.reshape(-1)
    outside = (flat >= num_classes) | (flat < 0)
    if bool((outside & (flat != ignore_index)).any()):
        raise UserError(_labels_out_of_range(flat[flat != ignore_index], num_classes, ignore_index))


def _labels_out_of_range(target: torch.Tensor, num_classes: int, ignore_index: int) -> str:
    outside = target[(target < 0) | (target >= num_classes)].unique()
    found = [int(v) for v in outside[:8]]
    head = (
        f"the ground truth holds class ids {found} but the model has num_classes={num_classes} "
        f"(ids 0..{num_classes - 1}, {ignore_index} = ignore)"
    )
    return (
        f"{head}; the masks must hold train ids, not label ids (their label set maps stored "
        "values to train ids), and model.num_classes must be the label set's class count"
    )


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """In-place sum over ranks when a process group is running; returns ``tensor``."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value
