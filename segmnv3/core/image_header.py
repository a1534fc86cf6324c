"""An image's size from its header, and the pixel limit checked before decoding.

A small PNG can decode to gigabytes (a 389 KB file of 20000x20000 pixels takes 1.2 GB as
BGR, and more in every copy made of it). Every image we decode (infer, train, prepare,
export calibration and parity, eval) passes :func:`check_image_file` first: it refuses
special files (``safe_io``) and reads the width and height from the PNG, JPEG, BMP or
WebP header, without decoding, against ``max_image_pixels()``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from segmnv3.core.errors import UserError
from segmnv3.core.safe_io import check_regular_file

DEFAULT_MAX_PIXELS = 100_000_000
"""100 MP (e.g. 10000x10000): 300 MB decoded; a Cityscapes frame is 2.1 MP."""
LIMIT_VARIABLE = "SEGMNV3_MAX_IMAGE_PIXELS"


def max_image_pixels() -> int:
    """The limit: ``$SEGMNV3_MAX_IMAGE_PIXELS`` when set (a positive integer), else 100 MP."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value <= 0:
        raise UserError(f"{LIMIT_VARIABLE}={text!r}: expected a positive number of pixels")
    return value


def image_header_size(path: str | Path) -> tuple[int, int] | None:
    """(H, W) from a PNG, JPEG, BMP or WebP header; None for other or unreadable files."""
    try:
        with open(path, "rb") as file:
            head = file.read(32)
            if head.startswith(b"\xff\xd8"):
                return _jpeg_size(file)
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return height, width
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(height), abs(width)  # a negative height means top-down rows
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    return None


def _jpeg_size(file) -> tuple[int, int] | None:
    """Scan the JPEG markers (after SOI) for a start-of-frame segment."""
    file.seek(2)
    while True:
        marker = file.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:  # markers without a length
            continue
        length_bytes = file.read(2)
        if len(length_bytes) < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):  # SOF0..SOF15
            frame = file.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return height, width
        file.seek(length - 2, os.SEEK_CUR)


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return height & 0x3FFF, width & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return ((bits >> 14) & 0x3FFF) + 1, (bits & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return height, width
    return None


def check_pixel_limit(
    path: str | Path, what: str = "image", *, error: type[UserError] = UserError
) -> tuple[int, int] | None:
    """(H, W) from the header (None: unknown format), or ``error`` above the pixel limit,
    with the memory decoding would need and how to raise the limit."""
    size = image_header_size(path)
    limit = max_image_pixels()
    if size is not None and size[0] * size[1] > limit:
        pixels = size[0] * size[1]
        raise error(
            f"{what} {path} is {size[1]}x{size[0]} ({pixels / 1e6:.0f} MP, "
            f"{3 * pixels / 2**30:.1f} GiB decoded): above the {limit / 1e6:.0f} MP limit; "
            f"downscale it, or allow it with {LIMIT_VARIABLE}={pixels}"
        )
    return size


def check_image_file(
    path: str | Path, what: str = "image", *, error: type[UserError] = UserError
) -> Path:
    """``path`` when it is a regular file within the pixel limit (call before decoding)."""
    check_regular_file(path, what, error=error)
    check_pixel_limit(path, what, error=error)
    return Path(path)
