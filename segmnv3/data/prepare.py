"""Check a Cityscapes download and optionally pre-convert labels to train ids.

``verify`` confirms the official image counts (2975 train / 500 val / 1525 test), that every
image has its label and vice versa, and that pairs agree in size (read from the PNG
headers, so this takes seconds); ``verify_decoding`` then decodes every file on all cores
(a truncated PNG has a valid header) and reports label values that are not Cityscapes
ids. ``write_train_ids`` writes
``*_gtFine_labelTrainIds.png`` beside each ``*_gtFine_labelIds.png`` in parallel, as
cityscapesscripts' ``createTrainIdLabelImgs`` does; the dataset then skips the lookup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segmnv3.core.errors import DatasetError
from segmnv3.core.image_header import check_image_file
from segmnv3.data.cityscapes import (
    LABEL_SUFFIX,
    TRAIN_ID_SUFFIX,
    _check_sizes,
    find_pairs,
    read_label_file,
)
from segmnv3.data.labels import describe_unknown_ids, label_ids_to_train_ids, unknown_ids
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


@dataclass
class DecodeReport:
    """What ``verify_decoding`` found.

    Attributes:
        files: files decoded.
        bad: files that do not decode (truncated or corrupt), sorted.
        unknown_ids: one line per label file holding values that are not Cityscapes ids.
    """

    files: int = 0
    bad: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)


def verify_decoding(
    root: str | Path,
    splits: Sequence[str] = ("train", "val", "test"),
    *,
    workers: int | None = None,
    progress: bool = True,
) -> DecodeReport:
    """Decode every image and label of ``splits`` (in parallel, with a progress bar).

    Raises:
        DatasetError: files that do not decode, listed (after checking them all).
    """
    files = []
    for split in splits:
        images, labels = find_pairs(root, split)
        files += [(str(p), False) for p in images] + [(str(p), True) for p in labels]
    results = parallel_map(
        _decode, files, workers=workers or os.cpu_count() or 1, desc="decode", progress=progress
    )
    report = DecodeReport(files=len(files))
    for path, ok, unknown in sorted(results):
        if not ok:
            report.bad.append(path)
        elif unknown:
            train_ids = path.endswith(TRAIN_ID_SUFFIX)
            report.unknown_ids.append(describe_unknown_ids(path, unknown, train_ids=train_ids))
    if report.bad:
        shown = ", ".join(report.bad[:10]) + (" ..." if len(report.bad) > 10 else "")
        raise DatasetError(
            f"{len(report.bad)} of {len(files)} files under {root} do not decode (truncated or "
            f"corrupt): {shown}; re-extract them from the archives"
        )
    return report


def _decode(item: tuple[str, bool]) -> tuple[str, bool, dict[int, int]]:
    """(path, decodes?, unknown label values) of one file; never raises for bad files."""
    import cv2

    cv2.setNumThreads(1)
    path, is_label = item
    if not is_label:
        check_image_file(path, "image", error=DatasetError)  # no FIFO, no pixel bomb
        return path, cv2.imread(path, cv2.IMREAD_COLOR) is not None, {}
    try:
        mask = read_label_file(Path(path))
    except DatasetError:
        return path, False, {}
    return path, True, unknown_ids(mask, train_ids=path.endswith(TRAIN_ID_SUFFIX))


def _convert(path: Path) -> str | None:
    """Write the labelTrainIds PNG of one labelIds PNG; a line about foreign ids, if any."""
    import cv2

    cv2.setNumThreads(1)
    target = path.with_name(path.name[: -len(LABEL_SUFFIX)] + TRAIN_ID_SUFFIX)
    mask = read_label_file(path)
    unknown = unknown_ids(mask)
    train_ids = label_ids_to_train_ids(mask)
    if not cv2.imwrite(str(target), train_ids, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise DatasetError(f"could not write {target}; check that the folder is writable")
    return describe_unknown_ids(path, unknown, train_ids=False) if unknown else None


def write_train_ids(
    root: str | Path,
    splits: Sequence[str] = ("train", "val"),
    *,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[int, list[str]]:
    """Write ``*_gtFine_labelTrainIds.png`` for every labelIds PNG of ``splits``.

    Returns:
        The number of files written, and one line per file whose foreign label ids
        (not Cityscapes ids) became ignore.
    """
    paths = sorted(
        p for split in splits for p in (Path(root) / "gtFine" / split).glob(f"*/*{LABEL_SUFFIX}")
    )
    if not paths:
        raise DatasetError(
            f"no *{LABEL_SUFFIX} files under {Path(root) / 'gtFine'} for splits {list(splits)}"
        )
    workers = workers or os.cpu_count() or 1
    notes = parallel_map(
        _convert, paths, workers=workers, desc="labelTrainIds", progress=progress, chunksize=16
    )
    return len(paths), sorted(note for note in notes if note)
