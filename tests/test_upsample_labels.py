"""labels_from_logits equals torch's bilinear upsample + argmax, without the upsampled logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segmnv3.core.errors import NonFiniteError
from segmnv3.deploy.inference.upsample_labels import labels_from_logits, source_coordinates

FIXTURES = Path(__file__).parent / "fixtures"
TIE = 1e-4  # a top-2 gap under this (logits of order 1-10) is a tie within float32 rounding

# (low-resolution h, w) -> (H, W): x8, odd sizes, non-integer scales up and down, 1-pixel edges
SIZES = [
    ((8, 16), (64, 128)),
    ((13, 21), (101, 173)),
    ((7, 9), (50, 31)),
    ((9, 13), (9, 13)),
    ((16, 24), (11, 7)),
    ((1, 5), (3, 17)),
    ((6, 1), (17, 1)),
]


def reference(logits: np.ndarray, size, align_corners: bool) -> tuple[np.ndarray, np.ndarray]:
    """torch's labels and, per pixel, the gap between its two largest upsampled logits."""
    up = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(logits))[None],
        size=size,
        mode="bilinear",
        align_corners=align_corners,
    )[0]  # (C, H, W)
    top2 = up.topk(2, dim=0).values if up.shape[0] > 1 else torch.cat([up, up - 1])
    return up.argmax(0).to(torch.uint8).numpy(), (top2[0] - top2[1]).numpy()


def check_equal(logits: np.ndarray, size, align_corners: bool) -> None:
    expected, gap = reference(logits, size, align_corners)
    labels = labels_from_logits(logits, size, align_corners=align_corners)
    assert labels.shape == tuple(size) and labels.dtype == np.uint8
    clear = gap > TIE
    assert np.array_equal(labels[clear], expected[clear]), "a pixel without a tie differs"
    assert (labels == expected).mean() >= 0.99999


def smooth_logits(rng: np.random.Generator, channels: int, size, scale: float) -> np.ndarray:
    coarse = torch.from_numpy(rng.standard_normal((1, channels, 3, 4), dtype=np.float32))
    return (scale * F.interpolate(coarse, size=size, mode="bicubic")[0]).numpy()


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize(("low", "size"), SIZES)
def test_random_logits(low, size, align_corners):
    rng = np.random.default_rng(low[0] * 100 + size[1])
    check_equal(rng.standard_normal((19, *low), dtype=np.float32), size, align_corners)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize(("low", "size"), SIZES)
def test_smooth_logits(low, size, align_corners):
    rng = np.random.default_rng(size[0])
    check_equal(smooth_logits(rng, 19, low, 6.0), size, align_corners)


@pytest.mark.parametrize("align_corners", [False, True])
def test_trained_logits(align_corners):
    """Logits of a trained model: ``fixtures/trained_logits.npz`` holds the (19, 32, 64)
    ``head_logits`` (float16) of two val frames at 256x512 from the default demo's model
    (``segmnv3 demo``: V3-Small, 300 iterations, val mIoU 29%), where 27% of the cells
    have corners that disagree."""
    logits = np.load(FIXTURES / "trained_logits.npz")["logits"].astype(np.float32)
    assert logits.shape == (2, 19, 32, 64)
    for frame in logits:
        for size in [(256, 512), (720, 1280), (97, 203)]:
            check_equal(frame, size, align_corners)


def test_x8_at_a_frame_size_many_boundaries():
    """Row 8's case: 64x128 logits to a 512x1024 and a non-x8 720x1280 frame."""
    rng = np.random.default_rng(3)
    logits = smooth_logits(rng, 19, (64, 128), 6.0) + 0.5 * rng.standard_normal(
        (19, 64, 128), dtype=np.float32
    )
    for size in [(512, 1024), (720, 1280)]:
        check_equal(logits, size, False)


def test_an_nhwc_buffer_is_read_as_it_lies():
    """The runtimes' NHWC logits seen as (C, h, w): the same labels as a contiguous copy."""
    rng = np.random.default_rng(4)
    nhwc = rng.standard_normal((12, 20, 7), dtype=np.float32)  # (h, w, C)
    chw = nhwc.transpose(2, 0, 1)
    assert not chw.flags.c_contiguous
    expected = labels_from_logits(np.ascontiguousarray(chw), (50, 77))
    assert np.array_equal(labels_from_logits(chw, (50, 77)), expected)
    check_equal(chw, (50, 77), False)


def test_a_hand_computed_boundary():
    """Two classes, class 1 ahead by 1 on the left column, behind by 1 on the right: x2
    (align_corners False) samples x = 0 (clamped), 0.25, 0.75, 1 -> margins 1, 0.5, -0.5, -1."""
    margin = np.array([[1.0, -1.0], [1.0, -1.0]], dtype=np.float32)
    logits = np.stack([np.zeros_like(margin), margin])  # (2, 2, 2)
    expected = np.array([[1, 1, 0, 0]] * 4, dtype=np.uint8)
    assert np.array_equal(labels_from_logits(logits, (4, 4)), expected)
    # align_corners True: x = 0, 1/3, 2/3, 1 -> margins 1, 1/3, -1/3, -1
    assert np.array_equal(labels_from_logits(logits, (4, 4), align_corners=True), expected)


def test_ties_go_to_the_first_channel_as_torch():
    logits = np.zeros((5, 3, 4), dtype=np.float32)
    logits[3, 0, 0] = logits[1, 0, 0] = 2.0  # a tie between 1 and 3 at one corner
    labels = labels_from_logits(logits, (9, 11))
    assert np.array_equal(labels, reference(logits, (9, 11), False)[0])
    assert labels[0, 0] == 1 and labels[-1, -1] == 0


def test_source_coordinates_are_torchs():
    """The sampling positions reproduce torch's bilinear weights exactly (float32)."""
    for in_size, out_size, align_corners in [(8, 64, False), (13, 101, True), (7, 3, False)]:
        index0, index1, weight1 = source_coordinates(in_size, out_size, align_corners)
        ramp = torch.arange(in_size, dtype=torch.float32).reshape(1, 1, 1, in_size)
        up = F.interpolate(ramp, size=(1, out_size), mode="bilinear", align_corners=align_corners)
        mixed = (1 - weight1) * index0 + weight1 * index1
        np.testing.assert_allclose(mixed, up.reshape(-1).numpy(), rtol=0, atol=1e-5)
        assert (index1 - index0 <= 1).all() and (index1 < in_size).all()


@pytest.mark.parametrize(
    ("shape", "size"), [((19, 8), (4, 4)), ((0, 4, 4), (8, 8)), ((300, 2, 2), (4, 4))]
)
def test_bad_logits_raise(shape, size):
    with pytest.raises(ValueError, match=r"\(C, h, w\)"):
        labels_from_logits(np.zeros(shape, np.float32), size)


def test_bad_size_raises():
    with pytest.raises(ValueError, match="output size"):
        labels_from_logits(np.zeros((3, 4, 4), np.float32), (0, 8))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_logits_raise(bad):
    logits = np.zeros((3, 4, 5), np.float32)
    logits[2, 3, 4] = bad
    with pytest.raises(NonFiniteError, match="hold NaN or inf"):
        labels_from_logits(logits, (8, 10))
