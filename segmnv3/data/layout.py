"""Dataset layouts: where a split's (image, mask) pairs lie and how their masks are encoded.

A layout only finds files and checks them (pairing, sizes from headers); decoding is
``segmnv3.data.decode`` and the dataset is ``segmnv3.data.dataset``. Two layouts ship:
Cityscapes (``layout_cityscapes``) and the folder format (``layout_folder``);
``layouts.open_layout`` picks one for a root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from segmnv3.core.errors import DatasetError
from segmnv3.core.image_header import exif_orientation
from segmnv3.core.label_set import LabelSet
from segmnv3.data.decode import image_size, png_size

HINT = "see datasets/README.md, or run `segmnv3 prepare --root ROOT` to check a dataset"


@dataclass(frozen=True)
class Pair:
    """One training / evaluation sample on disk.

    Attributes:
        image: the photo (PNG or JPEG).
        mask: its mask PNG.
        key: the pair's path below the split without suffix (``city/stem`` or
            ``sub/dir/name``): unique in the split; names cache entries and outputs.
        labels: the label set that decodes this mask file (Cityscapes layouts mix label-id
            and train-id files; their classes are the same).
    """

    image: Path
    mask: Path
    key: str
    labels: LabelSet


class Layout(Protocol):
    """What every layout provides."""

    root: Path
    kind: str  # "cityscapes" | "folder"

    @property
    def label_set(self) -> LabelSet:
        """The classes a model trained on this data predicts."""

    def splits(self) -> list[str]:
        """Names of the splits present under the root."""

    def pairs(self, split: str) -> list[Pair]:
        """Sorted pairs of ``split``; DatasetError naming every problem and what to do."""


def listing(items: Sequence[str], limit: int = 3) -> str:
    """``a, b, c (and 4 more)``."""
    shown = ", ".join(items[:limit])
    return shown + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def check_pairing(
    no_mask: list[str], no_image: list[str], mask_dir: Path, image_dir: Path, what: str
) -> None:
    """DatasetError listing images without a mask and masks without an image."""
    problems = []
    if no_mask:
        problems.append(f"{len(no_mask)} images have no label in {mask_dir}: {listing(no_mask)}")
    if no_image:
        problems.append(f"{len(no_image)} labels have no image in {image_dir}: {listing(no_image)}")
    if problems:
        raise DatasetError("; ".join(problems) + f"; {what} ({HINT})")


def check_sizes(pairs: Sequence[Pair]) -> None:
    """DatasetError listing the pairs whose image and mask differ in size (from headers)."""
    mismatched = []
    for pair in pairs:
        image, mask = image_size(pair.image), png_size(pair.mask)
        if image != mask:
            turned = exif_orientation(pair.image) in (5, 6, 7, 8) and image == mask[::-1]
            mismatched.append(
                f"{pair.image.name} {image[1]}x{image[0]}"
                + (" as displayed (EXIF-rotated)" if turned else "")
                + f" vs {pair.mask.name} {mask[1]}x{mask[0]}"
            )
    if mismatched:
        raise DatasetError(
            f"{len(mismatched)} image/label pairs differ in size: {listing(mismatched)}; "
            "a mask must have its image's size as displayed (with its EXIF orientation, as "
            "viewers show it): re-export or re-extract them"
        )


def missing_split(root: Path, split: str, available: list[str], folder: Path) -> DatasetError:
    """The error for a split that is not there, naming the splits that are."""
    shown = ", ".join(repr(s) for s in available) or "none"
    return DatasetError(
        f"split {split!r} is not in {root} ({folder} is missing); splits present: {shown}"
    )
