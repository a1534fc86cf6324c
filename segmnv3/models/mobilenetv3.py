"""MobileNetV3-Large and -Small segmentation backbones (paper Tables 1 and 2).

The classification tail (pooling, 1280/1024 conv, classifier) is not part of the
segmentation backbone; the last 1x1 conv is.
"""

from __future__ import annotations

import dataclasses

from segmnv3.models.backbone import (
    BlockConfig,
    Dilation,
    MobileNetBackbone,
    SkipTap,
    built_spec,
    halve_last_stage,
)
from segmnv3.models.channels import ChannelTable
from segmnv3.models.layers import NormLayer, Padding, default_norm, make_divisible

B = BlockConfig  # kernel, expanded, out, SE, activation, stride

LARGE_BLOCKS = [
    B(3, 16, 16, False, "RE", 1),  # 1
    B(3, 64, 24, False, "RE", 2),  # 2, stride 4
    B(3, 72, 24, False, "RE", 1),  # 3
    B(5, 72, 40, True, "RE", 2),  # 4, stride 8 (torchvision's C2 tap)
    B(5, 120, 40, True, "RE", 1),  # 5
    B(5, 120, 40, True, "RE", 1),  # 6, last at stride 8: its depthwise is the skip
    B(3, 240, 80, False, "HS", 2),  # 7, stride 16
    B(3, 200, 80, False, "HS", 1),  # 8
    B(3, 184, 80, False, "HS", 1),  # 9
    B(3, 184, 80, False, "HS", 1),  # 10
    B(3, 480, 112, True, "HS", 1),  # 11
    B(3, 672, 112, True, "HS", 1),  # 12
    B(5, 672, 160, True, "HS", 2),  # 13, stride 32 (stride 1, dilation 2 at OS 16)
    B(5, 960, 160, True, "HS", 1),  # 14
    B(5, 960, 160, True, "HS", 1),  # 15
]

SMALL_BLOCKS = [
    B(3, 16, 16, True, "RE", 2),  # 1, stride 4
    B(3, 72, 24, False, "RE", 2),  # 2, stride 8 (torchvision's C2 tap)
    B(3, 88, 24, False, "RE", 1),  # 3, last at stride 8: its depthwise is the skip
    B(5, 96, 40, True, "HS", 2),  # 4, stride 16
    B(5, 240, 40, True, "HS", 1),  # 5
    B(5, 240, 40, True, "HS", 1),  # 6
    B(5, 120, 48, True, "HS", 1),  # 7
    B(5, 144, 48, True, "HS", 1),  # 8
    B(5, 288, 96, True, "HS", 2),  # 9, stride 32 (stride 1, dilation 2 at OS 16)
    B(5, 576, 96, True, "HS", 1),  # 10
    B(5, 576, 96, True, "HS", 1),  # 11
]

STEM_CHANNELS = 16
LAST_CONV_EXPANSION = 6  # last 1x1 conv = 6x the last block's output (960 = 6 x 160)


def mobilenet_v3_spec(
    variant: str = "large", *, width_mult: float = 1.0, rf2: bool = True
) -> tuple[int, list[BlockConfig], int]:
    """``(stem channels, block rows, last conv channels)`` of a variant, width and RF2
    (strides before the output-stride rule)."""
    tables = {"large": LARGE_BLOCKS, "small": SMALL_BLOCKS}
    if variant not in tables:
        raise ValueError(f"variant must be one of {sorted(tables)}, got {variant!r}")
    blocks = tables[variant]
    if rf2:
        blocks = halve_last_stage(blocks)
    blocks = [
        dataclasses.replace(
            block,
            expanded=make_divisible(block.expanded * width_mult),
            out=make_divisible(block.out * width_mult),
        )
        for block in blocks
    ]
    stem = make_divisible(STEM_CHANNELS * width_mult)
    return stem, blocks, LAST_CONV_EXPANSION * blocks[-1].out


def mobilenet_v3_backbone(
    variant: str = "large",
    *,
    width_mult: float = 1.0,
    output_stride: int = 16,
    rf2: bool = True,
    skip: SkipTap = "depthwise",
    norm_layer: NormLayer = default_norm,
    dilation: Dilation = "torchvision",
    padding: Padding = "symmetric",
    gate_scale: float | None = None,
    channels: ChannelTable | None = None,
) -> MobileNetBackbone:
    """Build a MobileNetV3 segmentation backbone.

    Args:
        variant: "large" or "small".
        width_mult: channel multiplier; every count c becomes make_divisible(c * w, 8).
        output_stride: 16 (atrous last stage) or 32.
        rf2: halve the last stage's output and expansion channels and the last conv
            (the authors' code; for Large this halves block 13's expansion too, which
            torchvision's ``reduced_tail`` does not).
        skip: "depthwise" (paper) or "first_block" (torchvision's LR-ASPP).
        norm_layer: normalisation layer factory.
        dilation: OS 16 rule for the block that loses its stride (``with_output_stride``).
        padding: "symmetric" or "tf_same" (TensorFlow SAME on strided convs).
        gate_scale: the SE gates' hard-sigmoid scale (None = exactly 1/6).
        channels: a channel table replacing the counts (``models.channels``; NetAdapt).
    """
    spec = mobilenet_v3_spec(variant, width_mult=width_mult, rf2=rf2)
    stem, blocks, last = built_spec(spec, output_stride, dilation, channels)
    return MobileNetBackbone(
        stem_channels=stem,
        stem_activation="HS",
        blocks=blocks,
        last_channels=last,
        last_activation="HS",
        skip=skip,
        norm_layer=norm_layer,
        padding=padding,
        gate_scale=gate_scale,
    )
