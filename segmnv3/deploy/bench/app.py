"""The latency an application sees: an RGB uint8 camera frame in, a train-id map at the
frame's size out, each stage timed (one thread).

Stages: ``preprocess`` (resize to the network size + normalise: ``to_input``),
``inference``, ``argmax`` (over the logits; 0 when the graph ends in labels) and
``resize back`` (NEAREST, to the frame's size). Each runtime runs two graphs: one that
ends in logits (argmax in NumPy, over the contiguous channel axis) and one that ends in
labels (argmax inside the graph, uint8 out: the ``labels-onnx`` format; eager: argmax in
torch before the copy out). The labels graph is exact when its labels equal those of the
logits graph (``agreement`` = 1); ``infer`` streams it where it is also faster
(``inference.stream.STREAM_FORMATS``), and ``segment()`` takes the argmax in torch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from segmnv3.data.config import DataConfig
from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME, OPENVINO, Backend

STAGES = ("preprocess", "inference", "argmax", "resize_back")


@dataclass(frozen=True)
class AppLatency:
    """Median time of each stage (ms) for one (backend, graph output)."""

    model: str
    backend: Backend
    output: Literal["logits", "labels"]
    frame_size: tuple[int, int]
    network_size: tuple[int, int]
    preprocess_ms: float
    inference_ms: float
    argmax_ms: float
    resize_back_ms: float
    total_ms: float  # median of the per-run sums
    runs: int
    agreement_with_logits: float  # labels graph vs logits graph, same frame


def labels_of_logits(logits: np.ndarray) -> np.ndarray:
    """(1, C, h, w) logits -> (h, w) uint8 argmax, over the contiguous axis when the
    array is an NHWC buffer seen as NCHW (ONNX Runtime / OpenVINO predictors)."""
    nhwc = logits.transpose(0, 2, 3, 1)
    if nhwc.flags.c_contiguous:
        return nhwc[0].argmax(axis=-1).astype(np.uint8)
    return logits[0].argmax(axis=0).astype(np.uint8)


APP_BACKENDS = (EAGER, ONNXRUNTIME, OPENVINO)
"""The runtimes with a labels-out graph (eager: argmax in torch; the others: in the ONNX)."""


def graph_runners(
    model,
    logits_onnx: Path,
    size: tuple[int, int],
    backends: tuple[Backend, ...] = APP_BACKENDS,
    *,
    threads: int = 1,
) -> dict[tuple[Backend, str], Callable[[np.ndarray], np.ndarray]]:
    """(backend, graph output) -> runner for each of ``backends`` (of ``APP_BACKENDS``):
    the logits graph ``logits_onnx`` and its labels twin (``<stem>_labels.onnx``)."""
    from segmnv3.deploy.export.formats import format_named
    from segmnv3.deploy.export.writers import Job
    from segmnv3.deploy.runtimes import build_predictor

    labels_format = format_named("labels-onnx")
    labels_onnx = labels_format.path(logits_onnx.with_suffix(""), "tuned")
    if any(b != EAGER for b in backends):
        labels_format.write(Job(model, size), None, "tuned", labels_onnx)
    runners = {}
    for backend in (b for b in APP_BACKENDS if b in backends):
        if backend == EAGER:
            logits = labels = build_predictor(EAGER, model, threads=threads)
        else:
            logits = build_predictor(backend, logits_onnx, threads=threads)
            labels = build_predictor(backend, labels_onnx, threads=threads)
        runners[backend, "logits"] = logits.logits
        runners[backend, "labels"] = labels.predict  # eager: argmax in torch, uint8 out
    return runners


def time_app(
    runners: dict[tuple[Backend, str], Callable[[np.ndarray], np.ndarray]],
    frame_rgb: np.ndarray,
    network_size: tuple[int, int],
    data: DataConfig,
    *,
    model: str,
    warmup: int,
    repeats: int,
) -> list[AppLatency]:
    """Time every runner's stages on ``frame_rgb``, interleaved round after round.

    Args:
        runners: (backend, ``logits`` / ``labels``) -> a call from a normalised batch to
            the graph's output: logits (1, C, h, w) or labels (1, h, w).
        frame_rgb: (H, W, 3) uint8 RGB frame; the label maps come back at (H, W).
        network_size: (h, w) the graphs run at.
        data: normalisation.
        model: the model's name, for the rows.
        warmup: untimed runs of each runner first.
        repeats: timed rounds.
    """
    from segmnv3.deploy.inference.preprocess import resize_labels, to_input

    frame_bgr = np.ascontiguousarray(frame_rgb[..., ::-1])  # to_input takes OpenCV's order
    size = frame_rgb.shape[:2]

    def run(key) -> tuple[list[float], np.ndarray]:
        marks = [time.perf_counter()]
        batch = to_input(frame_bgr, network_size, data)
        marks.append(time.perf_counter())
        out = runners[key](batch)
        marks.append(time.perf_counter())
        labels = labels_of_logits(out) if key[1] == "logits" else out[0]
        marks.append(time.perf_counter())
        labels = resize_labels(labels, size)
        marks.append(time.perf_counter())
        return [1000 * (b - a) for a, b in zip(marks, marks[1:], strict=False)], labels

    for key in runners:
        for _ in range(warmup):
            run(key)
    samples: dict[tuple, list[list[float]]] = {key: [] for key in runners}
    labels: dict[tuple, np.ndarray] = {}
    for _ in range(repeats):
        for key in runners:
            stages, labels[key] = run(key)
            samples[key].append(stages)
    rows = []
    for (backend, output), runs in samples.items():
        reference = labels.get((backend, "logits"), labels[backend, output])
        stage_ms = [statistics.median(s[i] for s in runs) for i in range(len(STAGES))]
        rows.append(
            AppLatency(
                model,
                backend,
                output,
                (int(size[0]), int(size[1])),
                network_size,
                *stage_ms,
                total_ms=statistics.median(sum(s) for s in runs),
                runs=len(runs),
                agreement_with_logits=float((labels[backend, output] == reference).mean()),
            )
        )
    return rows
