"""The dataset: a layout's pairs + a reader + a transform, for any layout and label set.

``SegmentationDataset`` yields ``(image (3, H, W) float32, mask (H, W) int64)`` items; the
reader decodes a pair to ``(RGB uint8 (H, W, 3), train ids uint8 (H, W))`` from its files
(:class:`FileReader`) or from the frame cache (``segmnv3.data.cache.CacheReader``).
``segmnv3.data.build.build_dataset`` assembles one from a ``DataConfig``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from segmnv3.core.label_set import LabelSet
from segmnv3.data.decode import read_image, read_mask_file
from segmnv3.data.labels import decode_mask
from segmnv3.data.layout import Pair

Transform = Callable[[np.ndarray, np.ndarray], tuple[torch.Tensor, torch.Tensor]]


def read_pair_mask(pair: Pair) -> np.ndarray:
    """The train-id mask (H, W) uint8 of a pair, decoded with the pair's label set."""
    stored = read_mask_file(pair.mask, pair.labels.mask_format)
    return decode_mask(stored, pair.labels, source=pair.mask)


class Reader(Protocol):
    """Decodes the ``index``-th pair: ``(RGB uint8 (H, W, 3), train ids uint8 (H, W))``."""

    def __call__(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...


class FileReader:
    """Decodes the image and mask files of each pair (PNG / JPEG)."""

    def __init__(self, pairs: Sequence[Pair]) -> None:
        self.pairs = pairs

    def __call__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        pair = self.pairs[index]
        return read_image(pair.image), read_pair_mask(pair)


class SegmentationDataset(Dataset):
    """Samples of one split.

    Args:
        pairs: from a layout (``Layout.pairs``), checked already.
        labels: the label set the masks decode to (what a model trained on it predicts).
        transform: ``(image RGB uint8, mask uint8) -> (image tensor, mask tensor)``.
        reader: how pairs are decoded (default: from their files).
        name: shown in ``repr`` (root and split).
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        labels: LabelSet,
        transform: Transform,
        reader: Reader | None = None,
        name: str = "",
    ) -> None:
        self.pairs, self.labels, self.transform = list(pairs), labels, transform
        self.read = reader or FileReader(self.pairs)
        self.name = name

    @property
    def image_paths(self) -> list[Path]:
        return [pair.image for pair in self.pairs]

    @property
    def label_paths(self) -> list[Path]:
        return [pair.mask for pair in self.pairs]

    @property
    def cached(self) -> list:
        """Per pair: its frame-cache entry when the reader serves it from the cache, else None."""
        return list(getattr(self.read, "entries", [None] * len(self.pairs)))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(*self.read(index))

    def __repr__(self) -> str:
        return (
            f"SegmentationDataset({self.name}, images={len(self)}, "
            f"labels={self.labels.name} ({self.labels.num_classes} classes))"
        )
