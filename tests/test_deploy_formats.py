"""The table of deploy files (export.formats) and the schema conversion bench.json uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from segmnv3.core import schema
from segmnv3.core.errors import ConfigError
from segmnv3.deploy.export.formats import FORMAT_NAMES, FORMATS, format_for, format_named
from segmnv3.deploy.runtimes.backend import ALL_BACKENDS, EAGER, Backend

STEM = Path("out/row8_64x128")

# (backend, file the benchmark gives it): the names bench/files.py wrote before the table.
BENCH_FILES = {
    "onnxruntime": "row8_64x128.onnx",
    "openvino": "row8_64x128.onnx",
    "openvino-bf16": "row8_64x128.onnx",
    "onnxruntime-int8": "row8_64x128_tuned_int8.onnx",
    "openvino-int8": "row8_64x128_tuned_int8.xml",
    "openvino-int8-bf16": "row8_64x128_tuned_int8.xml",
    "onnxruntime-int8-naive": "row8_64x128_naive_int8.onnx",
    "openvino-int8-naive": "row8_64x128_naive_int8.xml",
    "litert": "row8_64x128.tflite",
    "litert-fp16": "row8_64x128_fp16.tflite",
    "executorch": "row8_64x128.pte",
    "litert-int8": "row8_64x128_tuned_int8.tflite",
    "executorch-int8": "row8_64x128_tuned_int8.pte",
}

# (--format, file export writes): the names export/bundle.py wrote before the table.
EXPORT_FILES = {
    "onnx": "row8_64x128.onnx",
    "openvino": "row8_64x128.xml",
    "int8-onnxruntime": "row8_64x128_int8.onnx",
    "int8-openvino": "row8_64x128_int8.xml",
    "litert": "row8_64x128.tflite",
    "fp16-litert": "row8_64x128_fp16.tflite",
    "int8-litert": "row8_64x128_int8.tflite",
    "executorch": "row8_64x128.pte",
    "int8-executorch": "row8_64x128_int8.pte",
    "labels-onnx": "row8_64x128_labels.onnx",  # added with the table (issue 20)
    "labels-openvino": "row8_64x128_labels.xml",
    "head-onnx": "row8_64x128_head.onnx",  # issue 25: logits before the final upsample
    "head-openvino": "row8_64x128_head.xml",
}


@pytest.mark.parametrize("backend", [b for b in ALL_BACKENDS if b != EAGER], ids=str)
def test_every_backend_finds_its_bench_file(backend):
    fmt = format_for(backend)
    assert fmt.runs(backend)
    path = fmt.path(STEM, backend.int8_recipe or "tuned", recipe_in_name=True)
    assert path == STEM.parent / BENCH_FILES[backend.name]


def test_eager_runs_no_file():
    with pytest.raises(ValueError, match="runs the module"):
        format_for(EAGER)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_every_format_has_its_export_name_and_a_checking_backend(name):
    fmt = format_named(name)
    assert fmt.path(STEM, "naive") == STEM.parent / EXPORT_FILES[name]  # no recipe in export
    assert fmt.runs(fmt.backend) and fmt.runs(fmt.backend_for("naive"))
    assert fmt.backend_for("naive").int8_recipe == ("naive" if fmt.backend.is_int8 else None)
    if fmt.lossy:  # checked against the fp32 file it needs, run on the same runtime family
        assert not format_named(fmt.needs).lossy


def test_each_format_comes_after_the_one_it_needs():
    order = [f.name for f in FORMATS]
    for index, fmt in enumerate(FORMATS):
        assert fmt.needs is None or order.index(fmt.needs) < index
    with pytest.raises(ValueError, match="choose from"):
        format_named("int8-onnx")


@dataclass(frozen=True)
class _Inner:
    a: int
    b: float = 0.5


@dataclass(frozen=True)
class _Outer:
    backend: Backend
    inner: _Inner = field(metadata=schema.FLAT)
    rest: dict[str, _Inner] = field(metadata=schema.FLAT)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


def test_schema_flat_fields_and_codecs_round_trip():
    value = _Outer(Backend("openvino", "bf16"), _Inner(3), {"x": _Inner(1, 2.0)}, {"half": (2, 4)})
    plain = schema.to_plain(value)
    assert plain == {
        "backend": "openvino-bf16",
        "a": 3,
        "b": 0.5,
        "x": {"a": 1, "b": 2.0},
        "sizes": {"half": [2, 4]},
    }
    assert schema.from_dict(_Outer, plain) == value
    with pytest.raises(ConfigError, match="sizes.half must have 2 items"):
        schema.from_dict(_Outer, {**plain, "sizes": {"half": [1, 2, 3]}})
    with pytest.raises(ConfigError, match="unknown backend 'cuda'"):
        schema.from_dict(_Outer, {**plain, "backend": "cuda"})
