"""ONNX / OpenVINO export parity and int8 quantization (tiny V3-Small models, small inputs)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

import segmnv3
from segmnv3.cli import main
from segmnv3.core.errors import UserError
from segmnv3.data.build import image_paths
from segmnv3.deploy.export.accuracy import evaluate_int8, photo_agreement
from segmnv3.deploy.export.graphs import HeadLogits, export_onnx, export_openvino
from segmnv3.deploy.export.parity import ParityThresholds, check_parity
from segmnv3.deploy.export.quantize import quantize_onnxruntime
from segmnv3.deploy.inference.preprocess import to_input
from segmnv3.deploy.inference.upsample_labels import labels_from_logits
from segmnv3.deploy.runtimes.predictors import (
    EagerPredictor,
    OnnxRuntimePredictor,
    OpenVinoPredictor,
)

SIZES = [(64, 128), (96, 160)]
ROW11 = "configs/table7_row11_v3small_rf2_lraspp_f128_os16.yaml"


def lively(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random BatchNorm statistics and larger classifier weights, so a random-init model
    has logits of a real scale (fresh layers make every logit ~0, argmax nearly ties)."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)
        if isinstance(module, torch.nn.Conv2d) and module.out_channels == 19:
            module.weight.data.mul_(30.0)  # classifiers: logits of order 1-10
    return model.eval()


def small_model(**kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return lively(segmnv3.build_model(backbone="mobilenet_v3_small", **kwargs))


@pytest.fixture(scope="module")
def val_frames(synthetic_root):
    return [cv2.imread(str(p)) for p in image_paths(synthetic_root, "val")[:2]]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"head": "lraspp", "pooling": "paper"},
        {"head": "lraspp", "pooling": "global"},
        {"head": "raspp"},
    ],
    ids=["lraspp-paper", "lraspp-global", "raspp"],
)
def test_onnx_matches_pytorch(tmp_path, val_frames, kwargs, size):
    model = small_model(**kwargs)
    reference = EagerPredictor(model, threads=1)
    path = export_onnx(model, tmp_path / "model.onnx", size)
    report = check_parity(reference, OnnxRuntimePredictor(path), val_frames, size)
    assert report.logit_scale > 1.0  # the comparison is not between two near-zero outputs
    assert report.max_abs_diff <= 1e-3 * report.logit_scale
    assert report.agreement >= 0.999
    assert report.passed


def test_openvino_ir_matches_pytorch(tmp_path, val_frames):
    model = small_model()
    onnx_path = export_onnx(model, tmp_path / "model.onnx", SIZES[0])
    xml = export_openvino(onnx_path, tmp_path / "model.xml")
    report = check_parity(EagerPredictor(model), OpenVinoPredictor(xml), val_frames, SIZES[0])
    assert report.passed, report.line()


def test_parity_check_catches_a_different_model(tmp_path, val_frames):
    path = export_onnx(small_model(), tmp_path / "model.onnx", SIZES[0])
    other = lively(segmnv3.build_model(backbone="mobilenet_v3_small"), seed=1)
    report = check_parity(
        EagerPredictor(other), OnnxRuntimePredictor(path), val_frames, SIZES[0], ParityThresholds()
    )
    assert not report.passed
    assert report.max_abs_diff > 1e-3 * max(1.0, report.logit_scale)


def test_dynamic_export_runs_at_other_sizes(tmp_path, val_frames):
    model = small_model(pooling="global")
    path = export_onnx(model, tmp_path / "dynamic.onnx", SIZES[0], dynamic=True)
    predictor = OnnxRuntimePredictor(path)
    for size in [(64, 128), (128, 256)]:
        batch = to_input(val_frames[0], size)
        assert predictor.logits(batch).shape == (1, 19, *size)
        np.testing.assert_allclose(
            predictor.logits(batch),
            EagerPredictor(model).logits(batch),
            atol=1e-3 * max(1.0, np.abs(predictor.logits(batch)).max()),
        )


def test_labels_graph_equals_argmax_of_logits(tmp_path, val_frames):
    model = small_model()
    labels = OnnxRuntimePredictor(
        export_onnx(model, tmp_path / "l.onnx", SIZES[1], output="labels")
    )
    batch = to_input(val_frames[0], SIZES[1])
    expected = EagerPredictor(model).logits(batch).argmax(1)
    assert labels.predict(batch).dtype == np.uint8
    assert (labels.predict(batch) == expected).mean() >= 0.999


def test_labels_graph_parity_is_its_argmax_agreement(tmp_path, val_frames):
    model = small_model()
    path = export_onnx(model, tmp_path / "l.onnx", SIZES[0], output="labels")
    same = check_parity(EagerPredictor(model), OnnxRuntimePredictor(path), val_frames, SIZES[0])
    assert same.backend == "onnxruntime labels" and same.max_abs_diff is None
    assert same.agreement >= 0.999 and same.passed
    assert "labels graph (no logits to compare)" in same.line()
    other = lively(segmnv3.build_model(backbone="mobilenet_v3_small"), seed=1)
    worse = check_parity(EagerPredictor(other), OnnxRuntimePredictor(path), val_frames, SIZES[0])
    assert worse.agreement < 0.9 and not worse.passed and worse.line().endswith("FAIL")


def test_int8_quantization_reports_agreement_and_miou(tmp_path, synthetic_root):
    model = small_model()
    size = (128, 256)
    fp32_path = export_onnx(model, tmp_path / "fp32.onnx", size)
    calibration = image_paths(synthetic_root, "train")[:4]
    int8_path = quantize_onnxruntime(fp32_path, tmp_path / "int8.onnx", calibration, size)
    report = evaluate_int8(
        OnnxRuntimePredictor(fp32_path),
        OnnxRuntimePredictor(int8_path),
        synthetic_root,
        "val",
        size,
        recipe="tuned",
        photos=image_paths(synthetic_root, "val"),  # the same images, unlabelled
    )
    assert report.images == 4 and report.photos == 4
    assert report.photo_agreement == report.agreement  # same pixels, same predictions
    assert 0.5 < report.agreement <= 1.0  # int8 is lossy but must track fp32
    assert 0.0 <= report.miou_fp32 <= 1.0 and 0.0 <= report.miou_int8 <= 1.0
    assert report.miou_delta == pytest.approx(report.miou_int8 - report.miou_fp32)


class ConstantClass(torch.nn.Module):
    """Predicts train id ``label`` everywhere."""

    def __init__(self, label: int):
        super().__init__()
        self.label = label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 19, *x.shape[2:])
        logits[:, self.label] = 1.0
        return logits


def test_photo_agreement_is_the_fraction_of_equal_labels(tmp_path):
    photo = tmp_path / "photo.png"
    image = np.zeros((64, 128, 3), np.uint8)
    image[:, 96:] = 255  # a quarter of the width white
    cv2.imwrite(str(photo), image)
    # a 1x1 conv that says class 1 where the image is bright, class 0 elsewhere
    bright = torch.nn.Conv2d(3, 19, 1)
    with torch.no_grad():
        bright.weight.zero_()
        bright.bias.zero_()
        bright.weight[1] = 1.0
    always_zero = EagerPredictor(ConstantClass(0), threads=1)
    assert photo_agreement(always_zero, always_zero, [photo], (64, 128)) == 1.0
    assert photo_agreement(EagerPredictor(bright, threads=1), always_zero, [photo], (64, 128)) == (
        pytest.approx(0.75)
    )


def test_export_rejects_photos_that_are_not_images(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    args = ["export", "--random-init", "--config", ROW11, "--resolution", "64x128"]
    assert main([*args, "--output", str(tmp_path / "out"), "--photos", str(tmp_path)]) == 2
    assert f"--photos {tmp_path}: the folder holds no images" in capsys.readouterr().err


@pytest.mark.slow
def test_export_command_writes_every_format(tmp_path, synthetic_root):
    code = main(
        [
            "export",
            "--random-init",
            "--config",
            ROW11,
            "--resolution",
            "64x128",
            "--format",
            "onnx",
            "openvino",
            "int8-onnxruntime",
            "int8-openvino",
            "labels-onnx",
            "head-openvino",
            "--output",
            str(tmp_path),
            "--data-root",
            str(synthetic_root),
            "--calib-images",
            "2",
            "--val-images",
            "2",
            "--photos",
            *[str(p) for p in image_paths(synthetic_root, "val")[:3]],
        ]
    )
    assert code == 0
    report = json.loads(
        (tmp_path / "table7_row11_v3small_rf2_lraspp_f128_os16_64x128_export.json").read_text()
    )
    assert [r["photos"] for r in report["int8"]] == [3, 3]
    assert all(0.0 <= r["photo_agreement"] <= 1.0 for r in report["int8"])
    assert set(report["files"]) == {
        "onnx",
        "openvino",
        "int8-onnxruntime",
        "int8-openvino",
        "labels-onnx",
        "head-onnx",
        "head-openvino",
    }
    assert report["files"]["labels-onnx"].endswith("_64x128_labels.onnx")
    assert report["files"]["head-openvino"].endswith("_64x128_head.xml")
    assert report["layouts"]["head-onnx"]["output"].startswith("NHWC (N, H/8, W/8, C)")
    assert report["layouts"]["labels-onnx"]["output"] == "NHW (N, H, W) uint8 train ids"
    backends = [p["backend"] for p in report["parity"]]
    assert backends == [
        "onnxruntime",
        "openvino",
        "onnxruntime labels",
        "onnxruntime head",
        "openvino head",
    ]
    assert report["parity"][2]["max_abs_diff"] is None
    assert all(p["passed"] for p in report["parity"])
    assert [r["backend"] for r in report["int8"]] == ["onnxruntime-int8", "openvino-int8"]
    assert all(0.0 <= r["agreement"] <= 1.0 for r in report["int8"])


def test_export_leaves_no_temporaries(tmp_path):
    onnx_path = export_onnx(small_model(), tmp_path / "model.onnx", SIZES[0])
    export_openvino(onnx_path, tmp_path / "model.xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin", "model.onnx", "model.xml"]


def test_failed_export_leaves_no_partial_file(tmp_path, monkeypatch):
    import onnx

    def broken_check(path, full_check=False):
        assert (tmp_path / "model.onnx").exists() is False  # not published before the check
        raise onnx.checker.ValidationError("simulated failure")

    monkeypatch.setattr(onnx.checker, "check_model", broken_check)
    with pytest.raises(onnx.checker.ValidationError, match="simulated"):
        export_onnx(small_model(), tmp_path / "model.onnx", SIZES[0])
    assert list(tmp_path.iterdir()) == []


def test_interrupted_export_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"previous export")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch.onnx, "export", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(small_model(), target, SIZES[0])
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


@pytest.mark.parametrize("kwargs", [{"head": "lraspp"}, {"head": "raspp"}], ids=["lraspp", "raspp"])
def test_head_graphs_match_pytorchs_pre_upsample_logits(tmp_path, val_frames, kwargs):
    """ONNX and OpenVINO graphs that end before the final upsample: parity with
    ``Segmenter.head_logits``, and labels from them equal the full model's argmax."""
    model = small_model(**kwargs)
    size = SIZES[1]
    path = export_onnx(model, tmp_path / "h.onnx", size, output="head_logits")
    xml = export_openvino(path, tmp_path / "h.xml")
    reference = EagerPredictor(HeadLogits(model))
    stride = 8 if kwargs["head"] == "lraspp" else 16  # R-ASPP: at the output stride
    for candidate in [OnnxRuntimePredictor(path), OpenVinoPredictor(xml)]:
        assert candidate.output == "head_logits"
        report = check_parity(reference, candidate, val_frames, size)
        assert report.passed and report.backend.endswith(" head"), report.line()
        batch = to_input(val_frames[0], size)
        logits = candidate.logits(batch)  # (1, C, h, w) view of the NHWC output
        assert logits.shape == (1, 19, size[0] // stride, size[1] // stride)
        labels = labels_from_logits(logits[0], size, align_corners=model.align_corners)
        full = EagerPredictor(model).logits(batch)[0].argmax(0)
        assert (labels == full).mean() >= 0.999
        with pytest.raises(UserError, match="before the final upsample"):
            candidate.predict(batch)


def test_head_graph_needs_a_segmenter():
    with pytest.raises(ValueError, match="no head_logits"):
        HeadLogits(torch.nn.Conv2d(3, 19, 1))
