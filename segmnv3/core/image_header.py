"""An image's size from its header, and the pixel limit checked before decoding.

A small PNG can decode to gigabytes (a 389 KB file of 20000x20000 pixels takes 1.2 GB as
BGR, and more in every copy made of it). Every image we decode (infer, train, prepare,
export calibration and parity, eval) passes :func:`check_image_file` first: it refuses
special files (``safe_io``) and reads the width and height from the PNG, JPEG, BMP or
WebP header, without decoding, against ``max_image_pixels()``.

Sizes are of the image as displayed: a JPEG whose EXIF orientation turns it by 90 degrees
(phone photos) reports its height and width swapped, as OpenCV decodes it, as every viewer
and annotation tool shows it, and as its mask must be drawn.
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
    """(H, W) as displayed (EXIF orientation applied) from a PNG, JPEG, BMP or WebP header;
    None for other or unreadable files."""
    try:
        with open(path, "rb") as file:
            head = file.read(32)
            if head.startswith(b"\xff\xd8"):
                size, orientation = _jpeg_size(file)
                if size is not None and orientation in _TRANSPOSING:
                    return size[1], size[0]
                return size
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        if exif_orientation(path) in _TRANSPOSING:
            return width, height
        return height, width
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(height), abs(width)  # a negative height means top-down rows
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    return None


_TRANSPOSING = (5, 6, 7, 8)
"""EXIF orientations that turn the image by 90 degrees (stored W x H is shown H x W)."""


def exif_orientation(path: str | Path) -> int:
    """The EXIF orientation (1..8) of a JPEG (APP1) or PNG (eXIf chunk), as OpenCV applies
    it when decoding colour; 1 (shown as stored) when there is none."""
    try:
        with open(path, "rb") as file:
            head = file.read(8)
            if head.startswith(b"\xff\xd8"):
                return _jpeg_size(file)[1]
            if head == b"\x89PNG\r\n\x1a\n":
                return _png_orientation(file)
    except OSError:
        pass
    return 1


def _png_orientation(file) -> int:
    """The orientation in a PNG's eXIf chunk (which must come before the image data)."""
    while True:
        header = file.read(8)
        if len(header) < 8:
            return 1
        length, kind = struct.unpack(">I", header[:4])[0], header[4:]
        if kind in (b"IDAT", b"IEND"):
            return 1
        if kind == b"eXIf":
            return _exif_orientation(b"Exif\x00\x00" + file.read(length)) or 1
        file.seek(length + 4, os.SEEK_CUR)  # data + CRC


def _jpeg_size(file) -> tuple[tuple[int, int] | None, int]:
    """Scan the JPEG markers (after SOI) for the EXIF orientation (APP1, before the frame)
    and a start-of-frame segment: (stored (H, W) or None, orientation)."""
    file.seek(2)
    orientation = 1
    while True:
        marker = file.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None, orientation
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:  # markers without a length
            continue
        length_bytes = file.read(2)
        if len(length_bytes) < 2:
            return None, orientation
        length = struct.unpack(">H", length_bytes)[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):  # SOF0..SOF15
            frame = file.read(5)
            if len(frame) < 5:
                return None, orientation
            height, width = struct.unpack(">HH", frame[1:5])
            return (height, width), orientation
        if kind == 0xE1 and length > 2:  # APP1: EXIF (or XMP)
            orientation = _exif_orientation(file.read(length - 2)) or orientation
            continue
        file.seek(length - 2, os.SEEK_CUR)


def _exif_orientation(payload: bytes) -> int | None:
    """Tag 0x0112 of IFD0 in an APP1 ``Exif`` payload; None when absent or malformed."""
    if not payload.startswith(b"Exif\x00\x00") or len(payload) < 14:
        return None
    tiff = payload[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for index in range(count):
        entry = tiff[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        if len(entry) < 12:
            return None
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and kind == 3:  # SHORT
            (value,) = struct.unpack(order + "H", entry[8:10])
            return value if 1 <= value <= 8 else None
    return None


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
