"""to_input normalises plane by plane: the same float32 values as the plain formula."""

import cv2
import numpy as np
import pytest

from segmnv3.data.config import DataConfig
from segmnv3.deploy.inference.preprocess import to_input


def plain_to_input(frame_bgr, size, data):
    """The textbook version: resize, BGR -> RGB, (x - mean) / std on HWC, transpose."""
    if size is not None:
        frame_bgr = cv2.resize(frame_bgr, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    rgb = frame_bgr[..., ::-1].astype(np.float32)
    rgb -= np.asarray(data.mean, dtype=np.float32) * 255.0
    rgb /= np.asarray(data.std, dtype=np.float32) * 255.0
    return rgb.transpose(2, 0, 1)[None]


@pytest.mark.parametrize("size", [None, (64, 96), (512, 1024)])
@pytest.mark.parametrize("data", [DataConfig(), DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3)])
def test_to_input_equals_the_plain_formula_bit_for_bit(size, data):
    frame = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    batch = to_input(frame, size, data)
    expected = plain_to_input(frame, size, data)
    assert batch.shape == expected.shape and batch.dtype == np.float32
    assert batch.flags.c_contiguous
    assert np.array_equal(batch, expected)  # exact, not approximately
