"""Segmentation heads: LR-ASPP (MobileNetV3 paper, Figure 10) and R-ASPP (MobileNetV2 paper).

Both take the encoder's {"low", "high"} features and return logits at the skip's
resolution (LR-ASPP, stride 8) or at the high features' resolution (R-ASPP); the
segmenter upsamples them to the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segmnv3.models.config import Gate, Pooling
from segmnv3.models.layers import ConvBNAct, NormLayer, default_norm, hard_sigmoid, resize

__all__ = ["LRASPPHead", "RASPPHead", "resize"]


class LRASPPHead(nn.Module):
    """Lite R-ASPP: a 1x1 branch gated by large-kernel pooled context, plus a stride-8 skip.

    Args:
        low_channels: channels of the stride-8 skip.
        high_channels: channels of the backbone's final features.
        num_classes: output classes.
        channels: F, the filters of the 1x1 branch and the gate (128 or 256).
        pooling: "paper" = average pooling with ``pool_kernel`` / ``pool_stride`` (kernel
            clamped to the feature size per dimension, so any input works), then a bilinear
            resize of the gate back to the features' size; "global" = global average pool.
        gate: "hard_sigmoid" (paper) or "sigmoid" (torchvision).
        pool_kernel: pooling kernel in feature pixels (the training crop's feature size).
        pool_stride: pooling stride.
        gate_bias: bias on the gate's 1x1 conv (the authors' code: yes; torchvision: no).
        classify_before_resize: apply the high classifier before resizing to the skip's
            size. Bilinear resizing and a 1x1 conv with bias commute, so the output is the
            same (tests check it) at 19 instead of F resized channels.
        norm_layer: normalisation layer factory.
        align_corners: of both bilinear resizes (the authors' graph: True).
        gate_scale: the hard-sigmoid gate's scale (None = exactly 1/6; authors 0.16667).
    """

    def __init__(
        self,
        low_channels: int,
        high_channels: int,
        num_classes: int,
        channels: int = 128,
        pooling: Pooling = "paper",
        gate: Gate = "hard_sigmoid",
        pool_kernel: tuple[int, int] = (49, 49),
        pool_stride: tuple[int, int] = (16, 20),
        gate_bias: bool = True,
        classify_before_resize: bool = True,
        norm_layer: NormLayer = default_norm,
        align_corners: bool = False,
        gate_scale: float | None = None,
    ) -> None:
        super().__init__()
        self.high_branch = ConvBNAct(
            high_channels, channels, 1, norm_layer=norm_layer, activation=nn.ReLU
        )
        self.gate_conv = nn.Conv2d(high_channels, channels, 1, bias=gate_bias)
        self.high_classifier = nn.Conv2d(channels, num_classes, 1)
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.pooling = pooling
        self.gate = gate
        self.pool_kernel = tuple(pool_kernel)
        self.pool_stride = tuple(pool_stride)
        self.classify_before_resize = classify_before_resize
        self.align_corners = align_corners
        self.gate_scale = gate_scale

    def context_gate(self, high: torch.Tensor) -> torch.Tensor:
        """Per-channel gate in [0, 1], broadcastable to the high branch's output."""
        if self.pooling == "global":
            pooled = F.adaptive_avg_pool2d(high, 1)  # (B, C, 1, 1)
        else:
            # Python ints: ONNX needs a constant kernel, and an exporter cannot always fold
            # the shape (e.g. after TF SAME's Pad nodes).
            height, width = (int(size) for size in high.shape[-2:])
            kernel = (min(self.pool_kernel[0], height), min(self.pool_kernel[1], width))
            pooled = F.avg_pool2d(high, kernel, self.pool_stride)  # (B, C, h', w'): a small grid
        gate = self.gate_conv(pooled)
        if self.gate == "hard_sigmoid":
            gate = hard_sigmoid(gate, self.gate_scale)
        else:
            gate = torch.sigmoid(gate)
        if self.pooling == "paper":
            gate = resize(gate, high.shape[-2:], self.align_corners)  # (B, F, H/OS, W/OS)
        return gate

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        low, high = features["low"], features["high"]
        gated = self.high_branch(high) * self.context_gate(high)  # (B, F, H/OS, W/OS)
        size = low.shape[-2:]
        if self.classify_before_resize:
            high_logits = resize(self.high_classifier(gated), size, self.align_corners)
        else:
            high_logits = self.high_classifier(resize(gated, size, self.align_corners))
        return high_logits + self.low_classifier(low)  # (B, classes, H/8, W/8)


class RASPPHead(nn.Module):
    """Reduced ASPP (MobileNetV2 paper): a 1x1 branch and a global-pooling branch, concatenated.

    The pooling branch has BatchNorm on a 1x1 map, so training needs batch size >= 2.
    """

    def __init__(
        self,
        high_channels: int,
        num_classes: int,
        channels: int = 256,
        norm_layer: NormLayer = default_norm,
    ) -> None:
        super().__init__()
        self.conv_branch = ConvBNAct(
            high_channels, channels, 1, norm_layer=norm_layer, activation=nn.ReLU
        )
        self.pool_branch = ConvBNAct(
            high_channels, channels, 1, norm_layer=norm_layer, activation=nn.ReLU
        )
        self.project = ConvBNAct(
            2 * channels, channels, 1, norm_layer=norm_layer, activation=nn.ReLU
        )
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        high = features["high"]
        pooled = self.pool_branch(F.adaptive_avg_pool2d(high, 1))  # (B, F, 1, 1)
        # A bilinear resize of a 1x1 map is an exact broadcast (as torchvision's ASPPPooling):
        # an explicit expand() becomes a BROADCAST_TO that LiteRT's converter leaves in NCHW
        # after moving the graph to NHWC, and the .tflite fails to load.
        pooled = resize(pooled, high.shape[-2:])  # (B, F, H/OS, W/OS)
        x = self.project(torch.cat([self.conv_branch(high), pooled], dim=1))
        return self.classifier(x)  # (B, classes, H/OS, W/OS)
