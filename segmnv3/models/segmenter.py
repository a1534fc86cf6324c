"""The segmentation model (encoder -> head -> upsample) and its builders."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import torch
from torch import nn

from segmnv3.models.backbone import MobileNetBackbone
from segmnv3.models.config import ModelConfig
from segmnv3.models.heads import LRASPPHead, RASPPHead, resize
from segmnv3.models.mobilenetv2 import mobilenet_v2_backbone
from segmnv3.models.mobilenetv3 import mobilenet_v3_backbone

BACKBONES = ("mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2")
HEADS = ("lraspp", "raspp")
WIDTHS = {
    "mobilenet_v3_large": (0.35, 0.5, 0.75, 1.0, 1.25),
    "mobilenet_v3_small": (0.35, 0.5, 0.75, 1.0, 1.25),
    "mobilenet_v2": (0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
}
# Gate pooling for 769x769 training crops: kernel = the crop's feature size; stride as
# paper Figure 10 (OS 16) and the authors' released Cityscapes configs (OS 32).
DEFAULT_POOLING = {16: ((49, 49), (16, 20)), 32: ((25, 25), (4, 5))}
MIN_INPUT = 32


class Segmenter(nn.Module):
    """``logits = upsample(head(backbone(x)))``: (B, 3, H, W) -> (B, num_classes, H, W)."""

    def __init__(self, backbone: MobileNetBackbone, head: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3 or min(x.shape[-2:]) < MIN_INPUT:
            raise ValueError(
                f"expected input of shape (B, 3, H, W) with H, W >= {MIN_INPUT}, got {tuple(x.shape)}"
            )
        logits = self.head(self.backbone(x))  # (B, classes, H/8 or H/OS, ...)
        return resize(logits, x.shape[-2:])  # (B, classes, H, W)


def _check(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; allowed values: {list(allowed)}")


def build_model(
    *,
    backbone: str = "mobilenet_v3_large",
    head: str = "lraspp",
    num_classes: int = 19,
    output_stride: int = 16,
    rf2: bool = True,
    head_channels: int = 128,
    width_mult: float = 1.0,
    pooling: str = "paper",
    gate: str = "hard_sigmoid",
    pool_kernel: tuple[int, int] | None = None,
    pool_stride: tuple[int, int] | None = None,
    preset: str | None = None,
    pretrained_backbone: str | None = None,
) -> Segmenter:
    """Build a segmentation model; the defaults are paper Table 7 row 8.

    Args:
        backbone: "mobilenet_v3_large", "mobilenet_v3_small" or "mobilenet_v2".
        head: "lraspp" (Lite R-ASPP) or "raspp" (R-ASPP).
        num_classes: number of output classes.
        output_stride: 16 (atrous last stage) or 32.
        rf2: halve the last stage's filters (the paper's RF2).
        head_channels: F, the head's filters (128 or 256 in the paper).
        width_mult: backbone channel multiplier (see ``WIDTHS``).
        pooling: LR-ASPP gate pooling, "paper" (large kernel/stride) or "global".
        gate: LR-ASPP gate, "hard_sigmoid" or "sigmoid".
        pool_kernel / pool_stride: LR-ASPP pooling geometry; None = ``DEFAULT_POOLING``.
        preset: "torchvision" builds torchvision's ``lraspp_mobilenet_v3_large`` exactly
            (its checkpoint files load strictly); it fixes the architecture, so only
            num_classes and pretrained_backbone are used besides it.
        pretrained_backbone: a torchvision ImageNet state-dict file to load into the backbone.

    Raises:
        ValueError: naming the argument and the allowed values.
    """
    if preset is not None:
        _check("preset", preset, ("torchvision",))
        if backbone != "mobilenet_v3_large" or head != "lraspp":
            raise ValueError(
                "preset='torchvision' is mobilenet_v3_large + lraspp; drop backbone/head"
            )
        model = _torchvision_lraspp(num_classes)
    else:
        _check("backbone", backbone, BACKBONES)
        _check("head", head, HEADS)
        _check("output_stride", output_stride, (16, 32))
        _check("pooling", pooling, ("paper", "global"))
        _check("gate", gate, ("hard_sigmoid", "sigmoid"))
        _check("width_mult", width_mult, WIDTHS[backbone])
        if num_classes < 1 or head_channels < 1:
            raise ValueError("num_classes and head_channels must be positive integers")
        encoder = _backbone(backbone, width_mult=width_mult, output_stride=output_stride, rf2=rf2)
        if head == "lraspp":
            default_kernel, default_stride = DEFAULT_POOLING[output_stride]
            decoder: nn.Module = LRASPPHead(
                encoder.low_channels,
                encoder.high_channels,
                num_classes,
                channels=head_channels,
                pooling=pooling,
                gate=gate,
                pool_kernel=tuple(pool_kernel or default_kernel),
                pool_stride=tuple(pool_stride or default_stride),
            )
        else:
            decoder = RASPPHead(encoder.high_channels, num_classes, channels=head_channels)
        model = Segmenter(encoder, decoder, num_classes)
    if pretrained_backbone:
        from segmnv3.models.pretrained import load_imagenet_backbone

        load_imagenet_backbone(model, pretrained_backbone, family=backbone)
    return model


def build_model_from_config(config: ModelConfig) -> Segmenter:
    """``build_model(**config)`` for a ``ModelConfig``."""
    return build_model(**dataclasses.asdict(config))


def _backbone(name: str, **kwargs: Any) -> MobileNetBackbone:
    if name == "mobilenet_v2":
        return mobilenet_v2_backbone(**kwargs)
    return mobilenet_v3_backbone(name.rsplit("_", 1)[-1], **kwargs)


def _torchvision_lraspp(num_classes: int) -> Segmenter:
    """torchvision's lraspp_mobilenet_v3_large: no RF2, C2 skip (40 ch), 960-ch high branch,
    global pooling, sigmoid gate without bias, default-BatchNorm head, classify after resize."""
    encoder = mobilenet_v3_backbone("large", output_stride=16, rf2=False, skip="first_block")
    decoder = LRASPPHead(
        encoder.low_channels,
        encoder.high_channels,
        num_classes,
        channels=128,
        pooling="global",
        gate="sigmoid",
        gate_bias=False,
        classify_before_resize=False,
        norm_layer=partial(nn.BatchNorm2d, eps=1e-5, momentum=0.1),
    )
    return Segmenter(encoder, decoder, num_classes)
