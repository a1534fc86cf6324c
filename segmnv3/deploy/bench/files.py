"""The files each backend of a subject runs at one size: exported and quantized once, on demand."""

from __future__ import annotations

from pathlib import Path

from segmnv3.deploy.bench.subjects import Subject
from segmnv3.deploy.runtimes.backend import Backend


class BenchFiles:
    """Graph files of one subject at one size under ``workdir``.

    Names: ``<subject>_<H>x<W>.onnx`` (fp32, ONNX Runtime and OpenVINO),
    ``<subject>_<H>x<W>_<recipe>_int8.onnx`` / ``.xml`` (ONNX Runtime / OpenVINO int8;
    ``openvino-int8`` and ``openvino-int8-bf16`` share one file); for the phone
    runtimes ``<subject>_<H>x<W>.tflite`` / ``.pte`` (fp32), ``_fp16.tflite`` and
    ``_<recipe>_int8.tflite`` / ``.pte``.

    Args:
        subject: the network.
        size: (H, W) of the exported graphs.
        workdir: folder for the files.
        calibration: training images for int8 calibration.
    """

    def __init__(
        self, subject: Subject, size: tuple[int, int], workdir: Path, calibration: list[Path]
    ):
        self.subject, self.size, self.calibration = subject, size, calibration
        self.stem = workdir / f"{subject.name}_{size[0]}x{size[1]}"
        self._made: set[Path] = set()

    def onnx(self) -> Path:
        """The fp32 ONNX file (exported on first use)."""
        from segmnv3.deploy.export.graphs import export_onnx

        path = self.stem.with_suffix(".onnx")
        if path not in self._made:
            export_onnx(self.subject.model, path, self.size)
            self._made.add(path)
        return path

    def graph(self, backend: Backend) -> Path:
        """The file ``backend`` runs (quantized on first use for int8 backends)."""
        from segmnv3.deploy.export.quantize import quantize_onnxruntime, quantize_openvino

        if backend.runtime == "eager":
            raise ValueError("the eager backend runs the module, not a file")
        if backend.is_mobile:
            return self._mobile(backend)
        if not backend.is_int8:
            return self.onnx()
        suffix = ".onnx" if backend.runtime == "onnxruntime" else ".xml"
        path = Path(f"{self.stem}_{backend.int8_recipe}_int8{suffix}")
        if path not in self._made:
            quantize = (
                quantize_onnxruntime if backend.runtime == "onnxruntime" else quantize_openvino
            )
            quantize(
                self.onnx(),
                path,
                self.calibration,
                self.size,
                backend.int8_recipe,
                data=self.subject.data,
            )
            self._made.add(path)
        return path

    def _mobile(self, backend: Backend) -> Path:
        """The ``.tflite`` / ``.pte`` file of a LiteRT / ExecuTorch backend (made on first use)."""
        from segmnv3.deploy.export import mobile, quantize_mobile

        tag = {"fp32": "", "fp16": "_fp16", "int8": f"_{backend.int8_recipe}_int8"}
        path = Path(f"{self.stem}{tag[backend.precision]}{mobile.SUFFIXES[backend.runtime]}")
        if path in self._made:
            return path
        model, size, data = self.subject.model, self.size, self.subject.data
        if backend.precision == "fp32":
            mobile.export_fp32(backend.runtime, model, path, size)
        elif backend.precision == "fp16":
            mobile.litert_fp16(self._mobile(Backend("litert")), path)
        elif backend.runtime == "litert":  # int8 starts from the fp32 file
            fp32 = self._mobile(Backend("litert"))
            recipe = backend.int8_recipe
            quantize_mobile.quantize_litert(fp32, path, self.calibration, size, recipe, data=data)
        else:  # int8 ExecuTorch starts from the module (PT2E)
            recipe = backend.int8_recipe
            quantize_mobile.quantize_executorch(
                model, path, self.calibration, size, recipe, data=data
            )
        self._made.add(path)
        return path

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
