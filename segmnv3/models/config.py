"""Model section of the config: the arguments of ``segmnv3.build_model``, validated once.

Every rule about which model options go together lives in ``ModelConfig.__post_init__``;
``build_model`` and ``build_model_from_config`` rely on it and check nothing themselves.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal

from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.models.channels import ChannelTable

Backbone = Literal["mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2"]
Head = Literal["lraspp", "raspp"]
OutputStride = Literal[16, 32]
Pooling = Literal["paper", "global"]
Gate = Literal["hard_sigmoid", "sigmoid"]
Preset = Literal["torchvision"]
Padding = Literal["symmetric", "tf_same"]
Dilation = Literal["authors", "torchvision"]

BACKBONES: tuple[str, ...] = typing.get_args(Backbone)
HEADS: tuple[str, ...] = typing.get_args(Head)
OUTPUT_STRIDES: tuple[int, ...] = typing.get_args(OutputStride)
WIDTHS: dict[str, tuple[float, ...]] = {
    "mobilenet_v3_large": (0.35, 0.5, 0.75, 1.0, 1.25),
    "mobilenet_v3_small": (0.35, 0.5, 0.75, 1.0, 1.25),
    "mobilenet_v2": (0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
}
# Gate pooling for 769x769 training crops: kernel = the crop's feature size; stride as
# paper Figure 10 (OS 16) and the authors' released Cityscapes configs (OS 32).
DEFAULT_POOLING = {16: ((49, 49), (16, 20)), 32: ((25, 25), (4, 5))}
# The fields preset="torchvision" fixes (torchvision's lraspp_mobilenet_v3_large).
PRESET_FIXED = (
    "backbone",
    "head",
    "output_stride",
    "rf2",
    "head_channels",
    "width_mult",
    "pooling",
    "gate",
    "pool_kernel",
    "pool_stride",
    "padding",
    "align_corners",
    "hard_sigmoid_scale",
    "head_bn_eps",
    "dilation",
    "channels",
)
# The hard-sigmoid scale of the authors' graph: relu6(x + 3) * 0.16667, not exactly 1/6.
AUTHORS_HARD_SIGMOID_SCALE = 0.16667


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
        width_mult: channel multiplier of the backbone (allowed values: ``WIDTHS``).
        pooling: LR-ASPP gate pooling: ``paper`` (large kernel, large stride) or ``global``.
        gate: LR-ASPP gate activation, ``hard_sigmoid`` (paper) or ``sigmoid``.
        pool_kernel: gate pooling kernel in feature pixels; None = crop feature size
            (49x49 at OS 16, 25x25 at OS 32 for 769x769 crops). Clamped to the map size.
        pool_stride: gate pooling stride; None = (16, 20) at OS 16, (4, 5) at OS 32.
        preset: ``torchvision`` reproduces torchvision's ``lraspp_mobilenet_v3_large``.
            It fixes the architecture: setting any of ``PRESET_FIXED`` to a non-default
            value with it is an error; only num_classes and pretrained_backbone apply.
        pretrained_backbone: path of a torchvision ImageNet state-dict file to
            initialise the backbone from (None = from scratch, as in the paper).
        init_weights: path of a segmnv3 checkpoint (or state dict) whose weights start a
            new training run (strict: every key must match); the schedule starts afresh.
            Applied by training only; loading a checkpoint ignores it.
        dilation: OS 16 rule for the block whose stride is removed: ``authors`` keeps its
            rate 1 and dilates only later blocks (the authors' code; set by every paper-row
            YAML file), ``torchvision`` dilates it too (the default, so that checkpoints
            saved before this option existed rebuild unchanged).
        padding: ``symmetric`` (PyTorch) or ``tf_same`` (TensorFlow SAME on strided convs:
            the extra pixel at the bottom / right on even sizes, as in the authors' graph).
        align_corners: of every bilinear resize in the head and of the final upsampling
            (the authors' graph: True).
        hard_sigmoid_scale: the scale of the SE gates' and the head gate's hard-sigmoid,
            ``relu6(x + 3) * scale``; None = exactly 1/6 (the fused op); the authors' graph
            uses ``AUTHORS_HARD_SIGMOID_SCALE`` (0.16667).
        head_bn_eps: BatchNorm epsilon of the head (the authors' ``aspp0``: 1e-5); the
            backbone keeps 1e-3.
        channels: the backbone's channel table (``models.channels.ChannelTable``: stem,
            [expanded, out] per block, last conv), replacing the counts that
            ``backbone`` / ``width_mult`` / ``rf2`` give; the topology stays theirs. None =
            the paper's counts. ``segmnv3 adapt`` (NetAdapt) writes one.

    Raises:
        ValueError: on construction, naming the key and its allowed values.
    """

    backbone: Backbone = "mobilenet_v3_large"
    head: Head = "lraspp"
    num_classes: int = CITYSCAPES.num_classes  # a run's label set decides (engine checks)
    output_stride: OutputStride = 16
    rf2: bool = True
    head_channels: int = 128
    width_mult: float = 1.0
    pooling: Pooling = "paper"
    gate: Gate = "hard_sigmoid"
    pool_kernel: tuple[int, int] | None = None
    pool_stride: tuple[int, int] | None = None
    preset: Preset | None = None
    pretrained_backbone: str | None = None
    init_weights: str | None = None
    dilation: Dilation = "torchvision"
    padding: Padding = "symmetric"
    align_corners: bool = False
    hard_sigmoid_scale: float | None = None
    head_bn_eps: float = 1e-3
    channels: ChannelTable | None = None

    def __post_init__(self) -> None:
        _check_choice("preset", self.preset, (None, *typing.get_args(Preset)))
        _check_choice("backbone", self.backbone, BACKBONES)
        _check_choice("head", self.head, HEADS)
        _check_choice("output_stride", self.output_stride, OUTPUT_STRIDES)
        _check_choice("pooling", self.pooling, typing.get_args(Pooling))
        _check_choice("gate", self.gate, typing.get_args(Gate))
        _check_choice("width_mult", self.width_mult, WIDTHS[self.backbone])
        _check_choice("dilation", self.dilation, typing.get_args(Dilation))
        _check_choice("padding", self.padding, typing.get_args(Padding))
        if not isinstance(self.align_corners, bool):
            raise ValueError(
                f"model.align_corners must be true or false, got {self.align_corners!r}"
            )
        self._check_numerics()
        for name in ("num_classes", "head_channels"):
            if isinstance(getattr(self, name), bool) or getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be an integer >= 1, got {getattr(self, name)}")
        for name in ("pool_kernel", "pool_stride"):
            value = getattr(self, name)
            if value is not None and (len(value) != 2 or min(value) < 1):
                raise ValueError(f"model.{name} must be [H, W] of integers >= 1, got {value!r}")
        if self.pretrained_backbone and self.init_weights:
            raise ValueError(
                "model.init_weights replaces every weight, so model.pretrained_backbone "
                "would be overwritten; set only one of them"
            )
        if self.preset is not None:
            self._check_preset()
        if self.channels is not None:
            from segmnv3.models.segmenter import backbone_spec  # torch: only with a table

            backbone_spec(self)  # raises ValueError naming the block that breaks the seed

    def _check_numerics(self) -> None:
        scale, eps = self.hard_sigmoid_scale, self.head_bn_eps
        if scale is not None and (isinstance(scale, bool) or not 0.1 <= scale <= 0.25):
            raise ValueError(
                f"model.hard_sigmoid_scale must be null (exactly 1/6) or a number near 1/6 in "
                f"[0.1, 0.25] (the authors' {AUTHORS_HARD_SIGMOID_SCALE}), got {scale!r}"
            )
        if isinstance(eps, bool) or not 0 < eps < 1:
            raise ValueError(f"model.head_bn_eps must be a number in (0, 1), got {eps!r}")

    def _check_preset(self) -> None:
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        changed = [name for name in PRESET_FIXED if getattr(self, name) != defaults[name]]
        if changed:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in changed)
            raise ValueError(
                f"model.preset={self.preset!r} fixes the architecture (torchvision's "
                f"lraspp_mobilenet_v3_large) and would ignore {values}; remove "
                f"{'it' if len(changed) == 1 else 'them'}, or drop the preset "
                "(only num_classes and pretrained_backbone apply with it)"
            )


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed or isinstance(value, bool):
        raise ValueError(
            f"model.{name}={value!r} is not supported; allowed values: {list(allowed)}"
        )
