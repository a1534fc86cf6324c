"""Building blocks shared by the MobileNet backbones and the heads.

Norm and activation layers are passed in, never hard-coded, so that one
``InvertedResidual`` serves MobileNetV2 (ReLU6, no SE) and MobileNetV3 (ReLU /
hard-swish, optional SE), as in the papers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]
Padding = Literal["symmetric", "tf_same"]

# The MobileNetV3 reference code's BatchNorm (TF decay 0.99 == PyTorch momentum 0.01).
default_norm: NormLayer = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)

ACTIVATIONS: dict[str, ActLayer] = {
    "RE": nn.ReLU,
    "HS": nn.Hardswish,  # x * relu6(x + 3) / 6
    "RE6": nn.ReLU6,
}


def resize(
    x: torch.Tensor, size: tuple[int, int] | torch.Size, align_corners: bool = False
) -> torch.Tensor:
    """Bilinear resize; align_corners=False (torchvision) unless the model asks otherwise.

    The one resize of logits and features: the heads, the segmenter's final upsampling
    and the evaluator (logits to the mask's size) all call it. The authors' DeepLab graph
    resizes with ``align_corners=True`` everywhere (``ModelConfig.align_corners``).
    """
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=align_corners)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never below 90% of it.

    This is the MobileNet reference rule for scaled channel counts.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def hard_sigmoid(x: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """``relu6(x + 3) / 6``, the paper's piece-wise linear sigmoid; ``relu6(x + 3) * scale``
    when ``scale`` is given (the authors' graph uses 0.16667, not exactly 1/6).

    With ``scale=None``, PyTorch's fused op: one ``HardSigmoid`` node in ONNX (not
    Add/Clip/Div), which the runtimes fuse with the neighbouring multiply.
    """
    if scale is None:
        return F.hardsigmoid(x)
    return F.relu6(x + 3.0) * scale


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding of one dimension as (before, after).

    ``pad_total = max((ceil(n / s) - 1) * s + k_eff - n, 0)``, the smaller half before:
    on even sizes at stride 2 the extra pixel goes at the bottom / right.
    """
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class TFSameConv2d(nn.Conv2d):
    """A ``Conv2d`` with TensorFlow ``SAME`` padding, computed per input size.

    Symmetric cases (odd sizes such as 769, any stride-1 conv) use the conv's own padding;
    only asymmetric ones add a pad. Sizes are read as Python ints, so an ONNX export holds
    the pads of its (fixed) input size. State-dict keys are those of ``nn.Conv2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = (int(size) for size in x.shape[-2:])
        top, bottom = tf_same_padding(height, self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = tf_same_padding(width, self.kernel_size[1], self.stride[1], self.dilation[1])
        if top == bottom and left == right:
            return F.conv2d(
                x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups
            )
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> norm -> optional activation; 'same' padding for any dilation.

    Children are numbered 0 (conv), 1 (norm), 2 (activation), the torchvision layout.
    ``padding="tf_same"`` makes a strided conv pad like TensorFlow (extra pixel at the
    bottom / right on even sizes); stride-1 convs are symmetric either way.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        norm_layer: NormLayer = default_norm,
        activation: ActLayer | None = None,
        padding: Padding = "symmetric",
    ) -> None:
        tf_same = padding == "tf_same" and stride > 1
        conv = TFSameConv2d if tf_same else nn.Conv2d
        layers: list[nn.Module] = [
            conv(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=0 if tf_same else (kernel_size - 1) // 2 * dilation,
                dilation=dilation,
                groups=groups,
                bias=False,
            ),
            norm_layer(out_channels),
        ]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Global pool -> 1x1 reduce -> ReLU -> 1x1 expand -> hard-sigmoid -> rescale (no norm).

    ``gate_scale``: the hard-sigmoid's scale (None = exactly 1/6; see ``hard_sigmoid``).
    """

    def __init__(
        self, channels: int, squeeze_channels: int, gate_scale: float | None = None
    ) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate_scale = gate_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)  # (B, C, 1, 1)
        scale = self.fc2(F.relu(self.fc1(scale)))
        return x * hard_sigmoid(scale, self.gate_scale)


class InvertedResidual(nn.Module):
    """MobileNet bottleneck: 1x1 expand -> kxk depthwise -> SE -> 1x1 project (+ shortcut).

    ``forward_with_depthwise`` also returns the depthwise output (after its activation,
    before SE): the LR-ASPP stride-8 skip in the authors' code. ``padding`` and
    ``gate_scale`` are those of ``ConvBNAct`` and ``SqueezeExcitation``.
    """

    def __init__(
        self,
        in_channels: int,
        expanded_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        dilation: int,
        activation: ActLayer,
        use_se: bool,
        norm_layer: NormLayer = default_norm,
        padding: Padding = "symmetric",
        gate_scale: float | None = None,
    ) -> None:
        super().__init__()
        self.use_shortcut = stride == 1 and in_channels == out_channels
        self.expand = (
            ConvBNAct(
                in_channels, expanded_channels, 1, norm_layer=norm_layer, activation=activation
            )
            if expanded_channels != in_channels
            else None
        )
        self.depthwise = ConvBNAct(
            expanded_channels,
            expanded_channels,
            kernel_size,
            stride=stride,
            dilation=dilation,
            groups=expanded_channels,
            norm_layer=norm_layer,
            activation=activation,
            padding=padding,
        )
        self.se = (
            SqueezeExcitation(
                expanded_channels, make_divisible(expanded_channels // 4, 8), gate_scale
            )
            if use_se
            else None
        )
        self.project = ConvBNAct(expanded_channels, out_channels, 1, norm_layer=norm_layer)
        self.out_channels = out_channels
        self.expanded_channels = expanded_channels
        self.stride = stride

    def forward_with_depthwise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (block output, depthwise output)."""
        y = self.expand(x) if self.expand is not None else x
        depthwise = self.depthwise(y)
        y = self.se(depthwise) if self.se is not None else depthwise
        y = self.project(y)
        return (x + y if self.use_shortcut else y), depthwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_depthwise(x)[0]
