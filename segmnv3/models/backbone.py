"""The MobileNet encoder shared by V2 and V3: a stem, a list of bottlenecks, a last conv.

Encoder contract (what every head relies on)::

    features = backbone(x)          # x: (B, 3, H, W)
    features["low"]                 # (B, low_channels,  ceil(H/8),  ceil(W/8))  stride-8 skip
    features["high"]                # (B, high_channels, ~H/OS, ~W/OS)           OS = 16 or 32

Variants differ only in their block tables (typed data, see mobilenetv3.py and
mobilenetv2.py); output stride and the skip tap are applied here once, by stride,
for every variant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from segmnv3.models.channels import ChannelTable, apply_channel_table
from segmnv3.models.layers import (
    ACTIVATIONS,
    ConvBNAct,
    InvertedResidual,
    NormLayer,
    Padding,
    default_norm,
)

SkipTap = Literal["depthwise", "first_block"]
Dilation = Literal["authors", "torchvision"]


@dataclass(frozen=True)
class BlockConfig:
    """One bottleneck row of the paper's tables.

    Attributes:
        kernel: depthwise kernel size.
        expanded: channels after the 1x1 expansion (== input channels: no expansion conv).
        out: output channels.
        use_se: squeeze-and-excitation after the depthwise conv.
        activation: "RE" (ReLU), "HS" (hard-swish) or "RE6" (ReLU6).
        stride: depthwise stride.
        dilation: depthwise dilation (set by ``with_output_stride``).
    """

    kernel: int
    expanded: int
    out: int
    use_se: bool
    activation: str
    stride: int
    dilation: int = 1


def last_downsampling(strides: Sequence[int]) -> int:
    """Index of the last stride-2 block: where OS 16 turns atrous and RF2 halves filters."""
    downsampling = [index for index, stride in enumerate(strides) if stride == 2]
    if not downsampling:
        raise ValueError("the block table has no stride-2 block")
    return downsampling[-1]


def with_output_stride(
    blocks: list[BlockConfig], output_stride: int, dilation: Dilation = "torchvision"
) -> list[BlockConfig]:
    """OS 32: unchanged. OS 16: the last stride-2 block gets stride 1 and later blocks
    use dilation 2 ("atrous last block").

    ``dilation`` says what the block that lost its stride does: "torchvision" dilates it
    too; "authors" (slim's mobilenet ``output_stride`` rule, which the released DeepLab
    models use) keeps its rate 1, since the rate doubles only after the removed stride.
    """
    if output_stride == 32:
        return list(blocks)
    if output_stride != 16:
        raise ValueError(f"output_stride must be 16 or 32, got {output_stride}")
    if dilation not in ("authors", "torchvision"):
        raise ValueError(f"dilation must be 'authors' or 'torchvision', got {dilation!r}")
    last_down = last_downsampling([block.stride for block in blocks])
    first_rate = 1 if dilation == "authors" else 2
    tail = [dataclasses.replace(blocks[last_down], stride=1, dilation=first_rate)]
    tail += [dataclasses.replace(block, dilation=2) for block in blocks[last_down + 1 :]]
    return blocks[:last_down] + tail


Spec = tuple[int, list[BlockConfig], int | None]  # (stem, block rows, last conv or None)


def built_spec(
    spec: Spec, output_stride: int, dilation: Dilation, channels: ChannelTable | None
) -> Spec:
    """The rows a backbone is built from: ``spec`` (a variant's counts, strides before the
    output-stride rule) with the output-stride rule applied, then the channel table
    (or None; strides decide residuals, so the table comes after).

    Raises:
        ValueError: a channel table that does not fit (``apply_channel_table``).
    """
    stem, blocks, last = spec
    blocks = with_output_stride(blocks, output_stride, dilation)
    if channels is None:
        return stem, blocks, last
    return apply_channel_table(stem, blocks, last, channels)


def halve_last_stage(blocks: list[BlockConfig]) -> list[BlockConfig]:
    """RF2: halve output and expansion channels from the last stride-2 block on."""
    last_down = last_downsampling([block.stride for block in blocks])
    tail = [
        dataclasses.replace(block, out=block.out // 2, expanded=block.expanded // 2)
        for block in blocks[last_down:]
    ]
    return blocks[:last_down] + tail


class MobileNetBackbone(nn.Module):
    """Stem -> bottlenecks -> optional last 1x1 conv, returning {"low", "high"} features.

    Args:
        stem_channels: output channels of the 3x3 stride-2 stem.
        stem_activation: "HS" (V3) or "RE6" (V2).
        blocks: bottleneck rows, already scaled and with output stride applied.
        last_channels: the final 1x1 conv's channels (None: no last conv, as in V2 here).
        last_activation: activation of the last conv.
        skip: "depthwise" taps the depthwise output of the last stride-8 block (the
            authors' code); "first_block" taps the output of the first block at stride 8
            (torchvision's C2).
        norm_layer: normalisation layer factory.
        padding: "symmetric" (PyTorch) or "tf_same" (TensorFlow SAME on strided convs).
        gate_scale: the SE gates' hard-sigmoid scale (None = exactly 1/6).
    """

    def __init__(
        self,
        stem_channels: int,
        stem_activation: str,
        blocks: list[BlockConfig],
        last_channels: int | None,
        last_activation: str = "HS",
        skip: SkipTap = "depthwise",
        norm_layer: NormLayer = default_norm,
        padding: Padding = "symmetric",
        gate_scale: float | None = None,
    ) -> None:
        super().__init__()
        act = ACTIVATIONS
        self.stem = ConvBNAct(
            3,
            stem_channels,
            3,
            stride=2,
            norm_layer=norm_layer,
            activation=act[stem_activation],
            padding=padding,
        )
        self.blocks = nn.ModuleList()
        in_channels, stride = stem_channels, 2
        strides = []
        for cfg in blocks:
            self.blocks.append(
                InvertedResidual(
                    in_channels,
                    cfg.expanded,
                    cfg.out,
                    cfg.kernel,
                    cfg.stride,
                    cfg.dilation,
                    act[cfg.activation],
                    cfg.use_se,
                    norm_layer,
                    padding,
                    gate_scale,
                )
            )
            stride *= cfg.stride
            strides.append(stride)
            in_channels = cfg.out
        self.last_conv = (
            ConvBNAct(
                in_channels,
                last_channels,
                1,
                norm_layer=norm_layer,
                activation=act[last_activation],
            )
            if last_channels is not None
            else None
        )
        at_stride_8 = [i for i, s in enumerate(strides) if s == 8]
        if not at_stride_8:
            raise ValueError("the block table never reaches stride 8; no skip can be tapped")
        self.skip = skip
        self.skip_index = at_stride_8[-1] if skip == "depthwise" else at_stride_8[0]
        tap = self.blocks[self.skip_index]
        self.low_channels = tap.expanded_channels if skip == "depthwise" else tap.out_channels
        self.high_channels = last_channels if last_channels is not None else in_channels
        self.output_stride = stride

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.stem(x)  # (B, stem, H/2, W/2)
        low = x
        for index, block in enumerate(self.blocks):
            if index == self.skip_index and self.skip == "depthwise":
                x, low = block.forward_with_depthwise(x)
            else:
                x = block(x)
                if index == self.skip_index:
                    low = x
        high = self.last_conv(x) if self.last_conv is not None else x  # (B, C, H/OS, W/OS)
        return {"low": low, "high": high}
