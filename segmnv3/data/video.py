"""Video files a browser plays: VP9 in MP4.

OpenCV's FFmpeg build (opencv-python-headless 5.0) writes no H.264 (``avc1``, ``H264``,
``X264`` fail to open: the wheel has no GPL encoder); its ``mp4v`` is MPEG-4 Part 2, which
no browser decodes (Chromium: "media error 4"). It does write VP9 into MP4 (``vp09``; VP8
only into WebM / Matroska), which Chromium and Firefox play, and OpenCV reads it back.
Measured at 512x1024 on a shared 2-core Xeon: VP9 ~52 ms a frame, VP8 (WebM) ~15 ms,
mp4v ~2 ms; VP9 keeps every ``.mp4`` name as it was.
"""

from __future__ import annotations

from pathlib import Path

BROWSER_FOURCC = "vp09"
"""The codec of ``.mp4`` files written here: VP9, which browsers decode."""
FALLBACK_FOURCC = "mp4v"
"""Used only when OpenCV's build cannot write VP9 (an ``.mp4`` that browsers will not play)."""


def open_mp4_writer(path: str | Path, fps: float, width: int, height: int):
    """A ``cv2.VideoWriter`` of an ``.mp4`` in VP9 (mp4v when the build lacks VP9).

    The caller checks ``isOpened()``: neither codec may be available, or the folder not
    writable.
    """
    import cv2

    for fourcc in (BROWSER_FOURCC, FALLBACK_FOURCC):
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
        if writer.isOpened():
            return writer
        writer.release()
    return writer
