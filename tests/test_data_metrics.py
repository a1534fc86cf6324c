"""mIoU agrees with cityscapesscripts' evalPixelLevelSemanticLabeling; hand-computed cases."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from PIL import Image

from segmnv3.data.metrics import ConfusionMatrix, scores_from_matrix

official = pytest.importorskip("cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling")
from cityscapesscripts.helpers.labels import labels as CS_LABELS  # noqa: E402

TRAIN_LABELS = sorted(
    (lab for lab in CS_LABELS if 0 <= lab.trainId < 255), key=lambda lab: lab.trainId
)
TRAIN_TO_LABEL_ID = np.array([lab.id for lab in TRAIN_LABELS], dtype=np.uint8)
LABEL_TO_TRAIN_ID = np.full(256, 255, dtype=np.uint8)
for _label in CS_LABELS:
    if 0 <= _label.id < 256 and 0 <= _label.trainId < 255:
        LABEL_TO_TRAIN_ID[_label.id] = _label.trainId
IGNORED_LABEL_IDS = [lab.id for lab in CS_LABELS if lab.ignoreInEval and lab.id >= 0]


def test_hand_computed_two_class_example():
    # GT    [0 0 1 255]   pred [0 1 1 0]  -> class 0: TP 1, FP 0, FN 1 -> 1/2
    #                                         class 1: TP 1, FP 1, FN 0 -> 1/2
    # class 2 never appears -> NaN, left out of the mean; ignored pixel counts nowhere.
    matrix = ConfusionMatrix(3)
    matrix.update(torch.tensor([0, 0, 1, 255]), torch.tensor([0, 1, 1, 0]))
    scores = matrix.compute()
    assert scores.iou[:2] == (0.5, 0.5) and math.isnan(scores.iou[2])
    assert scores.miou == 0.5
    assert scores.pixel_accuracy == pytest.approx(2 / 3)
    assert scores.valid_pixels == 3


def test_class_absent_from_ground_truth_but_predicted_counts_as_zero():
    # rows GT, columns prediction; class 2 is absent from GT but predicted once -> IoU 0, counted
    scores = scores_from_matrix(torch.tensor([[2, 0, 1], [0, 1, 0], [0, 0, 0]]))
    assert scores.iou == (pytest.approx(2 / 3), 1.0, 0.0)
    assert scores.miou == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)


def test_labels_outside_range_are_a_clear_error():
    from segmnv3.core.errors import UserError

    with pytest.raises(UserError, match="train ids, not label ids"):
        ConfusionMatrix(19).update(torch.tensor([26]), torch.tensor([0]))


def _synthetic_pair(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """GT label ids (with ignored ids, without 'train'/'bus') and label-id predictions."""
    train_ids = np.array([t for t in range(19) if t not in (15, 16)])  # bus, train absent in GT
    gt_train = rng.choice(train_ids, size=shape)
    gt = TRAIN_TO_LABEL_ID[gt_train]
    ignored = rng.random(shape) < 0.15
    gt[ignored] = rng.choice(IGNORED_LABEL_IDS, size=int(ignored.sum()))
    prediction_train = gt_train.copy()
    wrong = rng.random(shape) < 0.4
    predicted_ids = np.array([t for t in range(19) if t not in (16, 17)])  # 16 never, 17 never
    prediction_train[wrong] = rng.choice(predicted_ids, size=int(wrong.sum()))
    prediction_train[prediction_train == 17] = 0  # GT motorcycle pixels are never found
    return gt.astype(np.uint8), TRAIN_TO_LABEL_ID[prediction_train].astype(np.uint8)


def test_agrees_with_official_cityscapes_script(tmp_path):
    rng = np.random.default_rng(0)
    gt_files, prediction_files = [], []
    matrix = ConfusionMatrix(19)
    for index, shape in enumerate([(64, 128), (48, 96), (80, 160)]):
        gt, prediction = _synthetic_pair(rng, shape)
        stem = f"aachen_{index:06d}_000019"
        gt_files.append(str(tmp_path / f"{stem}_gtFine_labelIds.png"))
        prediction_files.append(str(tmp_path / f"{stem}_pred.png"))
        Image.fromarray(gt).save(gt_files[-1])
        Image.fromarray(prediction).save(prediction_files[-1])
        matrix.update(
            torch.from_numpy(LABEL_TO_TRAIN_ID[gt].astype(np.int64)),
            torch.from_numpy(LABEL_TO_TRAIN_ID[prediction].astype(np.int64)),
        )

    args = copy.copy(official.args)
    args.evalInstLevelScore = False  # needs instanceIds images; does not affect IoU
    args.JSONOutput = False
    args.quiet = True
    reference = official.evaluateImgLists(prediction_files, gt_files, args)

    ours = matrix.compute()
    for label in TRAIN_LABELS:
        expected = reference["classScores"][label.name]
        got = ours.iou[label.trainId]
        if math.isnan(expected):
            assert math.isnan(got), label.name
        else:
            assert got == pytest.approx(expected, abs=1e-4), label.name
    assert math.isnan(ours.iou[16])  # train: absent in GT and never predicted
    assert ours.iou[15] == 0.0  # bus: absent in GT, predicted
    assert ours.iou[17] == 0.0  # motorcycle: in GT, never predicted
    assert ours.miou == pytest.approx(reference["averageScoreClasses"], abs=1e-4)
    assert 0.3 < ours.miou < 0.8  # a non-trivial case: neither all right nor all wrong
