"""LiteRT (.tflite) and ExecuTorch (.pte) on XNNPACK: parity, int8, infer, missing extra.

Each conversion takes ~17 s even for the tiny V3-Small model (torch.export, then the
converter's passes), hence the ``slow`` marks; the whole module needs the ``mobile`` extra.
``export``, ``infer`` and ``bench`` run on the parity test's ``lraspp-paper`` weights at
64x128, so ``convert_once`` hands them that test's conversions (an identical graph only:
``tests/convert_once.py``) instead of converting the same network again.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from segmnv3.cli import main
from segmnv3.core.checkpoint import save_checkpoint
from segmnv3.core.errors import UserError
from segmnv3.core.schema import to_plain
from segmnv3.data.build import image_paths
from segmnv3.data.config import DataConfig
from segmnv3.deploy.export import mobile
from segmnv3.deploy.export.parity import check_parity
from segmnv3.deploy.runtimes import build_predictor
from segmnv3.deploy.runtimes.backend import (
    EAGER,
    EXECUTORCH,
    EXECUTORCH_INT8,
    LITERT,
    LITERT_INT8,
)
from segmnv3.deploy.runtimes.predictors import EagerPredictor
from segmnv3.models.config import ModelConfig
from tests.convert_once import ConversionMemo, program_key
from tests.test_deploy_export import SIZES, small_model
from tests.test_deploy_infer import video_properties

EXPORTS = {
    "litert": (LITERT, mobile.export_litert, "m.tflite"),
    "executorch": (EXECUTORCH, mobile.export_executorch, "m.pte"),
}
installed = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("litert_torch", "executorch")),
    reason='needs the mobile extra: pip install "segmnv3[mobile]"',
)


TINY = ModelConfig(backbone="mobilenet_v3_small")  # small_model(): lraspp, paper pooling


@pytest.fixture(scope="module")
def val_frames(synthetic_root):
    return [cv2.imread(str(p)) for p in image_paths(synthetic_root, "val")[:2]]


@pytest.fixture(scope="module")
def conversions():
    return ConversionMemo()


@pytest.fixture
def convert_once(conversions, monkeypatch):
    conversions.install(monkeypatch)
    return conversions


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """small_model() as a checkpoint (the parity test's lraspp-paper weights)."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.pt"
    config = {"model": to_plain(TINY), "data": to_plain(DataConfig())}
    return save_checkpoint({"model": small_model().state_dict(), "config": config}, path)


def test_conversion_key_tells_apart_what_a_converter_reads():
    def key(module, size=(8, 8)):
        return program_key(torch.export.export(module, (torch.zeros(1, 3, *size),)))

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).eval()
    other = copy.deepcopy(model)
    assert key(model) == key(other)  # an identical graph: the conversion is reused
    assert key(model) != key(model, (8, 16))
    assert key(model) != key(copy.deepcopy(model).to(memory_format=torch.channels_last))
    other[1].running_mean[0] += 1e-6  # one value of one buffer
    assert key(model) != key(other)


@installed
@pytest.mark.slow
@pytest.mark.parametrize("runtime", sorted(EXPORTS))
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "kwargs",
    [{"head": "lraspp", "pooling": "paper"}, {"head": "raspp"}],
    ids=["lraspp-paper", "raspp"],
)
def test_phone_file_matches_pytorch(tmp_path, val_frames, convert_once, runtime, size, kwargs):
    backend, export, name = EXPORTS[runtime]
    model = small_model(**kwargs)
    path = export(model, tmp_path / name, size)
    candidate = build_predictor(backend, path)
    report = check_parity(EagerPredictor(model, threads=1), candidate, val_frames, size)
    assert report.logit_scale > 1.0  # not two near-zero outputs
    assert report.passed, report.line()
    assert candidate.predict(np.zeros((2, 3, *size), np.float32)).shape == (2, *size)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporaries left


@installed
@pytest.mark.slow
def test_export_command_writes_phone_files_and_reports_int8(
    tmp_path, synthetic_root, tiny_checkpoint, convert_once
):
    formats = ["litert", "fp16-litert", "int8-litert", "executorch", "int8-executorch"]
    args = ["export", "--weights", str(tiny_checkpoint), "--resolution", "64x128"]
    args += ["--format", *formats, "--output", str(tmp_path), "--data-root", str(synthetic_root)]
    assert main([*args, "--calib-images", "2", "--val-images", "2"]) == 0
    stem = "tiny_64x128"
    report = json.loads((tmp_path / f"{stem}_export.json").read_text())
    assert set(report["files"]) == {"onnx", *formats}
    assert [p["backend"] for p in report["parity"]] == ["onnxruntime", "litert", "executorch"]
    assert all(p["passed"] for p in report["parity"])
    lossy = {r["backend"]: r for r in report["int8"]}
    assert set(lossy) == {"litert-fp16", "litert-int8", "executorch-int8"}
    # random (if lively) weights, 2 images: only the range (tracking: the bench test)
    assert all(0.0 <= r["agreement"] <= 1.0 and r["images"] == 2 for r in lossy.values())
    assert all(-1.0 <= r["miou_delta"] <= 1.0 for r in lossy.values())
    assert report["layouts"]["int8-litert"]["input"].startswith("NHWC (1, H, W, 3)")
    assert report["layouts"]["executorch"]["input"].startswith("NCHW (1, 3, H, W)")


@installed
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["litert", "executorch"])
def test_infer_on_phone_runtimes_keeps_frames_and_size(
    tmp_path, synthetic_root, tiny_checkpoint, convert_once, backend
):
    clip = synthetic_root / "clip.mp4"
    args = ["infer", str(clip), "--weights", str(tiny_checkpoint), "--backend", backend]
    args += ["--resolution", "64x128"]
    assert main([*args, "--output", str(tmp_path)]) == 0
    assert video_properties(tmp_path / "clip_overlay.mp4") == video_properties(clip)


@installed
@pytest.mark.slow
def test_bench_times_phone_rows_on_one_thread(tmp_path, synthetic_root, convert_once):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    from segmnv3.deploy.bench.report import markdown
    from segmnv3.deploy.bench.run import BenchSettings, run_benchmark
    from segmnv3.deploy.bench.subjects import TORCHVISION, Subject

    phone = (LITERT, LITERT_INT8, EXECUTORCH, EXECUTORCH_INT8)
    reference = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=19)
    subjects = [
        Subject("tiny", small_model(), (EAGER, *phone), model_config=TINY),
        Subject(TORCHVISION, reference.eval(), (EAGER,), baseline=True),
    ]
    settings = BenchSettings(sizes={"half": (64, 128)}, warmup=1, repeats=2, calib_images=2)
    result = run_benchmark(subjects, settings, data_root=synthetic_root, workdir=tmp_path)
    rows = {r.backend: r for r in result.latency if r.model == "tiny"}
    assert set(rows) == {EAGER, *phone}
    for backend in phone:
        assert rows[backend].timing.cpu_per_wall < 1.5  # one thread, set in the runtime
        assert rows[backend].agreement_with_eager > 0.5
    assert {m.backend for m in result.memory} == {EAGER, *phone}
    assert "| tiny | executorch-int8 |" in markdown(result)


@pytest.mark.parametrize(
    ("missing", "call"),
    [
        (
            "litert_torch",
            lambda tmp: mobile.export_litert(small_model(), tmp / "m.tflite", SIZES[0]),
        ),
        (
            "executorch",
            lambda tmp: mobile.export_executorch(small_model(), tmp / "m.pte", SIZES[0]),
        ),
        ("ai_edge_litert.interpreter", lambda tmp: build_predictor(LITERT, tmp / "m.tflite")),
        ("executorch.runtime", lambda tmp: build_predictor(EXECUTORCH, tmp / "m.pte")),
    ],
    ids=["litert-export", "executorch-export", "litert-run", "executorch-run"],
)
def test_missing_mobile_extra_is_one_clear_message(monkeypatch, tmp_path, missing, call):
    monkeypatch.setitem(sys.modules, missing, None)  # `import missing` now raises ImportError
    with pytest.raises(UserError, match=r'not installed; pip install "segmnv3\[mobile\]"'):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_default_import_path_needs_no_phone_runtime():
    code = (
        "import sys, segmnv3.cli, segmnv3.deploy.runtimes, segmnv3.deploy.export.bundle, "
        "segmnv3.deploy.bench.run; "
        "print(sorted(m for m in ('executorch', 'litert_torch', 'ai_edge_litert') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
