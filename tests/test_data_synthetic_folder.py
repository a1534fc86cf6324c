"""The synthetic scenes as a folder dataset: own 6-class label set, colour / index masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmnv3.core.cityscapes_labels import NAME_TO_LABEL
from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import read_label_file
from segmnv3.data.decode import read_mask_file
from segmnv3.data.layout_folder import FolderLayout
from segmnv3.data.synthetic import render_sample
from segmnv3.data.synthetic_folder import (
    FOLDER_CLASSES,
    generate_synthetic_folder,
    sample_path,
    synthetic_folder_label_set,
)

SIZE = (64, 128)  # (H, W)
COUNTS = {"train": 4, "val": 2}
NAMES = ("road", "sidewalk", "building", "vegetation", "vehicle", "person")


@pytest.fixture(scope="module", params=["color", "index"])
def folder(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"synthetic_folder_{request.param}")
    generate_synthetic_folder(
        root, num_train=4, num_val=2, size=SIZE, seed=3, mask_format=request.param, workers=1
    )
    return root, request.param


def test_labels_yaml_reads_back_to_the_label_set(folder):
    root, mask_format = folder
    labels = read_label_file(root / "labels.yaml")
    assert labels == synthetic_folder_label_set(mask_format)
    assert labels.names == NAMES and labels.mask_format == mask_format
    if mask_format == "index":  # several stored label ids merge into one class
        assert labels.classes[2].values == (11, 12, 13)  # building, wall, fence
        assert labels.classes[4].values == (26, 27, 28, 31, 32, 33)
        assert NAME_TO_LABEL["sky"].id in labels.ignore_values
    else:
        assert labels.ignore_colors == ((0, 0, 0),)


def test_every_file_pairs_in_two_nesting_levels(folder):
    root, _ = folder
    layout = FolderLayout(root)
    assert layout.splits() == ["train", "val"]
    for split, count in COUNTS.items():
        pairs = layout.pairs(split)
        assert len(pairs) == count
        assert len(list((root / "masks" / split).rglob("*.png"))) == count
        for pair in pairs:
            town, street, _ = pair.key.split("/")
            assert pair.image.suffix == ".jpg" and pair.mask.suffix == ".png"
            assert pair.image.parent.name == street and pair.image.parent.parent.name == town
            assert cv2.imread(str(pair.image)).shape == (*SIZE, 3)


def test_masks_decode_to_the_merged_classes_of_the_rendered_scene(folder):
    root, mask_format = folder
    labels = read_label_file(root / "labels.yaml")
    expected_table = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for train_id, (_, _, sources) in enumerate(FOLDER_CLASSES):
        expected_table[[NAME_TO_LABEL[s].id for s in sources]] = train_id
    seen = set()
    for pair in FolderLayout(root).pairs("train"):
        stored = read_mask_file(pair.mask, mask_format)
        train_ids, unknown = labels.to_train_ids(stored, source=pair.mask)
        assert unknown == {}  # every stored value / colour is a class or ignored
        _, label_ids, _ = render_sample(3, "train", _render_index(pair.key), SIZE)
        assert np.array_equal(train_ids, expected_table[label_ids])
        seen |= set(np.unique(train_ids).tolist())
    assert {0, 2, IGNORE_INDEX} <= seen  # road, building and ignored sky in 4 scenes


def _render_index(key: str) -> int:
    """Which rendered train sample a pair key names (pairs are sorted by key)."""
    return next(i for i in range(COUNTS["train"]) if sample_path("train", i) == key)


def test_colour_and_index_variants_decode_to_the_same_train_ids(tmp_path):
    decoded = {}
    for mask_format in ("color", "index"):
        root = generate_synthetic_folder(
            tmp_path / mask_format, num_train=1, num_val=0, size=SIZE, mask_format=mask_format
        )
        labels = read_label_file(root / "labels.yaml")
        (pair,) = FolderLayout(root).pairs("train")
        decoded[mask_format] = labels.to_train_ids(
            read_mask_file(pair.mask, mask_format), source=pair.mask
        )[0]
    assert np.array_equal(decoded["color"], decoded["index"])
    assert len(np.unique(decoded["color"])) >= 3


def test_output_is_a_function_of_seed_split_and_index(tmp_path):
    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    one = generate_synthetic_folder(tmp_path / "a", num_train=2, num_val=1, size=SIZE, workers=1)
    two = generate_synthetic_folder(tmp_path / "b", num_train=2, num_val=1, size=SIZE, workers=2)
    other = generate_synthetic_folder(tmp_path / "c", num_train=2, num_val=1, size=SIZE, seed=1)
    assert files(one) == files(two)
    assert files(one) != files(other)
    assert files(one).keys() == files(other).keys()


def test_a_bad_mask_format_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetError, match=r"mask_format='rgb' is not one of \['color', 'index'\]"):
        generate_synthetic_folder(tmp_path / "x", num_train=1, num_val=0, mask_format="rgb")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("mask_format", ["color", "index"])
def test_synth_command_writes_a_folder_dataset(tmp_path, capsys, mask_format):
    from segmnv3.cli import main

    out = tmp_path / "folder"
    args = ["synth", str(out), "--format", "folder", "--mask-format", mask_format]
    args += ["--num-train", "2", "--num-val", "1", "--size", "64x128", "--no-video"]
    assert main([*args, "--workers", "1"]) == 0
    layout = FolderLayout(out)
    assert layout.splits() == ["train", "val"]  # --num-test defaults to 0 for folders
    assert len(layout.pairs("train")) == 2 and len(layout.pairs("val")) == 1
    assert layout.label_set == synthetic_folder_label_set(mask_format)
    printed = capsys.readouterr().out
    assert f"wrote 3 images (2 train / 1 val / 0 test) at 64x128, {mask_format} masks" in printed
    assert "classes (6, " in printed and ", ".join(NAMES) in printed
