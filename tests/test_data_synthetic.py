"""The synthetic Cityscapes generator: exact layout, consistent labels, determinism, coverage."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from conftest import SYNTHETIC_COUNTS, SYNTHETIC_SIZE

from segmnv3.core.errors import DatasetError
from segmnv3.data.labels import ID_TO_COLOR, NAME_TO_LABEL, label_ids_to_train_ids
from segmnv3.data.synthetic import (
    PRODUCED_LABEL_IDS,
    TRAIN_CLASSES,
    VOID_CLASSES,
    generate_synthetic,
    render_sample,
)

STEM = re.compile(r"^([a-z]+)_\d{6}_\d{6}$")


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_writes_the_cityscapes_layout(synthetic_root, split):
    images = sorted((synthetic_root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png"))
    assert len(images) == SYNTHETIC_COUNTS[f"num_{split}"]
    for image in images:
        stem = image.name.removesuffix("_leftImg8bit.png")
        city = STEM.match(stem).group(1)
        assert image.parent.name == city
        gt = synthetic_root / "gtFine" / split / city
        label_ids = _read(gt / f"{stem}_gtFine_labelIds.png")
        color = _read(gt / f"{stem}_gtFine_color.png")
        instances = _read(gt / f"{stem}_gtFine_instanceIds.png")
        assert _read(image).shape == (*SYNTHETIC_SIZE, 3)
        assert label_ids.shape == SYNTHETIC_SIZE and label_ids.dtype == np.uint8
        assert instances.shape == SYNTHETIC_SIZE and instances.dtype == np.uint16
        assert np.array_equal(color[..., ::-1], ID_TO_COLOR[label_ids])  # official colours, RGB


def test_instance_ids_follow_the_cityscapes_encoding(synthetic_root):
    for label_path in sorted(synthetic_root.glob("gtFine/train/*/*_labelIds.png"))[:4]:
        label_ids = _read(label_path).astype(np.int64)
        instances = _read(str(label_path).replace("labelIds", "instanceIds")).astype(np.int64)
        things = instances >= 1000  # label_id * 1000 + index for person..bicycle
        # License plates (id -1) are skipped as json2labelImg does: never 255 in labelIds,
        # which the official evaluation script would reject as an unknown id.
        assert not (label_ids == 255).any()
        assert np.array_equal(instances[things] // 1000, label_ids[things])
        assert np.array_equal(instances[~things], label_ids[~things])
        assert things.any() and len(np.unique(instances[things])) >= 2


def test_clip_is_a_readable_mp4(synthetic_root):
    capture = cv2.VideoCapture(str(synthetic_root / "clip.mp4"))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 8 and frames[0].shape == (*SYNTHETIC_SIZE, 3)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 3  # the scene moves


def test_deterministic_for_a_seed():
    first = render_sample(5, "val", 3, (64, 128))
    again = render_sample(5, "val", 3, (64, 128))
    other = render_sample(6, "val", 3, (64, 128))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


def test_output_does_not_depend_on_the_number_of_workers(tmp_path):
    one = generate_synthetic(
        tmp_path / "one", num_train=3, num_val=0, num_test=0, size=(64, 128), workers=1, video=False
    )
    two = generate_synthetic(
        tmp_path / "two", num_train=3, num_val=0, num_test=0, size=(64, 128), workers=2, video=False
    )
    files = sorted(p.relative_to(one) for p in one.rglob("*.png"))
    assert len(files) == 12 and files == sorted(p.relative_to(two) for p in two.rglob("*.png"))
    assert all(np.array_equal(_read(one / f), _read(two / f)) for f in files)


def test_every_promised_class_appears_in_a_small_set():
    seen: set[int] = set()
    for index in range(24):
        seen |= set(np.unique(render_sample(0, "train", index, (96, 192))[1]).tolist())
    assert set(PRODUCED_LABEL_IDS) <= seen
    assert len(TRAIN_CLASSES) == 19  # all of Cityscapes' evaluated classes
    train_ids = set(label_ids_to_train_ids(np.array(sorted(seen), dtype=np.uint8)).tolist())
    assert train_ids == set(range(19)) | {255}
    for name in VOID_CLASSES:  # drawn, but never trained on
        assert label_ids_to_train_ids(np.array([NAME_TO_LABEL[name].id]))[0] == 255


def test_class_appearance_varies_so_colour_alone_does_not_decide():
    car = NAME_TO_LABEL["car"].id
    means = []
    for index in range(8):
        image, label_ids, _ = render_sample(0, "train", index, (128, 256))
        means.append(image[label_ids == car].mean(axis=0))
    assert np.std(np.array(means), axis=0).max() > 10  # car paint differs between images


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"size must be \(H, W\) with both >= 32"):
        generate_synthetic(tmp_path, size=(16, 64))
    with pytest.raises(DatasetError, match=r"image counts must be >= 0"):
        generate_synthetic(tmp_path, num_train=-1)
