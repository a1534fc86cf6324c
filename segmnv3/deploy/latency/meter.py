"""End-to-end latency of PyTorch models on a deploy runtime, as an app would see it.

Each model is exported to the runtime's file (ONNX, OpenVINO IR or ``.tflite``) at a fixed
input size, loaded by the same predictor ``infer`` and ``bench`` use, and timed with the
benchmark's interleaved timer (one run of each model per round, so load from other
processes hits all of them alike). The median over the rounds is the figure.
"""

from __future__ import annotations

import tempfile
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import torch

from segmnv3.core.errors import UserError
from segmnv3.deploy.bench.timing import time_interleaved
from segmnv3.deploy.runtimes.backend import Backend

MEASURED_RUNTIMES = ("onnxruntime", "openvino", "litert")


class LatencyMeter:
    """Times models on one runtime at one input size.

    Args:
        runtime: ``onnxruntime`` (default), ``openvino`` or ``litert``.
        size: (H, W) of the network input.
        threads: runtime threads (1: the paper's single-core figures).
        repeats: timed runs of each model (split over its sessions).
        warmup: untimed runs of each session first.
        sessions: runtime sessions per model. Where a session's buffers land in memory
            shifts its latency by up to ~5% (identical models, one process, measured
            interleaved: 6.51-6.89 ms on ONNX Runtime), more than a NetAdapt step saves;
            the mean of several sessions' medians averages that placement out.

    Raises:
        UserError: an unknown runtime, or one that is not installed (names the extra).
    """

    def __init__(
        self,
        runtime: str = "onnxruntime",
        size: tuple[int, int] = (256, 512),
        *,
        threads: int = 1,
        repeats: int = 15,
        warmup: int = 2,
        sessions: int = 4,
    ) -> None:
        if runtime not in MEASURED_RUNTIMES:
            raise UserError(
                f"--runtime {runtime}: latency is measured on {', '.join(MEASURED_RUNTIMES)}"
            )
        check_installed(runtime)
        self.backend = Backend(runtime)
        self.size, self.threads = tuple(size), threads
        self.repeats, self.warmup, self.sessions = repeats, warmup, sessions

    def measure(self, models: dict[Hashable, torch.nn.Module]) -> dict[Hashable, float]:
        """Latency (ms) of each model: the mean over its sessions of their medians, every
        session of every model timed interleaved."""
        from segmnv3.deploy.runtimes.factory import build_predictor

        batch = np.random.default_rng(0).standard_normal((1, 3, *self.size), dtype=np.float32)
        with tempfile.TemporaryDirectory(prefix="segmnv3-latency-") as workdir:
            paths = {
                key: self._export(model.eval(), Path(workdir) / f"model{index}")
                for index, (key, model) in enumerate(models.items())
            }
            runners = {}
            for session in range(self.sessions):  # back and forth: even creation places
                order = list(paths) if session % 2 == 0 else list(paths)[::-1]
                for key in order:
                    path = paths[key]
                    predictor = build_predictor(self.backend, path, threads=self.threads)
                    runners[key, session] = lambda p=predictor: p.logits(batch)
            rounds = -(-self.repeats // self.sessions)
            timings = time_interleaved(runners, warmup=self.warmup, repeats=rounds)
        return {
            key: sum(timings[key, s].median_ms for s in range(self.sessions)) / self.sessions
            for key in paths
        }

    def _export(self, model: torch.nn.Module, stem: Path) -> Path:
        from segmnv3.deploy.export.graphs import export_onnx, export_openvino

        if self.backend.runtime == "litert":
            from segmnv3.deploy.export.mobile import export_litert

            return export_litert(model, stem.with_suffix(".tflite"), self.size)
        onnx_path = export_onnx(model, stem.with_suffix(".onnx"), self.size)
        if self.backend.runtime == "openvino":
            return export_openvino(onnx_path, stem.with_suffix(".xml"))
        return onnx_path


def check_installed(runtime: str) -> None:
    """UserError naming the extra to install when ``runtime``'s packages are missing
    (found without importing them: OpenVINO is imported only through ``quiet_openvino``)."""
    import importlib.util

    from segmnv3.core.optional import install_hint

    packages = {
        "onnxruntime": [("onnxruntime", "onnxruntime"), ("onnx", "onnx")],
        "openvino": [("openvino", "openvino")],
        "litert": [("litert_torch", "litert-torch")],
    }[runtime]
    for module, package in packages:
        if importlib.util.find_spec(module) is None:
            raise UserError(
                f"--runtime {runtime}: timing on {runtime} needs the {package} package, which "
                f"is not installed; {install_hint(package)}, or pick another --runtime"
            )
