"""Pipelined segmentation of a frame stream: decode | infer | encode in three threads.

Decoding (and preprocessing) and encoding (labels at the frame's size, overlay, file
writes) run in their own threads, connected to the inference loop by bounded queues, so the runtime is
never waiting for I/O: OpenCV and NumPy release the GIL in their heavy calls, and with
a 1-thread runtime the other core does the I/O. End-to-end FPS then stays close to
model-only FPS (``Stats``). Sinks publish their outputs only when the whole stream
succeeded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from segmnv3.data.config import DataConfig
from segmnv3.deploy.inference.preprocess import DEFAULT_DATA, to_input
from segmnv3.deploy.inference.sizing import network_size
from segmnv3.deploy.inference.upsample_labels import labels_from_logits
from segmnv3.deploy.runtimes import Backend, Predictor, build_predictor
from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME, OPENVINO

_DONE = object()  # end-of-stream marker between the threads


@dataclass
class Stats:
    """Frames processed, seconds spent in the network, and wall-clock seconds."""

    frames: int
    model_seconds: float
    wall_seconds: float

    @property
    def model_fps(self) -> float:
        return self.frames / self.model_seconds if self.model_seconds else 0.0

    @property
    def end_to_end_fps(self) -> float:
        return self.frames / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def end_to_end_vs_model_only(self) -> float:
        return self.end_to_end_fps / max(self.model_fps, 1e-9)


class _Worker(threading.Thread):
    """A daemon thread that keeps the first exception for the main thread to re-raise."""

    def __init__(self, target, name: str):
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as error:  # re-raised by the main thread
            self.error = error


def _put(q: queue.Queue, item, stop: threading.Event, workers=()) -> bool:
    """Blocking put; gives up when ``stop`` is set, re-raises a dead consumer's error."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            _raise_worker_error(workers)
    return False


def _raise_worker_error(workers) -> None:
    for worker in workers:
        if worker.error is not None:
            raise worker.error


def segment_stream(
    frames,
    predictor,
    sink,
    *,
    size: tuple[int, int] | None,
    data: DataConfig = DEFAULT_DATA,
    total: int | None = None,
    queue_size: int = 4,
    max_frames: int | None = None,
    on_note: Callable[[str], object] | None = None,
    align_corners: bool = False,
) -> Stats:
    """Segment every frame of ``frames`` and hand results to ``sink``.

    Args:
        frames: iterable of (name, BGR uint8 frame (H, W, 3)).
        predictor: callable (frame size (H, W)) -> ``Predictor`` (so a runtime exported at a
            fixed size can be built per size), see ``PredictorCache``. One that ends in
            ``head_logits`` hands its logits to the encode thread, which makes the labels
            at the frame's size (``labels_from_logits``); the others' labels come at the
            network's size.
        sink: object with ``write(name, frame, labels)`` (labels (h, w) uint8: the frame's
            size, or the network's for the sink to resize).
        size: network (H, W); None = each frame's own size, resized up to the network
            minimum or down to a bounded size where needed (``sizing.network_size``).
        data: the model's data config (normalisation).
        total: frame count for the progress bar, if known.
        max_frames: stop after this many frames (webcams).
        on_note: called once with each distinct note of ``network_size`` (e.g. "input
            20x20 is smaller than the network minimum ...").
        align_corners: that of the model's final upsample (head logits only).
    """
    notes: set[str] = set()
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(queue_size)
    predicted: queue.Queue = queue.Queue(queue_size)

    def decode() -> None:
        for index, (name, frame) in enumerate(frames):
            if stop.is_set() or (max_frames is not None and index >= max_frames):
                break
            network, note = network_size(frame.shape[:2], size)
            if note is not None and note not in notes:
                notes.add(note)
                if on_note is not None:
                    on_note(note)
            if not _put(decoded, (name, frame, to_input(frame, network, data)), stop):
                return
        _put(decoded, _DONE, stop)

    def encode() -> None:
        while not stop.is_set():  # set on an error or Ctrl-C: write nothing more
            try:
                item = predicted.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            name, frame, out = item
            if out.ndim == 3:  # head logits (C, h/8, w/8): labels at the frame's size
                out = labels_from_logits(out, frame.shape[:2], align_corners=align_corners)
            sink.write(name, frame, out)

    workers = [_Worker(decode, "decode"), _Worker(encode, "encode")]
    model_seconds, count, start = 0.0, 0, time.perf_counter()
    for worker in workers:
        worker.start()
    bar = tqdm(total=min(total, max_frames or total) if total else max_frames, unit="frame")
    try:
        while (item := _get(decoded, workers)) is not _DONE:
            name, frame, batch = item  # batch: (1, 3, h, w) float32
            runtime = predictor(batch.shape[2:])
            tick = time.perf_counter()
            if runtime.output == "head_logits":
                out = runtime.logits(batch)[0]  # (C, h/8, w/8), a fresh array per run
            else:
                out = runtime.predict(batch)[0]  # (h, w) uint8
            model_seconds += time.perf_counter() - tick
            _put(predicted, (name, frame, out), stop, workers)
            count += 1
            bar.update()
            bar.set_postfix(fps=f"{count / (time.perf_counter() - start):.1f}")
        _put(predicted, _DONE, stop, workers)
        workers[1].join()
    finally:
        stop.set()
        bar.close()
        for worker in workers:
            worker.join(timeout=5)
    _raise_worker_error(workers)
    return Stats(count, model_seconds, time.perf_counter() - start)


def _get(q: queue.Queue, workers: list[_Worker]):
    """Next item, or re-raise a worker's exception instead of waiting forever."""
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            pass
        _raise_worker_error(workers)


STREAM_FORMATS = {ONNXRUNTIME: "head-onnx", OPENVINO: "head-openvino"}
"""Backends that stream a graph ending before the final upsample (``formats``): labels
at the frame's size come from the stride-8 logits (``labels_from_logits``, exact), at a
fraction of the cost of the upsample of C logit maps and their argmax (bench's app
table). Eager streams ``export.graphs.HeadLogits``; LiteRT and ExecuTorch stream logits."""


class PredictorCache:
    """Builds the runtime for each network input size on first use, then reuses it.

    Eager PyTorch takes any size (``HeadLogits``: no final upsample); the other backends
    get their fp32 file at that size (the paper's pooling kernel is fixed per export):
    ``STREAM_FORMATS`` or, where none is named, ``formats.format_for`` (logits).

    Args:
        model: the PyTorch model.
        backend: an fp32 backend (``eager``, ``onnxruntime``, ``openvino``, ``litert`` or
            ``executorch``).
        workdir: folder for exported graphs.
        device: torch device (eager only).
        threads: runtime threads.
    """

    def __init__(
        self, model, backend: Backend, workdir: str | Path, *, device: str = "cpu", threads: int = 1
    ):
        if backend.precision != "fp32":
            raise ValueError(f"streams run fp32 backends, not {backend.name}")
        self.model, self.backend, self.workdir = model, backend, Path(workdir)
        self.device, self.threads = device, threads
        self.cache: dict[tuple[int, int] | None, Predictor] = {}
        self.align_corners = bool(getattr(model, "align_corners", False))

    def __call__(self, size) -> Predictor:
        size = (int(size[0]), int(size[1]))
        key = None if self.backend.runtime == "eager" else size  # eager takes any size
        if key not in self.cache:
            self.cache[key] = self._build(size)
        return self.cache[key]

    def _build(self, size: tuple[int, int]) -> Predictor:
        from segmnv3.deploy.export.formats import format_for, format_named
        from segmnv3.deploy.export.graphs import HeadLogits
        from segmnv3.deploy.export.writers import Artifacts, Job

        head = hasattr(self.model, "head_logits")  # a Segmenter (not a baseline)
        if self.backend == EAGER:
            source = HeadLogits(self.model) if head else self.model
        else:
            name = STREAM_FORMATS.get(self.backend) if head else None
            fmt = format_named(name) if name else format_for(self.backend)
            stem = self.workdir / f"stream_{size[0]}x{size[1]}"
            source = Artifacts(Job(self.model, size), stem).path(fmt)
        predictor = build_predictor(self.backend, source, threads=self.threads, device=self.device)
        if predictor.output == "head_logits":  # compile (or load) the labels kernel now
            labels_from_logits(np.zeros((2, 2, 2), np.float32), (3, 3))
        return predictor
