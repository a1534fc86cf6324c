"""Image and mask files: sizes from headers (no decoding), decoding with clear errors.

Shared by every layout (Cityscapes, folder), the frame cache, ``prepare``, the loader
benchmark and deploy's calibration images.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from segmnv3.core.errors import DatasetError
from segmnv3.core.label_set import MaskFormat

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8"
# JPEG start-of-frame markers (baseline, progressive, lossless, ...) that carry the size.
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def png_size(path: Path) -> tuple[int, int]:
    """(H, W) from a PNG header, without decoding; DatasetError if it is not a PNG."""
    head = _read_head(path, 24)
    if len(head) < 24 or head[:8] != PNG_MAGIC or head[12:16] != b"IHDR":
        raise DatasetError(
            f"{path} is not a valid PNG (corrupt or truncated); re-extract or re-export it"
        )
    width, height = struct.unpack(">II", head[16:24])
    return height, width


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of a PNG or JPEG from its header; DatasetError when it is neither or broken."""
    head = _read_head(path, 8)
    if head[:8] == PNG_MAGIC:
        return png_size(path)
    if head[:2] == _JPEG_MAGIC:
        return _jpeg_size(path)
    raise DatasetError(
        f"{path} is not a valid PNG or JPEG (corrupt, truncated or another format); replace it"
    )


def _read_head(path: Path, count: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(count)
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {error.strerror}") from None


def _jpeg_size(path: Path) -> tuple[int, int]:
    """Walk the JPEG markers up to the first start-of-frame segment."""
    try:
        with open(path, "rb") as handle:
            handle.read(2)
            while True:
                marker = handle.read(2)
                if len(marker) < 2 or marker[0] != 0xFF:
                    break
                if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:
                    continue  # markers without a length
                length = struct.unpack(">H", handle.read(2))[0]
                if marker[1] in _SOF_MARKERS:
                    _precision, height, width = struct.unpack(">BHH", handle.read(5))
                    return height, width
                handle.seek(length - 2, 1)
    except (OSError, struct.error):
        pass
    raise DatasetError(f"{path} is not a valid JPEG (corrupt or truncated); replace it")


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3); DatasetError naming the file when it cannot be decoded."""
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        raise DatasetError(f"cannot decode image {path} (corrupt or truncated); replace it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask_file(path: Path, mask_format: MaskFormat = "index") -> np.ndarray:
    """A mask PNG as stored: (H, W) uint8 (index masks) or (H, W, 3) uint8 RGB (colour masks).

    Raises:
        DatasetError: the file does not decode, or holds the wrong kind of image (an RGB PNG
            where index masks are expected, 16-bit values, ...).
    """
    try:
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        mask = None
    if mask is None:
        raise DatasetError(f"cannot decode mask {path} (corrupt or truncated PNG); replace it")
    if mask.dtype != np.uint8:
        raise DatasetError(
            f"mask {path} is {mask.dtype}; masks must be 8-bit PNGs (is it an instanceIds image?)"
        )
    if mask_format == "color":
        if mask.ndim == 3 and mask.shape[2] == 4:
            mask = mask[..., :3]
        if mask.ndim != 3 or mask.shape[2] != 3:
            raise DatasetError(
                f"mask {path} has shape {mask.shape}; colour masks (mask_format: color) must be "
                "RGB PNGs; for single-channel index masks set mask_format: index"
            )
        return np.ascontiguousarray(mask[..., ::-1])  # BGR -> RGB
    if mask.ndim != 2:
        raise DatasetError(
            f"mask {path} must be a single-channel 8-bit PNG, got shape {mask.shape}; is it a "
            "_color or _instanceIds image? (RGB colour masks: mask_format: color in labels.yaml)"
        )
    return mask
