"""``segmnv3 export`` end to end: ONNX, OpenVINO IR, LiteRT, ExecuTorch and int8 files, each
with its report (the phone files: ``mobile_bundle``).

fp32 exports must pass ``ParityThresholds`` (max |logit diff| <= 1e-3 x logit scale,
argmax agreement >= 99.9%) on real images, or the export fails. int8 files are lossy by
design: their argmax agreement with fp32 (target >= 99%) and the mIoU delta on the val
split are reported, and a miss is flagged, not fatal.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from segmnv3.core.errors import UserError
from segmnv3.core.files import write_text_atomic
from segmnv3.deploy import FORMATS
from segmnv3.deploy.export.accuracy import Int8Report, evaluate_int8
from segmnv3.deploy.export.graphs import export_onnx, export_openvino
from segmnv3.deploy.export.mobile import LAYOUTS
from segmnv3.deploy.export.mobile_bundle import export_mobile, mobile_lossy, mobile_parity
from segmnv3.deploy.export.parity import ParityReport, check_parity
from segmnv3.deploy.export.quantize import quantize_onnxruntime, quantize_openvino
from segmnv3.deploy.images import check_model_fits_data, dataset_images, read_bgr, synthetic_root
from segmnv3.deploy.model import DeployModel
from segmnv3.deploy.runtimes import Backend, build_predictor
from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME, OPENVINO


@dataclass(frozen=True)
class ExportSettings:
    """What to export and how to check it.

    Attributes:
        size: network input (H, W) of the exported graphs.
        formats: files to write (``FORMATS``); ONNX is always written.
        data_root: Cityscapes-layout images for parity, calibration and val mIoU; None
            generates a temporary synthetic set.
        dynamic: dynamic batch/height/width (models with ``global`` pooling only).
        parity_images: val images for the fp32 parity check.
        calib_images: train images for int8 calibration.
        val_images: val images for the int8 mIoU.
        recipe: int8 recipe (``tuned`` or ``naive``).
        threads: runtime threads.
        photos: unlabelled images (real photographs) on which every int8 / fp16 file also
            reports its argmax agreement with fp32.
    """

    size: tuple[int, int]
    formats: tuple[str, ...] = ("onnx",)
    data_root: Path | None = None
    dynamic: bool = False
    parity_images: int = 4
    calib_images: int = 16
    val_images: int = 50
    recipe: str = "tuned"
    threads: int = 1
    photos: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown:
            raise ValueError(f"export formats {unknown}: choose from {list(FORMATS)}")


@dataclass
class ExportResult:
    """The files written and their checks (saved as ``<name>_<H>x<W>_export.json``)."""

    model: str
    size: tuple[int, int]
    dynamic: bool
    normalisation: dict[str, list[float]] = field(default_factory=dict)  # mean, std (RGB, 0..1)
    files: dict[str, Path] = field(default_factory=dict)
    layouts: dict[str, dict[str, str]] = field(default_factory=dict)  # format -> input, output
    parity: list[ParityReport] = field(default_factory=list)
    int8: list[Int8Report] = field(default_factory=list)
    report: Path | None = None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "size": list(self.size),
            "dynamic": self.dynamic,
            "normalisation": self.normalisation,
            "files": {kind: str(path) for kind, path in self.files.items()},
            "layouts": self.layouts,
            "parity": [r.to_dict() for r in self.parity],
            "int8": [r.to_dict() for r in self.int8],
        }


def export_bundle(model: DeployModel, out_dir: Path, settings: ExportSettings) -> ExportResult:
    """Export ``model`` in ``settings.formats`` under ``out_dir`` and check every file.

    Returns:
        The result, also written to ``<out_dir>/<name>_<H>x<W>_export.json``.

    Raises:
        UserError: an fp32 runtime misses the parity thresholds.
    """
    size = settings.size
    stem = out_dir / f"{model.name}_{size[0]}x{size[1]}"
    normalisation = {"mean": list(model.data.mean), "std": list(model.data.std)}
    result = ExportResult(model.name, size, settings.dynamic, normalisation)
    with ExitStack() as stack:
        data_root = settings.data_root
        if data_root is not None:
            check_model_fits_data(model, data_root)
        else:
            val = max(settings.parity_images, settings.val_images)
            data_root = synthetic_root(stack, size, settings.calib_images, val)
        onnx_path = export_onnx(
            model.module, stem.with_suffix(".onnx"), size, dynamic=settings.dynamic
        )
        result.files["onnx"] = onnx_path
        if "openvino" in settings.formats:
            result.files["openvino"] = export_openvino(onnx_path, stem.with_suffix(".xml"))
        calibration = dataset_images(data_root, "train", settings.calib_images)
        result.files.update(export_mobile(model, stem, settings.formats, calibration, settings))
        result.layouts = _layouts(result.files)
        result.parity = _check_fp32(model, result.files, data_root, settings)
        for report in result.parity:
            print(report.line())
        for runtime in ("onnxruntime", "openvino"):
            if f"int8-{runtime}" in settings.formats:
                report = _export_int8(model, runtime, result, data_root, settings)
                print(report.line())
                result.int8.append(report)
        for report in mobile_lossy(result.files, data_root, model, settings):
            print(report.line())
            result.int8.append(report)
    result.report = write_text_atomic(
        Path(f"{stem}_export.json"), json.dumps(result.to_dict(), indent=2, default=float)
    )
    failed = [r.backend for r in result.parity if not r.passed]
    if failed:
        raise UserError(
            f"parity FAILED for {failed} (see {result.report}); do not deploy these files"
        )
    return result


def _check_fp32(
    model: DeployModel, files: dict[str, Path], data_root: Path, settings: ExportSettings
) -> list[ParityReport]:
    """Parity of each fp32 file (ONNX Runtime on the ONNX, OpenVINO on the IR) with eager."""
    paths = dataset_images(data_root, "val", settings.parity_images)
    frames = [read_bgr(p, what="parity image") for p in paths]
    reference = build_predictor(EAGER, model.module, threads=settings.threads)
    candidates = [(ONNXRUNTIME, files["onnx"])]
    if "openvino" in files:
        candidates.append((OPENVINO, files["openvino"]))
    reports = [
        check_parity(
            reference,
            build_predictor(backend, path, threads=settings.threads),
            frames,
            settings.size,
            data=model.data,
        )
        for backend, path in candidates
    ]
    return reports + mobile_parity(reference, files, frames, model, settings)


def _layouts(files: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Input / output layout of each file written (ONNX and OpenVINO: ``graphs``)."""
    onnx = {"input": "NCHW (N, 3, H, W) float32", "output": "NHWC (N, H, W, C) float32"}
    return {
        kind: LAYOUTS.get(kind.removeprefix("int8-").removeprefix("fp16-"), onnx) for kind in files
    }


def _export_int8(
    model: DeployModel,
    runtime: str,
    result: ExportResult,
    data_root: Path,
    settings: ExportSettings,
) -> Int8Report:
    """Quantize for one runtime, write ``<stem>_int8.onnx`` / ``.xml``, report its accuracy."""
    onnx_path, size = result.files["onnx"], settings.size
    calibration = dataset_images(data_root, "train", settings.calib_images)
    suffix, quantize = (
        (".onnx", quantize_onnxruntime) if runtime == "onnxruntime" else (".xml", quantize_openvino)
    )
    target = onnx_path.with_name(f"{onnx_path.stem}_int8{suffix}")
    path = quantize(onnx_path, target, calibration, size, settings.recipe, data=model.data)
    result.files[f"int8-{runtime}"] = path
    backend = Backend(runtime, "int8", settings.recipe)
    fp32 = build_predictor(ONNXRUNTIME, onnx_path, threads=settings.threads)
    int8 = build_predictor(backend, path, threads=settings.threads)
    return evaluate_int8(
        fp32,
        int8,
        data_root,
        "val",
        size,
        limit=settings.val_images,
        recipe=settings.recipe,
        data=model.data,
        photos=settings.photos,
    )
