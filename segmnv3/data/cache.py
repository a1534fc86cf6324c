"""Decode-once frame cache: raw uint8 ``.npy`` arrays read through a memory map.

Decoding a 2048x1024 PNG costs ~40 ms, most of a loader worker's time per sample. The
cache stores each decoded frame once, as the arrays the dataset would produce: the RGB
image ``(H, W, 3)`` and the train-id mask ``(H, W)`` (label ids already mapped), both
uint8 ``.npy`` files. Reading one is a memory map (``np.load(mmap_mode="c")``): the
training warp touches only the source rows and columns its crop needs, the page cache
serves them, and the arrays are bit-identical to the decoded PNGs, so crops are too.
Raw arrays won the measurement against PNG level 0/1, QOI and lz4 (README, "Data cache").

Layout (``cache_dir`` defaults to ``<root>/.segmnv3_cache``)::

    <cache_dir>/<split>/manifest.json
    <cache_dir>/<split>/<key>_leftImg8bit.npy   (H, W, 3) uint8 RGB   (key: ``city/stem``,
    <cache_dir>/<split>/<key>_trainIds.npy      (H, W) uint8 train ids   or ``sub/dir/name``)

The manifest records each source file's path, size and modification time (ns), and the
fingerprint of the label set that decoded the masks. An entry is used only while both
sources still match it, the label set is the same and both arrays exist; any other frame is
read from its PNGs, so the cache is never required. Every file is written atomically
(``segmnv3.core.files``): an interrupted build leaves whole arrays and the previous manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.errors import DatasetError
from segmnv3.core.files import atomic_write, write_text_atomic
from segmnv3.data.cache_progress import ProgressManifest
from segmnv3.data.dataset import FileReader, read_pair_mask
from segmnv3.data.decode import image_size, read_image
from segmnv3.data.layout import Pair
from segmnv3.data.layouts import open_layout
from segmnv3.data.parallel import parallel_map

CACHE_DIRNAME = ".segmnv3_cache"
MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
_CITYSCAPES_PRINT = CITYSCAPES.fingerprint()  # manifests written before label sets were data
_IMAGE_ENDING = "_leftImg8bit.npy"
_MASK_ENDING = "_trainIds.npy"


@dataclass(frozen=True)
class CacheEntry:
    """The two cached arrays of one frame."""

    image: Path
    mask: Path

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(image (H, W, 3), mask (H, W)) uint8 memory maps; pages are read when touched.

        Copy-on-write maps (``mmap_mode="c"``): writable arrays for the transforms, and the
        files are never modified.
        """
        return np.load(self.image, mmap_mode="c"), np.load(self.mask, mmap_mode="c")


@dataclass(frozen=True)
class CacheReport:
    """What :func:`build_cache` did for one split."""

    split: str
    written: int
    kept: int
    bytes: int  # size of the split's arrays on disk


def cache_dir_for(root: str | Path, cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, or ``<root>/.segmnv3_cache`` when None."""
    return Path(cache_dir) if cache_dir is not None else Path(root) / CACHE_DIRNAME


def entry_for(cache_dir: Path, split: str, pair: Pair) -> CacheEntry:
    """Where the arrays of ``pair`` live in the cache (named by the pair's key)."""
    base = cache_dir / split / pair.key
    return CacheEntry(
        base.with_name(base.name + _IMAGE_ENDING), base.with_name(base.name + _MASK_ENDING)
    )


def source_stamp(path: Path, root: Path) -> dict:
    """Path relative to ``root``, size and mtime (ns) of a source file."""
    status = path.stat()
    return {
        "path": path.relative_to(root).as_posix(),
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
    }


def read_manifest(cache_dir: Path, split: str, labels: str | None = None) -> dict[str, dict]:
    """Entries of a split's manifest; {} (with a warning when unreadable) if there is none.

    ``labels``: the fingerprint of the label set the masks must have been decoded with;
    a manifest of another label set is stale as a whole (a manifest without one was
    written for Cityscapes, before label sets were data).
    """
    path = cache_dir / split / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {manifest.get('version')!r}")
        if labels is not None and manifest.get("labels", _CITYSCAPES_PRINT) != labels:
            return {}
        return dict(manifest["entries"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        warnings.warn(
            f"ignoring the frame cache manifest {path} ({error}); "
            "run `segmnv3 prepare --cache` to rebuild it",
            stacklevel=2,
        )
        return {}


def _write_manifest(cache_dir: Path, split: str, entries: dict[str, dict], labels: str) -> Path:
    manifest = {"version": FORMAT_VERSION, "labels": labels, "entries": entries}
    text = json.dumps(manifest, indent=1, sort_keys=True)
    return write_text_atomic(cache_dir / split / MANIFEST_NAME, text + "\n")


def _is_fresh(recorded: dict | None, stamps: dict, entry: CacheEntry) -> bool:
    if recorded is None or recorded.get("image") != stamps["image"]:
        return False
    return (
        recorded.get("label") == stamps["label"] and entry.image.is_file() and entry.mask.is_file()
    )


def _stamps(root: Path, pair: Pair) -> dict:
    return {"image": source_stamp(pair.image, root), "label": source_stamp(pair.mask, root)}


def _rebuild_hint(root: Path, cache_dir: Path) -> str:
    custom = f" --cache-dir {cache_dir}" if cache_dir != cache_dir_for(root) else ""
    return f"segmnv3 prepare --root {root} --cache{custom}"


class CacheReader:
    """A dataset reader that serves fresh frames from the cache and the rest from files.

    Warns once, naming the cache and the command that rebuilds it, when some frames are
    missing from the cache, their sources changed since it was built, or it was built
    for another label set.
    """

    def __init__(
        self, root: str | Path, split: str, cache_dir: Path, pairs: Sequence[Pair], labels: str
    ) -> None:
        root, self.pairs = Path(root), list(pairs)
        recorded = read_manifest(cache_dir, split, labels)
        self.entries: list[CacheEntry | None] = []
        for pair in self.pairs:
            entry = entry_for(cache_dir, split, pair)
            fresh = _is_fresh(recorded.get(pair.key), _stamps(root, pair), entry)
            self.entries.append(entry if fresh else None)
        self.files = FileReader(self.pairs)
        missing = sum(entry is None for entry in self.entries)
        if missing:
            warnings.warn(
                f"{missing} of {len(self.entries)} frames of split '{split}' are not in the frame "
                f"cache {cache_dir / split}, their files changed since it was built, or it holds "
                f"another label set; reading those from their files (slower). Rebuild it: "
                + _rebuild_hint(root, cache_dir),
                stacklevel=2,
            )

    def __call__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        entry = self.entries[index]
        if entry is not None:
            return entry.load()  # memory maps: the transform reads only what it needs
        return self.files(index)


def _save_array(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda file: np.save(file, array, allow_pickle=False))


def write_entry(job: tuple[Pair, CacheEntry]) -> str:
    """Decode one pair from its files and write its two arrays (runs in a worker process);
    returns the pair's key."""
    import cv2

    cv2.setNumThreads(1)
    pair, entry = job
    _save_array(entry.image, read_image(pair.image))
    _save_array(entry.mask, read_pair_mask(pair))
    return pair.key


def _check_free_space(cache_dir: Path, needed: int) -> None:
    probe = cache_dir
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise DatasetError(
            f"the frame cache needs {needed / 1e9:.1f} GB more at {cache_dir} but only "
            f"{free / 1e9:.1f} GB are free; free space or pass --cache-dir on a larger disk"
        )


def build_cache(
    root: str | Path,
    split: str,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    kind: str | None = None,
) -> CacheReport:
    """Decode every pair of ``split`` whose cache entry is missing or stale; write the manifest.

    Works for every layout (``kind``: as ``layout.open_layout``; None = detect). Source
    stamps are taken before decoding, so a file that changes during the build is seen as
    stale next time. The manifest is rewritten atomically as frames finish (at most every
    ``MANIFEST_EVERY`` seconds), at the end and when interrupted, listing only entries whose
    arrays are written: an interrupted build keeps its progress. Temporaries of killed
    builds (``core.files``) are removed from the split's folders.

    Raises:
        DatasetError: the split cannot be read (see the layouts) or the disk is too full.
    """
    root = Path(root)
    cache_dir = cache_dir_for(root, cache_dir)
    layout = open_layout(root, kind)
    pairs = layout.pairs(split)
    labels = layout.label_set.fingerprint()
    recorded = read_manifest(cache_dir, split, labels)
    entries, jobs, needed = {}, [], 0
    for pair in pairs:
        entry, stamps = entry_for(cache_dir, split, pair), _stamps(root, pair)
        entries[pair.key] = stamps
        if not _is_fresh(recorded.get(pair.key), stamps, entry):
            jobs.append((pair, entry))
            needed += _raw_bytes(pair.image)
    _check_free_space(cache_dir, needed)
    pending = {pair.key for pair, _ in jobs}
    manifest = ProgressManifest(
        cache_dir / split,
        entries,
        pending,
        lambda ready: _write_manifest(cache_dir, split, ready, labels),
    )
    try:
        parallel_map(
            write_entry,
            jobs,
            workers=workers or os.cpu_count() or 1,
            desc=f"cache {split}",
            progress=progress,
            chunksize=4,
            on_result=manifest.done,
        )
    finally:
        manifest.write()
    size = sum(
        path.stat().st_size
        for pair in pairs
        for path in (
            entry_for(cache_dir, split, pair).image,
            entry_for(cache_dir, split, pair).mask,
        )
    )
    return CacheReport(split=split, written=len(jobs), kept=len(pairs) - len(jobs), bytes=size)


def _raw_bytes(image_path: Path) -> int:
    """Bytes of the two arrays of a frame (4 per pixel: RGB + train id), from the header."""
    height, width = image_size(image_path)
    return height * width * 4


def raw_pair_bytes(height: int = 1024, width: int = 2048) -> int:
    """Disk bytes of one cached pair: RGB + train-id arrays plus two 128-byte .npy headers."""
    return height * width * 4 + 2 * 128
