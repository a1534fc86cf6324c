"""Writing predictions: masks in the dataset's own stored form, and colour overlays.

Layout under the output folder, for a Cityscapes model::

    labelIds/<city>/<city>_<seq>_<frame>_leftImg8bit.png   # uint8 label ids (not train ids)
    overlay/<city>/<city>_<seq>_<frame>_leftImg8bit.png    # image blended with the colours

``labelIds/`` is what ``CITYSCAPES_RESULTS`` should point at (the official script finds
``<city>_<seq>_<frame>*.png`` recursively and refuses two matches per image, which is why
the overlays live in a separate tree). Zip it for a test-server submission.

For any other label set (a folder dataset)::

    masks/<relative path>/<name>.png     # the dataset's own mask values (or colours)
    overlay/<relative path>/<name>.png   # image blended with the label set's colours
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from segmnv3.core.cityscapes_labels import CITYSCAPES, CITYSCAPES_LABELIDS
from segmnv3.core.errors import UserError
from segmnv3.core.files import atomic_path
from segmnv3.core.label_set import LabelSet
from segmnv3.data.labels import colorize, overlay
from segmnv3.data.layout import Pair

LABEL_IDS_DIR = "labelIds"
MASKS_DIR = "masks"
OVERLAY_DIR = "overlay"


class PredictionWriter:
    """``on_batch`` callback of :func:`segmnv3.engine.evaluator.evaluate` that saves PNGs.

    Args:
        out_dir: output folder (created).
        pairs: the evaluated pairs, in loader order.
        batch_size: the loader's batch size (maps batch index -> pairs).
        labels: the label set of the predictions (the checkpoint's); Cityscapes classes are
            written as label ids (the test-server format), others in the stored form of
            the dataset's masks (its label set: ``encoding``).
        encoding: the label set whose stored values the masks are written in (default:
            ``labels``).
        alpha: weight of the class colours in the overlay.
    """

    def __init__(
        self,
        out_dir: str | Path,
        pairs: Sequence[Pair],
        batch_size: int,
        labels: LabelSet = CITYSCAPES,
        encoding: LabelSet | None = None,
        alpha: float = 0.5,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.pairs = list(pairs)
        self.batch_size = batch_size
        self.labels, self.alpha = labels, alpha
        self.cityscapes = labels.same_classes(CITYSCAPES)
        self.encoding = CITYSCAPES_LABELIDS if self.cityscapes else (encoding or labels)
        self.mask_root = self.out_dir / (LABEL_IDS_DIR if self.cityscapes else MASKS_DIR)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(
                f"prediction folder {out_dir}: cannot create it ({error.strerror}); choose a writable folder"
            ) from None

    def __call__(self, batch_index: int, predictions: torch.Tensor) -> None:
        """Save a (B, H, W) batch of train-id predictions."""
        first = batch_index * self.batch_size
        for offset, prediction in enumerate(predictions.to("cpu", torch.uint8).numpy()):
            self.write(self.pairs[first + offset], prediction)

    def _names(self, pair: Pair) -> tuple[Path, Path]:
        if self.cityscapes:  # <city>/<city>_<seq>_<frame>_leftImg8bit.png
            relative = Path(pair.image.parent.name) / pair.image.name
            return self.out_dir / LABEL_IDS_DIR / relative, self.out_dir / OVERLAY_DIR / relative
        relative = Path(pair.key + ".png")
        return self.out_dir / MASKS_DIR / relative, self.out_dir / OVERLAY_DIR / relative

    def write(self, pair: Pair, prediction: np.ndarray) -> None:
        """Write the mask PNG and the overlay of one (H, W) train-id prediction."""
        mask_path, overlay_path = self._names(pair)
        stored = self.encoding.from_train_ids(prediction)  # (H, W) values or (H, W, 3) RGB
        _write(mask_path, stored[..., ::-1] if stored.ndim == 3 else stored)
        image = cv2.imread(str(pair.image), cv2.IMREAD_COLOR)  # (H, W, 3) BGR
        if image is None:
            blended = colorize(prediction, self.labels)[..., ::-1]  # RGB -> BGR
        else:
            if image.shape[:2] != prediction.shape:
                size = (prediction.shape[1], prediction.shape[0])
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            blended = overlay(image, prediction, self.alpha, self.labels)
        _write(overlay_path, blended)


def _write(path: Path, array: np.ndarray) -> None:
    """Encode ``array`` as a PNG at ``path`` atomically (a crash never leaves half a file)."""
    try:
        with atomic_path(path) as temporary:
            if not cv2.imwrite(str(temporary), np.ascontiguousarray(array)):
                raise OSError("OpenCV could not encode or write the PNG")
    except OSError as error:
        raise UserError(
            f"cannot write {path} ({error}); check the folder is writable and has space"
        ) from None
