"""Writing predictions: label-id PNGs for the Cityscapes server and colour overlays.

Layout under the output folder::

    labelIds/<city>/<city>_<seq>_<frame>_leftImg8bit.png   # uint8 label ids (not train ids)
    overlay/<city>/<city>_<seq>_<frame>_leftImg8bit.png    # image blended with the colours

``labelIds/`` is what ``CITYSCAPES_RESULTS`` should point at (the official script finds
``<city>_<seq>_<frame>*.png`` recursively and refuses two matches per image, which is why
the overlays live in a separate tree). Zip it for a test-server submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from segmnv3.core.errors import UserError
from segmnv3.core.files import atomic_path
from segmnv3.data.labels import colorize, overlay, train_ids_to_label_ids

LABEL_IDS_DIR = "labelIds"
OVERLAY_DIR = "overlay"


class PredictionWriter:
    """``on_batch`` callback of :func:`segmnv3.engine.evaluator.evaluate` that saves PNGs.

    Args:
        out_dir: output folder (created).
        image_paths: the evaluated images, in loader order.
        batch_size: the loader's batch size (maps batch index -> image paths).
        alpha: weight of the class colours in the overlay.
    """

    def __init__(
        self,
        out_dir: str | Path,
        image_paths: Sequence[Path],
        batch_size: int,
        alpha: float = 0.5,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.image_paths = [Path(p) for p in image_paths]
        self.batch_size = batch_size
        self.alpha = alpha
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
            self.write(self.image_paths[first + offset], prediction)

    def write(self, image_path: Path, prediction: np.ndarray) -> None:
        """Write the label-id PNG and the overlay of one (H, W) train-id prediction."""
        city = image_path.parent.name
        name = image_path.name  # <city>_<seq>_<frame>_leftImg8bit.png
        label_ids = train_ids_to_label_ids(prediction)  # (H, W) uint8
        _write(self.out_dir / LABEL_IDS_DIR / city / name, label_ids)
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)  # (H, W, 3) BGR
        if image is None:
            blended = colorize(prediction)[..., ::-1]  # RGB -> BGR
        else:
            if image.shape[:2] != prediction.shape:
                size = (prediction.shape[1], prediction.shape[0])
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            blended = overlay(image, prediction, self.alpha)
        _write(self.out_dir / OVERLAY_DIR / city / name, blended)


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
