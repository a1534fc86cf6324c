"""The benchmark's video figure: model-only vs end-to-end FPS of the overlay pipeline."""

from __future__ import annotations

import tempfile
from pathlib import Path

from segmnv3.data.config import DataConfig
from segmnv3.deploy.bench.results import VideoResult
from segmnv3.deploy.inference.preprocess import DEFAULT_DATA
from segmnv3.deploy.inference.sinks import VideoSink
from segmnv3.deploy.inference.sources import open_source
from segmnv3.deploy.inference.stream import PredictorCache, segment_stream
from segmnv3.deploy.runtimes.backend import ONNXRUNTIME, Backend


def measure_video(
    model,
    clip: Path,
    output: Path,
    *,
    backend: Backend = ONNXRUNTIME,
    threads: int = 1,
    size: tuple[int, int] | None = None,
    data: DataConfig = DEFAULT_DATA,
) -> VideoResult:
    """Segment ``clip`` into an overlay video at ``output``, timing the model and the whole."""
    source = open_source(str(clip))
    with tempfile.TemporaryDirectory(prefix="segmnv3-video-") as workdir:
        runtimes = PredictorCache(model, backend, workdir, threads=threads)
        runtimes(size or source.size)  # export before the clock starts, as `infer` does
        sink = VideoSink(Path(output), source.fps, source.size, alpha=0.5)
        try:
            stats = segment_stream(
                source.frames(),
                runtimes,
                sink,
                size=size,
                data=data,
                total=source.count,
                align_corners=runtimes.align_corners,
            )
        except BaseException:
            sink.discard()
            raise
        sink.commit()
    return VideoResult(
        backend=backend,
        size=tuple(size or source.size),
        frames=stats.frames,
        model_fps=stats.model_fps,
        end_to_end_fps=stats.end_to_end_fps,
        end_to_end_vs_model_only=stats.end_to_end_vs_model_only,
    )
