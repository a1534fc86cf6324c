"""``build_predictor``: the one place that maps a ``Backend`` to a predictor class."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segmnv3.deploy.runtimes.backend import Backend
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
            runs (``.onnx``; OpenVINO also ``.xml``; int8 backends: the quantized file).
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
    return OpenVinoPredictor(source, backend=backend, threads=threads)
