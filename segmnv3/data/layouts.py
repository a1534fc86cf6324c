"""The shipped layouts, and the one function that opens the right one for a root."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import LABELS_FILENAME
from segmnv3.data.layout import HINT, Layout
from segmnv3.data.layout_cityscapes import CityscapesLayout
from segmnv3.data.layout_folder import FolderLayout


def detect_kind(root: Path) -> str:
    """``folder`` when ``root/labels.yaml`` or ``root/images/`` exists, else ``cityscapes``."""
    if (root / LABELS_FILENAME).exists() or (root / "images").is_dir():
        return "folder"
    return "cityscapes"


def open_layout(
    root: str | Path,
    kind: str | None = None,
    *,
    labels: str | None = None,
    cities: Sequence[str] | None = None,
) -> Layout:
    """The layout at ``root``.

    Args:
        root: the dataset root.
        kind: ``cityscapes``, ``synthetic`` (the Cityscapes layout the generator writes),
            ``folder``, or None to detect it (:func:`detect_kind`).
        labels: a preset name or labels-file path overriding the layout's own label set
            (folder: ``root/labels.yaml``; Cityscapes: the Cityscapes label set).
        cities: Cityscapes only: keep these cities.

    Raises:
        DatasetError: a missing root (with how to get data), or a bad labels file.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(
            f"dataset root {root} does not exist; download Cityscapes, point data.root at your "
            f"folder dataset, or run `segmnv3 synth {root}` ({HINT})"
        )
    kind = detect_kind(root) if kind is None else kind
    if kind == "folder":
        return FolderLayout(root, labels=labels)
    return CityscapesLayout(root, cities=cities, labels=labels)
