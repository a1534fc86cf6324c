"""The label tables must equal the official cityscapesscripts definitions."""

from __future__ import annotations

import numpy as np
import pytest

from segmnv3.data import labels as ours

official = pytest.importorskip("cityscapesscripts.helpers.labels")


def _expected_train_id(label) -> int:
    return label.trainId if 0 <= label.trainId < 19 else 255


@pytest.mark.parametrize("label", official.labels, ids=lambda label: label.name)
def test_every_official_id_maps_to_its_train_id(label):
    expected = _expected_train_id(label)
    assert ours.label_ids_to_train_ids(np.array([label.id], dtype=np.int64))[0] == expected
    # In a uint8 labelIds PNG, id -1 (license plate) is stored as 255.
    assert ours.label_ids_to_train_ids(np.array([label.id % 256], dtype=np.uint8))[0] == expected


def test_void_ids_map_to_ignore():
    for name in (
        "unlabeled",
        "ego vehicle",
        "rectification border",
        "out of roi",
        "static",
        "dynamic",
        "ground",
        "parking",
        "rail track",
        "guard rail",
        "bridge",
        "tunnel",
        "polegroup",
        "caravan",
        "trailer",
        "license plate",
    ):
        label_id = official.name2label[name].id
        assert ours.label_ids_to_train_ids(np.array([label_id]))[0] == ours.IGNORE_INDEX, name


def test_ids_outside_the_table_map_to_ignore():
    unknown = np.arange(34, 255, dtype=np.uint8)
    assert (ours.label_ids_to_train_ids(unknown) == 255).all()


def test_table_rows_equal_official_rows():
    mine = {(lb.name, lb.id, lb.train_id, lb.color) for lb in ours.LABELS}
    theirs = {(lb.name, lb.id, lb.trainId, lb.color) for lb in official.labels}
    assert mine == theirs


def test_class_names_and_palette_are_the_official_19():
    train_labels = [official.trainId2label[t] for t in range(19)]
    for labels in (ours.CITYSCAPES, ours.CITYSCAPES_LABELIDS, ours.CITYSCAPES_TRAINIDS):
        assert labels.num_classes == 19 and ours.IGNORE_INDEX == 255
        assert list(labels.names) == [lb.name for lb in train_labels]
        assert labels.colors.dtype == np.uint8 and labels.colors.shape == (19, 3)
        assert labels.colors.tolist() == [list(lb.color) for lb in train_labels]
    assert ours.CITYSCAPES.colors[0].tolist() == [128, 64, 128]  # road
    assert ours.CITYSCAPES.colors[13].tolist() == [0, 0, 142]  # car


def test_train_ids_map_back_to_official_label_ids():
    train_ids = np.arange(19, dtype=np.uint8)
    expected = [official.trainId2label[t].id for t in range(19)]
    assert ours.train_ids_to_label_ids(train_ids).tolist() == expected
    assert ours.train_ids_to_label_ids(np.array([255], dtype=np.uint8))[0] == 0  # "unlabeled"
    mask = np.random.default_rng(0).integers(0, 19, (7, 9)).astype(np.uint8)
    assert (ours.label_ids_to_train_ids(ours.train_ids_to_label_ids(mask)) == mask).all()


def test_colorize_uses_official_colours():
    mask = np.array([[0, 13], [255, 10]], dtype=np.uint8)
    rgb = ours.colorize(mask)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [128, 64, 128] and rgb[0, 1].tolist() == [0, 0, 142]
    assert rgb[1, 0].tolist() == [0, 0, 0] and rgb[1, 1].tolist() == [70, 130, 180]
    by_id = ours.ID_TO_COLOR[np.array([[5, 22]], dtype=np.uint8)]
    assert by_id.tolist() == [[list(official.id2label[5].color), list(official.id2label[22].color)]]


def test_out_of_range_ids_raise_a_clear_error():
    with pytest.raises(ValueError, match="instanceIds"):
        ours.label_ids_to_train_ids(np.array([26001]))
    with pytest.raises(ValueError, match="integer array"):
        ours.label_ids_to_train_ids(np.array([1.5]))


def test_overlay_blends_official_colours_and_leaves_ignore_black():
    from segmnv3.data.labels import CITYSCAPES, overlay

    PALETTE = CITYSCAPES.colors
    image = np.full((2, 3, 3), 200, dtype=np.uint8)  # BGR
    mask = np.array([[0, 13, 255], [18, 0, 0]], dtype=np.uint8)
    full = overlay(image, mask, alpha=1.0)
    assert np.array_equal(full[0, 1], PALETTE[13][::-1])  # car, in BGR
    assert np.array_equal(full[0, 2], [0, 0, 0])  # ignore is not painted as a class
    assert np.array_equal(overlay(image, mask, alpha=0.0), image)
