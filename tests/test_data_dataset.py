"""The Cityscapes layout: reading the synthetic set, and one clear error per bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import SYNTHETIC_COUNTS, SYNTHETIC_SIZE

from segmnv3.core.errors import DatasetError
from segmnv3.data.build import open_dataset
from segmnv3.data.labels import label_ids_to_train_ids


@pytest.fixture
def copy_root(synthetic_root: Path, tmp_path: Path) -> Path:
    """A private, modifiable copy of the session's synthetic set (PNG folders only)."""
    root = tmp_path / "cityscapes"
    for folder in ("leftImg8bit", "gtFine"):
        shutil.copytree(synthetic_root / folder, root / folder)
    return root


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_reads_every_split_with_shapes_dtypes_and_values(synthetic_root, split):
    dataset = open_dataset(synthetic_root, split)
    assert len(dataset) == SYNTHETIC_COUNTS[f"num_{split}"]
    image, mask = dataset[0]
    assert image.shape == (3, *SYNTHETIC_SIZE) and image.dtype == torch.float32
    assert mask.shape == SYNTHETIC_SIZE and mask.dtype == torch.int64
    values = set(torch.cat([dataset[i][1].unique() for i in range(len(dataset))]).tolist())
    assert values <= set(range(19)) | {255}
    assert len(values - {255}) >= 8  # a street scene, not one flat class
    assert -3.0 < image.min() < 0 < image.max() < 3.0  # ImageNet-normalised, not 0..255


def test_mask_is_the_official_mapping_of_the_label_png(synthetic_root):
    dataset = open_dataset(synthetic_root, "val")
    label_ids = cv2.imread(str(dataset.label_paths[1]), cv2.IMREAD_UNCHANGED)
    expected = label_ids_to_train_ids(label_ids)
    assert np.array_equal(dataset[1][1].numpy(), expected)
    image = cv2.imread(str(dataset.image_paths[1]))[..., ::-1] / 255.0
    restored = dataset[1][0].numpy().transpose(1, 2, 0) * [0.229, 0.224, 0.225] + [
        0.485,
        0.456,
        0.406,
    ]
    assert np.abs(restored - image).max() < 1e-4  # RGB order, full resolution


def test_paths_pair_up_and_city_filter(synthetic_root):
    dataset = open_dataset(synthetic_root, "train", cities=["polyburg"])
    assert len(dataset) == 3  # 8 images spread over 3 train cities
    for image, label in zip(dataset.image_paths, dataset.label_paths, strict=True):
        assert image.parent.name == label.parent.name == "polyburg"
        assert image.name.replace("_leftImg8bit.png", "") == label.name.replace(
            "_gtFine_labelIds.png", ""
        )


def test_prefers_label_train_ids_when_present(copy_root):
    dataset = open_dataset(copy_root, "val")
    label = dataset.label_paths[0]
    train_ids = np.full(SYNTHETIC_SIZE, 7, dtype=np.uint8)
    cv2.imwrite(str(label.with_name(label.name.replace("labelIds", "labelTrainIds"))), train_ids)
    dataset = open_dataset(copy_root, "val")
    assert dataset.label_paths[0].name.endswith("_gtFine_labelTrainIds.png")
    assert (dataset[0][1] == 7).all()


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset root .*nowhere does not exist.*segmnv3 synth"):
        open_dataset(tmp_path / "nowhere", "train")


def test_missing_split(copy_root):
    shutil.rmtree(copy_root / "gtFine" / "val")
    with pytest.raises(DatasetError, match=r"gtFine/val is missing"):
        open_dataset(copy_root, "val")


def test_empty_split(copy_root):
    for image in (copy_root / "leftImg8bit" / "test").rglob("*.png"):
        image.unlink()
    with pytest.raises(DatasetError, match=r"split 'test' .* holds no \*_leftImg8bit.png images"):
        open_dataset(copy_root, "test")


def test_images_without_labels_are_counted_and_named(copy_root):
    labels = sorted((copy_root / "gtFine" / "train").rglob("*_labelIds.png"))[:5]
    for label in labels:
        label.unlink()
    with pytest.raises(DatasetError, match=r"5 images have no label .*\(and 2 more\)") as info:
        open_dataset(copy_root, "train")
    assert labels[0].name.replace("_gtFine_labelIds.png", "") in str(info.value)


def test_labels_without_images_are_counted_and_named(copy_root):
    image = sorted((copy_root / "leftImg8bit" / "val").rglob("*.png"))[0]
    image.unlink()
    stem = image.name.replace("_leftImg8bit.png", "")
    with pytest.raises(DatasetError, match=rf"1 labels have no image .*{stem}"):
        open_dataset(copy_root, "val")


def test_image_label_size_mismatch(copy_root):
    label = sorted((copy_root / "gtFine" / "val").rglob("*_labelIds.png"))[2]
    cv2.imwrite(str(label), np.zeros((64, 128), dtype=np.uint8))
    with pytest.raises(
        DatasetError, match=r"1 image/label pairs differ in size: .*256x128 vs .*128x64"
    ):
        open_dataset(copy_root, "val")


def test_file_that_is_not_a_png(copy_root):
    image = sorted((copy_root / "leftImg8bit" / "val").rglob("*.png"))[1]
    image.write_bytes(b"this is not an image")
    with pytest.raises(DatasetError, match=rf"{image.name} is not a valid PNG"):
        open_dataset(copy_root, "val")


def test_truncated_png_is_named_when_read(copy_root):
    image = sorted((copy_root / "leftImg8bit" / "val").rglob("*.png"))[0]
    image.write_bytes(image.read_bytes()[:200])  # the header survives, the pixels do not
    dataset = open_dataset(copy_root, "val")
    with pytest.raises(DatasetError, match=rf"cannot decode image .*{image.name}"):
        dataset[0]


def test_colour_png_given_as_label_is_refused(copy_root):
    label = sorted((copy_root / "gtFine" / "val").rglob("*_labelIds.png"))[0]
    shutil.copy(label.with_name(label.name.replace("labelIds", "color")), label)
    with pytest.raises(DatasetError, match=r"single-channel 8-bit PNG.*_color or _instanceIds"):
        open_dataset(copy_root, "val")[0]


def test_unknown_city(synthetic_root):
    with pytest.raises(
        DatasetError, match=r"unknown cities \['atlantis'\].*available: \['polyburg'"
    ):
        open_dataset(synthetic_root, "train", cities=["atlantis"])
