"""Inputs of ``segmnv3 infer``: a video file, a webcam index, an image, a folder or a glob.

Every problem with the input as a whole (missing path, nothing matching, a video OpenCV
cannot decode) is a ``UserError`` naming it, raised before any output is written. One
unreadable image among many is skipped (``Source.skipped``) and reported through the
``on_skip`` callback of ``Source.frames``: the others are still segmented.

Each image gets a unique output name (``Source.names``): its path relative to the folder
(or, for a glob, to the deepest folder common to all matches) without the extension;
files that differ only by extension (``a.png``, ``a.jpg``) keep it (``a.png``, ``a.jpg``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segmnv3.core.errors import UserError
from segmnv3.core.image_header import check_image_file
from segmnv3.core.quiet import native_stderr_filtered
from segmnv3.core.safe_io import safe_glob, special_file_reason

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass
class Source:
    """Frames to segment.

    Attributes:
        kind: ``video``, ``webcam`` or ``images``.
        name: stem for output files (video / webcam).
        fps: frames per second of a video or webcam (None for images).
        size: (H, W) of a video's frames (None for images, which may differ).
        count: number of frames if known.
        paths: the image files (``images`` only).
        names: unique output name of each image (``images`` only; may hold ``/``).
        skipped: images that could not be read, filled in by ``frames``.
        left_out: files in an input folder that are not of a kind read (``a.gif``).
    """

    kind: str
    name: str
    fps: float | None = None
    size: tuple[int, int] | None = None
    count: int | None = None
    paths: list[Path] = field(default_factory=list)
    capture: object = None
    names: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    left_out: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind == "images" and not self.names:
            self.names = output_names(self.paths)

    def frames(
        self, on_skip: Callable[[str], object] | None = None
    ) -> Iterator[tuple[str, np.ndarray]]:
        """(name, BGR uint8 frame) pairs; image names are ``names``, video ones frame numbers.

        Args:
            on_skip: called with a one-line reason for each image that cannot be read (the
                image is then skipped and added to ``skipped``).
        """
        if self.kind == "images":
            for path, name in zip(self.paths, self.names, strict=True):
                try:  # no FIFO, device or pixel bomb reaches the decoder
                    check_image_file(path)
                    image = read_image(path)
                    problem = "cannot read image (corrupt or not an image)"
                except UserError as error:
                    image, problem = None, str(error)
                if image is None:
                    self.skipped.append(path)
                    if on_skip is not None:
                        on_skip(f"skipping {path}: {problem}")
                    continue
                yield name, image
            return
        index = 0
        try:
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    break
                yield f"{index:06d}", frame
                index += 1
        finally:
            self.capture.release()


def read_image(path: Path) -> np.ndarray | None:
    """BGR uint8 (H, W, 3), or None when OpenCV cannot read the file."""
    try:
        with native_stderr_filtered():  # libpng's own "libpng error: ..." line
            return cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error:  # some malformed files raise instead of returning None
        return None


def output_names(paths: list[Path]) -> list[str]:
    """A unique output name per image: its sub-path below the common folder, no extension.

    ``a/x.png``, ``b/x.png`` -> ``a/x``, ``b/x``; ``e.png``, ``e.jpg`` -> ``e.png``,
    ``e.jpg`` (the extension is kept where the stems collide); any remaining clash gets
    ``_2``, ``_3``, ...
    """
    if not paths:
        return []
    base = Path(os.path.commonpath([str(p.parent) for p in paths])) if len(paths) > 1 else None
    relative = [p.relative_to(base) if base is not None else Path(p.name) for p in paths]
    stems = [r.with_suffix("").as_posix() for r in relative]
    counts = Counter(stems)
    names, seen = [], set()
    for stem, rel in zip(stems, relative, strict=True):
        name = rel.as_posix() if counts[stem] > 1 else stem
        unique, number = name, 1
        while unique in seen:
            number += 1
            unique = f"{name}_{number}"
        seen.add(unique)
        names.append(unique)
    return names


def folder_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted (none: an empty list); FIFOs and
    other special files among them are refused when read (``Source.frames``)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def open_source(text: str) -> Source:
    """Resolve the INPUT argument of ``segmnv3 infer``."""
    if text.isdigit():
        return _open_capture(cv2.VideoCapture(int(text)), f"webcam{text}", "webcam", text)
    path = Path(text)
    if path.is_dir():
        paths = folder_images(path)
        if not paths:
            raise UserError(f"folder {path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        others = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p not in paths and not p.name.startswith(".")
        )
        return Source("images", path.name, paths=paths, count=len(paths), left_out=others)
    if any(c in text for c in "*?["):
        paths = [p for p in safe_glob(text) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not paths:
            raise UserError(f"pattern {text!r} matches no image files")
        return Source("images", "glob", paths=paths, count=len(paths))
    reason = special_file_reason(path, video_device=True)
    if reason == "missing":
        raise UserError(
            f"input {path} does not exist; give a video, image, folder, glob or webcam index"
        )
    if reason is not None:
        raise UserError(f"input {path} is {reason}; give a video, image, folder or glob")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Source("images", path.stem, paths=[path], count=1)
    return _open_capture(cv2.VideoCapture(str(path)), path.stem, "video", str(path))


def _open_capture(capture, name: str, kind: str, text: str) -> Source:
    """Check a VideoCapture can deliver a first frame; read fps, size and frame count."""
    what = f"webcam {text}" if kind == "webcam" else f"video {text}"
    if not capture.isOpened():
        raise UserError(
            f"cannot open {what}: not a video OpenCV can read (unsupported "
            "container or codec?) or no such device"
        )
    ok, _ = capture.read()
    if not ok:
        capture.release()
        raise UserError(
            f"cannot decode the first frame of {what} (unsupported codec or "
            "corrupt file); re-encode it, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4"
        )
    if kind == "video":  # start again at frame 0 (seeking is unreliable for some codecs)
        capture.release()
        capture = cv2.VideoCapture(text)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    size = (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if kind == "video" else None
    return Source(kind, name, fps=fps, size=size, count=count or None, capture=capture)
