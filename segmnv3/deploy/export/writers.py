"""How each deploy file is written: one ``Writer`` per ``formats.Format``, one signature.

A writer takes the ``Job`` (the network and what calibration needs), the file of the
format it needs (``Format.needs``; None for those made from the module), the int8
recipe and the destination, and returns the destination. Libraries are imported when a
writer runs, so the table that names the writers stays light. ``Artifacts`` makes a
format's file on first use, after the file it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from segmnv3.data.config import DataConfig
from segmnv3.deploy.runtimes.backend import Recipe

if TYPE_CHECKING:
    import torch

    from segmnv3.deploy.export.formats import Format


@dataclass(frozen=True)
class Job:
    """What the writers of one network at one size share.

    Attributes:
        model: the network (eval mode).
        size: input (H, W) of every graph.
        calibration: training images for int8.
        data: the model's data config (normalisation of the calibration images).
        dynamic: ONNX with dynamic batch / height / width (``global`` pooling only).
    """

    model: torch.nn.Module
    size: tuple[int, int]
    calibration: list[Path] = field(default_factory=list)
    data: DataConfig = field(default_factory=DataConfig)
    dynamic: bool = False


class Writer(Protocol):
    def __call__(self, job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path: ...


def onnx(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.graphs import export_onnx

    return export_onnx(job.model, path, job.size, dynamic=job.dynamic)


def onnx_labels(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.graphs import export_onnx

    return export_onnx(job.model, path, job.size, dynamic=job.dynamic, output="labels")


def onnx_head(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.graphs import export_onnx

    return export_onnx(job.model, path, job.size, dynamic=job.dynamic, output="head_logits")


def openvino(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.graphs import export_openvino

    return export_openvino(source, path)


def onnx_int8(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.quantize import quantize_onnxruntime

    return quantize_onnxruntime(source, path, job.calibration, job.size, recipe, data=job.data)


def openvino_int8(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.quantize import quantize_openvino

    return quantize_openvino(source, path, job.calibration, job.size, recipe, data=job.data)


def litert(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.mobile import export_litert

    return export_litert(job.model, path, job.size)


def litert_fp16(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.mobile import litert_fp16 as write_fp16

    return write_fp16(source, path)


def litert_int8(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.quantize_mobile import quantize_litert

    return quantize_litert(source, path, job.calibration, job.size, recipe, data=job.data)


def executorch(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    from segmnv3.deploy.export.mobile import export_executorch

    return export_executorch(job.model, path, job.size)


def executorch_int8(job: Job, source: Path | None, recipe: Recipe, path: Path) -> Path:
    """PT2E from the module (``source``, the fp32 ``.pte``, is only its reference)."""
    from segmnv3.deploy.export.quantize_mobile import quantize_executorch

    return quantize_executorch(job.model, path, job.calibration, job.size, recipe, data=job.data)


class Artifacts:
    """The files of one ``Job`` under ``stem``, each written once, on first use.

    Args:
        job: the network and its calibration images.
        stem: ``<folder>/<model>_<H>x<W>``.
        recipe_in_name: int8 names carry the recipe (``_<recipe>_int8``), so that both
            recipes' files can lie side by side (the benchmark).
    """

    def __init__(self, job: Job, stem: Path, *, recipe_in_name: bool = False):
        self.job, self.stem, self.recipe_in_name = job, stem, recipe_in_name
        # (format, int8 recipe or None) -> file, in the order written
        self.made: dict[tuple[str, Recipe | None], Path] = {}

    def path(self, fmt: Format, recipe: Recipe = "tuned") -> Path:
        """The file of ``fmt`` (int8: made with ``recipe``), written with what it needs."""
        from segmnv3.deploy.export.formats import format_named

        key = (fmt.name, recipe if fmt.backend.is_int8 else None)
        if key not in self.made:
            source = None if fmt.needs is None else self.path(format_named(fmt.needs), recipe)
            target = fmt.path(self.stem, recipe, recipe_in_name=self.recipe_in_name)
            self.made[key] = fmt.write(self.job, source, recipe, target)
        return self.made[key]
