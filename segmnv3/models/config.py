"""Model section of the config: the arguments of ``segmnv3.build_model``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class ModelConfig:
    """Defaults are paper Table 7 row 8: V3-Large, RF2, LR-ASPP, F=128, OS 16.

    Attributes:
        backbone: ``mobilenet_v3_large``, ``mobilenet_v3_small`` or ``mobilenet_v2``.
        head: ``lraspp`` (the paper's Lite R-ASPP) or ``raspp`` (MobileNetV2 paper's R-ASPP).
        num_classes: 19 Cityscapes train ids.
        output_stride: 16 (atrous last stage) or 32 (plain network).
        rf2: halve the filters of the last stage (the paper's "RF2").
        head_channels: F, the head's filter count (128 or 256 in the paper).
        width_mult: channel multiplier of the backbone.
        pooling: LR-ASPP gate pooling: ``paper`` (large kernel, large stride) or ``global``.
        gate: LR-ASPP gate activation, ``hard_sigmoid`` (paper) or ``sigmoid``.
        pool_kernel: gate pooling kernel in feature pixels; None = crop feature size
            (49x49 at OS 16, 25x25 at OS 32 for 769x769 crops). Clamped to the map size.
        pool_stride: gate pooling stride; None = (16, 20) at OS 16, (4, 5) at OS 32.
        preset: ``torchvision`` reproduces torchvision's ``lraspp_mobilenet_v3_large``.
        pretrained_backbone: path of a torchvision ImageNet state-dict file to
            initialise the backbone from (None = from scratch, as in the paper).
    """

    backbone: Literal["mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2"] = (
        "mobilenet_v3_large"
    )
    head: Literal["lraspp", "raspp"] = "lraspp"
    num_classes: int = 19
    output_stride: int = 16
    rf2: bool = True
    head_channels: int = 128
    width_mult: float = 1.0
    pooling: Literal["paper", "global"] = "paper"
    gate: Literal["hard_sigmoid", "sigmoid"] = "hard_sigmoid"
    pool_kernel: tuple[int, int] | None = None
    pool_stride: tuple[int, int] | None = None
    preset: Literal["torchvision"] | None = None
    pretrained_backbone: str | None = None
