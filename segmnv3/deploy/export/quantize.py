"""int8 post-training quantization (ONNX Runtime static QDQ, OpenVINO NNCF) and its check.

Calibration runs the fp32 graph on N training images at the export size. Each backend has
named recipes, so that the naive baseline and the deliberate choices can be measured side
by side (``segmnv3 bench`` does so):

* ``naive``: the library defaults, everything quantized (per-tensor for ONNX Runtime).
* ``tuned``: the choices that made int8 faster here (see the comments of ``ONNXRUNTIME_RECIPES`` / ``OPENVINO_RECIPES``): the
  squeeze-excitation / gate ``Mul`` stays in float, weights are per-channel, activations
  uint8 (the U8S8 pair ONNX Runtime's VNNI kernels want).

``accuracy.evaluate_int8`` reports argmax agreement with fp32 and the mIoU of both.
Calibration images are normalised with the model's own ``data.mean`` / ``std``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np

from segmnv3.core.errors import UserError
from segmnv3.core.files import atomic_path
from segmnv3.core.image_header import check_image_file
from segmnv3.data.config import DataConfig
from segmnv3.deploy.export.graphs import save_openvino_ir
from segmnv3.deploy.inference.preprocess import DEFAULT_DATA, to_input
from segmnv3.deploy.quiet_openvino import import_nncf, import_openvino
from segmnv3.deploy.runtimes.backend import Recipe
from segmnv3.deploy.signal_stack import preserved_signal_stack

T = TypeVar("T")


@dataclass(frozen=True)
class OnnxRuntimeRecipe:
    """ONNX Runtime static QDQ choices.

    Attributes:
        per_channel: one weight scale per output channel (else per tensor).
        activations: activation type (``uint8``: the U8S8 pair of the VNNI kernels).
        float_ops: ONNX op types left in float.
    """

    per_channel: bool
    activations: Literal["int8", "uint8"]
    float_ops: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenVinoRecipe:
    """NNCF post-training choices.

    Attributes:
        float_ops: OpenVINO op types left in float (NNCF ``IgnoredScope``).
        target_device: ``nncf.TargetDevice`` name.
        preset: ``nncf.QuantizationPreset`` name (``MIXED``: asymmetric activations).
    """

    float_ops: tuple[str, ...]
    target_device: Literal["ANY", "CPU"]
    preset: Literal["PERFORMANCE", "MIXED"]


ONNXRUNTIME_RECIPES: dict[Recipe, OnnxRuntimeRecipe] = {
    "naive": OnnxRuntimeRecipe(per_channel=False, activations="int8"),
    # Keep the SE / gate multiplies and the final resize in float: quantizing them adds
    # Q/DQ pairs around large tensors that cost more than the int8 arithmetic saves.
    "tuned": OnnxRuntimeRecipe(per_channel=True, activations="uint8", float_ops=("Mul", "Resize")),
}
OPENVINO_RECIPES: dict[Recipe, OpenVinoRecipe] = {
    "naive": OpenVinoRecipe(float_ops=(), target_device="ANY", preset="PERFORMANCE"),
    # The SE multiply cannot fuse into the preceding depthwise conv in int8, and the
    # final 19-channel bilinear resize is cheaper in float than as int8 with requant;
    # leaving both (and the gate multiply) in float removes requantization round trips.
    # Target CPU (not ANY) lets NNCF use the CPU plugin's fusing patterns. MIXED =
    # asymmetric activations: hard-swish outputs lie in [-0.375, inf), and a symmetric
    # grid wastes half its levels there (argmax agreement 96.7% -> 97.4% on a
    # weakly trained row-8 model, same speed within noise).
    "tuned": OpenVinoRecipe(
        float_ops=("Multiply", "Interpolate"), target_device="CPU", preset="MIXED"
    ),
}


def recipe_of(recipes: dict[Recipe, T], recipe: str) -> T:
    """``recipes[recipe]``, or a ValueError naming the valid recipes."""
    if recipe not in recipes:
        raise ValueError(f"int8 recipe {recipe!r}: use one of {sorted(recipes)}")
    return recipes[recipe]


def calibration_batches(
    images: list[Path], size: tuple[int, int] | None, data: DataConfig = DEFAULT_DATA
) -> Iterator[np.ndarray]:
    """Normalised (1, 3, H, W) float32 batches from image files (BGR decode, as in inference)."""
    import cv2

    for path in images:
        check_image_file(path, "calibration image")  # no FIFO, no pixel bomb
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"cannot decode calibration image {path}; re-extract it")
        yield to_input(image, size, data)


def quantize_onnxruntime(
    fp32_path: Path,
    int8_path: Path,
    images: list[Path],
    size: tuple[int, int] | None,
    recipe: Recipe = "tuned",
    data: DataConfig = DEFAULT_DATA,
) -> Path:
    """Static QDQ quantization with ONNX Runtime, calibrated (MinMax) on ``images``.

    Args:
        fp32_path: fp32 ONNX from ``export_onnx``.
        int8_path: destination.
        images: calibration image files (training split).
        size: network input (H, W).
        recipe: a key of ``ONNXRUNTIME_RECIPES``.
        data: the model's data config (normalisation of the calibration images).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    options = recipe_of(ONNXRUNTIME_RECIPES, recipe)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = calibration_batches(images, size, data)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"image": batch}

    with tempfile.TemporaryDirectory(prefix="segmnv3-quantize-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared))  # shape inference + BN/const folding
        graph = onnx.load(str(prepared)).graph
        float_nodes = [n.name for n in graph.node if n.op_type in options.float_ops]
        activation = QuantType.QUInt8 if options.activations == "uint8" else QuantType.QInt8
        with atomic_path(int8_path) as temporary:
            quantize_static(
                str(prepared),
                str(temporary),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=options.per_channel,
                activation_type=activation,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=float_nodes,
            )
    return Path(int8_path)


def quantize_openvino(
    fp32_path: Path,
    xml_path: Path,
    images: list[Path],
    size: tuple[int, int] | None,
    recipe: Recipe = "tuned",
    data: DataConfig = DEFAULT_DATA,
) -> Path:
    """NNCF post-training quantization of an OpenVINO model, saved as int8 IR (atomically)."""
    import logging

    nncf = import_nncf()
    ov = import_openvino()

    nncf.set_log_level(logging.ERROR)  # one INFO line per ignored node otherwise
    options = recipe_of(OPENVINO_RECIPES, recipe)
    model = ov.Core().read_model(str(fp32_path))
    batches = list(calibration_batches(images, size, data))
    ignored = nncf.IgnoredScope(types=list(options.float_ops)) if options.float_ops else None
    with preserved_signal_stack():
        quantized = nncf.quantize(
            model,
            nncf.Dataset(batches),
            subset_size=len(batches),
            ignored_scope=ignored,
            target_device=nncf.TargetDevice[options.target_device],
            preset=nncf.QuantizationPreset[options.preset],
        )
    return save_openvino_ir(quantized, xml_path)
