"""The phone files of ``segmnv3 export``: LiteRT / ExecuTorch, fp32 with parity, fp16 and int8.

Formats (``deploy.FORMATS``) and files, for ``<stem> = <model>_<H>x<W>``:

* ``litert``: ``<stem>.tflite``; ``fp16-litert``: ``<stem>_fp16.tflite`` (fp16 weights);
  ``int8-litert``: ``<stem>_int8.tflite``. The fp16 and int8 files start from the fp32
  one, which is therefore written with them.
* ``executorch``: ``<stem>.pte``; ``int8-executorch``: ``<stem>_int8.pte``. The fp32 file
  is written with the int8 one: it is the reference of its agreement figure.

fp32 files pass the same parity gate as ONNX (``ParityThresholds``); fp16 and int8 files
are lossy by design and report argmax agreement with their runtime's fp32 file and the
val mIoU of both, like the ONNX Runtime / OpenVINO int8 files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segmnv3.deploy.export import mobile, quantize_mobile
from segmnv3.deploy.export.accuracy import Int8Report, evaluate_int8
from segmnv3.deploy.export.parity import ParityReport, check_parity
from segmnv3.deploy.model import DeployModel
from segmnv3.deploy.runtimes import Backend, Predictor, build_predictor
from segmnv3.deploy.runtimes.backend import EXECUTORCH, LITERT

MOBILE_FORMATS = ("litert", "fp16-litert", "int8-litert", "executorch", "int8-executorch")


def export_mobile(
    model: DeployModel,
    stem: Path,
    formats: tuple[str, ...],
    calibration: list[Path],
    settings,
) -> dict[str, Path]:
    """Write the phone files ``formats`` asks for; returns format -> path.

    Args:
        model: the network and its data contract.
        stem: ``<out_dir>/<model>_<H>x<W>``.
        formats: the requested formats (others are ignored).
        calibration: train images for int8.
        settings: the bundle's ``ExportSettings`` (size, recipe).
    """
    size, recipe, data = settings.size, settings.recipe, model.data
    files: dict[str, Path] = {}
    if any(f.endswith("litert") for f in formats):
        files["litert"] = mobile.export_litert(model.module, stem.with_suffix(".tflite"), size)
    if "fp16-litert" in formats:
        files["fp16-litert"] = mobile.litert_fp16(files["litert"], Path(f"{stem}_fp16.tflite"))
    if "int8-litert" in formats:
        files["int8-litert"] = quantize_mobile.quantize_litert(
            files["litert"], Path(f"{stem}_int8.tflite"), calibration, size, recipe, data=data
        )
    if any(f.endswith("executorch") for f in formats):
        files["executorch"] = mobile.export_executorch(model.module, stem.with_suffix(".pte"), size)
    if "int8-executorch" in formats:
        files["int8-executorch"] = quantize_mobile.quantize_executorch(
            model.module, Path(f"{stem}_int8.pte"), calibration, size, recipe, data=data
        )
    return files


def mobile_parity(
    reference: Predictor, files: dict[str, Path], frames: list[np.ndarray], model, settings
) -> list[ParityReport]:
    """Parity of the fp32 ``.tflite`` / ``.pte`` files against eager PyTorch."""
    reports = []
    for backend in (LITERT, EXECUTORCH):
        if backend.runtime in files:
            candidate = build_predictor(backend, files[backend.runtime], threads=settings.threads)
            reports.append(
                check_parity(reference, candidate, frames, settings.size, data=model.data)
            )
    return reports


def mobile_lossy(
    files: dict[str, Path], data_root: Path, model: DeployModel, settings
) -> list[Int8Report]:
    """fp16 / int8 phone files against their runtime's fp32 file: agreement, val mIoU."""
    lossy = {
        "fp16-litert": Backend("litert", "fp16"),
        "int8-litert": Backend("litert", "int8", settings.recipe),
        "int8-executorch": Backend("executorch", "int8", settings.recipe),
    }
    reports = []
    for kind, backend in lossy.items():
        if kind not in files:
            continue
        fp32 = build_predictor(
            Backend(backend.runtime), files[backend.runtime], threads=settings.threads
        )
        candidate = build_predictor(backend, files[kind], threads=settings.threads)
        recipe = settings.recipe if backend.is_int8 else "weights"
        reports.append(
            evaluate_int8(
                fp32,
                candidate,
                data_root,
                "val",
                settings.size,
                limit=settings.val_images,
                recipe=recipe,
                data=model.data,
                photos=settings.photos,
            )
        )
    return reports
