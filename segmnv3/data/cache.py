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
    <cache_dir>/<split>/<city>/<stem>_leftImg8bit.npy   (H, W, 3) uint8 RGB
    <cache_dir>/<split>/<city>/<stem>_trainIds.npy      (H, W) uint8 train ids

The manifest records each source PNG's path, size and modification time (ns). An entry
is used only while both sources still match it and both arrays exist; any other frame is
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

from segmnv3.core.errors import DatasetError
from segmnv3.core.files import atomic_write, write_text_atomic
from segmnv3.data.cache_progress import ProgressManifest
from segmnv3.data.cityscapes import IMAGE_SUFFIX, find_pairs, read_image, read_mask
from segmnv3.data.parallel import parallel_map

CACHE_DIRNAME = ".segmnv3_cache"
MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
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


def entry_for(cache_dir: Path, split: str, image_path: Path) -> CacheEntry:
    """Where the arrays of ``image_path`` (a ``*_leftImg8bit.png``) live in the cache."""
    stem = image_path.name[: -len(IMAGE_SUFFIX)]
    folder = cache_dir / split / image_path.parent.name
    return CacheEntry(folder / f"{stem}{_IMAGE_ENDING}", folder / f"{stem}{_MASK_ENDING}")


def source_stamp(path: Path, root: Path) -> dict:
    """Path relative to ``root``, size and mtime (ns) of a source file."""
    status = path.stat()
    return {
        "path": path.relative_to(root).as_posix(),
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
    }


def _key(image_path: Path) -> str:
    return f"{image_path.parent.name}/{image_path.name[: -len(IMAGE_SUFFIX)]}"


def read_manifest(cache_dir: Path, split: str) -> dict[str, dict]:
    """Entries of a split's manifest; {} (with a warning when unreadable) if there is none."""
    path = cache_dir / split / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {manifest.get('version')!r}")
        return dict(manifest["entries"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        warnings.warn(
            f"ignoring the frame cache manifest {path} ({error}); "
            "run `segmnv3 prepare --cache` to rebuild it",
            stacklevel=2,
        )
        return {}


def _write_manifest(cache_dir: Path, split: str, entries: dict[str, dict]) -> Path:
    text = json.dumps({"version": FORMAT_VERSION, "entries": entries}, indent=1, sort_keys=True)
    return write_text_atomic(cache_dir / split / MANIFEST_NAME, text + "\n")


def _is_fresh(recorded: dict | None, stamps: dict, entry: CacheEntry) -> bool:
    if recorded is None or recorded.get("image") != stamps["image"]:
        return False
    return (
        recorded.get("label") == stamps["label"] and entry.image.is_file() and entry.mask.is_file()
    )


def _stamps(root: Path, image: Path, label: Path) -> dict:
    return {"image": source_stamp(image, root), "label": source_stamp(label, root)}


def fresh_entries(
    root: str | Path,
    split: str,
    cache_dir: Path,
    image_paths: Sequence[Path],
    label_paths: Sequence[Path],
) -> list[CacheEntry | None]:
    """For each (image, label) pair: its cache entry when fresh, else None (read the PNGs).

    Warns once, naming the cache and the command that rebuilds it, when some frames are
    missing from the cache or their sources changed since it was built.
    """
    root, recorded = Path(root), read_manifest(cache_dir, split)
    found: list[CacheEntry | None] = []
    for image, label in zip(image_paths, label_paths, strict=True):
        entry = entry_for(cache_dir, split, image)
        fresh = _is_fresh(recorded.get(_key(image)), _stamps(root, image, label), entry)
        found.append(entry if fresh else None)
    missing = sum(entry is None for entry in found)
    if missing:
        warnings.warn(
            f"{missing} of {len(found)} frames of split '{split}' are not in the frame cache "
            f"{cache_dir / split} or their PNGs changed since it was built; reading those from "
            f"PNG (slower). Rebuild it: segmnv3 prepare --root {root} --cache"
            + (f" --cache-dir {cache_dir}" if cache_dir != cache_dir_for(root) else ""),
            stacklevel=2,
        )
    return found


def _save_array(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda file: np.save(file, array, allow_pickle=False))


def write_entry(job: tuple[Path, Path, CacheEntry]) -> str:
    """Decode one pair from PNG and write its two arrays (runs in a worker process); its key."""
    import cv2

    cv2.setNumThreads(1)
    image_path, label_path, entry = job
    _save_array(entry.image, read_image(image_path))
    _save_array(entry.mask, read_mask(label_path))
    return _key(image_path)


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
) -> CacheReport:
    """Decode every pair of ``split`` whose cache entry is missing or stale; write the manifest.

    Source stamps are taken before decoding, so a PNG that changes during the build is
    seen as stale next time. The manifest is rewritten atomically as frames finish (at
    most every ``MANIFEST_EVERY`` seconds), at the end and when interrupted, listing only
    entries whose arrays are written: an interrupted build keeps its progress. Temporaries
    of killed builds (``core.files``) are removed from the split's folders.

    Raises:
        DatasetError: the split cannot be read (see ``find_pairs``) or the disk is too full.
    """
    root = Path(root)
    cache_dir = cache_dir_for(root, cache_dir)
    images, labels = find_pairs(root, split)
    recorded = read_manifest(cache_dir, split)
    entries, jobs, needed = {}, [], 0
    for image, label in zip(images, labels, strict=True):
        entry, stamps = entry_for(cache_dir, split, image), _stamps(root, image, label)
        entries[_key(image)] = stamps
        if not _is_fresh(recorded.get(_key(image)), stamps, entry):
            jobs.append((image, label, entry))
            needed += _raw_bytes(image)
    _check_free_space(cache_dir, needed)
    pending = {_key(job[0]) for job in jobs}
    manifest = ProgressManifest(
        cache_dir / split, entries, pending, lambda ready: _write_manifest(cache_dir, split, ready)
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
        p.stat().st_size
        for image in images
        for p in (entry_for(cache_dir, split, image).image, entry_for(cache_dir, split, image).mask)
    )
    return CacheReport(split=split, written=len(jobs), kept=len(images) - len(jobs), bytes=size)


def _raw_bytes(image_path: Path) -> int:
    """Bytes of the two arrays of a frame (4 per pixel: RGB + train id), from the PNG header."""
    from segmnv3.data.cityscapes import png_size

    height, width = png_size(image_path)
    return height * width * 4


def raw_pair_bytes(height: int = 1024, width: int = 2048) -> int:
    """Disk bytes of one cached pair: RGB + train-id arrays plus two 128-byte .npy headers."""
    return height * width * 4 + 2 * 128
