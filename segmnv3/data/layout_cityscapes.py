"""The Cityscapes layout (fine annotations; also what ``segmnv3 synth`` writes)::

    leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png   (or _labelTrainIds.png)

Label-id masks decode with ``cityscapes-labelids``; pre-converted
``*_gtFine_labelTrainIds.png`` files (``segmnv3 prepare --write-train-ids``) are used when
present, with ``cityscapes-trainids``, which saves the lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from segmnv3.core.cityscapes_labels import CITYSCAPES, CITYSCAPES_LABELIDS, CITYSCAPES_TRAINIDS
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_set import LabelSet
from segmnv3.data.layout import HINT, Pair, check_pairing, missing_split

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"
TRAIN_ID_SUFFIX = "_gtFine_labelTrainIds.png"


class CityscapesLayout:
    """Cityscapes files under ``root``; ``labels`` may name another label set whose masks
    use the Cityscapes file names (e.g. ``cityscapes-trainids`` for every file)."""

    kind = "cityscapes"

    def __init__(
        self, root: Path, *, cities: Sequence[str] | None = None, labels: str | None = None
    ) -> None:
        self.root, self.cities = Path(root), cities
        self._labels: LabelSet | None = None
        if labels is not None:
            from segmnv3.core.label_file import resolve_labels

            self._labels = resolve_labels(labels, base=self.root)

    @property
    def label_set(self) -> LabelSet:
        return CITYSCAPES if self._labels is None else self._labels

    def splits(self) -> list[str]:
        folder = self.root / "leftImg8bit"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def pairs(self, split: str) -> list[Pair]:
        image_dir, label_dir = self.root / "leftImg8bit" / split, self.root / "gtFine" / split
        if not (self.root / "leftImg8bit").is_dir() and not (self.root / "gtFine").is_dir():
            raise DatasetError(
                f"{self.root / 'leftImg8bit'} is missing: {self.root} is not a Cityscapes root "
                f"(nor a folder dataset: no labels.yaml) ({HINT})"
            )
        for folder in (image_dir, label_dir):
            if not folder.is_dir():
                raise missing_split(self.root, split, self.splits(), folder)
        cities = self._cities(image_dir, split)
        images = sorted(p for city in cities for p in (image_dir / city).glob(f"*{IMAGE_SUFFIX}"))
        if not images:
            raise DatasetError(
                f"split '{split}' of {self.root} holds no *{IMAGE_SUFFIX} images under "
                f"{image_dir} ({HINT})"
            )
        stems = {p.name[: -len(IMAGE_SUFFIX)]: p for p in images}
        label_stems = {
            p.name[: -len(suffix)]
            for city in cities
            for suffix in (LABEL_SUFFIX, TRAIN_ID_SUFFIX)
            for p in (label_dir / city).glob(f"*{suffix}")
        }
        check_pairing(
            sorted(set(stems) - label_stems),
            sorted(label_stems - set(stems)),
            label_dir,
            image_dir,
            "extract both leftImg8bit and gtFine archives",
        )
        return [self._pair(label_dir, stem, image) for stem, image in stems.items()]

    def _cities(self, image_dir: Path, split: str) -> list[str]:
        available = sorted(p.name for p in image_dir.iterdir() if p.is_dir())
        if self.cities is None:
            return available
        unknown = sorted(set(self.cities) - set(available))
        if unknown:
            raise DatasetError(
                f"unknown cities {unknown} in split '{split}' of {self.root}; available: {available}"
            )
        return [c for c in available if c in set(self.cities)]

    def _pair(self, label_dir: Path, stem: str, image: Path) -> Pair:
        city_dir = label_dir / image.parent.name
        train_ids = city_dir / f"{stem}{TRAIN_ID_SUFFIX}"
        key = f"{image.parent.name}/{stem}"
        if train_ids.is_file():
            return Pair(image, train_ids, key, self._labels or CITYSCAPES_TRAINIDS)
        return Pair(
            image, city_dir / f"{stem}{LABEL_SUFFIX}", key, self._labels or CITYSCAPES_LABELIDS
        )
