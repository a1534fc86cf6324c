"""Bad folder datasets: one clear line naming the file and what to do (exit 2), never a
silent 255 or a traceback."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import read_label_file
from segmnv3.data.build import open_dataset

LABELS = """classes:
  - {name: floor, color: [128, 64, 128]}
  - {name: shelf, color: [70, 70, 70], values: [1, 7]}
  - {name: robot, color: [220, 20, 60]}
ignore_values: [255]
"""


def _write_pair(root, split, name, mask, suffix=".png"):
    image = np.full((*mask.shape[:2], 3), 90, dtype=np.uint8)
    for folder, array, ending in (("images", image, suffix), ("masks", mask, ".png")):
        path = root / folder / split / f"{name}{ending}"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), array)


@pytest.fixture
def root(tmp_path):
    """A valid 3-class index-mask folder dataset: train 2 pairs (one nested), val 1."""
    root = tmp_path / "warehouse"
    root.mkdir()
    (root / "labels.yaml").write_text(LABELS)
    mask = np.zeros((40, 48), dtype=np.uint8)
    mask[:10], mask[10:20], mask[20:25], mask[25:30], mask[30:] = 0, 1, 7, 2, 255
    _write_pair(root, "train", "a", mask)
    _write_pair(root, "train", "aisle3/b", mask, ".jpg")
    _write_pair(root, "val", "c", mask)
    return root


def _prepare(root, capsys) -> tuple[int, str]:
    code = main(["prepare", "--root", str(root), "--workers", "1"])
    lines = capsys.readouterr().err.splitlines()  # without the progress bar's lines
    return code, "\n".join(line for line in lines if line.startswith(("error", "warning")))


def test_a_valid_folder_dataset_merges_values_and_reports_class_shares(root, capsys):
    assert main(["prepare", "--root", str(root), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "train 2, val 1" in out  # counts per split, no official-count check
    assert "floor 33.3%  shelf 50.0%  robot 16.7%" in out  # values 1 and 7 -> shelf
    image, mask = open_dataset(root, "train")[1]  # aisle3/b.jpg
    assert [int(mask[row, 0]) for row in (0, 15, 22, 27, 35)] == [0, 1, 1, 2, 255]


def test_mask_values_outside_the_label_set_are_an_error_naming_file_values_and_count(root, capsys):
    mask = np.zeros((40, 48), dtype=np.uint8)
    mask[:3, :4], mask[3, :2] = 9, 42  # 12 + 2 pixels
    _write_pair(root, "train", "bad", mask)
    code, err = _prepare(root, capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "bad.png: 14 pixels hold values that are not in the label set" in err
    assert "values [9, 42]" in err
    dataset = open_dataset(root, "train")
    index = [pair.key for pair in dataset.pairs].index("bad")
    with pytest.raises(DatasetError, match=r"values \[9, 42\].*on_unknown: warn"):
        dataset[index]  # a hard error, not a silent 255


def test_colours_outside_the_palette_are_an_error(root, capsys):
    text = LABELS.replace("ignore_values: [255]", "ignore_colors: [[0, 0, 0]]\nmask_format: color")
    (root / "labels.yaml").write_text(text)
    for split in ("train", "val"):
        for mask in (root / "masks" / split).rglob("*.png"):
            rgb = np.zeros((40, 48, 3), dtype=np.uint8)
            rgb[:20] = (128, 64, 128)
            rgb[20:, :5] = (1, 2, 3)  # not a class colour
            cv2.imwrite(str(mask), rgb[..., ::-1])
    code, err = _prepare(root, capsys)
    assert code == 2 and "pixels hold colours that are not in the label set" in err
    assert "colours [(1, 2, 3)]" in err


def test_unpaired_files_are_listed(root, capsys):
    (root / "masks" / "train" / "a.png").rename(root / "masks" / "train" / "z.png")
    code, err = _prepare(root, capsys)
    assert code == 2
    assert "1 images have no label" in err and ": a;" in err
    assert "1 labels have no image" in err and "z (" not in err and ": z;" in err


def test_a_mask_of_another_size_is_named(root, capsys):
    cv2.imwrite(str(root / "masks" / "val" / "c.png"), np.zeros((20, 48), dtype=np.uint8))
    code, err = _prepare(root, capsys)
    assert code == 2 and "c.png 48x40 vs c.png 48x20" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (LABELS.replace("shelf", "floor"), "duplicate class names: ['floor']"),
        (LABELS.replace("[70, 70, 70]", "[128, 64, 128]"), "duplicate class colours"),
        (LABELS.replace("values: [1, 7]", "values: [1, 255]"), "duplicate mask values"),
        (
            LABELS.replace("color: [220, 20, 60]", "colour: [220, 20, 60]"),
            "line 4, classes[2].colour: unknown key",
        ),
        (LABELS.replace("[70, 70, 70]", "[70, 70]"), "line 3, classes[1].color: must be [R, G, B]"),
        (LABELS + "mask_format: rgb\n", "line 6, mask_format: 'rgb' is not one of"),
        ("classes: [ {name: a", "line 1 is not valid YAML"),
        ("labels: cityscapes\n", "unknown label preset 'cityscapes'"),
    ],
)
def test_a_malformed_labels_yaml_names_line_and_key(root, capsys, text, message):
    (root / "labels.yaml").write_text(text)
    with pytest.raises(DatasetError, match="labels.yaml"):
        read_label_file(root / "labels.yaml")
    code, err = _prepare(root, capsys)
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_a_missing_labels_yaml_or_split_says_what_to_do(root, capsys):
    (root / "labels.yaml").unlink()
    code, err = _prepare(root, capsys)
    assert code == 2 and "needs a labels.yaml listing its classes" in err
    (root / "labels.yaml").write_text(LABELS)
    args = ["eval", "--data-root", str(root), "--split", "vall"]
    with pytest.raises(
        DatasetError, match=r"split 'vall' is not in .*splits present: 'train', 'val'"
    ):
        open_dataset(root, "vall")
    for path in (root / "images" / "val").iterdir():
        path.unlink()
    code, err = _prepare(root, capsys)
    assert code == 2 and "split 'val'" in err and "holds no images" in err
    del args


def test_training_with_the_wrong_class_count_names_the_fix(root, tmp_path, capsys):
    settings = ["data.dataset=folder", f"data.root={root}", "data.num_workers=0"]
    args = ["train", *[a for s in settings for a in ("--set", s)], "--out-dir", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "model.num_classes=19, but the folder data" in err and "has 3 classes" in err
    assert "set model.num_classes=3" in err
    assert not (tmp_path / "r" / "last.pt").exists()
