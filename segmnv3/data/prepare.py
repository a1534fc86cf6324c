"""Check a Cityscapes download and optionally pre-convert labels to train ids.

``verify`` confirms the official image counts (2975 train / 500 val / 1525 test), that every
image has its label and vice versa, and that pairs agree in size (read from the PNG
headers, so checking 5000 pairs takes seconds). ``write_train_ids`` writes
``*_gtFine_labelTrainIds.png`` beside each ``*_gtFine_labelIds.png`` in parallel, as
cityscapesscripts' ``createTrainIdLabelImgs`` does; the dataset then skips the lookup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from segmnv3.core.errors import DatasetError
from segmnv3.data.cityscapes import LABEL_SUFFIX, TRAIN_ID_SUFFIX, _check_sizes, find_pairs
from segmnv3.data.parallel import parallel_map

EXPECTED_COUNTS = {"train": 2975, "val": 500, "test": 1525}


def verify(
    root: str | Path, splits: Sequence[str] = ("train", "val", "test"), *, check_counts: bool = True
) -> dict[str, int]:
    """Image count per split after checking pairs, sizes and (optionally) official counts.

    Raises:
        DatasetError: a split is missing, incomplete, unpaired, mis-sized or not the
            official size (with ``check_counts``), naming the files and what to do.
    """
    counts = {}
    for split in splits:
        images, labels = find_pairs(root, split)
        _check_sizes(images, labels)
        counts[split] = len(images)
    wrong = {
        s: n
        for s, n in counts.items()
        if check_counts and s in EXPECTED_COUNTS and n != EXPECTED_COUNTS[s]
    }
    if wrong:
        detail = ", ".join(f"{s}: {n} (expected {EXPECTED_COUNTS[s]})" for s, n in wrong.items())
        raise DatasetError(
            f"{root} does not hold the full Cityscapes fine set: {detail}; re-download "
            "leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip (or pass --any-count "
            "for a subset or a synthetic set)"
        )
    return counts


def _convert(path: Path) -> None:
    import cv2

    from segmnv3.data.cityscapes import read_mask

    cv2.setNumThreads(1)
    target = path.with_name(path.name[: -len(LABEL_SUFFIX)] + TRAIN_ID_SUFFIX)
    if not cv2.imwrite(str(target), read_mask(path), [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise DatasetError(f"could not write {target}; check that the folder is writable")


def write_train_ids(
    root: str | Path,
    splits: Sequence[str] = ("train", "val"),
    *,
    workers: int | None = None,
    progress: bool = True,
) -> int:
    """Write ``*_gtFine_labelTrainIds.png`` for every labelIds PNG of ``splits``; returns the count."""
    paths = sorted(
        p for split in splits for p in (Path(root) / "gtFine" / split).glob(f"*/*{LABEL_SUFFIX}")
    )
    if not paths:
        raise DatasetError(
            f"no *{LABEL_SUFFIX} files under {Path(root) / 'gtFine'} for splits {list(splits)}"
        )
    workers = workers or os.cpu_count() or 1
    parallel_map(
        _convert, paths, workers=workers, desc="labelTrainIds", progress=progress, chunksize=16
    )
    return len(paths)
