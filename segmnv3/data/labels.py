"""Cityscapes label definitions: label ids, the 19 train ids, colours and lookup tables.

The table below is the official one (``cityscapesscripts.helpers.labels``, which a test
compares against row by row); it is copied here so that inference needs no extra package.
Label ids live in ``*_gtFine_labelIds.png`` (uint8). Training uses the 19 train ids;
every other id, including void ids such as "ego vehicle" and "license plate" (id -1,
which a uint8 image holds as 255), maps to ``IGNORE_INDEX``.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from segmnv3.core.contract import IGNORE_INDEX, NUM_CLASSES

# IGNORE_INDEX / NUM_CLASSES are the contract's (segmnv3.core.contract); importable from here too.


class Label(NamedTuple):
    name: str
    id: int  # value in *_labelIds.png
    train_id: int  # 0..18, or 255 / -1 for classes that are not trained on
    color: tuple[int, int, int]  # RGB, as in *_color.png


LABELS: tuple[Label, ...] = (
    Label("unlabeled", 0, 255, (0, 0, 0)),
    Label("ego vehicle", 1, 255, (0, 0, 0)),
    Label("rectification border", 2, 255, (0, 0, 0)),
    Label("out of roi", 3, 255, (0, 0, 0)),
    Label("static", 4, 255, (0, 0, 0)),
    Label("dynamic", 5, 255, (111, 74, 0)),
    Label("ground", 6, 255, (81, 0, 81)),
    Label("road", 7, 0, (128, 64, 128)),
    Label("sidewalk", 8, 1, (244, 35, 232)),
    Label("parking", 9, 255, (250, 170, 160)),
    Label("rail track", 10, 255, (230, 150, 140)),
    Label("building", 11, 2, (70, 70, 70)),
    Label("wall", 12, 3, (102, 102, 156)),
    Label("fence", 13, 4, (190, 153, 153)),
    Label("guard rail", 14, 255, (180, 165, 180)),
    Label("bridge", 15, 255, (150, 100, 100)),
    Label("tunnel", 16, 255, (150, 120, 90)),
    Label("pole", 17, 5, (153, 153, 153)),
    Label("polegroup", 18, 255, (153, 153, 153)),
    Label("traffic light", 19, 6, (250, 170, 30)),
    Label("traffic sign", 20, 7, (220, 220, 0)),
    Label("vegetation", 21, 8, (107, 142, 35)),
    Label("terrain", 22, 9, (152, 251, 152)),
    Label("sky", 23, 10, (70, 130, 180)),
    Label("person", 24, 11, (220, 20, 60)),
    Label("rider", 25, 12, (255, 0, 0)),
    Label("car", 26, 13, (0, 0, 142)),
    Label("truck", 27, 14, (0, 0, 70)),
    Label("bus", 28, 15, (0, 60, 100)),
    Label("caravan", 29, 255, (0, 0, 90)),
    Label("trailer", 30, 255, (0, 0, 110)),
    Label("train", 31, 16, (0, 80, 100)),
    Label("motorcycle", 32, 17, (0, 0, 230)),
    Label("bicycle", 33, 18, (119, 11, 32)),
    Label("license plate", -1, -1, (0, 0, 142)),
)

NAME_TO_LABEL: dict[str, Label] = {label.name: label for label in LABELS}

_TRAIN_LABELS = sorted(
    (lb for lb in LABELS if 0 <= lb.train_id < NUM_CLASSES), key=lambda lb: lb.train_id
)
CLASS_NAMES: tuple[str, ...] = tuple(label.name for label in _TRAIN_LABELS)
PALETTE: np.ndarray = np.array(
    [label.color for label in _TRAIN_LABELS], dtype=np.uint8
)  # (19, 3) RGB


def _id_lookup_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    to_train = np.full(256, IGNORE_INDEX, dtype=np.uint8)  # indexed by label id mod 256
    to_color = np.zeros((256, 3), dtype=np.uint8)
    to_label = np.zeros(256, dtype=np.uint8)  # train id -> label id; ignore -> 0 (unlabeled)
    for label in LABELS:
        slot = label.id % 256  # -1 (license plate) -> 255, as a uint8 label image stores it
        if 0 <= label.train_id < NUM_CLASSES:
            to_train[slot] = label.train_id
            to_label[label.train_id] = label.id
        to_color[slot] = label.color
    return to_train, to_color, to_label


ID_TO_TRAIN_ID, ID_TO_COLOR, TRAIN_ID_TO_ID = _id_lookup_tables()
# Byte values a *_labelIds.png / *_labelTrainIds.png may hold; anything else is not Cityscapes.
KNOWN_LABEL_IDS = np.zeros(256, dtype=bool)
KNOWN_LABEL_IDS[[label.id % 256 for label in LABELS]] = True
KNOWN_TRAIN_IDS = np.zeros(256, dtype=bool)
KNOWN_TRAIN_IDS[[*range(NUM_CLASSES), IGNORE_INDEX]] = True
for _table in (ID_TO_TRAIN_ID, ID_TO_COLOR, TRAIN_ID_TO_ID, KNOWN_LABEL_IDS, KNOWN_TRAIN_IDS):
    _table.setflags(write=False)


def unknown_ids(mask: np.ndarray, *, train_ids: bool = False) -> dict[int, int]:
    """``{value: pixel count}`` of the values in a uint8 mask that Cityscapes does not define.

    Args:
        mask: a label image as read from disk (uint8).
        train_ids: the mask holds train ids (0..18, 255) rather than label ids (0..33, 255).

    Both kinds become ``IGNORE_INDEX`` when mapped, so a foreign value would otherwise
    vanish silently from training.
    """
    counts = np.bincount(mask.reshape(-1), minlength=256)
    known = KNOWN_TRAIN_IDS if train_ids else KNOWN_LABEL_IDS
    return {int(v): int(counts[v]) for v in np.flatnonzero((counts > 0) & ~known)}


def describe_unknown_ids(path: object, unknown: dict[int, int], *, train_ids: bool) -> str:
    """One line: which foreign ids ``path`` holds, how many pixels, and what happens to them."""
    kind = "train ids (0..18, 255)" if train_ids else "Cityscapes label ids (0..33, 255)"
    pixels = sum(unknown.values())
    return (
        f"{path}: {pixels} pixels hold values that are not {kind}: ids {sorted(unknown)}; "
        "they are ignored (255) in training and evaluation"
    )


class UnknownLabelWarning(UserWarning):
    """A label image holds values that are not Cityscapes ids (they become ignore)."""


_WARNED: set[str] = set()  # label files already reported by this process


def mask_to_train_ids(mask: np.ndarray, *, train_ids: bool, source: object) -> np.ndarray:
    """A label image as stored (uint8 label ids or train ids) -> train ids 0..18 / 255.

    Values Cityscapes does not define become ``IGNORE_INDEX`` with an
    :class:`UnknownLabelWarning` naming ``source`` and the ids, once per source and process.
    """
    unknown = unknown_ids(mask, train_ids=train_ids)
    if unknown and str(source) not in _WARNED:
        _WARNED.add(str(source))
        message = describe_unknown_ids(source, unknown, train_ids=train_ids)
        warnings.warn(message, UnknownLabelWarning, stacklevel=3)
    if not train_ids:
        return label_ids_to_train_ids(mask)
    return np.where(KNOWN_TRAIN_IDS[mask], mask, np.uint8(IGNORE_INDEX)) if unknown else mask


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


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map Cityscapes label ids (any shape; uint8, or ints in -1..255) to train ids.

    Returns:
        uint8 array of the same shape with values in 0..18 or ``IGNORE_INDEX``.
    """
    return ID_TO_TRAIN_ID[_as_lookup_index(label_ids, "label ids")]


def train_ids_to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Map train ids (0..18; anything else counts as ignore) back to label ids.

    This is what the Cityscapes test server expects in a submission PNG; ignored pixels
    become 0 ("unlabeled").

    Returns:
        uint8 array of the same shape.
    """
    return TRAIN_ID_TO_ID[_as_lookup_index(train_ids, "train ids")]


def colorize(mask: np.ndarray, *, label_ids: bool = False) -> np.ndarray:
    """RGB visualisation of a (H, W) mask with the official colours.

    Args:
        mask: train ids (default; ignore -> black) or, with ``label_ids=True``, label ids.

    Returns:
        (H, W, 3) uint8 RGB image.
    """
    index = _as_lookup_index(mask, "mask")
    if label_ids:
        return ID_TO_COLOR[index]
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[:NUM_CLASSES] = PALETTE
    return palette[index]


def overlay(image_bgr: np.ndarray, train_ids: np.ndarray, alpha: float) -> np.ndarray:
    """Blend the official colours of a (H, W) train-id mask into a BGR image (H, W, 3).

    Args:
        image_bgr: uint8 image as OpenCV reads it, same size as the mask.
        train_ids: predictions or ground truth (ignore -> black).
        alpha: weight of the colours, 0 (image only) to 1 (mask only).
    """
    import cv2

    colours = np.ascontiguousarray(colorize(train_ids)[..., ::-1])  # (H, W, 3) BGR
    return cv2.addWeighted(image_bgr, 1.0 - alpha, colours, alpha, 0.0)
