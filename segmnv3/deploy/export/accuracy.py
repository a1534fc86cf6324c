"""How much an int8 file loses against fp32: argmax agreement and mIoU on a labelled split,
and argmax agreement on unlabelled photographs (real images the synthetic split is not)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.data.config import DataConfig
from segmnv3.deploy.export.parity import agreeing_pixels, finite_labels
from segmnv3.deploy.inference.preprocess import DEFAULT_DATA, to_input
from segmnv3.deploy.runtimes import Predictor

INT8_TARGET = 0.99  # argmax agreement with fp32 that an int8 file should reach


@dataclass
class Int8Report:
    """A lossy file (int8, or fp16 weights) against fp32 on a labelled split."""

    backend: str
    recipe: str
    images: int
    agreement: float
    miou_fp32: float | None  # None: the split's labels are not the model's classes
    miou_int8: float | None
    photos: int = 0
    photo_agreement: float | None = None  # on ``photos`` unlabelled images, if any

    @property
    def miou_delta(self) -> float | None:
        if self.miou_fp32 is None or self.miou_int8 is None:
            return None
        return self.miou_int8 - self.miou_fp32

    def line(self) -> str:
        """One line: agreement, mIoU of both, and a flag below the ``INT8_TARGET``."""
        flag = "" if self.agreement >= INT8_TARGET else f"  (below the {INT8_TARGET:.0%} target)"
        miou = (
            "mIoU not measured (the synthetic images are labelled with Cityscapes' classes, "
            "not this model's: pass --data-root with its own labelled data)"
            if self.miou_delta is None
            else f"mIoU fp32 {100 * self.miou_fp32:.2f} -> {100 * self.miou_int8:.2f} "
            f"(delta {100 * self.miou_delta:+.2f} points)"
        )
        return (
            f"{self.backend} ({self.recipe}): argmax agreement with fp32 "
            f"{100 * self.agreement:.2f}% over {self.images} val image(s); {miou}"
            + (
                f"; agreement {100 * self.photo_agreement:.2f}% on {self.photos} photo(s)"
                if self.photo_agreement is not None
                else ""
            )
            + flag
        )

    def to_dict(self) -> dict:
        return {**self.__dict__, "miou_delta": self.miou_delta}


def evaluate_int8(
    fp32: Predictor,
    int8: Predictor,
    root: Path,
    split: str,
    size: tuple[int, int] | None,
    *,
    limit: int | None = None,
    recipe: str = "",
    data: DataConfig = DEFAULT_DATA,
    photos: Sequence[Path] = (),
    score: bool = True,
) -> Int8Report:
    """Argmax agreement and mIoU of both runtimes on ``split`` (labels at network size), and
    argmax agreement on the unlabelled ``photos`` (none: not measured). ``score=False``:
    the split's labels are not the model's classes, so the mIoU is not computed (None)."""
    import torch

    from segmnv3.core.contract import IGNORE_INDEX
    from segmnv3.data.build import build_dataset, data_config_for_root
    from segmnv3.data.dataset import read_pair_mask
    from segmnv3.data.metrics import ConfusionMatrix
    from segmnv3.deploy.images import read_bgr
    from segmnv3.deploy.inference.preprocess import resize_labels

    dataset = build_dataset(data_config_for_root(root), split)
    pairs = dataset.pairs[:limit]
    classes = dataset.labels.num_classes  # the model's: export checks they agree
    matrices = {
        name: ConfusionMatrix(classes, ignore_index=IGNORE_INDEX) for name in ("fp32", "int8")
    }
    agree = total = 0
    for pair in pairs:
        batch = to_input(read_bgr(pair.image, what="val image"), size, data)
        mask = read_pair_mask(pair)  # (H, W) train ids, IGNORE_INDEX for void
        mask = resize_labels(mask, batch.shape[2:])  # NEAREST keeps IGNORE_INDEX intact
        expected, actual = fp32.logits(batch), int8.logits(batch)  # (1, C, h, w)
        agree += int(agreeing_pixels(expected, actual).sum())  # NaN / inf never agree
        total += mask.size
        for name, logits in (("fp32", expected), ("int8", actual)):
            scored = _scored_labels(logits, mask, classes)
            matrices[name].update(torch.from_numpy(mask), scored)
    fp32_miou, int8_miou = (matrices[k].compute().miou if score else None for k in matrices)
    report = Int8Report(int8.name, recipe, len(pairs), agree / max(total, 1), fp32_miou, int8_miou)
    if photos:
        report.photos = len(photos)
        report.photo_agreement = photo_agreement(fp32, int8, photos, size, data)
    return report


def photo_agreement(
    fp32: Predictor,
    int8: Predictor,
    photos: Sequence[Path],
    size: tuple[int, int] | None,
    data: DataConfig = DEFAULT_DATA,
) -> float:
    """Pixel fraction where both predictors give the same train id, over ``photos``."""
    from segmnv3.deploy.images import read_bgr

    agree = total = 0
    for path in photos:
        batch = to_input(read_bgr(path, what="photo"), size, data)
        agreeing = agreeing_pixels(fp32.logits(batch), int8.logits(batch))  # (1, h, w)
        agree += int(agreeing.sum())
        total += agreeing.size
    return agree / max(total, 1)


def _scored_labels(logits: np.ndarray, mask: np.ndarray, classes: int):
    """(h, w) int64 labels for the confusion matrix; a pixel with NaN or inf logits gets a
    class other than its true one, so it counts as wrong."""
    import torch

    labels = finite_labels(logits)[0].astype(np.int64)
    broken = labels < 0
    labels[broken] = (mask[broken].astype(np.int64) + 1) % classes
    return torch.from_numpy(labels)
