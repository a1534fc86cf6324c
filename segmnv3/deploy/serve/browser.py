"""Debian's Chromium, headless, driven by Playwright for Python (tests and benchmark).

Playwright's own browser download is not used: ``apt-get install chromium`` provides the
browser, ``pip install playwright`` (the ``dev`` extra) the driver.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from segmnv3.core.errors import UserError

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL = "apt-get install chromium && pip install playwright (or make install)"


def find_chromium() -> str | None:
    """The Chromium executable, or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def missing_browser() -> str | None:
    """Why the browser cannot be driven here (with the install command), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed: {INSTALL}"
    if find_chromium() is None:
        return f"Chromium is not installed: {INSTALL}"
    return None


def launch(playwright, *, fake_camera: Path | None = None):
    """A headless Chromium; ``fake_camera``: a ``.y4m`` clip it shows as the camera."""
    reason = missing_browser()
    if reason is not None:
        raise UserError(reason)
    args = list(CHROMIUM_ARGS)
    if fake_camera is not None:
        args += [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={fake_camera}",
        ]
    return playwright.chromium.launch(executable_path=find_chromium(), args=args)


def write_y4m(path: Path, frames, fps: int = 10) -> Path:
    """Write RGB uint8 frames (N, H, W, 3), H and W even, as a YUV 4:2:0 ``.y4m`` clip."""
    import numpy as np

    frames = np.asarray(frames, dtype=np.float32)
    _, height, width, _ = frames.shape
    r, g, b = frames[..., 0], frames[..., 1], frames[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 + (b - y) * 0.564
    v = 128 + (r - y) * 0.713
    chroma = [c.reshape(-1, height // 2, 2, width // 2, 2).mean(axis=(2, 4)) for c in (u, v)]
    planes = [np.clip(p, 0, 255).round().astype(np.uint8) for p in (y, *chroma)]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(len(frames)):
            out.write(b"FRAME\n")
            for plane in planes:
                out.write(plane[index].tobytes())
    return path
