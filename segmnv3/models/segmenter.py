"""The segmentation model (encoder -> head -> upsample) and its builders."""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from segmnv3.core.contract import MIN_INPUT_SIZE
from segmnv3.models.backbone import BlockConfig, MobileNetBackbone, built_spec
from segmnv3.models.channels import ChannelTable, table_of
from segmnv3.models.config import BACKBONES, DEFAULT_POOLING, HEADS, WIDTHS, ModelConfig
from segmnv3.models.heads import LRASPPHead, RASPPHead
from segmnv3.models.layers import resize
from segmnv3.models.mobilenetv2 import mobilenet_v2_backbone, mobilenet_v2_spec
from segmnv3.models.mobilenetv3 import mobilenet_v3_backbone, mobilenet_v3_spec

__all__ = [
    "BACKBONES",
    "DEFAULT_POOLING",
    "HEADS",
    "WIDTHS",
    "Segmenter",
    "build_model",
    "build_model_from_config",
    "backbone_spec",
    "seed_channel_table",
]


class Segmenter(nn.Module):
    """``logits = upsample(head(backbone(x)))``: (B, 3, H, W) -> (B, num_classes, H, W).

    ``align_corners`` is that of the final bilinear upsampling.
    """

    def __init__(
        self,
        backbone: MobileNetBackbone,
        head: nn.Module,
        num_classes: int,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_classes = num_classes
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head_logits(x)  # (B, classes, H/8 or H/OS, ...)
        return resize(logits, x.shape[-2:], self.align_corners)  # (B, classes, H, W)

    def head_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The logits before the final upsample: (B, classes, H/8, W/8) for LR-ASPP (the
        skip's stride), (B, classes, H/OS, W/OS) for R-ASPP. ``forward`` resizes them
        bilinearly (``align_corners``) to (H, W); an application that needs labels gets
        them from these directly (``deploy.inference.upsample_labels``)."""
        if x.dim() != 4 or x.shape[1] != 3 or min(x.shape[-2:]) < MIN_INPUT_SIZE:
            raise ValueError(
                f"expected input of shape (B, 3, H, W) with H, W >= {MIN_INPUT_SIZE}, "
                f"got {tuple(x.shape)}"
            )
        return self.head(self.backbone(x))


def build_model(**options: Any) -> Segmenter:
    """Build a segmentation model; the defaults are paper Table 7 row 8.

    Args:
        **options: the fields of :class:`~segmnv3.models.config.ModelConfig` (backbone,
            head, num_classes, output_stride, rf2, head_channels, width_mult, pooling,
            gate, pool_kernel, pool_stride, preset, pretrained_backbone, dilation, padding,
            align_corners, hard_sigmoid_scale, head_bn_eps; ``init_weights`` is stored
            only: training applies it).

    Raises:
        ValueError: an option ``ModelConfig`` rejects, naming it and the allowed values.
        TypeError: an unknown option.
    """
    return build_model_from_config(ModelConfig(**options))


def build_model_from_config(config: ModelConfig) -> Segmenter:
    """The model a (validated) ``ModelConfig`` describes, optionally with ImageNet weights."""
    if config.preset == "torchvision":
        model = _torchvision_lraspp(config.num_classes)
    else:
        encoder = _backbone(
            config.backbone,
            width_mult=config.width_mult,
            output_stride=config.output_stride,
            rf2=config.rf2,
            dilation=config.dilation,
            padding=config.padding,
            gate_scale=config.hard_sigmoid_scale,
            channels=config.channels,
        )
        head = _head(config, encoder)
        model = Segmenter(encoder, head, config.num_classes, config.align_corners)
    if config.pretrained_backbone:
        from segmnv3.models.pretrained import load_imagenet_backbone

        load_imagenet_backbone(model, config.pretrained_backbone, family=config.backbone)
    return model


def backbone_spec(config: ModelConfig) -> tuple[int, list[BlockConfig], int | None]:
    """``(stem, block rows, last conv)`` of the config's backbone, its channel table applied
    (strides after the output-stride rule: at OS 16 the last stage's first block may join
    a residual group, as in the built model).

    Raises:
        ValueError: a channel table that does not fit the backbone (``apply_channel_table``).
    """
    if config.backbone == "mobilenet_v2":
        spec = mobilenet_v2_spec(width_mult=config.width_mult, rf2=config.rf2)
    else:
        variant = config.backbone.rsplit("_", 1)[-1]
        spec = mobilenet_v3_spec(variant, width_mult=config.width_mult, rf2=config.rf2)
    return built_spec(spec, config.output_stride, config.dilation, config.channels)


def seed_channel_table(config: ModelConfig) -> ChannelTable:
    """The channel table of ``config`` (its own, or the paper's counts for its backbone)."""
    return table_of(*backbone_spec(config))


def _head(config: ModelConfig, encoder: MobileNetBackbone) -> nn.Module:
    norm_layer = partial(nn.BatchNorm2d, eps=config.head_bn_eps, momentum=0.01)
    if config.head == "raspp":
        return RASPPHead(
            encoder.high_channels,
            config.num_classes,
            channels=config.head_channels,
            norm_layer=norm_layer,
        )
    default_kernel, default_stride = DEFAULT_POOLING[config.output_stride]
    return LRASPPHead(
        encoder.low_channels,
        encoder.high_channels,
        config.num_classes,
        channels=config.head_channels,
        pooling=config.pooling,
        gate=config.gate,
        pool_kernel=tuple(config.pool_kernel or default_kernel),
        pool_stride=tuple(config.pool_stride or default_stride),
        norm_layer=norm_layer,
        align_corners=config.align_corners,
        gate_scale=config.hard_sigmoid_scale,
    )


def _backbone(name: str, **kwargs: Any) -> MobileNetBackbone:
    if name == "mobilenet_v2":
        return mobilenet_v2_backbone(**kwargs)
    return mobilenet_v3_backbone(name.rsplit("_", 1)[-1], **kwargs)


def _torchvision_lraspp(num_classes: int) -> Segmenter:
    """torchvision's lraspp_mobilenet_v3_large: no RF2, C2 skip (40 ch), 960-ch high branch,
    global pooling, sigmoid gate without bias, default-BatchNorm head, classify after resize."""
    encoder = mobilenet_v3_backbone(
        "large", output_stride=16, rf2=False, skip="first_block", dilation="torchvision"
    )
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
