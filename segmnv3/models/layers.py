"""Building blocks shared by the MobileNet backbones and the heads.

Norm and activation layers are passed in, never hard-coded, so that one
``InvertedResidual`` serves MobileNetV2 (ReLU6, no SE) and MobileNetV3 (ReLU /
hard-swish, optional SE), as in the papers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]

# The MobileNetV3 reference code's BatchNorm (TF decay 0.99 == PyTorch momentum 0.01).
default_norm: NormLayer = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)

ACTIVATIONS: dict[str, ActLayer] = {
    "RE": nn.ReLU,
    "HS": nn.Hardswish,  # x * relu6(x + 3) / 6
    "RE6": nn.ReLU6,
}


def resize(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize (align_corners=False, as the authors' and torchvision's code).

    The one resize of logits and features: the heads, the segmenter's final upsampling
    and the evaluator (logits to the mask's size) all call it.
    """
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never below 90% of it.

    This is the MobileNet reference rule for scaled channel counts.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``relu6(x + 3) / 6``, the paper's piece-wise linear sigmoid.

    PyTorch's fused op: one ``HardSigmoid`` node in ONNX (not Add/Clip/Div), which the
    runtimes fuse with the neighbouring multiply.
    """
    return F.hardsigmoid(x)


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> norm -> optional activation; 'same' padding for any dilation.

    Children are numbered 0 (conv), 1 (norm), 2 (activation), the torchvision layout.
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
    ) -> None:
        padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
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
    """Global pool -> 1x1 reduce -> ReLU -> 1x1 expand -> hard-sigmoid -> rescale (no norm)."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)  # (B, C, 1, 1)
        scale = self.fc2(F.relu(self.fc1(scale)))
        return x * hard_sigmoid(scale)


class InvertedResidual(nn.Module):
    """MobileNet bottleneck: 1x1 expand -> kxk depthwise -> SE -> 1x1 project (+ shortcut).

    ``forward_with_depthwise`` also returns the depthwise output (after its activation,
    before SE): the LR-ASPP stride-8 skip in the authors' code.
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
        )
        self.se = (
            SqueezeExcitation(expanded_channels, make_divisible(expanded_channels // 4, 8))
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
