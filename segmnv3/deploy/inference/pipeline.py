"""``segmnv3 infer`` as a function: a source in, overlays (and masks) out, with FPS figures."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from segmnv3.deploy.inference.sinks import ImageSink, VideoSink, check_gui, check_writable
from segmnv3.deploy.inference.sources import Source, open_source
from segmnv3.deploy.inference.stream import PredictorCache, Stats, segment_stream
from segmnv3.deploy.model import DeployModel
from segmnv3.deploy.runtimes.backend import EAGER, Backend


@dataclass(frozen=True)
class InferSettings:
    """How to segment a source.

    Attributes:
        output: folder for the overlays (``<name>_overlay.mp4`` or ``<stem>_overlay.png``).
        backend: an fp32 backend.
        size: network input (H, W); None = each frame's own size.
        device: torch device (eager only).
        threads: runtime threads.
        alpha: weight of the colours in the overlay, in [0, 1].
        save_mask: also write train-id PNGs.
        show: display frames (needs an OpenCV build with a GUI).
        max_frames: stop after this many frames (webcams).
    """

    output: Path
    backend: Backend = EAGER
    size: tuple[int, int] | None = None
    device: str = "cpu"
    threads: int = 1
    alpha: float = 0.5
    save_mask: bool = False
    show: bool = False
    max_frames: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"overlay alpha {self.alpha}: use a value between 0 and 1")


@dataclass
class InferResult:
    """Frame rates (None for a webcam stopped with Ctrl-C) and the files written."""

    backend: Backend
    stats: Stats | None
    written: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line of FPS figures, or "" without them."""
        if self.stats is None:
            return ""
        stats = self.stats
        return (
            f"{stats.frames} frame(s) on {self.backend.name}: model-only {stats.model_fps:.2f} "
            f"FPS, end-to-end {stats.end_to_end_fps:.2f} FPS "
            f"({100 * stats.end_to_end_vs_model_only:.0f}% of model-only)"
        )


def segment_source(
    model: DeployModel, source: Source | str, settings: InferSettings
) -> InferResult:
    """Segment a video, image, folder, glob or webcam index; write overlays under ``output``.

    Args:
        model: the network and its data contract.
        source: an opened ``Source``, or the text ``open_source`` reads (a path, a glob,
            a webcam index).
        settings: backend, size, overlay options.

    Raises:
        UserError: an unreadable source, an unwritable output folder, no GUI for ``show``.
    """
    if isinstance(source, str):
        source = open_source(source)
    out_dir = check_writable(Path(settings.output))
    if settings.show:
        check_gui()
    with tempfile.TemporaryDirectory(prefix="segmnv3-infer-") as workdir:
        runtimes = PredictorCache(
            model.module,
            settings.backend,
            workdir,
            device=settings.device,
            threads=settings.threads,
        )
        if settings.size or source.size:
            runtimes(settings.size or source.size)  # export / warm up before the clock starts
        sink = _sink(source, out_dir, settings)
        try:
            stats = segment_stream(
                source.frames(),
                runtimes,
                sink,
                size=settings.size,
                data=model.data,
                total=source.count,
                max_frames=settings.max_frames,
            )
        except KeyboardInterrupt:
            if source.kind != "webcam":
                sink.discard()
                raise
            stats = None  # a webcam stream is ended with Ctrl-C: keep what was recorded
        except BaseException:
            sink.discard()
            raise
        return InferResult(settings.backend, stats, sink.commit())


def _sink(source: Source, out_dir: Path, settings: InferSettings) -> ImageSink | VideoSink:
    if source.kind == "images":
        return ImageSink(out_dir, settings.alpha, settings.save_mask, settings.show)
    masks = out_dir / f"{source.name}_masks" if settings.save_mask else None
    path = out_dir / f"{source.name}_overlay.mp4"
    return VideoSink(path, source.fps, source.size, settings.alpha, masks, settings.show)
