"""The latency an application sees: an RGB uint8 camera frame in, a train-id map at the
frame's size out, each stage timed (one thread).

Stages: ``preprocess`` (resize to the network size + normalise: ``to_input``),
``inference``, ``argmax`` (the labels stage) and ``resize back`` (NEAREST, to the frame's
size). Each runtime runs three graphs: one that ends in logits (argmax in NumPy over the
contiguous channel axis, then NEAREST), one that ends in labels (argmax inside the graph,
uint8 out: ``labels-onnx``; eager: argmax in torch before the copy out; then NEAREST) and
one that ends before the final upsample (``head-onnx``; eager: ``HeadLogits``), whose
labels stage is ``labels_from_logits`` straight to the frame's size (nothing to resize
back). A labels graph is exact when its labels equal those of the logits graph
(``agreement_with_logits`` = 1); a head graph when its labels equal torch's bilinear
upsample of its logits to the frame + argmax (``agreement_with_upsample``); its labels
stage is reported against the time to read the logits and write the labels at DRAM
bandwidth (``labels_floor_ms``). ``infer`` and ``segment()`` use the head graphs
(``inference.stream.STREAM_FORMATS``).
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
    output: Literal["logits", "labels", "head_logits"]
    frame_size: tuple[int, int]
    network_size: tuple[int, int]
    preprocess_ms: float
    inference_ms: float
    argmax_ms: float
    resize_back_ms: float
    total_ms: float  # median of the per-run sums
    runs: int
    agreement_with_logits: float  # vs the logits graph's labels (argmax, NEAREST), same frame
    # head graphs: vs torch's bilinear upsample of the same logits to the frame + argmax
    agreement_with_upsample: float | None = None
    labels_floor_ms: float | None = None  # head graphs: logits read + labels written, DRAM


def labels_of_logits(logits: np.ndarray) -> np.ndarray:
    """(1, C, h, w) logits -> (h, w) uint8 argmax, over the contiguous axis when the
    array is an NHWC buffer seen as NCHW (ONNX Runtime / OpenVINO predictors)."""
    nhwc = logits.transpose(0, 2, 3, 1)
    if nhwc.flags.c_contiguous:
        return nhwc[0].argmax(axis=-1).astype(np.uint8)
    return logits[0].argmax(axis=0).astype(np.uint8)


APP_BACKENDS = (EAGER, ONNXRUNTIME, OPENVINO)
"""The runtimes with labels-out and head graphs (eager: in torch; the others: ONNX files)."""
OUTPUTS = ("logits", "labels", "head_logits")


def graph_runners(
    model,
    logits_onnx: Path,
    size: tuple[int, int],
    backends: tuple[Backend, ...] = APP_BACKENDS,
    *,
    threads: int = 1,
) -> dict[tuple[Backend, str], Callable[[np.ndarray], np.ndarray]]:
    """(backend, graph output) -> runner for each of ``backends`` (of ``APP_BACKENDS``):
    the logits graph ``logits_onnx`` and its twins ``<stem>_labels.onnx`` and
    ``<stem>_head.onnx`` (written beside it)."""
    from segmnv3.deploy.export.formats import format_named
    from segmnv3.deploy.export.graphs import HeadLogits
    from segmnv3.deploy.export.writers import Job
    from segmnv3.deploy.runtimes import build_predictor

    has_head = hasattr(model, "head_logits")  # a Segmenter, not a baseline
    twins = {}
    for output, name in (("labels", "labels-onnx"), ("head_logits", "head-onnx")):
        if output == "head_logits" and not has_head:
            continue
        fmt = format_named(name)
        twins[output] = fmt.path(logits_onnx.with_suffix(""), "tuned")
        if any(b != EAGER for b in backends):
            fmt.write(Job(model, size), None, "tuned", twins[output])
    runners = {}
    for backend in (b for b in APP_BACKENDS if b in backends):
        if backend == EAGER:
            logits = labels = build_predictor(EAGER, model, threads=threads)
            head = HeadLogits(model) if has_head else None
        else:
            logits = build_predictor(backend, logits_onnx, threads=threads)
            labels = build_predictor(backend, twins["labels"], threads=threads)
            head = twins.get("head_logits")
        runners[backend, "logits"] = logits.logits
        runners[backend, "labels"] = labels.predict  # eager: argmax in torch, uint8 out
        if head is not None:  # (1, C, h/8, w/8)
            runners[backend, "head_logits"] = build_predictor(backend, head, threads=threads).logits
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
    align_corners: bool = False,
    dram_gbps: float | None = None,
) -> list[AppLatency]:
    """Time every runner's stages on ``frame_rgb``, interleaved round after round.

    Args:
        runners: (backend, ``logits`` / ``labels`` / ``head_logits``) -> a call from a
            normalised batch to the graph's output: logits (1, C, h, w), labels (1, h, w)
            or head logits (1, C, h/8, w/8).
        frame_rgb: (H, W, 3) uint8 RGB frame; the label maps come back at (H, W).
        network_size: (h, w) the graphs run at.
        data: normalisation.
        model: the model's name, for the rows.
        warmup: untimed runs of each runner first.
        repeats: timed rounds.
        align_corners: of the model's final upsample (head graphs' labels).
        dram_gbps: measured memory bandwidth, for the head graphs' labels floor.
    """
    frame_bgr = np.ascontiguousarray(frame_rgb[..., ::-1])  # to_input takes OpenCV's order
    app = _App(frame_bgr, network_size, data, align_corners)
    for key in runners:
        for _ in range(warmup):
            app.run(runners[key], key[1])
    samples: dict[tuple, list[list[float]]] = {key: [] for key in runners}
    labels: dict[tuple, np.ndarray] = {}
    outputs: dict[tuple, np.ndarray] = {}
    for _ in range(repeats):
        for key in runners:
            stages, labels[key], outputs[key] = app.run(runners[key], key[1])
            samples[key].append(stages)
    rows = []
    for (backend, output), runs in samples.items():
        reference = labels.get((backend, "logits"), labels[backend, output])
        exact, floor = None, None
        if output == "head_logits":
            head = outputs[backend, output][0]  # (C, h/8, w/8)
            exact = float((labels[backend, output] == app.upsampled_labels(head)).mean())
            floor = None if dram_gbps is None else labels_floor_ms(head, app.size, dram_gbps)
        stage_ms = [statistics.median(s[i] for s in runs) for i in range(len(STAGES))]
        rows.append(
            AppLatency(
                model,
                backend,
                output,
                app.size,
                network_size,
                *stage_ms,
                total_ms=statistics.median(sum(s) for s in runs),
                runs=len(runs),
                agreement_with_logits=float((labels[backend, output] == reference).mean()),
                agreement_with_upsample=exact,
                labels_floor_ms=floor,
            )
        )
    return rows


def labels_floor_ms(logits: np.ndarray, size: tuple[int, int], dram_gbps: float) -> float:
    """The labels stage at memory speed: read the (C, h, w) float32 logits once, write the
    (H, W) uint8 labels once, at ``dram_gbps``."""
    moved = logits.size * 4 + size[0] * size[1]  # bytes
    return 1000 * moved / (dram_gbps * 1e9)


@dataclass(frozen=True)
class _App:
    """One frame through one graph, stage by stage (``time_app``)."""

    frame_bgr: np.ndarray
    network_size: tuple[int, int]
    data: DataConfig
    align_corners: bool

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.frame_bgr.shape[0]), int(self.frame_bgr.shape[1]))

    def run(self, runner, output: str) -> tuple[list[float], np.ndarray, np.ndarray]:
        """(stage times in ms, labels at the frame's size, the graph's output)."""
        from segmnv3.deploy.inference.preprocess import resize_labels, to_input
        from segmnv3.deploy.inference.upsample_labels import labels_from_logits

        marks = [time.perf_counter()]
        batch = to_input(self.frame_bgr, self.network_size, self.data)
        marks.append(time.perf_counter())
        out = runner(batch)
        marks.append(time.perf_counter())
        if output == "head_logits":  # exact labels at the frame's size, in one pass
            labels = labels_from_logits(out[0], self.size, align_corners=self.align_corners)
        else:
            labels = labels_of_logits(out) if output == "logits" else out[0]
        marks.append(time.perf_counter())
        labels = resize_labels(labels, self.size)  # a no-op after labels_from_logits
        marks.append(time.perf_counter())
        return [1000 * (b - a) for a, b in zip(marks, marks[1:], strict=False)], labels, out

    def upsampled_labels(self, head: np.ndarray) -> np.ndarray:
        """torch's bilinear upsample of (C, h, w) logits to the frame, then argmax."""
        import torch
        import torch.nn.functional as F

        logits = torch.from_numpy(np.ascontiguousarray(head))[None]
        up = F.interpolate(logits, self.size, mode="bilinear", align_corners=self.align_corners)
        return up[0].argmax(0).to(torch.uint8).numpy()
