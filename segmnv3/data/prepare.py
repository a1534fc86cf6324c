"""Check a dataset (Cityscapes or folder) and optionally pre-convert Cityscapes labels.

``verify`` confirms that every image has its mask and vice versa and that pairs agree in
size (read from the headers, so this takes seconds), and for Cityscapes the official image
counts (2975 train / 500 val / 1525 test); ``verify_decoding`` then decodes every file on
all cores (a truncated PNG has a valid header), maps every mask through the label set and
reports the files that do not decode, the masks holding values outside the label set, and
each class's share of the labelled pixels. ``write_train_ids`` writes
``*_gtFine_labelTrainIds.png`` beside each ``*_gtFine_labelIds.png`` in parallel, as
cityscapesscripts' ``createTrainIdLabelImgs`` does; the dataset then skips the lookup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_set import LabelSet
from segmnv3.data.decode import UndecodableError, read_image, read_mask_file
from segmnv3.data.labels import label_ids_to_train_ids
from segmnv3.data.layout import Layout, Pair, check_sizes
from segmnv3.data.layout_cityscapes import LABEL_SUFFIX, TRAIN_ID_SUFFIX
from segmnv3.data.layouts import open_layout
from segmnv3.data.parallel import parallel_map

EXPECTED_COUNTS = {"train": 2975, "val": 500, "test": 1525}


def default_splits(layout: Layout) -> list[str]:
    """Cityscapes: train, val, test; a folder dataset: every split it holds."""
    return ["train", "val", "test"] if layout.kind == "cityscapes" else layout.splits()


def verify(
    root: str | Path, splits: Sequence[str] | None = None, *, check_counts: bool = True
) -> dict[str, int]:
    """Image count per split after checking pairs, sizes and (optionally) official counts.

    Args:
        root: a Cityscapes root or a folder dataset (detected).
        splits: None = ``default_splits``.
        check_counts: Cityscapes only: the official counts.

    Raises:
        DatasetError: a split is missing, empty, unpaired, mis-sized or (Cityscapes, with
            ``check_counts``) not the official size, naming the files and what to do.
    """
    layout = open_layout(root)
    counts = {}
    for split in splits or default_splits(layout):
        pairs = layout.pairs(split)
        check_sizes(pairs)
        counts[split] = len(pairs)
    wrong = {
        s: n
        for s, n in counts.items()
        if check_counts and layout.kind == "cityscapes" and n != EXPECTED_COUNTS.get(s, n)
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
        unknown_ids: one line per mask holding values outside the label set (ignored
            with ``on_unknown: warn``; errors otherwise, listed in ``bad_masks``).
        bad_masks: one line per file that cannot be used (mask values outside the set with
            ``on_unknown: error``, wrong kind of PNG).
        labels: the label set the masks were decoded with.
        class_pixels: labelled pixels per train id, over all decoded masks.
    """

    files: int = 0
    bad: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    bad_masks: list[str] = field(default_factory=list)
    labels: LabelSet | None = None
    class_pixels: np.ndarray | None = None

    def class_shares(self) -> list[tuple[str, float]]:
        """(class name, share of the labelled pixels) in train-id order."""
        total = max(int(self.class_pixels.sum()), 1)
        names = self.labels.names
        return [(n, float(c) / total) for n, c in zip(names, self.class_pixels, strict=True)]


def verify_decoding(
    root: str | Path,
    splits: Sequence[str] | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> DecodeReport:
    """Decode every image and mask of ``splits`` (in parallel, with a progress bar).

    Raises:
        DatasetError: files that do not decode or masks that cannot be used, all listed
            (after checking every file).
    """
    layout = open_layout(root)
    pairs = [pair for split in splits or default_splits(layout) for pair in layout.pairs(split)]
    results = parallel_map(
        _decode, pairs, workers=workers or os.cpu_count() or 1, desc="decode", progress=progress
    )
    labels = layout.label_set
    report = DecodeReport(files=2 * len(pairs), labels=labels)
    report.class_pixels = np.zeros(labels.num_classes, dtype=np.int64)
    for bad, unknown_line, mask_error, counts in sorted(results, key=lambda r: str(r[:3])):
        report.bad += bad
        if mask_error:
            report.bad_masks.append(mask_error)
        elif unknown_line:
            report.unknown_ids.append(unknown_line)
        if counts is not None:
            report.class_pixels += counts[: labels.num_classes]
    _raise_for_bad(report, root)
    return report


def _raise_for_bad(report: DecodeReport, root: str | Path) -> None:
    problems = []
    if report.bad:
        shown = ", ".join(report.bad[:10]) + (" ..." if len(report.bad) > 10 else "")
        problems.append(
            f"{len(report.bad)} of {report.files} files under {root} do not decode (truncated or "
            f"corrupt): {shown}; re-extract or replace them"
        )
    if report.bad_masks:
        shown = "; ".join(report.bad_masks[:5]) + (" ..." if len(report.bad_masks) > 5 else "")
        problems.append(f"{len(report.bad_masks)} file(s) cannot be used: {shown}")
    if problems:
        raise DatasetError(" | ".join(problems))


def _decode(pair: Pair) -> tuple[list[str], str | None, str | None, np.ndarray | None]:
    """(files that do not decode, unknown-values line, file error, pixels per train id) of
    one pair; never raises for bad files. A file refused before decoding (a FIFO, above
    the pixel limit) or a mask of the wrong kind is a file error with its own message."""
    import cv2

    cv2.setNumThreads(1)
    bad = []
    try:
        read_image(pair.image)
    except UndecodableError:
        bad.append(str(pair.image))
    except DatasetError as error:  # refused before decoding: a FIFO, above the pixel limit
        return bad, None, str(error), None
    try:
        stored = read_mask_file(pair.mask, pair.labels.mask_format)
        train_ids, unknown = pair.labels.to_train_ids(stored, source=pair.mask)
    except UndecodableError:
        return [*bad, str(pair.mask)], None, None, None
    except DatasetError as error:
        return bad, None, str(error), None
    line = pair.labels.describe_unknown(pair.mask, unknown) if unknown else None
    if line and pair.labels.on_unknown == "error":
        return bad, None, line, None
    counts = np.bincount(train_ids[train_ids != IGNORE_INDEX], minlength=256)
    return bad, line, None, counts


def _convert(path: Path) -> str | None:
    """Write the labelTrainIds PNG of one labelIds PNG; a line about foreign ids, if any."""
    import cv2

    from segmnv3.core.cityscapes_labels import CITYSCAPES_LABELIDS

    cv2.setNumThreads(1)
    target = path.with_name(path.name[: -len(LABEL_SUFFIX)] + TRAIN_ID_SUFFIX)
    mask = read_mask_file(path)
    _, unknown = CITYSCAPES_LABELIDS.to_train_ids(mask, source=path)
    if not cv2.imwrite(str(target), label_ids_to_train_ids(mask), [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise DatasetError(f"could not write {target}; check that the folder is writable")
    return CITYSCAPES_LABELIDS.describe_unknown(path, unknown) if unknown else None


def write_train_ids(
    root: str | Path,
    splits: Sequence[str] = ("train", "val"),
    *,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[int, list[str]]:
    """Write ``*_gtFine_labelTrainIds.png`` for every labelIds PNG of ``splits`` (Cityscapes).

    Returns:
        The number of files written, and one line per file whose foreign label ids
        (not Cityscapes ids) became ignore.
    """
    paths = sorted(
        p for split in splits for p in (Path(root) / "gtFine" / split).glob(f"*/*{LABEL_SUFFIX}")
    )
    if not paths:
        raise DatasetError(
            f"no *{LABEL_SUFFIX} files under {Path(root) / 'gtFine'} for splits {list(splits)} "
            "(--write-train-ids is for Cityscapes layouts)"
        )
    workers = workers or os.cpu_count() or 1
    notes = parallel_map(
        _convert, paths, workers=workers, desc="labelTrainIds", progress=progress, chunksize=16
    )
    return len(paths), sorted(note for note in notes if note)
