"""Read TensorFlow V2 checkpoints ("tensor bundles") with numpy only.

A bundle is ``<prefix>.index`` plus ``<prefix>.data-<shard:05d>-of-<N:05d>`` files. The
index is a LevelDB table (``sstable.py``) whose empty key holds a ``BundleHeaderProto``
(num_shards, endianness) and whose other keys are tensor names mapping to a
``BundleEntryProto`` (dtype, shape, shard_id, offset, size, masked crc32c); each tensor's
bytes lie in its shard at ``offset``, ``size`` bytes, in the header's byte order.

Handled: unsliced tensors of float16/32/64, int32/64, one or more shards, either byte
order, crc32c verification of every tensor, a prefix / its folder / a model-zoo
``.tar.gz``. Not handled (a ``CheckpointError`` says so): string, bool, bfloat16 and the
other dtypes, partitioned variables (``slices``), snappy-compressed index blocks
(TensorFlow's bundle writer never compresses them), V1 checkpoints.
"""

from __future__ import annotations

import math
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.core.errors import CheckpointError
from segmnv3.core.safe_io import check_regular_file
from segmnv3.models.deeplab.sstable import crc32c, protobuf_fields, table_entries, unmask_crc

# tensorflow/core/framework/types.proto DataType values.
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 19: np.float16}
UNSUPPORTED_DTYPES = {4: "uint8", 5: "int16", 6: "int8", 7: "string", 8: "complex64"}
UNSUPPORTED_DTYPES |= {10: "bool", 14: "bfloat16", 17: "uint16", 18: "complex128"}
BIG_ENDIAN = 1  # BundleHeaderProto.Endianness
ENTRY_FIELDS = {1: "dtype", 3: "shard", 4: "offset", 5: "size", 6: "crc32c"}  # 2: shape, 7: slices
_SUFFIX = re.compile(r"\.(index|data-\d{5}-of-\d{5})$")
HINT = "pass the model.ckpt prefix, the folder holding it, or the model-zoo .tar.gz"


@dataclass(frozen=True)
class TensorEntry:
    """One ``BundleEntryProto``: where a tensor lives and what it holds."""

    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int | None  # masked, as stored; None when absent
    sliced: bool


@dataclass(frozen=True)
class _Source:
    """The bytes of one bundle, wherever they come from (files or tarball members)."""

    label: str  # "<path>" or "<tarball>:<member>" of the prefix, for messages
    index: bytes
    read: Callable[[str, int], bytes]  # (file suffix ".data-...", at most n bytes) -> bytes


MAX_INDEX_BYTES = 64 * 2**20
"""An index this large is no checkpoint's (MobileNet ones are a few KB): refused unread."""
MAX_DATA_BYTES = 4 * 2**30
"""Tensor bytes a checkpoint may ask for (the largest DeepLab ones hold a few hundred MB)."""


def read_tf_checkpoint(path: str | Path, *, verify_crc: bool = True) -> dict[str, np.ndarray]:
    """Read every tensor of a TensorFlow V2 checkpoint into numpy arrays.

    Args:
        path: the checkpoint prefix (``.../model.ckpt``; ``.index`` or ``.data-*`` names are
            accepted too), the folder holding exactly one ``*.index``, or a ``.tar.gz``
            model-zoo archive holding one (frozen graphs and other members are skipped).
        verify_crc: check each tensor's crc32c against the index (about 10 ms per MB).

    Returns:
        ``{variable name: array}`` in the checkpoint's order, arrays in native byte order.

    Raises:
        CheckpointError: missing file, truncated or corrupt index or data, not a
            checkpoint, or a dtype / layout this reader does not handle; the message names
            the file and what to do.
    """
    source = _open(Path(path))
    num_shards, big_endian, entries = _read_index(source)
    needed = _bytes_needed(entries, num_shards, f"{source.label}.index")
    shards: dict[str, bytes] = {}
    tensors = {}
    for name, entry in entries.items():
        suffix = f".data-{entry.shard:05d}-of-{num_shards:05d}"
        if suffix not in shards:  # only the bytes the index points at: no member read whole
            shards[suffix] = source.read(suffix, needed[suffix])
        label = f"{source.label}{suffix}"
        tensors[name] = _tensor(name, entry, shards[suffix], label, big_endian, verify_crc)
    return tensors


def _bytes_needed(entries: dict[str, TensorEntry], num_shards: int, label: str) -> dict:
    """{data suffix: end of its last tensor}; CheckpointError above ``MAX_DATA_BYTES``."""
    needed: dict[str, int] = {}
    for entry in entries.values():
        suffix = f".data-{entry.shard:05d}-of-{num_shards:05d}"
        needed[suffix] = max(needed.get(suffix, 0), entry.offset + entry.size)
    total = sum(needed.values())
    if total > MAX_DATA_BYTES:
        raise CheckpointError(
            f"{label} asks for {total / 2**30:.1f} GiB of tensors, more than any MobileNet "
            f"checkpoint ({MAX_DATA_BYTES / 2**30:.0f} GiB at most); is it a corrupt index?"
        )
    return needed


def parse_entry(raw: bytes) -> TensorEntry:
    """Decode a serialized ``BundleEntryProto`` (proto3: absent fields are zero)."""
    fields = {"dtype": 0, "shape": (), "shard": 0, "offset": 0, "size": 0, "crc32c": None}
    sliced = False
    for number, value in protobuf_fields(raw):
        if number == 2:
            fields["shape"] = _parse_shape(value)
        elif number == 7:
            sliced = True
        elif number in ENTRY_FIELDS:
            fields[ENTRY_FIELDS[number]] = value
    return TensorEntry(**fields, sliced=sliced)


def _parse_shape(raw: bytes) -> tuple[int, ...]:
    """``TensorShapeProto``: repeated ``dim`` (field 2), each with ``size`` (field 1)."""
    dims = []
    for number, dim in protobuf_fields(raw):
        if number == 2:
            sizes = [value for field, value in protobuf_fields(dim) if field == 1]
            dims.append(sizes[-1] if sizes else 0)
    return tuple(dims)


def _parse_header(raw: bytes) -> tuple[int, bool]:
    """``BundleHeaderProto`` -> (num_shards, big_endian)."""
    values = dict(protobuf_fields(raw))
    return int(values.get(1, 0)), values.get(2, 0) == BIG_ENDIAN


def _tensor(
    name: str, entry: TensorEntry, shard: bytes, label: str, big_endian: bool, verify: bool
) -> np.ndarray:
    if entry.sliced:
        raise CheckpointError(f"{name} in {label} is a partitioned variable; not supported")
    if entry.dtype not in DTYPES:
        kind = UNSUPPORTED_DTYPES.get(entry.dtype, f"DataType {entry.dtype}")
        raise CheckpointError(
            f"{name} in {label} has dtype {kind}; this reader handles float16/32/64 and "
            "int32/64 only"
        )
    dtype = np.dtype(DTYPES[entry.dtype]).newbyteorder(">" if big_endian else "<")
    if entry.size != math.prod(entry.shape) * dtype.itemsize:
        raise CheckpointError(
            f"{name} in {label}: the index says {entry.size} bytes but shape {entry.shape} "
            f"of {dtype.name} needs {math.prod(entry.shape) * dtype.itemsize}; corrupt index"
        )
    end = entry.offset + entry.size
    if end > len(shard):
        raise CheckpointError(
            f"{label} is truncated: {name} needs bytes {entry.offset}..{end} but the file "
            f"has {len(shard)}; download the checkpoint again"
        )
    raw = shard[entry.offset : end]
    if verify and entry.crc32c is not None and crc32c(raw) != unmask_crc(entry.crc32c):
        raise CheckpointError(
            f"{name} in {label} fails its crc32c check; the file is corrupt, download it again"
        )
    return np.frombuffer(raw, dtype).reshape(entry.shape).astype(dtype.newbyteorder("="))


def _read_index(source: _Source) -> tuple[int, bool, dict[str, TensorEntry]]:
    """(num_shards, big_endian, {name: entry}) from the index table."""
    label = f"{source.label}.index"
    try:
        table = {key.decode("utf-8"): value for key, value in table_entries(source.index, label)}
        if "" not in table:
            raise CheckpointError(f"{label} has no bundle header; it is not a V2 checkpoint")
        num_shards, big_endian = _parse_header(table.pop(""))
        return num_shards, big_endian, {name: parse_entry(raw) for name, raw in table.items()}
    except (IndexError, ValueError) as error:
        raise CheckpointError(
            f"{label} is truncated or corrupt ({error}); download the checkpoint again"
        ) from None


def _open(path: Path) -> _Source:
    """Resolve a prefix, folder or tarball to the bundle's bytes."""
    if path.is_dir():
        return _open_prefix(_prefix_in_folder(path))
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        if not path.is_file():
            raise CheckpointError(f"checkpoint archive {path} does not exist; {HINT}")
        return _open_tarball(path)
    return _open_prefix(path.with_name(_SUFFIX.sub("", path.name)))


def _prefix_in_folder(folder: Path) -> Path:
    indexes = sorted(folder.glob("*.index"))
    if len(indexes) != 1:
        found = [index.name for index in indexes] or "none"
        raise CheckpointError(
            f"{folder} must hold exactly one checkpoint (*.index), found {found}; "
            "pass the prefix (e.g. model.ckpt) instead"
        )
    return indexes[0].with_suffix("")


def _open_prefix(prefix: Path) -> _Source:
    def read(suffix: str, limit: int) -> bytes:
        file = prefix.with_name(prefix.name + suffix)
        if not file.exists():
            what = HINT if suffix == ".index" else "keep the .index and .data-* files together"
            raise CheckpointError(f"checkpoint file {file} does not exist; {what}")
        check_regular_file(file, "checkpoint file", error=CheckpointError)
        with open(file, "rb") as handle:
            return handle.read(limit)

    index = read(".index", MAX_INDEX_BYTES + 1)
    _check_index_size(len(index), f"{prefix}.index")
    return _Source(str(prefix), index, read)


def _check_index_size(size: int, label: str) -> None:
    if size > MAX_INDEX_BYTES:
        raise CheckpointError(
            f"{label} is larger than {MAX_INDEX_BYTES // 2**20} MB: not the index of a "
            f"MobileNet checkpoint (those are a few KB); {HINT}"
        )


def _open_tarball(path: Path) -> _Source:
    """Read the bundle's members from the archive: nothing is extracted to disk, so member
    names (absolute, ``..``, links) cannot write anywhere; sizes are checked before any
    member is read, and a data member only up to the last byte the index points at."""
    check_regular_file(path, "checkpoint archive", error=CheckpointError)
    try:
        with tarfile.open(path, "r:*") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            indexes = sorted(name for name in members if name.endswith(".index"))
            if len(indexes) != 1:
                raise CheckpointError(
                    f"{path} must hold exactly one checkpoint (*.index), found "
                    f"{indexes or 'none'}; is it a TensorFlow model-zoo archive?"
                )
            prefix = indexes[0][: -len(".index")]
            _check_index_size(members[indexes[0]].size, f"{path}:{indexes[0]}")
            index = archive.extractfile(members[indexes[0]]).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable tar archive ({error})") from None

    def read(suffix: str, limit: int) -> bytes:
        name = prefix + suffix
        if name not in members:
            raise CheckpointError(f"{path} has no member {name}; the archive is incomplete")
        try:
            with tarfile.open(path, "r:*") as archive:
                return archive.extractfile(members[name]).read(limit)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise CheckpointError(f"{path} is not a readable tar archive ({error})") from None

    return _Source(f"{path}:{prefix}", index, read)
