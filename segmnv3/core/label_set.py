"""Label sets as data: which classes a model predicts and how masks on disk store them.

A :class:`LabelSet` replaces the former ``NUM_CLASSES = 19``: class names in train-id
order (output channel ``i`` is ``classes[i]``), their RGB colours, which stored mask values
(index masks) or colours (colour masks) mean which class, and which are ignored. Cityscapes
is one shipped instance (``segmnv3.core.cityscapes_labels``); a folder dataset brings its
own ``labels.yaml`` (``segmnv3.core.label_file``). Every training checkpoint stores the
label set it was trained with, and everything downstream reads it from there.

Decoding a mask (``to_train_ids``) maps each stored value to its train id ``0..N-1`` or
``IGNORE_INDEX``; encoding (``from_train_ids``) goes back to the dataset's own values, so
saved predictions look like the dataset's masks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import DatasetError

Rgb = tuple[int, int, int]
MaskFormat = Literal["index", "color"]
OnUnknown = Literal["error", "warn"]
MAX_CLASSES = 255  # train ids 0..254; 255 is IGNORE_INDEX


@dataclass(frozen=True)
class ClassSpec:
    """One class: its name, its colour (RGB) and the stored index values that mean it."""

    name: str
    color: Rgb
    values: tuple[int, ...] = ()


@dataclass(frozen=True)
class LabelSet:
    """The classes of a model and the encoding of its dataset's masks.

    Attributes:
        classes: in train-id order; ``values`` empty means ``(index,)``.
        ignore_values: stored index values that are void (never trained on or scored).
        ignore_colors: stored colours that are void (colour masks).
        mask_format: ``index`` (pixel = stored value, 8-bit PNG) or ``color`` (pixel = the
            RGB colour of a class).
        on_unknown: a stored value / colour that is neither a class nor ignored is an
            ``error`` (default: nothing silently wrong) or a ``warn``\\ ing that makes it
            ignore (what the Cityscapes scripts do with foreign ids).
        name: short name shown in messages (a preset's name or the labels file).

    Raises:
        DatasetError: no classes, more than 255, duplicate names / colours / values, a
            value that is both a class and ignored, a value outside 0..255.
    """

    classes: tuple[ClassSpec, ...]
    ignore_values: tuple[int, ...] = ()
    ignore_colors: tuple[Rgb, ...] = ()
    mask_format: MaskFormat = "index"
    on_unknown: OnUnknown = "error"
    name: str = "custom"
    _tables: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        classes = tuple(
            ClassSpec(c.name, tuple(int(v) for v in c.color), tuple(c.values) or (i,))
            for i, c in enumerate(self.classes)
        )
        object.__setattr__(self, "classes", classes)
        _validate(self)

    # --- what a user names -------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> tuple[str, ...]:
        """Class names in train-id order."""
        return tuple(c.name for c in self.classes)

    @property
    def colors(self) -> np.ndarray:
        """(num_classes, 3) uint8 RGB."""
        return np.array([c.color for c in self.classes], dtype=np.uint8).reshape(-1, 3)

    def palette(self) -> np.ndarray:
        """(256, 3) uint8 RGB indexed by train id; ignore and unused ids are black."""
        palette = np.zeros((256, 3), dtype=np.uint8)
        palette[: self.num_classes] = self.colors
        return palette

    def fingerprint(self) -> str:
        """Short hash of the decoding (classes, values, ignores, format): equal sets, equal hash."""
        plain = {k: v for k, v in self.to_dict().items() if k != "name"}
        text = json.dumps(plain, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def same_classes(self, other: LabelSet) -> bool:
        """Same names and colours in the same order (the decoding may differ)."""
        return self.names == other.names and np.array_equal(self.colors, other.colors)

    # --- decoding / encoding -----------------------------------------------------------
    def value_table(self) -> np.ndarray:
        """(256,) int16: stored index value -> train id, IGNORE_INDEX, or -1 (unknown)."""
        if "values" not in self._tables:
            table = np.full(256, -1, dtype=np.int16)
            table[list(self.ignore_values)] = IGNORE_INDEX
            for train_id, spec in enumerate(self.classes):
                table[list(spec.values)] = train_id
            table.setflags(write=False)
            self._tables["values"] = table
        return self._tables["values"]

    def to_train_ids(self, mask: np.ndarray, *, source: object) -> tuple[np.ndarray, dict]:
        """A mask as stored -> (train ids uint8 (H, W), ``{unknown value: pixels}``).

        Args:
            mask: (H, W) uint8 for index masks, (H, W, 3) uint8 RGB for colour masks.
            source: the file, for messages.

        Unknown values become IGNORE_INDEX in the returned map; the caller decides with
        ``on_unknown`` whether that is an error (``check_unknown``).

        Raises:
            DatasetError: a mask of the wrong kind for ``mask_format``.
        """
        if self.mask_format == "color":
            return self._colors_to_train_ids(mask, source)
        if mask.ndim != 2 or mask.dtype != np.uint8:
            raise DatasetError(
                f"mask {source} must be a single-channel 8-bit PNG (labels {self.name} use "
                f"index masks), got shape {mask.shape} {mask.dtype}; for RGB colour masks set "
                "mask_format: color in labels.yaml"
            )
        mapped = self.value_table()[mask]  # (H, W) int16
        unknown = {}
        if (mapped < 0).any():
            counts = np.bincount(mask[mapped < 0], minlength=256)
            unknown = {int(v): int(counts[v]) for v in np.flatnonzero(counts)}
            mapped = np.where(mapped < 0, IGNORE_INDEX, mapped)
        return mapped.astype(np.uint8), unknown

    def _colors_to_train_ids(self, mask: np.ndarray, source: object) -> tuple[np.ndarray, dict]:
        if mask.ndim != 3 or mask.shape[2] != 3 or mask.dtype != np.uint8:
            raise DatasetError(
                f"mask {source} must be an 8-bit RGB PNG (labels {self.name} use colour masks), "
                f"got shape {mask.shape} {mask.dtype}; for index masks set mask_format: index"
            )
        packed = _pack(mask.reshape(-1, 3))
        keys = np.array(
            [_pack_one(c.color) for c in self.classes] + [_pack_one(c) for c in self.ignore_colors],
            dtype=np.int64,
        )
        ids = np.array([*range(self.num_classes)] + [IGNORE_INDEX] * len(self.ignore_colors))
        order = np.argsort(keys)
        keys, ids = keys[order], ids[order]
        slot = np.clip(np.searchsorted(keys, packed), 0, len(keys) - 1)
        found = keys[slot] == packed
        mapped = np.where(found, ids[slot], IGNORE_INDEX).astype(np.uint8)
        unknown = {}
        if not found.all():
            values, counts = np.unique(packed[~found], return_counts=True)
            unknown = {_unpack_one(int(v)): int(n) for v, n in zip(values, counts, strict=True)}
        return mapped.reshape(mask.shape[:2]), unknown

    def describe_unknown(self, source: object, unknown: dict) -> str:
        """One line: which values / colours of ``source`` are not in this label set."""
        kind = "colours" if self.mask_format == "color" else "values"
        shown = sorted(unknown)[:12]
        more = f" (and {len(unknown) - 12} more)" if len(unknown) > 12 else ""
        known = self._known_description()
        return (
            f"{source}: {sum(unknown.values())} pixels hold {kind} that are not in the label "
            f"set {self.name}: {kind} {shown}{more} (known: {known})"
        )

    def _known_description(self) -> str:
        if self.mask_format == "color":
            return f"{self.num_classes} class colours + {len(self.ignore_colors)} ignore colours"
        values = sorted({int(v) for c in self.classes for v in c.values})
        return f"classes {_ranges(values)}, ignore {_ranges(sorted(self.ignore_values)) or 'none'}"

    def from_train_ids(self, train_ids: np.ndarray) -> np.ndarray:
        """Train ids (H, W) -> the dataset's own stored form: index values (H, W) uint8
        (each class's first value; ignore -> the first ignore value, else 0) or colours
        (H, W, 3) uint8 RGB (ignore -> the first ignore colour, else black)."""
        index = np.asarray(train_ids).astype(np.uint8, copy=False)
        if self.mask_format == "color":
            palette = self.palette()
            palette[self.num_classes :] = self.ignore_colors[0] if self.ignore_colors else 0
            return palette[index]
        table = np.full(256, self.ignore_values[0] if self.ignore_values else 0, dtype=np.uint8)
        table[: self.num_classes] = [c.values[0] for c in self.classes]
        return table[index]

    # --- storage -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (checkpoints, JSON): the same keys as ``labels.yaml``; read back with
        ``core.label_file.label_set_from_mapping``."""
        return {
            "name": self.name,
            "classes": [
                {"name": c.name, "color": list(c.color), "values": list(c.values)}
                for c in self.classes
            ],
            "ignore_values": list(self.ignore_values),
            "ignore_colors": [list(c) for c in self.ignore_colors],
            "mask_format": self.mask_format,
            "on_unknown": self.on_unknown,
        }


def generic_label_set(num_classes: int) -> LabelSet:
    """Classes named ``class 0`` .. ``class N-1`` with distinct colours (for checkpoints
    that predate stored label sets and are not Cityscapes' 19 classes)."""
    classes = tuple(ClassSpec(f"class {i}", _distinct_color(i)) for i in range(num_classes))
    return LabelSet(classes, ignore_values=(IGNORE_INDEX,), name=f"{num_classes} classes")


def _distinct_color(index: int) -> Rgb:
    """The PASCAL VOC colour map: bit-interleaved, distinct for 0..255."""
    r = g = b = 0
    value = index + 1  # 0 would be black, which overlays show as "ignore"
    for shift in range(7, -1, -1):
        r |= ((value >> 0) & 1) << shift
        g |= ((value >> 1) & 1) << shift
        b |= ((value >> 2) & 1) << shift
        value >>= 3
    return r, g, b


def _validate(labels: LabelSet) -> None:
    where = f"label set {labels.name}"
    if not labels.classes:
        raise DatasetError(f"{where}: classes is empty; list at least two classes")
    if labels.num_classes == 1:
        raise DatasetError(
            f"{where}: one class ({labels.classes[0].name!r}) gives nothing to learn (every "
            "pixel is that class: loss 0, mIoU 100%); add a class for everything else, e.g. "
            "background"
        )
    if labels.num_classes > MAX_CLASSES:
        raise DatasetError(f"{where}: {labels.num_classes} classes; at most {MAX_CLASSES}")
    _no_duplicates(where, "class names", [c.name for c in labels.classes])
    _no_duplicates(where, "class colours", [c.color for c in labels.classes])
    for spec in labels.classes:
        if len(spec.color) != 3 or not all(0 <= v <= 255 for v in spec.color):
            raise DatasetError(f"{where}: class {spec.name!r} color must be [R, G, B] in 0..255")
    values = [v for c in labels.classes for v in c.values] + list(labels.ignore_values)
    if any(not 0 <= v <= 255 for v in values):
        raise DatasetError(f"{where}: mask values must lie in 0..255 (8-bit PNG masks)")
    _no_duplicates(where, "mask values (a value means one class, or ignore)", values)
    colours = [c.color for c in labels.classes] + list(labels.ignore_colors)
    if labels.mask_format == "color":
        _no_duplicates(where, "colours (a colour means one class, or ignore)", colours)


def _no_duplicates(where: str, what: str, items: list) -> None:
    seen, repeated = set(), []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    if repeated:
        raise DatasetError(f"{where}: duplicate {what}: {repeated}; each must be unique")


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


def _pack_one(color: Rgb) -> int:
    return (int(color[0]) << 16) | (int(color[1]) << 8) | int(color[2])


def _unpack_one(value: int) -> Rgb:
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _ranges(values: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``0-2, 5, 7-8``."""
    parts, start = [], None
    for i, value in enumerate(values):
        if start is None:
            start = value
        if i + 1 == len(values) or values[i + 1] != value + 1:
            parts.append(str(start) if start == value else f"{start}-{value}")
            start = None
    return ", ".join(parts)
