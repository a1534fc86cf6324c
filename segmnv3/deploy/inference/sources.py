"""Inputs of ``segmnv3 infer``: a video file, a webcam index, an image, a folder or a glob.

Every problem the user can fix (missing path, nothing matching, unreadable image, a video
OpenCV cannot decode) is a ``UserError`` naming the input, raised before any output is
written.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segmnv3.core.errors import UserError

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
    """

    kind: str
    name: str
    fps: float | None = None
    size: tuple[int, int] | None = None
    count: int | None = None
    paths: list[Path] = field(default_factory=list)
    capture: object = None

    def frames(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, BGR uint8 frame) pairs; image names are file stems."""
        if self.kind == "images":
            for path in self.paths:
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    raise UserError(f"cannot read image {path} (corrupt or not an image)")
                yield path.stem, image
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


def open_source(text: str) -> Source:
    """Resolve the INPUT argument of ``segmnv3 infer``."""
    if text.isdigit():
        return _open_capture(cv2.VideoCapture(int(text)), f"webcam{text}", "webcam", text)
    path = Path(text)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise UserError(f"folder {path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return Source("images", path.name, paths=paths, count=len(paths))
    if any(c in text for c in "*?["):
        paths = sorted(
            Path(p)
            for p in glob.glob(text, recursive=True)
            if Path(p).suffix.lower() in IMAGE_SUFFIXES
        )
        if not paths:
            raise UserError(f"pattern {text!r} matches no image files")
        return Source("images", "glob", paths=paths, count=len(paths))
    if not path.exists():
        raise UserError(
            f"input {path} does not exist; give a video, image, folder, glob or webcam index"
        )
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
