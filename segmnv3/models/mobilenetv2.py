"""MobileNetV2 segmentation backbone (for the paper's comparison rows of Table 7).

The standard V2 body with ReLU6, ending at the 320-channel block (no 1280 conv).
"""

from __future__ import annotations

from segmnv3.models.backbone import (
    BlockConfig,
    Dilation,
    MobileNetBackbone,
    SkipTap,
    built_spec,
    last_downsampling,
)
from segmnv3.models.channels import ChannelTable
from segmnv3.models.layers import NormLayer, Padding, default_norm, make_divisible

# (expansion t, output channels c, repeats n, first stride s), MobileNetV2 paper Table 2.
V2_STAGES = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),  # stride 4
    (6, 32, 3, 2),  # stride 8; the last 32-ch block's depthwise (192 ch) is the skip
    (6, 64, 4, 2),  # stride 16
    (6, 96, 3, 1),
    (6, 160, 3, 2),  # stride 32 (stride 1, dilation 2 at OS 16)
    (6, 320, 1, 1),
]
STEM_CHANNELS = 32
KERNEL = 3


def mobilenet_v2_backbone(
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
    """Build a MobileNetV2 segmentation backbone.

    Args:
        width_mult: channel multiplier (the paper uses 1.0, 0.5 and 0.35).
        output_stride: 16 (atrous last stage) or 32.
        rf2: halve the outputs of the 160-channel stage and the 320 block (after the
            width multiplier and its rounding); expansions follow as 6x their input.
        skip: "depthwise" (paper) or "first_block".
        norm_layer: normalisation layer factory.
        dilation: OS 16 rule for the block that loses its stride (``with_output_stride``).
        padding: "symmetric" or "tf_same" (TensorFlow SAME on strided convs).
        gate_scale: the SE gates' hard-sigmoid scale (None = exactly 1/6).
        channels: a channel table replacing the counts (``models.channels``; NetAdapt).
    """
    spec = mobilenet_v2_spec(width_mult=width_mult, rf2=rf2)
    stem, blocks, _ = built_spec(spec, output_stride, dilation, channels)
    return MobileNetBackbone(
        stem_channels=stem,
        stem_activation="RE6",
        blocks=blocks,
        last_channels=None,
        skip=skip,
        norm_layer=norm_layer,
        padding=padding,
        gate_scale=gate_scale,
    )


def mobilenet_v2_spec(
    *, width_mult: float = 1.0, rf2: bool = True
) -> tuple[int, list[BlockConfig], None]:
    """``(stem channels, block rows, None)``: MobileNetV2 has no last 1x1 conv here."""
    rows = [(t, c, s if i == 0 else 1) for t, c, n, s in V2_STAGES for i in range(n)]
    last_down = last_downsampling([stride for _, _, stride in rows])
    stem = make_divisible(STEM_CHANNELS * width_mult)
    blocks, in_channels = [], stem
    for index, (t, c, stride) in enumerate(rows):
        out = make_divisible(c * width_mult)
        if rf2 and index >= last_down:
            out //= 2  # after the width rounding: x0.35 gives 28 / 56, the paper's 0.16M
        blocks.append(BlockConfig(KERNEL, in_channels * t, out, False, "RE6", stride))
        in_channels = out
    return stem, blocks, None
