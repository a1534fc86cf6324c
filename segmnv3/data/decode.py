"""Image and mask files: sizes from headers (no decoding), decoding with clear errors.

Shared by every layout (Cityscapes, folder), the frame cache, ``prepare``, the loader
benchmark and deploy's calibration images.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from segmnv3.core.errors import DatasetError
from segmnv3.core.image_header import check_image_file, image_header_size
from segmnv3.core.label_set import MaskFormat
from segmnv3.core.quiet import native_stderr_filtered
from segmnv3.core.safe_io import check_regular_file

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class UndecodableError(DatasetError):
    """An image or mask file that OpenCV cannot decode (corrupt or truncated)."""


def png_size(path: Path) -> tuple[int, int]:
    """(H, W) from a PNG header, without decoding; DatasetError if it is not a PNG."""
    size = image_header_size(path) if _read_head(path, 8) == PNG_MAGIC else None
    if size is None:
        raise DatasetError(
            f"{path} is not a valid PNG (corrupt or truncated); re-extract or re-export it"
        )
    return size


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of a PNG or JPEG (also BMP, WebP) from its header; DatasetError otherwise."""
    check_regular_file(path, "image", error=DatasetError)  # a FIFO would block open()
    size = image_header_size(path)
    if size is None:
        raise DatasetError(
            f"{path} is not a valid PNG or JPEG (corrupt, truncated or another format); replace it"
        )
    return size


def _read_head(path: Path, count: int) -> bytes:
    check_regular_file(path, "file", error=DatasetError)  # a FIFO would block open()
    try:
        with open(path, "rb") as handle:
            return handle.read(count)
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {error.strerror}") from None


def _imread(path: Path, flags: int) -> np.ndarray | None:
    """``cv2.imread``, None when it cannot decode; libpng's own error line is held back
    (``core.quiet``): the caller's one-line DatasetError says it."""
    try:
        with native_stderr_filtered():
            return cv2.imread(str(path), flags)
    except cv2.error:
        return None


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3); DatasetError naming the file when it cannot be decoded."""
    check_image_file(path, "image", error=DatasetError)  # no FIFO, no pixel bomb
    image = _imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise UndecodableError(f"cannot decode image {path} (corrupt or truncated); replace it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask_file(path: Path, mask_format: MaskFormat = "index") -> np.ndarray:
    """A mask PNG as stored: (H, W) uint8 (index masks) or (H, W, 3) uint8 RGB (colour masks).

    Raises:
        DatasetError: the file does not decode, or holds the wrong kind of image (an RGB PNG
            where index masks are expected, 16-bit values, ...), a FIFO, or more pixels than
            the limit (``core.image_header``).
    """
    check_image_file(path, "mask", error=DatasetError)  # no FIFO, no pixel bomb
    mask = _imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise UndecodableError(f"cannot decode mask {path} (corrupt or truncated PNG); replace it")
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
