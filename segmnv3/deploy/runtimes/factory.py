"""``build_predictor``: the one place that maps a ``Backend`` to a predictor class."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segmnv3.core.errors import UserError
from segmnv3.deploy.runtimes.backend import Backend
from segmnv3.deploy.runtimes.mobile import ExecuTorchPredictor, LiteRTPredictor
from segmnv3.deploy.runtimes.predictors import (
    EagerPredictor,
    OnnxRuntimePredictor,
    OpenVinoPredictor,
    Predictor,
)

if TYPE_CHECKING:
    import torch


def build_predictor(
    backend: Backend,
    source: torch.nn.Module | str | Path,
    *,
    threads: int = 1,
    device: str = "cpu",
) -> Predictor:
    """A predictor running ``source`` on ``backend``, named after it.

    Args:
        backend: runtime and precision.
        source: the PyTorch module (``eager``), or the exported graph file the backend
            runs (``.onnx``; OpenVINO also ``.xml``; LiteRT ``.tflite``; ExecuTorch
            ``.pte``; int8 backends: the quantized file).
        threads: runtime threads.
        device: torch device (eager only).

    Raises:
        ValueError: a module for an exported runtime, a file for eager, or a device other
            than the CPU for an exported runtime.
    """
    if backend.runtime == "eager":
        if isinstance(source, str | Path):
            raise ValueError("the eager backend runs a PyTorch module, not a file")
        return EagerPredictor(source, device=device, threads=threads)
    if not isinstance(source, str | Path):
        raise ValueError(f"backend {backend.name} runs an exported graph file; export it first")
    if device != "cpu":
        raise ValueError(f"backend {backend.name} runs on the CPU only, not on {device}")
    if backend.runtime == "onnxruntime":
        return OnnxRuntimePredictor(source, backend=backend, threads=threads)
    if backend.runtime == "litert":
        return LiteRTPredictor(source, backend=backend, threads=threads)
    if backend.runtime == "executorch":
        return ExecuTorchPredictor(source, backend=backend, threads=threads)
    return OpenVinoPredictor(source, backend=backend, threads=threads)


def check_device(device: str) -> None:
    """UserError unless torch can run on ``device`` here (``cpu``, ``cuda``, ``cuda:1``, ...).

    Checked before any work, so that a missing GPU is one line, not a CUDA traceback
    after the model was built.
    """
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise UserError(f"device {device!r}: not a torch device (e.g. cpu, cuda, cuda:1)") from None
    kind = parsed.type
    if kind == "cpu":
        return
    module = getattr(torch, kind, None)
    available = module is not None and hasattr(module, "is_available") and module.is_available()
    if not available:
        raise UserError(
            f"device {device!r}: no {kind} device is available here "
            f"(torch.{kind}.is_available() is False); use cpu"
        )
    count = module.device_count() if hasattr(module, "device_count") else 1
    if parsed.index is not None and parsed.index >= count:
        raise UserError(f"device {device!r}: only {count} {kind} device(s) here (0..{count - 1})")
