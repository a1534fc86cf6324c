"""Your own data: a 6-class folder dataset through train -> eval -> infer -> export -> int8.

The generated folder dataset (``segmnv3 synth --format folder``) has colour masks, JPEG
images in two nesting levels and its own label set; the index-mask variant merges several
stored values into one class (``values:``). Everything downstream must name its 6 classes,
use its colours and write masks in its own stored form.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core.checkpoint import load_checkpoint
from segmnv3.core.label_file import read_label_file
from segmnv3.data.build import open_dataset
from segmnv3.data.synthetic_folder import generate_synthetic_folder

NAMES = ["road", "sidewalk", "building", "vegetation", "vehicle", "person"]
SETTINGS = [
    "model.backbone=mobilenet_v3_small",
    "data.dataset=folder",
    "model.num_classes=6",
    "data.crop_size=[64,128]",
    "data.num_workers=0",
    "train.batch_size=2",
    "train.iterations=3",
    "train.val_interval=0",
    "train.cpu_threads=1",
    "train.tensorboard=false",
    "train.log_interval=1",
]
TRAIN = [argument for setting in SETTINGS for argument in ("--set", setting)]


@pytest.fixture(scope="module", params=["color", "index"])
def trained(request, tmp_path_factory):
    """(dataset root, checkpoint, mask format) after a 3-step run on a folder dataset."""
    root = tmp_path_factory.mktemp(f"folder_{request.param}") / "data"
    generate_synthetic_folder(
        root, num_train=4, num_val=2, size=(64, 128), seed=1, mask_format=request.param, workers=1
    )
    out = root.parent / "run"
    assert main(["train", *TRAIN, "--set", f"data.root={root}", "--out-dir", str(out)]) == 0
    return root, out / "last.pt", request.param


def test_the_checkpoint_stores_the_folder_label_set(trained):
    root, checkpoint, _ = trained
    stored = load_checkpoint(checkpoint)
    assert stored["labels"]["classes"][4]["name"] == "vehicle"
    assert [c["name"] for c in stored["labels"]["classes"]] == NAMES
    assert read_label_file(root / "labels.yaml").to_dict()["classes"] == stored["labels"]["classes"]


def test_eval_names_the_six_classes_in_table_and_json(trained, tmp_path, capsys):
    root, checkpoint, _ = trained
    report = tmp_path / "eval.json"
    args = ["eval", str(checkpoint), "--data-root", str(root), "--json", str(report)]
    assert (
        main([*args, "--device", "cpu", "--no-progress", "--save-predictions", str(tmp_path)]) == 0
    )
    table = capsys.readouterr().out
    assert all(f"\n{name:<15}" in table for name in NAMES)
    written = json.loads(report.read_text())
    assert list(written["iou"]) == NAMES and written["classes"] == NAMES
    masks = sorted((tmp_path / "masks").rglob("*.png"))
    assert len(masks) == 2 and masks[0].relative_to(tmp_path / "masks").parts[0] != "val"


def test_infer_writes_masks_in_the_datasets_own_values_and_its_colours(trained, tmp_path):
    root, checkpoint, mask_format = trained
    image = sorted((root / "images" / "val").rglob("*.jpg"))[0]
    args = ["infer", str(image), "--weights", str(checkpoint), "--output", str(tmp_path)]
    assert main([*args, "--save-mask"]) == 0
    labels = read_label_file(root / "labels.yaml")
    mask = cv2.imread(str(tmp_path / f"{image.stem}_mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape[:2] == cv2.imread(str(image)).shape[:2]
    if mask_format == "color":  # every pixel is one of the 6 class colours (RGB on disk)
        colours = {tuple(c) for c in mask[..., ::-1].reshape(-1, 3)}
        assert colours <= {tuple(int(v) for v in c) for c in labels.colors}
    else:  # every pixel is a class's first stored value
        assert set(np.unique(mask)) <= {c.values[0] for c in labels.classes}
    legend = cv2.imread(str(tmp_path / "legend.png"))
    assert legend.shape[0] >= 6 * 20  # one row per class
    swatch = legend[4 + 4 * 22 + 11, 20]  # the 5th row's colour swatch (BGR)
    assert swatch[::-1].tolist() == labels.colors[4].tolist()


def test_export_has_six_channels_parity_and_an_int8_report(trained, tmp_path, capsys):
    import onnx

    root, checkpoint, _ = trained
    args = ["export", "--weights", str(checkpoint), "--resolution", "64x128"]
    args += [
        "--data-root",
        str(root),
        "--output",
        str(tmp_path),
        "--format",
        "onnx",
        "int8-onnxruntime",
    ]
    assert main([*args, "--calib-images", "2", "--val-images", "2", "--parity-images", "1"]) == 0
    (graph,) = tmp_path.glob("*_64x128.onnx")
    output = onnx.load(str(graph)).graph.output[0]
    assert output.type.tensor_type.shape.dim[3].dim_value == 6  # NHWC logits
    out = capsys.readouterr().out
    assert "max |logit diff|" in out and "argmax agreement" in out and "mIoU fp32" in out


def test_without_its_data_the_int8_miou_is_not_measured(trained, tmp_path, capsys):
    _, checkpoint, _ = trained  # the synthetic stand-in images carry Cityscapes' 19 classes
    args = ["export", "--weights", str(checkpoint), "--resolution", "64x128"]
    args += ["--output", str(tmp_path), "--format", "int8-onnxruntime"]
    assert main([*args, "--calib-images", "1", "--val-images", "1", "--parity-images", "1"]) == 0
    out = capsys.readouterr().out
    assert "mIoU not measured" in out and "pass --data-root" in out
    assert "mIoU fp32" not in out  # was a figure of 6 classes scored against 19
    (report,) = tmp_path.glob("*_export.json")
    (int8,) = json.loads(report.read_text())["int8"]
    assert int8["miou_fp32"] is None and int8["miou_delta"] is None
    assert 0.0 <= int8["agreement"] <= 1.0


def test_a_cityscapes_checkpoint_is_refused_on_the_folder_data(trained, tmp_path, capsys):
    root, _, _ = trained
    args = ["export", "--random-init", "--resolution", "64x128", "--data-root", str(root)]
    assert main([*args, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "predicts 19 classes" in err and "has 6 classes" in err
    assert not list(tmp_path.glob("*.onnx"))


def test_a_folder_dataset_reads_like_the_cityscapes_layout(trained):
    root, _, mask_format = trained
    dataset = open_dataset(root, "train")
    image, mask = dataset[0]
    assert image.shape == (3, 64, 128) and mask.shape == (64, 128)
    assert set(mask.unique().tolist()) <= {*range(6), 255}
    assert dataset.labels.names == tuple(NAMES) and dataset.labels.mask_format == mask_format


def test_the_frame_cache_serves_a_folder_dataset_bit_identically(trained, tmp_path):
    from segmnv3.data.cache import build_cache
    from segmnv3.data.config import DataConfig
    from segmnv3.data.transforms import build_train_transform

    root, _, _ = trained
    report = build_cache(root, "train", cache_dir=tmp_path, workers=1, progress=False)
    assert report.written == 4 and report.kept == 0
    transform = build_train_transform(DataConfig(crop_size=(32, 64)))
    files = open_dataset(root, "train", transform=transform)
    cached = open_dataset(root, "train", transform=transform, cache_dir=tmp_path)
    assert all(entry is not None for entry in cached.cached)  # nested keys found
    for index in range(len(files)):
        transform.seed(index)
        a = files[index]
        transform.seed(index)
        b = cached[index]
        assert a[0].equal(b[0]) and a[1].equal(b[1])
    again = build_cache(root, "train", cache_dir=tmp_path, workers=1, progress=False)
    assert again.written == 0 and again.kept == 4
