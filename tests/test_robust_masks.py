"""Masks as annotation tools write them: palette PNGs (Pascal VOC, CVAT) give their
indices; a phone photo's EXIF orientation pairs its mask with the image as displayed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from segmnv3.cli import main
from segmnv3.core.image_header import exif_orientation, image_header_size
from segmnv3.data.build import open_dataset
from segmnv3.data.decode import read_mask_file

LABELS = """classes:
  - {name: background, color: [0, 0, 0]}
  - {name: cat, color: [128, 0, 0]}
ignore_values: [255]
"""
VOC_PALETTE = [0, 0, 0, 128, 0, 0] + [0] * (3 * 253) + [224, 224, 192]


def _palette_png(path, indices):
    image = Image.fromarray(indices, mode="P")
    image.putpalette(VOC_PALETTE)
    image.save(path)


def _dataset(tmp_path, image: np.ndarray, orientation: int, mask: np.ndarray, *, palette=False):
    """A one-pair (train and val) folder dataset; the image a JPEG with that EXIF tag."""
    root = tmp_path / "data"
    (root).mkdir()
    (root / "labels.yaml").write_text(LABELS)
    for split in ("train", "val"):
        for folder in ("images", "masks"):
            (root / folder / split).mkdir(parents=True)
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(image).save(root / "images" / split / "a.jpg", exif=exif.tobytes())
        if palette:
            _palette_png(root / "masks" / split / "a.png", mask)
        else:
            cv2.imwrite(str(root / "masks" / split / "a.png"), mask)
    return root


def test_palette_index_masks_give_their_indices(tmp_path, capsys):
    mask = np.zeros((32, 48), dtype=np.uint8)
    mask[:, 24:], mask[0, :4] = 1, 255  # palette colours (128, 0, 0) and (224, 224, 192)
    root = _dataset(tmp_path, np.full((32, 48, 3), 90, np.uint8), 1, mask, palette=True)
    assert np.array_equal(read_mask_file(root / "masks/train/a.png"), mask)
    assert main(["prepare", "--root", str(root), "--workers", "1"]) == 0
    # 764 and 768 of the 1532 labelled pixels (the 4 of index 255 are ignored)
    assert "background 49.9%  cat 50.1%" in capsys.readouterr().out


def _phone_photo() -> np.ndarray:
    """Stored 24 high x 40 wide, left quarter white: with orientation 6 (turned 90 degrees
    clockwise) it is shown 40 high x 24 wide with the white band along the top."""
    image = np.zeros((24, 40, 3), dtype=np.uint8)
    image[:, :10] = 255
    return image


def test_an_exif_rotated_photo_pairs_with_a_mask_drawn_on_it_as_displayed(tmp_path, capsys):
    mask = np.zeros((40, 24), dtype=np.uint8)  # drawn on the photo as shown: 24 wide
    mask[:10] = 1  # the white band, at the top as displayed
    root = _dataset(tmp_path, _phone_photo(), 6, mask)
    path = root / "images/train/a.jpg"
    assert (exif_orientation(path), image_header_size(path)) == (6, (40, 24))
    assert main(["prepare", "--root", str(root), "--workers", "1"]) == 0
    dataset = open_dataset(root, "val")
    image, decoded = dataset.read(0)
    assert image.shape[:2] == decoded.shape == (40, 24)
    assert image[:10].mean() > 200 and image[12:].mean() < 50  # the band is where the mask says
    assert np.array_equal(decoded, mask)


def test_a_mask_drawn_on_the_stored_pixels_is_refused_naming_the_exif_rotation(tmp_path, capsys):
    root = _dataset(tmp_path, _phone_photo(), 6, np.zeros((24, 40), dtype=np.uint8))
    assert main(["prepare", "--root", str(root), "--workers", "1"]) == 2
    error = capsys.readouterr().err
    assert "a.jpg 24x40 as displayed (EXIF-rotated) vs a.png 40x24" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_mask_with_its_own_orientation_turns_as_opencv_turns_images(tmp_path, orientation):
    stored = np.arange(6 * 10, dtype=np.uint8).reshape(6, 10)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "m.png", exif=exif.tobytes())
    colour = cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_COLOR)[..., 0]  # OpenCV's turn
    assert np.array_equal(read_mask_file(tmp_path / "m.png"), colour)
