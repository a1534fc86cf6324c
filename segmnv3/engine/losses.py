"""Training losses: cross-entropy (the paper's), OHEM cross-entropy, optional Lovasz term."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import ConfigError
from segmnv3.core.optional import require
from segmnv3.engine.config import TrainConfig


class OhemCrossEntropy(nn.Module):
    """Cross-entropy over the hard pixels only (online hard example mining).

    A pixel is hard when the probability of its true class is below ``threshold``.
    At least ``min_kept`` pixels (the ones with the highest loss) are always kept, so
    the loss does not vanish once most pixels are easy. Ignored pixels never count.

    Args:
        threshold: probability under which a pixel is hard (0.7 is the common choice).
        min_kept: minimum number of pixels kept per batch.
        weight: optional (C,) class weights; the result is the weighted mean over kept
            pixels, like ``F.cross_entropy``'s weighted mean.
        ignore_index: label of void pixels.
    """

    def __init__(
        self,
        threshold: float = 0.7,
        min_kept: int = 100_000,
        weight: torch.Tensor | None = None,
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        super().__init__()
        self.loss_threshold = -math.log(threshold)  # p < threshold  <=>  loss > -log(threshold)
        self.min_kept = min_kept
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """logits (B, C, H, W), target (B, H, W) int64 -> scalar loss."""
        pixel_loss = F.cross_entropy(
            logits, target, ignore_index=self.ignore_index, reduction="none"
        ).reshape(-1)  # (B*H*W,)
        valid = target.reshape(-1) != self.ignore_index
        pixel_loss = pixel_loss[valid]
        if pixel_loss.numel() == 0:
            return logits.sum() * 0.0  # keeps the graph (DDP needs every grad)
        weights = (
            self.weight[target.reshape(-1)[valid]]
            if self.weight is not None
            else torch.ones_like(pixel_loss)
        )
        keep = pixel_loss > self.loss_threshold
        wanted = min(self.min_kept, pixel_loss.numel())
        if int(keep.sum()) < wanted:
            hardest = pixel_loss.topk(wanted).indices
            keep = torch.zeros_like(keep)
            keep[hardest] = True
        return (pixel_loss[keep] * weights[keep]).sum() / weights[keep].sum()


class SegmentationLoss(nn.Module):
    """Main loss (CE or OHEM) plus an optional weighted Lovasz-softmax term."""

    def __init__(self, main: nn.Module, lovasz: nn.Module | None, lovasz_weight: float) -> None:
        super().__init__()
        self.main = main
        self.lovasz = lovasz
        self.lovasz_weight = lovasz_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """logits (B, C, H, W) (any float dtype), target (B, H, W) int64 -> float32 scalar."""
        logits = logits.float()  # losses in fp32 even under autocast
        loss = self.main(logits, target)
        if self.lovasz is not None:
            loss = loss + self.lovasz_weight * self.lovasz(logits, target)
        return loss


def build_loss(config: TrainConfig, num_classes: int) -> SegmentationLoss:
    """The loss named by ``train.loss`` (+ ``train.lovasz_weight`` x Lovasz when > 0)."""
    weight = None
    if config.class_weights is not None:
        if len(config.class_weights) != num_classes:
            raise ConfigError(
                f"train.class_weights has {len(config.class_weights)} values; "
                f"model.num_classes is {num_classes}"
            )
        weight = torch.tensor(config.class_weights, dtype=torch.float32)
    if config.loss == "ohem":
        main: nn.Module = OhemCrossEntropy(config.ohem_threshold, config.ohem_min_kept, weight)
    else:
        main = nn.CrossEntropyLoss(weight=weight, ignore_index=IGNORE_INDEX)
    lovasz = None
    if config.lovasz_weight > 0:
        losses = require(
            "segmentation_models_pytorch.losses",
            package="segmentation-models-pytorch",
            feature="the Lovasz loss term (train.lovasz_weight > 0; set it to 0 to train without)",
        )
        lovasz = losses.LovaszLoss(mode="multiclass", ignore_index=IGNORE_INDEX)
    return SegmentationLoss(main, lovasz, config.lovasz_weight)
