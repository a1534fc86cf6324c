"""Label sets as data: decoding and encoding masks, storage, presets, old checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from segmnv3.core.cityscapes_labels import CITYSCAPES, CITYSCAPES_LABELIDS, CITYSCAPES_TRAINIDS
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import (
    label_set_from_mapping,
    presets,
    resolve_labels,
    stored_label_set,
)
from segmnv3.core.label_set import ClassSpec, LabelSet, generic_label_set

WAREHOUSE = LabelSet(
    (
        ClassSpec("floor", (128, 64, 128)),  # value 0 (its index)
        ClassSpec("shelf", (70, 70, 70), (1, 7)),
        ClassSpec("robot", (220, 20, 60), (2,)),
    ),
    ignore_values=(255,),
    name="warehouse",
)


def test_index_masks_map_merged_values_and_ignores_and_count_unknown_values():
    mask = np.array([[0, 1, 7], [2, 255, 9], [9, 9, 42]], dtype=np.uint8)
    train_ids, unknown = WAREHOUSE.to_train_ids(mask, source="m.png")
    assert train_ids.tolist() == [[0, 1, 1], [2, 255, 255], [255, 255, 255]]
    assert unknown == {9: 3, 42: 1}
    line = WAREHOUSE.describe_unknown("m.png", unknown)
    assert line.startswith("m.png: 4 pixels hold values that are not in the label set warehouse")
    assert "values [9, 42]" in line and "classes 0-2, 7, ignore 255" in line


def test_encoding_gives_each_class_its_first_value_and_ignore_its_first_ignore_value():
    train_ids = np.array([[0, 1, 2, 255]], dtype=np.uint8)
    assert WAREHOUSE.from_train_ids(train_ids).tolist() == [[0, 1, 2, 255]]
    back, unknown = WAREHOUSE.to_train_ids(WAREHOUSE.from_train_ids(train_ids), source="x")
    assert np.array_equal(back, train_ids) and unknown == {}
    # Cityscapes: train ids -> label ids, what the test server expects (ignore -> 0)
    assert CITYSCAPES_LABELIDS.from_train_ids(np.array([0, 13, 255])).tolist() == [7, 26, 0]


def test_colour_masks_decode_class_and_ignore_colours_and_report_others():
    labels = LabelSet(
        WAREHOUSE.classes, ignore_colors=((0, 0, 0),), mask_format="color", name="rgb"
    )
    rgb = np.zeros((1, 4, 3), dtype=np.uint8)
    rgb[0, 0], rgb[0, 1], rgb[0, 3] = (70, 70, 70), (220, 20, 60), (1, 2, 3)
    train_ids, unknown = labels.to_train_ids(rgb, source="c.png")
    assert train_ids.tolist() == [[1, 2, 255, 255]] and unknown == {(1, 2, 3): 1}
    encoded = labels.from_train_ids(np.array([[2, 255]], dtype=np.uint8))
    assert encoded.tolist() == [[[220, 20, 60], [0, 0, 0]]]
    with pytest.raises(DatasetError, match="must be an 8-bit RGB PNG"):
        labels.to_train_ids(np.zeros((2, 2), dtype=np.uint8), source="c.png")


@pytest.mark.parametrize(
    ("classes", "ignore", "message"),
    [
        ((ClassSpec("a", (1, 1, 1)), ClassSpec("a", (2, 2, 2))), (), "duplicate class names"),
        ((ClassSpec("a", (1, 1, 1)), ClassSpec("b", (1, 1, 1))), (), "duplicate class colours"),
        (
            (ClassSpec("a", (1, 1, 1), (5,)), ClassSpec("b", (2, 2, 2))),
            (5,),
            "duplicate mask values",
        ),
        ((), (), "classes is empty"),
    ],
)
def test_invalid_label_sets_are_refused(classes, ignore, message):
    with pytest.raises(DatasetError, match=message):
        LabelSet(classes, ignore_values=ignore)


def test_a_label_set_round_trips_through_its_dict_and_fingerprints_its_decoding():
    assert label_set_from_mapping(WAREHOUSE.to_dict(), source="t") == WAREHOUSE
    renamed = label_set_from_mapping({**WAREHOUSE.to_dict(), "name": "other"}, source="t")
    assert renamed.fingerprint() == WAREHOUSE.fingerprint()  # the name is not decoding
    merged = {**WAREHOUSE.to_dict(), "ignore_values": [254]}
    assert label_set_from_mapping(merged, source="t").fingerprint() != WAREHOUSE.fingerprint()


def test_cityscapes_presets_have_the_same_19_classes_and_differ_in_their_values():
    assert set(presets()) == {"cityscapes-labelids", "cityscapes-trainids"}
    assert CITYSCAPES is CITYSCAPES_TRAINIDS
    assert CITYSCAPES_LABELIDS.same_classes(CITYSCAPES_TRAINIDS)
    assert CITYSCAPES_LABELIDS.fingerprint() != CITYSCAPES_TRAINIDS.fingerprint()
    road = np.array([[7]], dtype=np.uint8)
    assert CITYSCAPES_LABELIDS.to_train_ids(road, source="x")[0].item() == 0
    assert CITYSCAPES_TRAINIDS.to_train_ids(road, source="x")[0].item() == 7  # sign
    assert resolve_labels("cityscapes-trainids") is CITYSCAPES_TRAINIDS
    with pytest.raises(DatasetError, match="unknown label preset 'cityscape'"):
        resolve_labels("cityscape")


def test_checkpoints_without_a_stored_label_set_are_cityscapes_when_they_have_19_classes():
    assert stored_label_set({}, 19, source="old.pt") is CITYSCAPES
    seven = stored_label_set({}, 7, source="old.pt")
    assert seven.names == tuple(f"class {i}" for i in range(7))
    assert len({tuple(c) for c in seven.colors.tolist()}) == 7 and (0, 0, 0) not in {
        tuple(c) for c in seven.colors.tolist()
    }
    stored = stored_label_set({"labels": WAREHOUSE.to_dict()}, 3, source="new.pt")
    assert stored == WAREHOUSE
    with pytest.raises(DatasetError, match="has 3 classes but model.num_classes=4"):
        stored_label_set({"labels": WAREHOUSE.to_dict()}, 4, source="bad.pt")


def test_generic_colours_are_distinct_for_every_train_id():
    colours = generic_label_set(255).colors
    assert len({tuple(c) for c in colours.tolist()}) == 255
