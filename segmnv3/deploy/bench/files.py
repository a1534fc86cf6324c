"""The files each backend of a subject runs at one size: exported and quantized once, on demand."""

from __future__ import annotations

from pathlib import Path

from segmnv3.deploy.bench.subjects import Subject
from segmnv3.deploy.runtimes.backend import ONNXRUNTIME, Backend


class BenchFiles:
    """Graph files of one subject at one size under ``workdir``, made on first use.

    Each backend runs ``export.formats.format_for(backend)``: the ``.onnx`` for ONNX
    Runtime and OpenVINO fp32 / bf16, ``_<recipe>_int8.onnx`` / ``.xml`` for their int8
    (``openvino-int8`` and ``openvino-int8-bf16`` share one file), ``.tflite`` /
    ``_fp16.tflite`` / ``_<recipe>_int8.tflite`` and ``.pte`` / ``_<recipe>_int8.pte``
    for the phone runtimes; names ``<subject>_<H>x<W>...`` (``formats.Format.path``).

    Args:
        subject: the network.
        size: (H, W) of the exported graphs.
        workdir: folder for the files.
        calibration: training images for int8 calibration.
    """

    def __init__(
        self, subject: Subject, size: tuple[int, int], workdir: Path, calibration: list[Path]
    ):
        from segmnv3.deploy.export.writers import Artifacts, Job

        self.subject, self.size, self.calibration = subject, size, calibration
        self.stem = workdir / f"{subject.name}_{size[0]}x{size[1]}"
        job = Job(subject.model, size, calibration, subject.data)
        self.artifacts = Artifacts(job, self.stem, recipe_in_name=True)

    def onnx(self) -> Path:
        """The fp32 ONNX file (exported on first use)."""
        return self.graph(ONNXRUNTIME)

    def graph(self, backend: Backend) -> Path:
        """The file ``backend`` runs (exported / quantized on first use).

        Raises:
            ValueError: the eager backend (it runs the module).
        """
        from segmnv3.deploy.export.formats import format_for

        return self.artifacts.path(format_for(backend), backend.int8_recipe or "tuned")

    def checkpoint(self) -> Path:
        """A checkpoint of the subject (model and data config) for the eager memory probe."""
        from segmnv3.core.checkpoint import save_checkpoint
        from segmnv3.core.schema import to_plain

        if self.subject.model_config is None:
            raise ValueError(f"{self.subject.name}: no model config to rebuild it from")
        path = self.stem.parent / f"{self.subject.name}_probe.pt"
        config = {"model": to_plain(self.subject.model_config), "data": to_plain(self.subject.data)}
        save_checkpoint({"model": self.subject.model.state_dict(), "config": config}, path)
        return path
