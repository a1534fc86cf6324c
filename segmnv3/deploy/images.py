"""Images for calibration, parity and agreement: a dataset root (Cityscapes or folder), or a
synthetic one."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from segmnv3.core.errors import UserError
from segmnv3.core.image_header import check_image_file
from segmnv3.core.quiet import native_stderr_filtered


def dataset_images(root: Path, split: str, limit: int) -> list[Path]:
    """The first ``limit`` image files of a split (any layout: ``data.build``)."""
    from segmnv3.data.build import image_paths

    return image_paths(root, split)[:limit]


def check_model_fits_data(model, root: Path) -> None:
    """DatasetError when the data at ``root`` has other classes than ``model.labels``."""
    from segmnv3.data.build import check_label_sets_match, data_config_for_root, label_set_of

    data_labels = label_set_of(data_config_for_root(root))
    check_label_sets_match(model.labels, data_labels, model_source=model.name, data_root=str(root))


def synthetic_root(stack: ExitStack, size: tuple[int, int], train: int, val: int) -> Path:
    """A throw-away synthetic Cityscapes (deleted when ``stack`` closes)."""
    from segmnv3.data.synthetic import generate_synthetic

    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="segmnv3-export-")))
    print(f"no data root given: generating {train} train / {val} val synthetic images at {size}")
    return generate_synthetic(
        root, num_train=train, num_val=val, num_test=0, size=size, video=False, workers=1
    )


def read_bgr(path: Path, *, what: str = "image"):
    """The BGR uint8 image at ``path`` (H, W, 3); UserError naming it if it cannot be read."""
    import cv2

    check_image_file(path, what)  # no FIFO, no pixel bomb
    try:
        with native_stderr_filtered():  # libpng's own "libpng error: ..." line
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        raise UserError(
            f"cannot read {what} {path} (corrupt or not an image); replace or remove it"
        )
    return image
