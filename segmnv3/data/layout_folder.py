"""The folder dataset format: your own images, masks and classes::

    DIR/labels.yaml                                   # the label set (core.label_file)
    DIR/images/<split>/**/<name>.{png,jpg,jpeg}
    DIR/masks/<split>/**/<name>.png                   # same relative path and stem

Any nesting below the split works; a mask pairs with the image of the same relative path
and stem. ``labels.yaml`` may also just name a preset (``labels: cityscapes-trainids``).
"""

from __future__ import annotations

from pathlib import Path

from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import LABELS_FILENAME, read_label_file, resolve_labels
from segmnv3.core.label_set import LabelSet
from segmnv3.core.safe_io import walk_files
from segmnv3.data.layout import HINT, Pair, check_pairing, listing, missing_split

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MASK_SUFFIX = ".png"


class FolderLayout:
    """A folder dataset under ``root``; ``labels`` (preset or path) overrides its labels.yaml."""

    kind = "folder"

    def __init__(self, root: Path, *, labels: str | None = None) -> None:
        self.root = Path(root)
        if labels is not None:
            self._labels = resolve_labels(labels, base=self.root)
        else:
            self._labels = read_label_file(self.root / LABELS_FILENAME)

    @property
    def label_set(self) -> LabelSet:
        return self._labels

    def splits(self) -> list[str]:
        folder = self.root / "images"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def pairs(self, split: str) -> list[Pair]:
        image_dir, mask_dir = self.root / "images" / split, self.root / "masks" / split
        for folder in (image_dir, mask_dir):
            if not folder.is_dir():
                raise missing_split(self.root, split, self.splits(), folder)
        images = _by_key(image_dir, IMAGE_SUFFIXES, "images")
        masks = _by_key(mask_dir, (MASK_SUFFIX,), "masks")
        if not images:
            raise DatasetError(
                f"split '{split}' of {self.root} holds no images (.png, .jpg, .jpeg) under "
                f"{image_dir} ({HINT})"
            )
        check_pairing(
            sorted(set(images) - set(masks)),
            sorted(set(masks) - set(images)),
            mask_dir,
            image_dir,
            "every image needs a mask PNG with the same relative path and stem",
        )
        return [Pair(images[key], masks[key], key, self._labels) for key in sorted(images)]


def _by_key(folder: Path, suffixes: tuple[str, ...], what: str) -> dict[str, Path]:
    """``{relative path without suffix: file}``; DatasetError when two files share a key."""
    found: dict[str, list[Path]] = {}
    for path in dataset_files(folder):
        if path.suffix.lower() in suffixes:
            key = path.relative_to(folder).with_suffix("").as_posix()
            found.setdefault(key, []).append(path)
    clashes = sorted(
        f"{k} ({', '.join(p.suffix for p in v)})" for k, v in found.items() if len(v) > 1
    )
    if clashes:
        raise DatasetError(
            f"{folder}: {len(clashes)} {what} share a name with another suffix: "
            f"{listing(clashes)}; keep one file per name"
        )
    return {key: paths[0] for key, paths in found.items()}


def dataset_files(folder: Path) -> list[Path]:
    """Every regular file below ``folder``, sorted, hidden entries skipped; symlinked folders
    are followed and entered once (a symlink loop ends), files linked under several names
    are listed under each (``core.safe_io.walk_files``)."""
    files = walk_files(folder, unique_files=False)
    return sorted(
        p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
