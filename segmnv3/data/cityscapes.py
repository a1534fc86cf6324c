"""The Cityscapes dataset (fine annotations), validated at construction.

Layout under ``root``::

    leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png   (or _labelTrainIds.png)

Label ids are mapped to the 19 train ids with ``labels.ID_TO_TRAIN_ID``; pre-converted
``*_gtFine_labelTrainIds.png`` files (``segmnv3 prepare --write-train-ids``) are used
as they are when present, which saves the lookup.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from segmnv3.core.errors import DatasetError
from segmnv3.core.image_header import check_image_file
from segmnv3.core.safe_io import check_regular_file
from segmnv3.data.labels import mask_to_train_ids

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"
TRAIN_ID_SUFFIX = "_gtFine_labelTrainIds.png"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_HINT = "see datasets/README.md, or run `segmnv3 prepare --root ROOT` to check a download"


def _listing(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" (and {len(paths) - limit} more)" if len(paths) > limit else "")


def png_size(path: Path) -> tuple[int, int]:
    """(H, W) from a PNG header, without decoding; DatasetError if it is not a PNG."""
    check_regular_file(path, "file", error=DatasetError)  # a FIFO would block open()
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {error.strerror}") from None
    if len(head) < 24 or head[:8] != _PNG_MAGIC or head[12:16] != b"IHDR":
        raise DatasetError(
            f"{path} is not a valid PNG (corrupt or truncated); re-extract it from the archive"
        )
    width, height = struct.unpack(">II", head[16:24])
    return height, width


def find_pairs(
    root: str | Path, split: str, cities: Sequence[str] | None = None
) -> tuple[list[Path], list[Path]]:
    """Sorted (image paths, label paths) of a split, with every problem reported as DatasetError."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(
            f"dataset root {root} does not exist; download Cityscapes or run `segmnv3 synth {root}` ({_HINT})"
        )
    image_dir, label_dir = root / "leftImg8bit" / split, root / "gtFine" / split
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise DatasetError(f"{folder} is missing: {root} is not a Cityscapes root ({_HINT})")
    available = sorted(p.name for p in image_dir.iterdir() if p.is_dir())
    if cities is not None:
        unknown = sorted(set(cities) - set(available))
        if unknown:
            raise DatasetError(
                f"unknown cities {unknown} in split '{split}' of {root}; available: {available}"
            )
        available = [c for c in available if c in set(cities)]
    images = sorted(p for city in available for p in (image_dir / city).glob(f"*{IMAGE_SUFFIX}"))
    if not images:
        raise DatasetError(
            f"split '{split}' of {root} holds no *{IMAGE_SUFFIX} images under {image_dir} ({_HINT})"
        )
    stems = {p.name[: -len(IMAGE_SUFFIX)]: p for p in images}
    label_stems = {
        p.name[: -len(suffix)]
        for city in available
        for suffix in (LABEL_SUFFIX, TRAIN_ID_SUFFIX)
        for p in (label_dir / city).glob(f"*{suffix}")
    }
    _check_pairs(
        sorted(set(stems) - label_stems), sorted(label_stems - set(stems)), label_dir, image_dir
    )
    labels = [_label_path(label_dir / p.parent.name, stem) for stem, p in stems.items()]
    return list(stems.values()), labels


def _check_pairs(
    no_label: list[str], no_image: list[str], label_dir: Path, image_dir: Path
) -> None:
    problems = []
    if no_label:
        problems.append(
            f"{len(no_label)} images have no label in {label_dir}: {_listing(no_label)}"
        )
    if no_image:
        problems.append(
            f"{len(no_image)} labels have no image in {image_dir}: {_listing(no_image)}"
        )
    if problems:
        raise DatasetError(
            "; ".join(problems) + f"; extract both leftImg8bit and gtFine archives ({_HINT})"
        )


def _label_path(city_dir: Path, stem: str) -> Path:
    train_ids = city_dir / f"{stem}{TRAIN_ID_SUFFIX}"
    return train_ids if train_ids.is_file() else city_dir / f"{stem}{LABEL_SUFFIX}"


def _check_sizes(images: list[Path], labels: list[Path]) -> None:
    mismatched = []
    for image, label in zip(images, labels, strict=True):
        image_size, label_size = png_size(image), png_size(label)
        if image_size != label_size:
            mismatched.append(
                f"{image.name} {image_size[1]}x{image_size[0]} vs {label.name} {label_size[1]}x{label_size[0]}"
            )
    if mismatched:
        raise DatasetError(
            f"{len(mismatched)} image/label pairs differ in size: {_listing(mismatched)}; re-extract them"
        )


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3); DatasetError naming the file when it cannot be decoded."""
    check_image_file(path, "image", error=DatasetError)  # no FIFO, no pixel bomb
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot decode image {path} (corrupt or truncated PNG); re-extract it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path: Path) -> np.ndarray:
    """Train-id mask uint8 (H, W) from a labelIds or labelTrainIds PNG.

    Values that are not Cityscapes ids become ignore, with a warning naming the file and
    the ids (``labels.mask_to_train_ids``).
    """
    train_ids = path.name.endswith(TRAIN_ID_SUFFIX)
    return mask_to_train_ids(read_label_file(path), train_ids=train_ids, source=path)


def read_label_file(path: Path) -> np.ndarray:
    """The label PNG as stored (uint8 (H, W)); DatasetError when it is not one."""
    check_image_file(path, "label", error=DatasetError)  # no FIFO, no pixel bomb
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise DatasetError(f"cannot decode label {path} (corrupt or truncated PNG); re-extract it")
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise DatasetError(
            f"label {path} must be a single-channel 8-bit PNG, got shape {mask.shape} {mask.dtype}; "
            "is it a _color or _instanceIds image?"
        )
    return mask


class CityscapesDataset(Dataset):
    """Cityscapes fine annotations: ``(image (3, H, W) float32, mask (H, W) int64)`` items.

    Args:
        root: folder holding ``leftImg8bit/`` and ``gtFine/``.
        split: ``train``, ``val`` or ``test`` (any folder name under ``leftImg8bit/``).
        transform: ``(image RGB uint8, mask uint8) -> (image tensor, mask tensor)``; default:
            ImageNet normalisation at full resolution.
        cities: keep only these cities (None = all).
        cache_dir: a frame cache (``segmnv3.data.cache``, built by ``segmnv3 prepare
            --cache``) to read decoded arrays from instead of PNGs; frames missing from it
            or whose PNGs changed since are read from PNG, with a warning. None = PNGs only.

    Raises:
        DatasetError: missing root/split, empty split, unpaired files, size mismatches or
            files that are not PNGs, naming the files and what to do.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform: Callable[[np.ndarray, np.ndarray], tuple[torch.Tensor, torch.Tensor]]
        | None = None,
        cities: Sequence[str] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.root, self.split = Path(root), split
        self.image_paths, self.label_paths = find_pairs(self.root, split, cities)
        _check_sizes(self.image_paths, self.label_paths)
        self.cached: list = [None] * len(self.image_paths)  # CacheEntry where fresh
        if cache_dir is not None:
            from segmnv3.data.cache import fresh_entries

            paths = (self.image_paths, self.label_paths)
            self.cached = fresh_entries(self.root, split, Path(cache_dir), *paths)
        if transform is None:
            from segmnv3.data.config import DataConfig
            from segmnv3.data.transforms import build_eval_transform

            transform = build_eval_transform(DataConfig())
        self.transform = transform

    def __len__(self) -> int:
        return len(self.image_paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(*self.read(index))

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(image RGB uint8 (H, W, 3), train-id mask uint8 (H, W)): cached arrays or PNGs."""
        entry = self.cached[index]
        if entry is not None:
            return entry.load()  # memory maps: the transform reads only what it needs
        return read_image(self.image_paths[index]), read_mask(self.label_paths[index])

    def __repr__(self) -> str:
        return (
            f"CityscapesDataset(root={str(self.root)!r}, split={self.split!r}, images={len(self)})"
        )


def build_dataset(cfg, split: str, *, train: bool) -> CityscapesDataset:
    """The dataset of ``split`` described by a ``DataConfig``, with the matching transform."""
    from segmnv3.data.transforms import build_eval_transform, build_train_transform

    transform = build_train_transform(cfg) if train else build_eval_transform(cfg)
    if train and cfg.normalize_on_device:
        from segmnv3.data.device_normalize import build_uint8_train_transform

        transform = build_uint8_train_transform(cfg)
    cache_dir = None
    if cfg.cache:
        from segmnv3.data.cache import cache_dir_for

        cache_dir = cache_dir_for(cfg.root, cfg.cache_dir)
    return CityscapesDataset(
        cfg.root, split, transform=transform, cities=cfg.cities, cache_dir=cache_dir
    )
