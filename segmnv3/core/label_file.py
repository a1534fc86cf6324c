"""``labels.yaml``: a folder dataset's label set, read strictly (line and key named).

::

    classes:                      # train-id order: output channel i is classes[i]
      - {name: floor, color: [128, 64, 128]}                  # mask value 0 (its index)
      - {name: shelf, color: [70, 70, 70], values: [1, 7]}    # several values -> one class
    ignore_values: [255]          # optional; never trained on or scored (index masks)
    ignore_colors: [[0, 0, 0]]    # optional; the same for colour masks
    mask_format: index            # index | color
    on_unknown: error             # optional: error (default) | warn (unknown -> ignore)

or, for datasets whose masks are Cityscapes-compatible, one line naming a preset::

    labels: cityscapes-trainids   # or cityscapes-labelids
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml

from segmnv3.core.errors import DatasetError
from segmnv3.core.label_set import ClassSpec, LabelSet, MaskFormat, OnUnknown
from segmnv3.core.schema import load_yaml

LABELS_FILENAME = "labels.yaml"
_TOP_KEYS = {"classes", "ignore_values", "ignore_colors", "mask_format", "on_unknown", "name"}
_CLASS_KEYS = {"name", "color", "values"}


def presets() -> dict[str, LabelSet]:
    """The shipped label sets by name."""
    from segmnv3.core.cityscapes_labels import CITYSCAPES_LABELIDS, CITYSCAPES_TRAINIDS

    return {labels.name: labels for labels in (CITYSCAPES_LABELIDS, CITYSCAPES_TRAINIDS)}


def preset(name: str, *, source: str = "labels") -> LabelSet:
    """A shipped label set; DatasetError listing the names when ``name`` is none of them."""
    found = presets().get(name)
    if found is None:
        raise DatasetError(
            f"{source}: unknown label preset {name!r}; shipped presets: {sorted(presets())}, "
            f"or a path to a {LABELS_FILENAME}"
        )
    return found


def resolve_labels(spec: str, *, base: Path | None = None) -> LabelSet:
    """A preset name or a path to a labels file (relative to ``base`` when given)."""
    if spec in presets():
        return presets()[spec]
    path = Path(spec)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.suffix and not path.exists():
        return preset(spec)  # a typo of a preset name: list the presets
    return read_label_file(path)


def read_label_file(path: str | Path) -> LabelSet:
    """Parse a ``labels.yaml``.

    Raises:
        DatasetError: a missing or unreadable file, invalid YAML, an unknown key, a value
            of the wrong type, duplicate names / colours / values; naming the line and key.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing: a folder dataset needs a {LABELS_FILENAME} listing its classes "
            "(see datasets/README.md), or `labels: cityscapes-trainids` for Cityscapes-style masks"
        )
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = load_yaml(text)
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DatasetError(f"{path}:{line} is not valid YAML ({problem})") from None
    lines = _line_numbers(node)
    if isinstance(data, dict) and set(data) == {"labels"}:
        return preset(str(data["labels"]), source=f"{path}: labels")
    return label_set_from_mapping(data, source=str(path), lines=lines, name=path.parent.name)


def label_set_from_mapping(
    data: Any, *, source: str, lines: dict[str, int] | None = None, name: str | None = None
) -> LabelSet:
    """A :class:`LabelSet` from the mapping a labels file holds (or ``LabelSet.to_dict``)."""
    lines = lines or {}

    def fail(key: str, message: str) -> typing.NoReturn:
        line = lines.get(key)
        where = f"{source}:" + (f" line {line}," if line else "") + f" {key}"
        raise DatasetError(f"{where}: {message}")

    if not isinstance(data, dict):
        fail("top level", "must be a mapping with a 'classes' list (see datasets/README.md)")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        fail(unknown[0], f"unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    if "classes" not in data:
        fail("classes", "missing: list the classes in train-id order")
    classes = data["classes"]
    if not isinstance(classes, list) or not classes:
        fail("classes", "must be a non-empty list of {name, color[, values]}")
    specs = tuple(_class(i, entry, fail) for i, entry in enumerate(classes))
    mask_format = data.get("mask_format", "index")
    if mask_format not in typing.get_args(MaskFormat):
        fail("mask_format", f"{mask_format!r} is not one of {list(typing.get_args(MaskFormat))}")
    on_unknown = data.get("on_unknown", "error")
    if on_unknown not in typing.get_args(OnUnknown):
        fail("on_unknown", f"{on_unknown!r} is not one of {list(typing.get_args(OnUnknown))}")
    ignore_values = _ints("ignore_values", data.get("ignore_values") or [], fail)
    ignore_colors = tuple(
        _color(f"ignore_colors[{i}]", c, fail)
        for i, c in enumerate(data.get("ignore_colors") or [])
    )
    try:
        return LabelSet(
            specs,
            ignore_values=ignore_values,
            ignore_colors=ignore_colors,
            mask_format=mask_format,
            on_unknown=on_unknown,
            name=str(data.get("name") or name or source),
        )
    except DatasetError as error:
        raise DatasetError(f"{source}: {error}") from None


def _class(index: int, entry: Any, fail) -> ClassSpec:
    key = f"classes[{index}]"
    if not isinstance(entry, dict):
        fail(key, f"must be a mapping {{name, color[, values]}}, got {entry!r}")
    unknown = sorted(set(entry) - _CLASS_KEYS)
    if unknown:
        fail(f"{key}.{unknown[0]}", f"unknown key(s) {unknown}; allowed: {sorted(_CLASS_KEYS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        fail(f"{key}.name", f"must be a non-empty string, got {name!r}")
    if "color" not in entry:
        fail(f"{key}.color", "missing: give the class colour as [R, G, B]")
    color = _color(f"{key}.color", entry["color"], fail)
    values = _ints(f"{key}.values", entry.get("values", []), fail)
    return ClassSpec(name.strip(), color, values)


def _color(key: str, value: Any, fail) -> tuple[int, int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
    ):
        fail(key, f"must be [R, G, B] with integers 0..255, got {value!r}")
    return tuple(value)


def _ints(key: str, value: Any, fail) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value
    ):
        fail(key, f"must be a list of integers 0..255 (8-bit mask values), got {value!r}")
    return tuple(value)


def _line_numbers(node: yaml.Node | None) -> dict[str, int]:
    """``{dotted key: 1-based line}`` of every mapping key and list item in a YAML tree."""
    lines: dict[str, int] = {}

    def walk(current: yaml.Node, key: str) -> None:
        if key:
            lines.setdefault(key, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                child = f"{key}.{key_node.value}" if key else str(key_node.value)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                walk(item, f"{key}[{i}]")

    if node is not None:
        walk(node, "")
    return lines


LABELS_KEY = "labels"
"""Key of the label set (``LabelSet.to_dict()``) in a training checkpoint."""


def stored_label_set(checkpoint: dict[str, Any], num_classes: int, *, source: str) -> LabelSet:
    """The label set a checkpoint was trained with.

    Checkpoints written before label sets were stored hold none: with 19 classes they are
    Cityscapes (every such checkpoint was trained on it), otherwise generic names.

    Raises:
        DatasetError: a stored set that does not parse, or whose class count is not the
            model's ``num_classes``.
    """
    from segmnv3.core.cityscapes_labels import CITYSCAPES
    from segmnv3.core.label_set import generic_label_set

    stored = checkpoint.get(LABELS_KEY)
    if stored is None:
        return (
            CITYSCAPES if num_classes == CITYSCAPES.num_classes else generic_label_set(num_classes)
        )
    labels = label_set_from_mapping(stored, source=f"{source} (stored label set)")
    if labels.num_classes != num_classes:
        raise DatasetError(
            f"{source}: its label set {labels.name} has {labels.num_classes} classes but "
            f"model.num_classes={num_classes}; the checkpoint is inconsistent, re-export it"
        )
    return labels
