"""``segmnv3 export`` end to end: ONNX, OpenVINO IR and int8 files, each with its report.

fp32 exports must pass ``ParityThresholds`` (max |logit diff| <= 1e-3 x logit scale,
argmax agreement >= 99.9%) on real images, or the export fails. int8 files are lossy by
design: their argmax agreement with fp32 (target >= 99%) and the mIoU delta on the val
split are reported, and a miss is flagged, not fatal.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from pathlib import Path

import cv2

from segmnv3.core.errors import UserError
from segmnv3.deploy import FORMATS
from segmnv3.deploy.export import check_parity, export_onnx, export_openvino
from segmnv3.deploy.quantize import (
    INT8_TARGET,
    evaluate_int8,
    quantize_onnxruntime,
    quantize_openvino,
)
from segmnv3.deploy.runtimes import EagerPredictor, OnnxRuntimePredictor, OpenVinoPredictor


def dataset_images(root: Path, split: str, limit: int) -> list[Path]:
    """The first ``limit`` image files of a Cityscapes-layout split."""
    from segmnv3.data.cityscapes import find_pairs

    return find_pairs(root, split)[0][:limit]


def synthetic_root(stack: ExitStack, size: tuple[int, int], train: int, val: int) -> Path:
    """A throw-away synthetic Cityscapes (deleted when ``stack`` closes)."""
    from segmnv3.data.synthetic import generate_synthetic

    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="segmnv3-export-")))
    print(f"no --data-root: generating {train} train / {val} val synthetic images at {size}")
    return generate_synthetic(root, num_train=train, num_val=val, num_test=0, size=size,
                              video=False, workers=1)  # fmt: skip


def export_bundle(model, name: str, size: tuple[int, int], out_dir: Path, *, formats: list[str],
                  data_root: Path | None, dynamic: bool = False, parity_images: int = 4,
                  calib_images: int = 16, val_images: int = 50, recipe: str = "tuned",
                  threads: int = 1) -> dict:  # fmt: skip
    """Export ``model`` in ``formats`` under ``out_dir`` and check every file.

    Returns:
        The report (also written to ``<out_dir>/<name>_<H>x<W>_export.json``): files,
        parity of each fp32 runtime, and the int8 reports.

    Raises:
        UserError: an fp32 runtime misses the parity thresholds.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise UserError(f"--format {unknown}: choose from {list(FORMATS)}")
    stem = out_dir / f"{name}_{size[0]}x{size[1]}"
    with ExitStack() as stack:
        if data_root is None:
            data_root = synthetic_root(stack, size, calib_images, max(parity_images, val_images))
        val = dataset_images(data_root, "val", parity_images)
        frames = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in val]
        onnx_path = export_onnx(model, stem.with_suffix(".onnx"), size, dynamic=dynamic)
        fp32 = {"onnx": OnnxRuntimePredictor(onnx_path, threads=threads)}
        files = {"onnx": str(onnx_path)}
        if "openvino" in formats:
            xml = export_openvino(onnx_path, stem.with_suffix(".xml"))
            fp32["openvino"], files["openvino"] = OpenVinoPredictor(xml, threads=threads), str(xml)
        reference = EagerPredictor(model, threads=threads)
        parity = [check_parity(reference, p, frames, size) for p in fp32.values()]
        for report in parity:
            print(report.line())
        int8 = []
        calibration = dataset_images(data_root, "train", calib_images)
        for backend in ("onnxruntime", "openvino"):
            if f"int8-{backend}" not in formats:
                continue
            path, predictor = _quantize(backend, onnx_path, stem, calibration, size, recipe,
                                        threads)  # fmt: skip
            files[f"int8-{backend}"] = str(path)
            report = evaluate_int8(fp32["onnx"], predictor, data_root, "val", size,
                                   limit=val_images, recipe=recipe)  # fmt: skip
            flag = (
                "" if report.agreement >= INT8_TARGET else f"  (below the {INT8_TARGET:.0%} target)"
            )
            print(report.line() + flag)
            int8.append(report.to_dict())
    result = {"model": name, "size": list(size), "dynamic": dynamic, "files": files,
              "parity": [r.to_dict() for r in parity], "int8": int8}  # fmt: skip
    report_path = Path(f"{stem}_export.json")
    report_path.write_text(json.dumps(result, indent=2, default=float))
    failed = [r.backend for r in parity if not r.passed]
    if failed:
        raise UserError(
            f"parity FAILED for {failed} (see {report_path}); do not deploy these files"
        )
    return result


def _quantize(backend, onnx_path, stem, calibration, size, recipe, threads):
    """Quantize for one backend; returns (file, predictor named ``<backend>-int8``)."""
    if backend == "onnxruntime":
        path = quantize_onnxruntime(onnx_path, Path(f"{stem}_int8.onnx"), calibration, size, recipe)
        predictor = OnnxRuntimePredictor(path, threads=threads)
    else:
        path = quantize_openvino(onnx_path, Path(f"{stem}_int8.xml"), calibration, size, recipe)
        predictor = OpenVinoPredictor(path, threads=threads)
    predictor.name = f"{backend}-int8"
    return path, predictor
