"""Masks and label sets: decoding stored masks to train ids, colours, overlays and legends.

The label set itself is data (``segmnv3.core.label_set.LabelSet``); Cityscapes is one
shipped instance (``segmnv3.core.cityscapes_labels``), whose official table and id lookups
are re-exported here for the Cityscapes tools (``prepare --write-train-ids``, the test
server format, the synthetic generator).
"""

from __future__ import annotations

import warnings

import numpy as np

from segmnv3.core.cityscapes_labels import (
    CITYSCAPES,
    CITYSCAPES_LABELIDS,
    CITYSCAPES_TRAINIDS,
    LABELS,
    NAME_TO_LABEL,
    Label,
)
from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_set import LabelSet

__all__ = [
    "CITYSCAPES",
    "CITYSCAPES_LABELIDS",
    "CITYSCAPES_TRAINIDS",
    "IGNORE_INDEX",
    "LABELS",
    "NAME_TO_LABEL",
    "Label",
    "LabelSet",
    "UnknownLabelWarning",
    "colorize",
    "decode_mask",
    "label_ids_to_train_ids",
    "legend_image",
    "overlay",
    "train_ids_to_label_ids",
]


def _color_by_label_id() -> np.ndarray:
    table = np.zeros((256, 3), dtype=np.uint8)
    for label in LABELS:
        table[label.id % 256] = label.color
    table.setflags(write=False)
    return table


ID_TO_COLOR = _color_by_label_id()
"""(256, 3) RGB of every Cityscapes label id (``*_gtFine_color.png`` colours)."""


class UnknownLabelWarning(UserWarning):
    """A mask holds values the label set does not define (they become ignore)."""


_WARNED: set[str] = set()  # mask files already reported by this process


def decode_mask(mask: np.ndarray, labels: LabelSet, *, source: object) -> np.ndarray:
    """A mask as stored -> train ids uint8 (H, W) in ``0..N-1`` or ``IGNORE_INDEX``.

    Values / colours the label set does not define are an error naming the file, the
    values and their pixel counts (``on_unknown: error``, the default of a labels file),
    or become ignore with one :class:`UnknownLabelWarning` per file and process
    (``on_unknown: warn``: the Cityscapes presets, as the official scripts do).

    Raises:
        DatasetError: unknown values with ``on_unknown: error``, or a mask of the wrong
            kind (RGB for index masks, single-channel for colour masks).
    """
    train_ids, unknown = labels.to_train_ids(mask, source=source)
    if unknown:
        message = labels.describe_unknown(source, unknown)
        if labels.on_unknown == "error":
            raise DatasetError(
                f"{message}; fix the mask, add the values to a class or to ignore_values in "
                "labels.yaml, or set on_unknown: warn to ignore them"
            )
        if str(source) not in _WARNED:
            _WARNED.add(str(source))
            warnings.warn(f"{message}; they are ignored (255)", UnknownLabelWarning, stacklevel=2)
    return train_ids


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map Cityscapes label ids (any shape; uint8, or ints in -1..255) to train ids.

    Returns:
        uint8 array of the same shape with values in 0..18 or ``IGNORE_INDEX``.
    """
    index = _as_lookup_index(label_ids, "label ids")
    table = CITYSCAPES_LABELIDS.value_table()
    return np.where(table[index] < 0, IGNORE_INDEX, table[index]).astype(np.uint8)


def train_ids_to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Map train ids (0..18; anything else counts as ignore) back to Cityscapes label ids.

    This is what the Cityscapes test server expects in a submission PNG; ignored pixels
    become 0 ("unlabeled").
    """
    return CITYSCAPES_LABELIDS.from_train_ids(_as_lookup_index(train_ids, "train ids"))


def _as_lookup_index(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return values
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{what} must be an integer array, got dtype {values.dtype}")
    if values.size and (values.min() < -1 or values.max() > 255):
        raise ValueError(
            f"{what} must lie in -1..255, got {values.min()}..{values.max()}; "
            "is this an instanceIds image instead of a labelIds image?"
        )
    return (values % 256).astype(np.uint8)


def colorize(mask: np.ndarray, labels: LabelSet = CITYSCAPES) -> np.ndarray:
    """RGB visualisation (H, W, 3) uint8 of a (H, W) train-id mask in the label set's colours
    (ignore and ids outside the set -> black)."""
    return labels.palette()[_as_lookup_index(mask, "mask")]


def overlay(
    image_bgr: np.ndarray, train_ids: np.ndarray, alpha: float, labels: LabelSet = CITYSCAPES
) -> np.ndarray:
    """Blend the label set's colours of a (H, W) train-id mask into a BGR image (H, W, 3).

    Args:
        image_bgr: uint8 image as OpenCV reads it, same size as the mask.
        train_ids: predictions or ground truth (ignore -> black).
        alpha: weight of the colours, 0 (image only) to 1 (mask only).
        labels: whose colours (the checkpoint's label set).
    """
    import cv2

    colours = np.ascontiguousarray(colorize(train_ids, labels)[..., ::-1])  # (H, W, 3) BGR
    return cv2.addWeighted(image_bgr, 1.0 - alpha, colours, alpha, 0.0)


def legend_image(labels: LabelSet, *, row_height: int = 22, width: int = 240) -> np.ndarray:
    """A BGR image (rows x width, 3): one swatch and name per class, in train-id order."""
    import cv2

    image = np.full((row_height * labels.num_classes + 8, width, 3), 255, dtype=np.uint8)
    for train_id, spec in enumerate(labels.classes):
        top = 4 + train_id * row_height
        color = tuple(int(c) for c in spec.color[::-1])  # BGR
        cv2.rectangle(image, (6, top + 3), (34, top + row_height - 3), color, thickness=-1)
        cv2.rectangle(image, (6, top + 3), (34, top + row_height - 3), (0, 0, 0), thickness=1)
        text = f"{train_id:>2} {spec.name}"
        cv2.putText(
            image, text, (42, top + row_height - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1
        )
    return image
