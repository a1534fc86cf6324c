"""``segmnv3 infer`` as a function: a source in, overlays (and masks) out, with FPS figures.

Robust to bad input: an unreadable image is skipped with a warning (``InferResult.skipped``);
an input too small or too large for the network runs at a workable size with a note
(``sizing``); no output of a run overwrites another output or an input of that run
(``sources.output_names``); temporaries left in the output folders by processes that no
longer run are removed at the start (``InferResult.removed``). Ctrl-C raises
``InferInterrupted``, which carries what was kept (finished images) and what was discarded
(a partial video).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from segmnv3.core.errors import UserError
from segmnv3.core.files import remove_stale_temporaries
from segmnv3.core.label_set import LabelSet
from segmnv3.deploy.inference.sinks import (
    ImageSink,
    VideoSink,
    check_gui,
    check_writable,
    video_path,
    write_legend,
)
from segmnv3.deploy.inference.sizing import network_size
from segmnv3.deploy.inference.sources import Source, open_source
from segmnv3.deploy.inference.stream import PredictorCache, Stats, segment_stream
from segmnv3.deploy.model import DeployModel
from segmnv3.deploy.runtimes.backend import EAGER, Backend


@dataclass(frozen=True)
class InferSettings:
    """How to segment a source.

    Attributes:
        output: folder for the overlays (``<name>_overlay.mp4``, ``.avi`` for an odd frame
            size, or ``<stem>_overlay.png``).
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
    """Frame rates (None for a webcam stopped with Ctrl-C) and the files written.

    Attributes:
        backend: the runtime that ran.
        stats: frame rates, or None (stopped by Ctrl-C).
        written: the outputs published (complete files and folders).
        skipped: input images that could not be read.
        discarded: final names of outputs dropped unfinished (a partial video).
        removed: stale temporaries of earlier runs deleted at the start.
        completed: input images whose outputs were all written (images only).
        total: number of input images (images only).
    """

    backend: Backend
    stats: Stats | None
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    discarded: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    completed: int = 0
    total: int = 0

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


class InferInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``segment_source``; ``result`` holds what was kept and discarded."""

    def __init__(self, result: InferResult):
        super().__init__("interrupted")
        self.result = result


def say(text: str) -> None:
    """One line on stderr that does not break a progress bar."""
    tqdm.write(text, file=sys.stderr)


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
        UserError: an unreadable source, an unwritable output folder, an output that would
            overwrite an input, no GUI for ``show``.
        InferInterrupted: Ctrl-C (a ``KeyboardInterrupt``) on a video, image or folder.
    """
    if isinstance(source, str):
        source = open_source(source)
    out_dir = check_writable(Path(settings.output))
    if settings.show:
        check_gui()
    removed = _remove_stale(out_dir, source, settings)
    for path in removed:
        say(f"removed {path}, left by an earlier run that was killed")
    with tempfile.TemporaryDirectory(prefix="segmnv3-infer-") as workdir:
        runtimes = PredictorCache(
            model.module,
            settings.backend,
            workdir,
            device=settings.device,
            threads=settings.threads,
        )
        if settings.size or source.size:  # export / warm up before the clock starts
            runtimes(network_size(source.size, settings.size)[0] or source.size)
        result = InferResult(settings.backend, None, skipped=source.skipped, removed=removed)
        result.total = len(source.paths)
        sink = _sink(source, out_dir, settings, model.labels)
        try:
            result.stats = segment_stream(
                source.frames(on_skip=lambda reason: say(f"warning: {reason}")),
                runtimes,
                sink,
                size=settings.size,
                data=model.data,
                total=source.count,
                max_frames=settings.max_frames,
                on_note=lambda note: say(f"note: {note}"),
                align_corners=runtimes.align_corners,
            )
        except KeyboardInterrupt:
            if source.kind != "webcam":
                result.discarded = sink.discard()
                result.written = list(sink.written)
                result.completed = getattr(sink, "images", 0)
                raise InferInterrupted(result) from None
            # a webcam stream is ended with Ctrl-C: keep what was recorded
        except BaseException:
            sink.discard()
            raise
        result.written = sink.commit()
        if result.written:  # the colours of what was written, named
            result.written.append(write_legend(out_dir, model.labels))
        result.completed = getattr(sink, "images", 0)
        return result


def _remove_stale(out_dir: Path, source: Source, settings: InferSettings) -> list[Path]:
    """Delete dead processes' temporaries where this run writes; refuse to overwrite inputs."""
    folders = {out_dir}
    if source.kind == "images":
        sink = ImageSink(out_dir, settings.alpha, settings.save_mask)
        inputs = {os.path.realpath(path) for path in source.paths}  # no error on loops
        for name in source.names:
            for target in sink.targets(name):
                if os.path.realpath(target) in inputs:
                    raise UserError(
                        f"output {target} would overwrite an input image; "
                        "choose another output folder"
                    )
                folders.add(target.parent)
    return [path for folder in sorted(folders) for path in remove_stale_temporaries(folder)]


def _sink(
    source: Source, out_dir: Path, settings: InferSettings, labels: LabelSet
) -> ImageSink | VideoSink:
    if source.kind == "images":
        return ImageSink(out_dir, settings.alpha, settings.save_mask, settings.show, labels)
    masks = out_dir / f"{source.name}_masks" if settings.save_mask else None
    path = video_path(out_dir, source.name, source.size)  # .avi for odd frame sizes
    return VideoSink(path, source.fps, source.size, settings.alpha, masks, settings.show, labels)
