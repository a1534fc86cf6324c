"""The official Cityscapes label table and the two label sets built from it.

The table is the one of ``cityscapesscripts.helpers.labels`` (a test compares it row by
row); it is copied here so that inference needs no extra package. Label ids live in
``*_gtFine_labelIds.png`` (uint8): ``CITYSCAPES_LABELIDS`` decodes them to the 19 train
ids, every other id (void ids such as "ego vehicle", and "license plate", id -1, which a
uint8 image holds as 255) is ignored. ``CITYSCAPES_TRAINIDS`` decodes masks that already
hold train ids (``*_labelTrainIds.png``, BDD100K ``sem_seg`` masks). Both have the same
classes, so a model trained on either is "Cityscapes".
"""

from __future__ import annotations

from typing import NamedTuple

from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.label_set import ClassSpec, LabelSet


class Label(NamedTuple):
    name: str
    id: int  # value in *_labelIds.png
    train_id: int  # 0..18, or 255 / -1 for classes that are not trained on
    color: tuple[int, int, int]  # RGB, as in *_color.png


LABELS: tuple[Label, ...] = (
    Label("unlabeled", 0, 255, (0, 0, 0)),
    Label("ego vehicle", 1, 255, (0, 0, 0)),
    Label("rectification border", 2, 255, (0, 0, 0)),
    Label("out of roi", 3, 255, (0, 0, 0)),
    Label("static", 4, 255, (0, 0, 0)),
    Label("dynamic", 5, 255, (111, 74, 0)),
    Label("ground", 6, 255, (81, 0, 81)),
    Label("road", 7, 0, (128, 64, 128)),
    Label("sidewalk", 8, 1, (244, 35, 232)),
    Label("parking", 9, 255, (250, 170, 160)),
    Label("rail track", 10, 255, (230, 150, 140)),
    Label("building", 11, 2, (70, 70, 70)),
    Label("wall", 12, 3, (102, 102, 156)),
    Label("fence", 13, 4, (190, 153, 153)),
    Label("guard rail", 14, 255, (180, 165, 180)),
    Label("bridge", 15, 255, (150, 100, 100)),
    Label("tunnel", 16, 255, (150, 120, 90)),
    Label("pole", 17, 5, (153, 153, 153)),
    Label("polegroup", 18, 255, (153, 153, 153)),
    Label("traffic light", 19, 6, (250, 170, 30)),
    Label("traffic sign", 20, 7, (220, 220, 0)),
    Label("vegetation", 21, 8, (107, 142, 35)),
    Label("terrain", 22, 9, (152, 251, 152)),
    Label("sky", 23, 10, (70, 130, 180)),
    Label("person", 24, 11, (220, 20, 60)),
    Label("rider", 25, 12, (255, 0, 0)),
    Label("car", 26, 13, (0, 0, 142)),
    Label("truck", 27, 14, (0, 0, 70)),
    Label("bus", 28, 15, (0, 60, 100)),
    Label("caravan", 29, 255, (0, 0, 90)),
    Label("trailer", 30, 255, (0, 0, 110)),
    Label("train", 31, 16, (0, 80, 100)),
    Label("motorcycle", 32, 17, (0, 0, 230)),
    Label("bicycle", 33, 18, (119, 11, 32)),
    Label("license plate", -1, -1, (0, 0, 142)),
)

NAME_TO_LABEL: dict[str, Label] = {label.name: label for label in LABELS}
TRAIN_LABELS: tuple[Label, ...] = tuple(
    sorted((lb for lb in LABELS if 0 <= lb.train_id < 255), key=lambda lb: lb.train_id)
)


def _label_ids_set() -> LabelSet:
    trained = {lb.id % 256 for lb in TRAIN_LABELS}
    void = sorted({lb.id % 256 for lb in LABELS} - trained)
    return LabelSet(
        tuple(ClassSpec(lb.name, lb.color, (lb.id,)) for lb in TRAIN_LABELS),
        ignore_values=tuple(void),
        on_unknown="warn",
        name="cityscapes-labelids",
    )


def _train_ids_set() -> LabelSet:
    return LabelSet(
        tuple(ClassSpec(lb.name, lb.color, (lb.train_id,)) for lb in TRAIN_LABELS),
        ignore_values=(IGNORE_INDEX,),
        on_unknown="warn",
        name="cityscapes-trainids",
    )


CITYSCAPES_LABELIDS = _label_ids_set()
"""Cityscapes ``*_gtFine_labelIds.png`` (and KITTI semantic): label ids -> 19 train ids."""
CITYSCAPES_TRAINIDS = _train_ids_set()
"""Masks holding the 19 train ids and 255 (``*_labelTrainIds.png``, BDD100K)."""
CITYSCAPES = CITYSCAPES_TRAINIDS
"""What a Cityscapes model predicts; checkpoints without a stored label set are this."""
