"""One ``Predictor`` interface over eager PyTorch, ONNX Runtime and OpenVINO.

A predictor maps a normalised NCHW float32 batch (see ``inference.preprocess.to_input``) to logits
``(N, C, H, W)`` float32 (``logits``) or to train-id labels ``(N, H, W)`` uint8
(``predict``). A graph that ends before the final upsample (``output`` ``head_logits``)
returns (N, C, H/8, W/8) logits, and labels only through
``inference.upsample_labels.labels_from_logits`` at the size the caller wants. Each backend is configured for single-stream CPU latency: a fixed thread
count, the runtime's full graph optimisation, and, for eager PyTorch, channels_last
memory layout (faster depthwise convolutions in oneDNN) under ``torch.inference_mode``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from segmnv3.core.errors import UserError
from segmnv3.core.quiet import is_verbose
from segmnv3.deploy.quiet_openvino import import_openvino
from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME, OPENVINO, Backend
from segmnv3.deploy.signal_stack import preserved_signal_stack


class Predictor(ABC):
    """Runs a segmentation network on NCHW float32 batches.

    Build one with ``segmnv3.deploy.runtimes.build_predictor``.

    Attributes:
        backend: the runtime and precision it runs (fixed at construction).
        output: what its graph ends in: ``logits``, ``labels`` (``predict`` only) or
            ``head_logits`` (``logits`` only, at stride 8).
    """

    output = "logits"

    def __init__(self, backend: Backend):
        self.backend = backend

    @property
    def name(self) -> str:
        """Short backend label used in reports (e.g. ``openvino-int8``)."""
        return self.backend.name

    @abstractmethod
    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> logits (N, C, H, W) float32."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> train-id labels (N, H, W) uint8."""
        return self.logits(batch).argmax(axis=1).astype(np.uint8)


class EagerPredictor(Predictor):
    """Eager PyTorch under ``torch.inference_mode``.

    Args:
        model: a module returning logits (B, C, H, W) (or torchvision's ``{"out": ...}``).
        device: torch device string; ``cpu`` by default.
        threads: intra-op threads (``torch.set_num_threads``); None leaves torch's default.
        channels_last: run in NHWC memory layout (faster on CPU for depthwise convs).
    """

    def __init__(
        self, model, *, device: str = "cpu", threads: int | None = None, channels_last: bool = True
    ):
        import torch

        super().__init__(EAGER)

        if threads is not None:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.memory_format = memory_format
        self.model = model.eval().to(self.device, memory_format=memory_format)
        self.output = getattr(model, "graph_output", "logits")  # export.graphs.HeadLogits

    def _forward(self, batch: np.ndarray):
        import torch

        x = torch.from_numpy(batch).to(self.device).contiguous(memory_format=self.memory_format)
        out = self.model(x)
        return out["out"] if isinstance(out, dict) else out  # (N, C, H, W)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self._forward(batch).float().cpu().numpy()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        import torch

        _require_full_size(self.output, self.name)
        with torch.inference_mode():  # argmax on the device: no (N, C, H, W) copy back
            return self._forward(batch).argmax(1).to(torch.uint8).cpu().numpy()


class OnnxRuntimePredictor(Predictor):
    """ONNX Runtime CPU session (full graph optimisation, sequential execution).

    Args:
        path: the ``.onnx`` file (fp32, or int8 QDQ from ``deploy.export.quantize``).
        backend: what the file is (an ``onnxruntime`` backend: fp32 or int8).
        threads: intra-op threads; 1 matches the paper's single-core figures.
        profile: write ONNX Runtime's per-node profile under this file prefix
            (``end_profiling`` returns its path; ``bench.roofline`` reads it).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        backend: Backend = ONNXRUNTIME,
        threads: int = 1,
        profile: str | Path | None = None,
    ):
        import onnxruntime as ort

        if backend.runtime != "onnxruntime":
            raise ValueError(f"OnnxRuntimePredictor cannot run backend {backend.name}")
        super().__init__(backend)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 2 if is_verbose() else 3  # no "Removing initializer"
        ort.set_default_logger_severity(options.log_severity_level)  # quantizer sessions too
        if profile is not None:
            options.enable_profiling, options.profile_file_prefix = True, str(profile)
        try:
            self.session = ort.InferenceSession(
                _onnxruntime_graph(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # ORT and onnx raise their own exception types
            raise UserError(f"ONNX Runtime cannot load {path}: {error}") from None
        self.input_name = self.session.get_inputs()[0].name
        self.output = _output_kind(self.session.get_outputs()[0].name, path)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        _require_logits(self.output, self.name)
        return self._run(batch).transpose(0, 3, 1, 2)  # NHWC -> (N, C, H, W) view

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return _labels(self._run(batch), self.output)

    def end_profiling(self) -> Path:
        """Stop profiling (``profile=``) and return the JSON trace ONNX Runtime wrote."""
        return Path(self.session.end_profiling())


def _onnxruntime_graph(path: str | Path) -> str | bytes:
    """The file, or its bytes after ONNX Runtime-specific rewrites (see ``graph_rewrite``).

    The final upsample on NHWC logits is ~2.5x faster in ONNX Runtime but several times
    slower in OpenVINO, so exported files stay standard and only ONNX Runtime's copy
    is rewritten, in memory.
    """
    import onnx

    from segmnv3.deploy.runtimes.graph_rewrite import resize_in_channels_last

    model = onnx.load(str(path))
    return model.SerializeToString() if resize_in_channels_last(model) else str(path)


class OpenVinoPredictor(Predictor):
    """OpenVINO compiled model on the CPU plugin (LATENCY hint).

    Args:
        path: an ``.onnx`` file or OpenVINO IR ``.xml``.
        backend: an ``openvino`` backend; its float precision becomes the inference
            precision hint: ``f32`` for exact fp32 (OpenVINO's default on AMX/avx512_bf16
            CPUs is bf16, which is not fp32 parity), or ``bf16``.
        threads: inference threads.
    """

    def __init__(self, path: str | Path, *, backend: Backend = OPENVINO, threads: int = 1):
        ov = import_openvino()

        if backend.runtime != "openvino":
            raise ValueError(f"OpenVinoPredictor cannot run backend {backend.name}")
        super().__init__(backend)
        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": _precision_hint(backend),
        }
        try:
            with preserved_signal_stack():
                self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        except Exception as error:  # OpenVINO raises RuntimeError subclasses
            raise UserError(f"OpenVINO cannot load {path}: {error}") from None
        self.request = self.compiled.create_infer_request()
        self.output = _output_kind(self.compiled.outputs[0].get_any_name(), path)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with preserved_signal_stack():
            return self.request.infer({0: batch})[0]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        _require_logits(self.output, self.name)
        return self._run(batch).transpose(0, 3, 1, 2)  # NHWC -> (N, C, H, W) view

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return _labels(self._run(batch), self.output)


def _precision_hint(backend: Backend) -> str:
    """OpenVINO's INFERENCE_PRECISION_HINT: bf16 for bf16 (or int8 with bf16 float parts)."""
    bf16 = backend.precision == "bf16" or backend.float_precision == "bf16"
    return "bf16" if bf16 else "f32"


def _output_kind(name: str, path: str | Path) -> str:
    """Exported graphs (``deploy.export``) output ``logits`` (NHWC), ``labels`` (NHW) or
    ``head_logits`` (NHWC at stride 8)."""
    if name not in ("logits", "labels", "head_logits"):
        raise UserError(
            f"{path}: output {name!r} is not 'logits', 'labels' or 'head_logits'; export "
            "the model with `segmnv3 export` so the runtime knows its layout"
        )
    return name


def _require_logits(output: str, backend: str) -> None:
    if output == "labels":
        raise UserError(f"{backend}: this graph outputs labels only; export it with logits")


def _require_full_size(output: str, backend: str) -> None:
    if output == "head_logits":
        raise UserError(
            f"{backend}: this graph ends before the final upsample; make labels at the "
            "size you want with deploy.inference.upsample_labels.labels_from_logits"
        )


def _labels(raw: np.ndarray, output: str) -> np.ndarray:
    """Graph output -> (N, H, W) uint8; argmax over the contiguous last axis for NHWC."""
    _require_full_size(output, "this runtime")
    if output == "labels":
        return raw.astype(np.uint8, copy=False)
    return raw.argmax(axis=-1).astype(np.uint8)
