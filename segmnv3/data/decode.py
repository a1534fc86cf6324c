"""Image and mask files: sizes from headers (no decoding), decoding with clear errors.

Shared by every layout (Cityscapes, folder), the frame cache, ``prepare``, the loader
benchmark and deploy's calibration images.

One rule for EXIF orientation: an image and its mask pair as displayed. Sizes come from
``core.image_header`` with the orientation applied, OpenCV applies it when decoding images,
and :func:`read_mask_file` applies a mask's own orientation (rarely set) the same way.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from segmnv3.core.errors import DatasetError
from segmnv3.core.image_header import check_image_file, exif_orientation, image_header_size
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
    if mask_format == "index" and _is_palette_png(path):
        mask = _read_palette_indices(path)
    else:
        mask = _read_stored_mask(path, mask_format)
    return np.ascontiguousarray(apply_orientation(mask, exif_orientation(path)))


def _read_stored_mask(path: Path, mask_format: MaskFormat) -> np.ndarray:
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


def _is_palette_png(path: Path) -> bool:
    """A PNG of colour type 3 (palette), as Pascal VOC and CVAT store index masks."""
    head = _read_head(path, 26)
    return head[:8] == PNG_MAGIC and head[12:16] == b"IHDR" and head[25] == 3


def _read_palette_indices(path: Path) -> np.ndarray:
    """(H, W) uint8 palette indices of a palette PNG: its stored values, not the colours
    the palette shows (OpenCV can only give the colours)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():  # the pixel limit was checked from the header
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                indices = np.array(image)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UndecodableError(
            f"cannot decode mask {path} (corrupt or truncated palette PNG: {error}); replace it"
        ) from None
    if indices.dtype != np.uint8 or indices.ndim != 2:
        raise DatasetError(f"mask {path}: palette PNG decoded to {indices.dtype} {indices.shape}")
    return indices


_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` (H, W[, C]) as displayed under EXIF ``orientation`` (1..8), exactly as
    OpenCV turns a colour image it decodes (a view, no interpolation)."""
    return _ORIENT.get(orientation, lambda a: a)(array)
