"""Convert the authors' DeepLab MobileNetV3 LR-ASPP checkpoints into our state dict.

The name mapping is generated from our block tables (``mobilenetv3.py``), one ``Layer`` per
conv, in the order of the authors' graph::

    MobilenetV3/Conv                         -> backbone.stem             (conv + BN)
    MobilenetV3/expanded_conv[_i]/expand     -> backbone.blocks.i.expand  (only if exp != in)
                                 /depthwise  -> backbone.blocks.i.depthwise
                                 /squeeze_excite/Conv, Conv_1 -> backbone.blocks.i.se.fc1, fc2
                                 /project    -> backbone.blocks.i.project
    MobilenetV3/Conv_1                       -> backbone.last_conv
    aspp0                                    -> head.high_branch          (conv + BN)
    image_pooling                            -> head.gate_conv            (conv + bias)
    decoder/decoder_conv0                    -> head.high_classifier
    decoder/feature_projection0              -> head.low_classifier

Kernels are transposed from TensorFlow's HWIO to OIHW; depthwise kernels (H, W, C, M)
become (C * M, 1, H, W). BN ``num_batches_tracked`` has no TensorFlow counterpart and
is set to 0 (unused: our BN has a fixed momentum).

Numerics: ``deeplab_model_config`` sets the five options by which the authors' graph
differs from our defaults: TF SAME padding on stride-2 convs (``padding="tf_same"``),
align_corners resizes, the gate constant 0.16667 (``hard_sigmoid_scale``), ``aspp0`` BN
eps 1e-5 (``head_bn_eps``) and, at OS 16, rate 1 in the formerly stride-2 depthwise conv
(``dilation="authors"``). With them the converted oracle checkpoint matches the authors'
stride-8 logits on an 800x800 input to ~1e-5 at OS 32 and OS 16 (tests check <= 1e-4 and
the argmax); with our defaults it differs by up to 4.7 (OS 32) / 5.9 (OS 16), 11% / 19%
argmax agreement, and leaving out any one of the five breaks the match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from segmnv3.core.checkpoint import load_weights
from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.errors import CheckpointError
from segmnv3.models.backbone import halve_last_stage
from segmnv3.models.config import AUTHORS_HARD_SIGMOID_SCALE, DEFAULT_POOLING, ModelConfig
from segmnv3.models.deeplab.tf_checkpoint import read_tf_checkpoint
from segmnv3.models.mobilenetv3 import LARGE_BLOCKS, SMALL_BLOCKS, STEM_CHANNELS
from segmnv3.models.segmenter import Segmenter, build_model_from_config

CITYSCAPES_CLASSES = CITYSCAPES.num_classes  # the authors' released models are Cityscapes'

Variant = Literal["small", "large"]
Kind = Literal["conv_bn", "depthwise_bn", "conv_bias"]
BLOCK_TABLES = {"small": SMALL_BLOCKS, "large": LARGE_BLOCKS}
HEAD_CHANNELS = 128
# The released Cityscapes models pool the gate with stride (4, 5) at OS 32 and OS 16 alike.
AUTHORS_POOL_STRIDE = (4, 5)
# Path components of variables that are not model weights: training state and optimizer
# slots (``<var>/Momentum``), moving-average shadows.
NON_MODEL = {"global_step", "Momentum", "ExponentialMovingAverage", "Adam", "Adam_1", "RMSProp"}
NON_MODEL |= {"RMSProp_1", "beta1_power", "beta2_power"}
BN_NAMES = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}


@dataclass(frozen=True)
class Layer:
    """One conv of the authors' graph and the module of ours that receives it."""

    module: str  # our module path, e.g. "backbone.blocks.3.expand"
    scope: str  # the authors' variable scope, e.g. "MobilenetV3/expanded_conv_3/expand"
    kind: Kind


@dataclass
class ConvertedWeights:
    """The result of ``convert_deeplab``.

    Attributes:
        state_dict: every tensor of our model (``deeplab_model_config(variant)``, output
            stride 16 or 32 alike).
        ignored: checkpoint variables that are not model weights (``global_step``,
            optimizer slots, moving averages), sorted.
        variant: "small" or "large".
        num_classes: classes of the checkpoint's decoder (19 for Cityscapes).
    """

    state_dict: dict[str, torch.Tensor]
    ignored: list[str]
    variant: str
    num_classes: int = CITYSCAPES_CLASSES


def layer_map(variant: Variant) -> list[Layer]:
    """The authors' conv scopes and our modules for a variant, from our block table."""
    if variant not in BLOCK_TABLES:
        raise ValueError(f"variant must be one of {sorted(BLOCK_TABLES)}, got {variant!r}")
    layers = [Layer("backbone.stem", "MobilenetV3/Conv", "conv_bn")]
    in_channels = STEM_CHANNELS
    for index, block in enumerate(halve_last_stage(BLOCK_TABLES[variant])):
        ours = f"backbone.blocks.{index}"
        scope = "MobilenetV3/expanded_conv" + (f"_{index}" if index else "")
        if block.expanded != in_channels:
            layers.append(Layer(f"{ours}.expand", f"{scope}/expand", "conv_bn"))
        layers.append(Layer(f"{ours}.depthwise", f"{scope}/depthwise", "depthwise_bn"))
        if block.use_se:
            layers.append(Layer(f"{ours}.se.fc1", f"{scope}/squeeze_excite/Conv", "conv_bias"))
            layers.append(Layer(f"{ours}.se.fc2", f"{scope}/squeeze_excite/Conv_1", "conv_bias"))
        layers.append(Layer(f"{ours}.project", f"{scope}/project", "conv_bn"))
        in_channels = block.out
    return layers + [
        Layer("backbone.last_conv", "MobilenetV3/Conv_1", "conv_bn"),
        Layer("head.high_branch", "aspp0", "conv_bn"),
        Layer("head.gate_conv", "image_pooling", "conv_bias"),
        Layer("head.high_classifier", "decoder/decoder_conv0", "conv_bias"),
        Layer("head.low_classifier", "decoder/feature_projection0", "conv_bias"),
    ]


def name_map(variant: Variant) -> dict[str, str | None]:
    """``{our state-dict key: the authors' variable name}``; None for ``num_batches_tracked``."""
    names: dict[str, str | None] = {}
    for layer in layer_map(variant):
        if layer.kind == "conv_bias":
            names[f"{layer.module}.weight"] = f"{layer.scope}/weights"
            names[f"{layer.module}.bias"] = f"{layer.scope}/biases"
            continue
        kernel = "depthwise_weights" if layer.kind == "depthwise_bn" else "weights"
        names[f"{layer.module}.0.weight"] = f"{layer.scope}/{kernel}"
        for ours, theirs in BN_NAMES.items():
            names[f"{layer.module}.1.{ours}"] = f"{layer.scope}/BatchNorm/{theirs}"
        names[f"{layer.module}.1.num_batches_tracked"] = None
    return names


def to_torch(name: str, array: np.ndarray) -> torch.Tensor:
    """A TensorFlow variable as our layout: HWIO -> OIHW, (H, W, C, M) -> (C*M, 1, H, W)."""
    if name.endswith("depthwise_weights"):
        height, width, channels, multiplier = array.shape
        array = array.reshape(height, width, channels * multiplier, 1).transpose(2, 3, 0, 1)
    elif array.ndim == 4:
        array = array.transpose(3, 2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def deeplab_model_config(
    variant: Variant, output_stride: int = 32, num_classes: int = CITYSCAPES_CLASSES
) -> ModelConfig:
    """The authors' released model as our config: RF2, LR-ASPP, F = 128, their numerics.

    The same weights serve OS 32 (as released) and OS 16; the gate pooling kernel is the
    769x769 crop's feature size (25 at OS 32, 49 at OS 16), the stride (4, 5) at both.
    """
    if variant not in BLOCK_TABLES:
        raise ValueError(f"variant must be one of {sorted(BLOCK_TABLES)}, got {variant!r}")
    return ModelConfig(
        backbone=f"mobilenet_v3_{variant}",
        head="lraspp",
        rf2=True,
        head_channels=HEAD_CHANNELS,
        output_stride=output_stride,
        num_classes=num_classes,
        pooling="paper",
        gate="hard_sigmoid",
        pool_kernel=DEFAULT_POOLING[output_stride][0],
        pool_stride=AUTHORS_POOL_STRIDE,
        dilation="authors",
        padding="tf_same",
        align_corners=True,
        hard_sigmoid_scale=AUTHORS_HARD_SIGMOID_SCALE,
        head_bn_eps=1e-5,
    )


def build_deeplab_model(
    variant: Variant, output_stride: int = 32, num_classes: int = CITYSCAPES_CLASSES
) -> Segmenter:
    """Our model computing the authors' released graph (``deeplab_model_config``)."""
    return build_model_from_config(deeplab_model_config(variant, output_stride, num_classes))


def convert_deeplab(path: str | Path, variant: Variant) -> ConvertedWeights:
    """Read an authors' checkpoint and map it onto our model, strictly.

    Args:
        path: checkpoint prefix, its folder, or the model-zoo ``.tar.gz``
            (see ``read_tf_checkpoint``).
        variant: "small" or "large".

    Raises:
        CheckpointError: unreadable checkpoint, or one that does not fill our model
            exactly (a missing or unused model variable, a shape mismatch); one message
            naming the first offending tensor and, when another variant fits, that variant.
        ValueError: an unknown variant.
    """
    names = name_map(variant)
    tensors = read_tf_checkpoint(path)
    ignored = sorted(name for name in tensors if not is_model_variable(name))
    classes = tensors.get("decoder/feature_projection0/biases", np.zeros(CITYSCAPES_CLASSES)).shape[
        0
    ]
    model = build_deeplab_model(variant, num_classes=classes)
    expected = model.state_dict()
    problems = _problems(tensors, set(ignored), names, expected)
    if problems:
        model_names = set(tensors) - set(ignored)
        raise CheckpointError(_describe(path, variant, model_names, problems))
    state_dict = {
        key: torch.zeros_like(expected[key])  # num_batches_tracked
        if theirs is None
        else to_torch(theirs, tensors[theirs]).to(expected[key].dtype)
        for key, theirs in names.items()
    }
    load_weights(model, state_dict, source=str(path))
    return ConvertedWeights(
        state_dict=state_dict, ignored=ignored, variant=variant, num_classes=classes
    )


def _problems(
    tensors: dict[str, np.ndarray],
    ignored: set[str],
    names: dict[str, str | None],
    expected: dict[str, torch.Tensor],
) -> list[str]:
    """Every way the checkpoint misses our model: absent, unused or misshapen tensors."""
    problems = []
    for key, theirs in names.items():
        if key not in expected:
            raise AssertionError(f"the name map has {key}, which our model lacks")
        if theirs is None:
            continue
        if theirs not in tensors:
            problems.append(f"{theirs} (for our {key}) is missing")
            continue
        shape = tuple(to_torch(theirs, tensors[theirs]).shape)
        if shape != tuple(expected[key].shape):
            problems.append(
                f"{theirs} has shape {list(tensors[theirs].shape)} (ours {list(shape)}), "
                f"but our {key} needs {list(expected[key].shape)}"
            )
    used = set(names.values()) | ignored
    problems += [f"{name} is not used by this layout" for name in tensors if name not in used]
    return problems


def _describe(path: str | Path, variant: str, model_names: set[str], problems: list[str]) -> str:
    message = (
        f"checkpoint {path} does not fit the DeepLab MobileNetV3-{variant} RF2 LR-ASPP "
        f"model: {problems[0]}"
    )
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s))"
    for other in BLOCK_TABLES:
        if other != variant and model_names == set(name_map(other).values()) - {None}:
            return message + f"; its variables are those of {other!r}: use variant={other!r}"
    return message + "; is it a DeepLab MobileNetV3 LR-ASPP checkpoint (*_seg, F = 128)?"


def is_model_variable(name: str) -> bool:
    """False for training state: ``global_step``, optimizer slots, moving averages."""
    return not NON_MODEL & set(name.split("/"))
