"""The numpy-only TensorFlow V2 checkpoint reader, on the authors' Small graph (random
weights, saved by TensorFlow 2.21) and on bundles written here by ``write_bundle``."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from segmnv3.core.errors import CheckpointError
from segmnv3.models.deeplab.sstable import CRC_MASK_DELTA, crc32c, varint
from segmnv3.models.deeplab.tf_checkpoint import DTYPES, read_tf_checkpoint

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "deeplab_small"
DATA = "model.ckpt.data-00000-of-00001"


def variables(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """``variables.txt`` (name TAB [shape] TAB dtype; '#' lines are comments)."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if line[:1] != "#"]
    return {name: (tuple(eval(shape)), dtype.strip()) for name, shape, dtype in rows}


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _field(number: int, payload: int | bytes) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + CRC_MASK_DELTA) & 0xFFFFFFFF


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A table block with whole keys (no shared prefixes, one restart point at 0) and its
    uncompressed trailer."""
    body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in entries)
    body += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    return body + b"\x00" + _mask(crc32c(body + b"\x00")).to_bytes(4, "little")


def write_bundle(
    prefix: Path, tensors: dict[str, np.ndarray], codes: dict | None = None, order: str = "<"
) -> None:
    """A minimal TensorFlow V2 bundle writer (one shard, one data block), the reader's inverse.

    ``codes`` overrides the DataType enum of some tensors (to write unsupported dtypes);
    ``order`` is the byte order of the data ("<" or ">").
    """
    enum = {np.dtype(numpy_type): code for code, numpy_type in DTYPES.items()}
    header = _field(1, 1) + (_field(2, 1) if order == ">" else b"")  # 1 shard, endianness
    data, entries = bytearray(), [(b"", header + _field(3, _field(1, 1)))]  # version 1
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name]).astype(tensors[name].dtype.newbyteorder(order))
        shape = b"".join(_field(2, _field(1, size)) for size in raw.shape)
        code = (codes or {}).get(name) or enum[raw.dtype.newbyteorder("=")]
        crc = b"\x35" + _mask(crc32c(raw.tobytes())).to_bytes(4, "little")  # field 6, fixed32
        entry = _field(1, code) + _field(2, shape) + _field(4, len(data)) + _field(5, raw.nbytes)
        entries.append((name.encode(), entry + crc))
        data += raw.tobytes()
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))
    table = _block(entries)
    metaindex = _block([])
    index = _block([(entries[-1][0], _varint(0) + _varint(len(table) - 5))])
    handles = _varint(len(table)) + _varint(len(metaindex) - 5)
    handles += _varint(len(table) + len(metaindex)) + _varint(len(index) - 5)
    footer = handles.ljust(40, b"\x00") + (0xDB4775248B80FB57).to_bytes(8, "little")
    Path(f"{prefix}.index").write_bytes(table + metaindex + index + footer)


@pytest.fixture(scope="module")
def small() -> dict[str, np.ndarray]:
    return read_tf_checkpoint(SMALL / "model.ckpt")


def _copy_small(tmp_path: Path) -> Path:
    for name in ("model.ckpt.index", DATA):
        shutil.copy(SMALL / name, tmp_path / name)
    return tmp_path / "model.ckpt"


def test_every_variable_is_read_with_its_shape_and_dtype(small):
    expected = variables(SMALL / "variables.txt") | {"global_step": ((), "int64")}
    assert {name: (a.shape, a.dtype.name) for name, a in small.items()} == expected
    assert small["global_step"] == 0
    assert sum(a.size for name, a in small.items() if name != "global_step") == 477454


@pytest.mark.parametrize("form", ["prefix", "index", "folder", "tar.gz"])
def test_prefix_index_folder_and_tarball_read_the_same(tmp_path, small, form):
    if form == "tar.gz":
        path = tmp_path / "deeplab_mnv3_small_cityscapes_trainfine_2019_11_15.tar.gz"
        with tarfile.open(path, "w:gz") as archive:
            for name in ("model.ckpt.index", DATA, "variables.txt"):  # variables.txt: skipped
                archive.add(SMALL / name, f"deeplab_small/{name}")
    else:
        path = {"prefix": "model.ckpt", "index": "model.ckpt.index", "folder": "."}[form]
        path = SMALL / path
    tensors = read_tf_checkpoint(path)
    assert list(tensors) == list(small)
    assert all(np.array_equal(tensors[name], small[name]) for name in small)


def test_tarball_members_are_read_in_memory_not_extracted(tmp_path):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(SMALL / "model.ckpt.index", "../escaped/model.ckpt.index")
        archive.add(SMALL / DATA, f"../escaped/{DATA}")
    assert len(read_tf_checkpoint(path)) == 218
    assert not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize("name", ["model.ckpt.index", DATA])
def test_a_missing_file_is_named(tmp_path, name):
    prefix = _copy_small(tmp_path)
    (tmp_path / name).unlink()
    with pytest.raises(CheckpointError, match=f"{name} does not exist"):
        read_tf_checkpoint(prefix)


def test_truncated_data_file_is_named(tmp_path):
    prefix = _copy_small(tmp_path)
    data = tmp_path / DATA
    data.write_bytes(data.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match=f"{DATA} is truncated.*download"):
        read_tf_checkpoint(prefix)


@pytest.mark.parametrize("keep", [8000, 20])
def test_truncated_index_is_named(tmp_path, keep):
    prefix = _copy_small(tmp_path)
    index = tmp_path / "model.ckpt.index"
    index.write_bytes(index.read_bytes()[:keep])
    with pytest.raises(CheckpointError, match=r"model\.ckpt\.index is not a TensorFlow"):
        read_tf_checkpoint(prefix)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "weights.index").write_text("not a table\n" * 10)
    with pytest.raises(CheckpointError, match="weights.index is not a TensorFlow checkpoint"):
        read_tf_checkpoint(tmp_path / "weights")


def test_a_corrupt_tensor_fails_its_crc(tmp_path, small):
    prefix = _copy_small(tmp_path)
    data = bytearray((tmp_path / DATA).read_bytes())
    data[-1] ^= 0x01  # last byte of the last tensor in file order
    (tmp_path / DATA).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="fails its crc32c"):
        read_tf_checkpoint(prefix)
    assert len(read_tf_checkpoint(prefix, verify_crc=False)) == len(small)


def _first_data_block_end(index: bytes) -> int:
    """Byte offset of the first data block's trailer (compression type byte)."""
    footer = index[-48:]
    _, position = varint(footer, varint(footer, 0)[1])
    offset, position = varint(footer, position)
    # the index block's first entry: 3 varints, the key, then the handle
    shared, entry = varint(index, offset)
    unshared, entry = varint(index, entry)
    _, entry = varint(index, entry)
    block_offset, handle = varint(index, entry + unshared)
    return block_offset + varint(index, handle)[0]


@pytest.mark.parametrize(("kind", "name"), [(1, "snappy"), (2, "zlib")])
def test_compressed_index_blocks_are_refused_clearly(tmp_path, kind, name):
    prefix = _copy_small(tmp_path)
    index = bytearray((tmp_path / "model.ckpt.index").read_bytes())
    index[_first_data_block_end(bytes(index))] = kind
    (tmp_path / "model.ckpt.index").write_bytes(bytes(index))
    with pytest.raises(CheckpointError, match=f"model.ckpt.index has a {name}-compressed block"):
        read_tf_checkpoint(prefix)


@pytest.mark.parametrize("order", ["<", ">"])
def test_written_bundle_round_trips_every_supported_dtype(tmp_path, order):
    rng = np.random.default_rng(0)
    tensors = {
        f"v/{np.dtype(t).name}": (rng.standard_normal((2, 3, 5)) * 100).astype(t)
        for t in DTYPES.values()
    }
    write_bundle(tmp_path / "model.ckpt", tensors, order=order)
    read = read_tf_checkpoint(tmp_path / "model.ckpt")
    assert all(a.dtype.isnative for a in read.values())
    assert {name: a.dtype for name, a in read.items()} == {n: a.dtype for n, a in tensors.items()}
    assert all(np.array_equal(read[name], tensors[name]) for name in tensors)


def test_an_unsupported_dtype_is_named(tmp_path):
    write_bundle(tmp_path / "model.ckpt", {"flag": np.ones(3, np.int32)}, codes={"flag": 10})
    with pytest.raises(CheckpointError, match="flag in .* has dtype bool"):
        read_tf_checkpoint(tmp_path / "model.ckpt")


def test_crc32c_matches_the_bitwise_definition():
    def bitwise(data: bytes) -> int:
        crc = 0xFFFFFFFF
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    data = np.random.default_rng(0).integers(0, 256, 30_011, np.uint8).tobytes()
    assert crc32c(data) == bitwise(data)  # 173 chunks of 173 bytes + a tail of 82


def test_a_corrupt_index_block_fails_its_crc(tmp_path):
    prefix = _copy_small(tmp_path)
    index = bytearray((tmp_path / "model.ckpt.index").read_bytes())
    index[20] ^= 0x20  # a letter of the first tensor name
    (tmp_path / "model.ckpt.index").write_bytes(bytes(index))
    with pytest.raises(CheckpointError, match=r"model\.ckpt\.index: block at byte 0 fails"):
        read_tf_checkpoint(prefix)
