"""The authors' converted model through every command: convert -> infer -> eval -> export.

Each step must normalise as the checkpoint says (the authors' ``2/255 x - 1``, i.e.
mean = std = 0.5), not with the ImageNet statistics of models trained here.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import segmnv3
from segmnv3.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "deeplab_small"
AUTHORS = [0.5, 0.5, 0.5]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("converted") / "small.pt"
    assert main(["convert-deeplab", str(FIXTURE), "--variant", "small", "--output", str(out)]) == 0
    return out


def _odd_sized_image(synthetic_root: Path, folder: Path) -> Path:
    source = sorted((synthetic_root / "leftImg8bit" / "val").rglob("*.png"))[0]
    path = folder / "odd.png"
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(source)), (133, 97)))  # (97, 133)
    return path


def test_infer_writes_labels_at_the_input_size_with_the_checkpoints_normalisation(
    converted, synthetic_root, tmp_path
):
    image = _odd_sized_image(synthetic_root, tmp_path)
    out = tmp_path / "out"
    assert (
        main(
            ["infer", str(image), "--weights", str(converted), "--output", str(out), "--save-mask"]
        )
        == 0
    )
    mask = cv2.imread(str(out / "odd_mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (97, 133)

    model = segmnv3.load_model(converted)
    assert list(model.data_config.mean) == AUTHORS and list(model.data_config.std) == AUTHORS
    rgb = cv2.imread(str(image))[..., ::-1]
    np.testing.assert_array_equal(mask, segmnv3.segment(model, rgb))
    x = (rgb.astype(np.float32) / 255 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225]
    with torch.no_grad():
        imagenet = model(torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32)))
    assert (imagenet[0].argmax(0).numpy() != mask).any()  # the statistics matter here


def test_eval_and_export_report_the_checkpoints_normalisation(converted, synthetic_root, tmp_path):
    report_path = tmp_path / "val.json"
    argv = ["eval", str(converted), "--data-root", str(synthetic_root), "--json", str(report_path)]
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    assert report["normalisation"] == {"mean": AUTHORS, "std": AUTHORS}
    assert report["images"] == 4 and 0.0 <= report["miou"] <= 1.0

    out = tmp_path / "export"
    assert (
        main(
            [
                "export",
                "--weights",
                str(converted),
                "--output",
                str(out),
                "--data-root",
                str(synthetic_root),
                "--resolution",
                "128x256",
                "--format",
                "onnx",
            ]
        )
        == 0
    )
    exported = json.loads(next(out.glob("*_export.json")).read_text())
    assert exported["normalisation"] == {"mean": AUTHORS, "std": AUTHORS}
    assert all(check["passed"] for check in exported["parity"])
