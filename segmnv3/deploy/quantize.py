"""int8 post-training quantization (ONNX Runtime static QDQ, OpenVINO NNCF) and its check.

Calibration runs the fp32 graph on N training images at the export size. Each backend has
named recipes, so that the naive baseline and the deliberate choices can be measured side
by side (``segmnv3 bench`` does so):

* ``naive``: the library defaults, everything quantized (per-tensor for ONNX Runtime).
* ``tuned``: the choices that made int8 faster here (see ``RECIPES`` comments): the
  squeeze-excitation / gate ``Mul`` stays in float, weights are per-channel, activations
  uint8 (the U8S8 pair ONNX Runtime's VNNI kernels want).

``evaluate_int8`` reports argmax agreement with fp32 and the mIoU of both on a split.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.core.errors import UserError
from segmnv3.deploy.preprocess import to_input
from segmnv3.deploy.runtimes import Predictor
from segmnv3.deploy.signal_stack import preserved_signal_stack

INT8_TARGET = 0.99  # argmax agreement with fp32 that an int8 file should reach

RECIPES = {
    "onnxruntime": {
        "naive": {"per_channel": False, "activations": "int8", "float_ops": ()},
        # Keep the SE / gate multiplies and the final resize in float: quantizing them adds
        # Q/DQ pairs around large tensors that cost more than the int8 arithmetic saves.
        "tuned": {"per_channel": True, "activations": "uint8", "float_ops": ("Mul", "Resize")},
    },
    "openvino": {
        "naive": {"float_ops": (), "target_device": "ANY", "preset": "PERFORMANCE"},
        # The SE multiply cannot fuse into the preceding depthwise conv in int8, and the
        # final 19-channel bilinear resize is cheaper in float than as int8 with requant;
        # leaving both (and the gate multiply) in float removes requantization round trips.
        # Target CPU (not ANY) lets NNCF use the CPU plugin's fusing patterns. MIXED =
        # asymmetric activations: hard-swish outputs lie in [-0.375, inf), and a symmetric
        # grid wastes half its levels there (argmax agreement 96.7% -> 97.4% on a
        # weakly trained row-8 model, same speed within noise).
        "tuned": {
            "float_ops": ("Multiply", "Interpolate"),
            "target_device": "CPU",
            "preset": "MIXED",
        },
    },
}


def _check_recipe(backend: str, recipe: str) -> dict:
    if recipe not in RECIPES[backend]:
        raise UserError(f"--int8-recipe {recipe!r}: use one of {sorted(RECIPES[backend])}")
    return RECIPES[backend][recipe]


def calibration_batches(images: list[Path], size: tuple[int, int] | None) -> Iterator[np.ndarray]:
    """Normalised (1, 3, H, W) float32 batches from image files (BGR decode, as in inference)."""
    import cv2

    for path in images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"cannot decode calibration image {path}; re-extract it")
        yield to_input(image, size)


def quantize_onnxruntime(
    fp32_path: Path,
    int8_path: Path,
    images: list[Path],
    size: tuple[int, int] | None,
    recipe: str = "tuned",
) -> Path:
    """Static QDQ quantization with ONNX Runtime, calibrated (MinMax) on ``images``.

    Args:
        fp32_path: fp32 ONNX from ``export_onnx``.
        int8_path: destination.
        images: calibration image files (training split).
        size: network input (H, W).
        recipe: a key of ``RECIPES["onnxruntime"]``.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    options = _check_recipe("onnxruntime", recipe)
    prepared = int8_path.with_name(f".{int8_path.stem}.prepared.onnx")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = calibration_batches(images, size)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"image": batch}

    try:
        quant_pre_process(str(fp32_path), str(prepared))  # shape inference + BN/const folding
        graph = onnx.load(str(prepared)).graph
        float_nodes = [n.name for n in graph.node if n.op_type in options["float_ops"]]
        activation = QuantType.QUInt8 if options["activations"] == "uint8" else QuantType.QInt8
        quantize_static(
            str(prepared), str(int8_path), Reader(), quant_format=QuantFormat.QDQ,
            per_channel=options["per_channel"], activation_type=activation,
            weight_type=QuantType.QInt8, nodes_to_exclude=float_nodes,
        )  # fmt: skip
    finally:
        prepared.unlink(missing_ok=True)
    return int8_path


def quantize_openvino(
    fp32_path: Path,
    xml_path: Path,
    images: list[Path],
    size: tuple[int, int] | None,
    recipe: str = "tuned",
) -> Path:
    """NNCF post-training quantization of an OpenVINO model, saved as int8 IR."""
    import logging

    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)  # one INFO line per ignored node otherwise
    options = _check_recipe("openvino", recipe)
    model = ov.Core().read_model(str(fp32_path))
    batches = list(calibration_batches(images, size))
    ignored = nncf.IgnoredScope(types=list(options["float_ops"])) if options["float_ops"] else None
    with preserved_signal_stack():
        quantized = nncf.quantize(
            model, nncf.Dataset(batches), subset_size=len(batches), ignored_scope=ignored,
            target_device=nncf.TargetDevice[options["target_device"]],
            preset=nncf.QuantizationPreset[options["preset"]],
        )  # fmt: skip
        ov.save_model(quantized, str(xml_path), compress_to_fp16=False)
    return xml_path


@dataclass
class Int8Report:
    """int8 against fp32 on a labelled split."""

    backend: str
    recipe: str
    images: int
    agreement: float
    miou_fp32: float
    miou_int8: float

    @property
    def miou_delta(self) -> float:
        return self.miou_int8 - self.miou_fp32

    def line(self) -> str:
        return (
            f"int8 {self.backend} ({self.recipe}): argmax agreement with fp32 "
            f"{100 * self.agreement:.2f}% over {self.images} val image(s); mIoU fp32 "
            f"{100 * self.miou_fp32:.2f} -> int8 {100 * self.miou_int8:.2f} "
            f"(delta {100 * self.miou_delta:+.2f} points)"
        )

    def to_dict(self) -> dict:
        return {**self.__dict__, "miou_delta": self.miou_delta}


def evaluate_int8(
    fp32: Predictor,
    int8: Predictor,
    root: Path,
    split: str,
    size: tuple[int, int] | None,
    *,
    limit: int | None = None,
    recipe: str = "",
) -> Int8Report:
    """Argmax agreement and mIoU of both runtimes on ``split`` (labels at network size)."""
    import cv2
    import torch

    from segmnv3.data.cityscapes import find_pairs, read_mask
    from segmnv3.data.labels import NUM_CLASSES
    from segmnv3.data.metrics import ConfusionMatrix
    from segmnv3.deploy.preprocess import resize_labels

    image_paths, label_paths = find_pairs(root, split)
    pairs = list(zip(image_paths, label_paths, strict=True))[:limit]
    matrices = {name: ConfusionMatrix(NUM_CLASSES) for name in ("fp32", "int8")}
    agree = total = 0
    for image_path, label_path in pairs:
        batch = to_input(cv2.imread(str(image_path), cv2.IMREAD_COLOR), size)
        mask = read_mask(label_path)  # (H, W) train ids
        mask = resize_labels(mask, batch.shape[2:])
        reference, candidate = fp32.predict(batch)[0], int8.predict(batch)[0]  # (h, w) uint8
        agree += int((reference == candidate).sum())
        total += reference.size
        matrices["fp32"].update(torch.from_numpy(mask), torch.from_numpy(reference))
        matrices["int8"].update(torch.from_numpy(mask), torch.from_numpy(candidate))
    fp32_scores, int8_scores = (matrices[k].compute() for k in ("fp32", "int8"))
    return Int8Report(
        int8.name, recipe, len(pairs), agree / max(total, 1), fp32_scores.miou, int8_scores.miou
    )
