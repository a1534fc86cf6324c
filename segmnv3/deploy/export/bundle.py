"""``segmnv3 export`` end to end: ONNX, OpenVINO IR, LiteRT, ExecuTorch and int8 files, each
with its report. Which files exist, how each is written and named, and which backend
checks it: ``formats.FORMATS`` (the formats asked for, and those they need, are written
in its order).

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

from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.errors import UserError
from segmnv3.core.files import write_text_atomic
from segmnv3.deploy.export.accuracy import Int8Report, evaluate_int8
from segmnv3.deploy.export.formats import FORMAT_NAMES, FORMATS, Format, format_named
from segmnv3.deploy.export.parity import ParityReport, check_parity
from segmnv3.deploy.export.writers import Artifacts, Job
from segmnv3.deploy.images import check_model_fits_data, dataset_images, read_bgr, synthetic_root
from segmnv3.deploy.model import DeployModel
from segmnv3.deploy.runtimes import build_predictor
from segmnv3.deploy.runtimes.backend import EAGER, Recipe


@dataclass(frozen=True)
class ExportSettings:
    """What to export and how to check it.

    Attributes:
        size: network input (H, W) of the exported graphs.
        formats: ``formats.FORMAT_NAMES`` to write; ONNX is always written, and so is
            the file each format needs (``Format.needs``).
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
    recipe: Recipe = "tuned"
    threads: int = 1
    photos: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.formats) - set(FORMAT_NAMES))
        if unknown:
            raise ValueError(f"export formats {unknown}: choose from {list(FORMAT_NAMES)}")


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

    def parity_of(self, name: str) -> ParityReport:
        """The parity report of the fp32 file of format ``name`` (in ``files``)."""
        fp32 = [n for n in self.files if not format_named(n).lossy]
        return self.parity[fp32.index(name)]

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
        calibration = dataset_images(data_root, "train", settings.calib_images)
        job = Job(model.module, size, calibration, model.data, settings.dynamic)
        artifacts = Artifacts(job, stem)
        wanted = {"onnx", *settings.formats}
        for fmt in (f for f in FORMATS if f.name in wanted):
            artifacts.path(fmt, settings.recipe)
        result.files = {name: path for (name, _), path in artifacts.made.items()}
        result.layouts = {name: format_named(name).file.layout for name in result.files}
        result.parity = _check_fp32(model, result.files, data_root, settings)
        for report in result.parity:
            print(report.line())
        for fmt in (format_named(name) for name in result.files):
            if fmt.lossy:
                report = _check_lossy(model, fmt, result.files, data_root, settings)
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
    """Parity with eager of each fp32 file, run by its format's backend."""
    paths = dataset_images(data_root, "val", settings.parity_images)
    frames = [read_bgr(p, what="parity image") for p in paths]
    reference = build_predictor(EAGER, model.module, threads=settings.threads)
    fp32 = [format_named(name) for name in files if not format_named(name).lossy]
    if any(fmt.ends_in_head for fmt in fp32):  # against PyTorch's pre-upsample logits
        from segmnv3.deploy.export.graphs import HeadLogits

        head = build_predictor(EAGER, HeadLogits(model.module), threads=settings.threads)
    return [
        check_parity(
            head if fmt.ends_in_head else reference,
            build_predictor(fmt.backend, files[fmt.name], threads=settings.threads),
            frames,
            settings.size,
            data=model.data,
        )
        for fmt in fp32
    ]


def _check_lossy(
    model: DeployModel,
    fmt: Format,
    files: dict[str, Path],
    data_root: Path,
    settings: ExportSettings,
) -> Int8Report:
    """An fp16 / int8 file against the fp32 file it needs: argmax agreement, val mIoU."""
    reference = format_named(fmt.needs)
    fp32 = build_predictor(reference.backend, files[reference.name], threads=settings.threads)
    backend = fmt.backend_for(settings.recipe)
    candidate = build_predictor(backend, files[fmt.name], threads=settings.threads)
    return evaluate_int8(
        fp32,
        candidate,
        data_root,
        "val",
        settings.size,
        limit=settings.val_images,
        recipe=settings.recipe if backend.is_int8 else "weights",
        data=model.data,
        photos=settings.photos,
        score=settings.data_root is not None or model.labels.names == CITYSCAPES.names,
    )
