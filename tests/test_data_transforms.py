"""Paired transforms: image and mask stay aligned, masks are never interpolated."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from segmnv3.core.errors import ConfigError
from segmnv3.data.config import DataConfig
from segmnv3.data.transforms import (
    build_eval_transform,
    build_reference_train_transform,
    build_train_transform,
)

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
VALUES = [0, 3, 7, 11, 18, 255]  # mask values used by the block pattern


def _denormalise(image: torch.Tensor) -> np.ndarray:
    return (image.numpy().transpose(1, 2, 0) * STD + MEAN) * 255.0  # (H, W, 3), 0..255


def _encoded_pair(height=96, width=144, block=24, seed=0):
    """Blocks of mask values; the image's red channel encodes each pixel's mask value."""
    rng = np.random.default_rng(seed)
    grid = rng.choice(VALUES, size=(height // block, width // block)).astype(np.uint8)
    mask = np.kron(grid, np.ones((block, block), dtype=np.uint8))
    code = np.where(mask == 255, 240, 20 + 10 * mask.astype(np.int32))  # never 0 (the pad value)
    image = np.stack(
        [code, np.full_like(code, 128), np.linspace(0, 255, width)[None].repeat(height, 0)], -1
    )
    return image.astype(np.uint8), mask


def _decode(red: np.ndarray) -> np.ndarray:
    return np.where(red > 230, 255, np.round((red - 20) / 10)).astype(np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_train_transform_keeps_image_and_mask_aligned(seed):
    cfg = DataConfig(crop_size=(120, 120), scale_range=(0.5, 2.0), hflip=True)
    transform = build_train_transform(cfg)
    image, mask = _encoded_pair(seed=seed)
    for _ in range(8):
        out_image, out_mask = transform(image, mask)
        assert out_image.shape == (3, 120, 120) and out_image.dtype == torch.float32
        assert out_mask.shape == (120, 120) and out_mask.dtype == torch.int64
        assert set(out_mask.unique().tolist()) <= set(VALUES)  # no interpolated values
        red = _denormalise(out_image)[..., 0]
        padded = red < 5  # the image is padded with 0 only outside the source picture
        assert (out_mask[torch.from_numpy(padded)] == 255).all()
        m = out_mask.numpy().astype(np.uint8)
        # away from block borders (where bilinear image interpolation mixes codes) they agree
        kernel = np.ones((5, 5), np.uint8)
        near_pad = cv2.dilate(padded.astype(np.uint8), kernel) > 0  # pad edge: blended image
        interior = (cv2.erode(m, kernel) == cv2.dilate(m, kernel)) & ~near_pad
        interior[:2], interior[-2:], interior[:, :2], interior[:, -2:] = False, False, False, False
        assert interior.sum() > 1000
        assert (_decode(red)[interior] == m[interior]).all()


def test_flip_happens_and_moves_image_and_mask_together():
    cfg = DataConfig(crop_size=(96, 144), scale_range=(1.0, 1.0), hflip=True)
    transform = build_train_transform(cfg)
    image, mask = _encoded_pair()
    seen = set()
    for _ in range(30):
        out_image, out_mask = transform(image, mask)
        flipped = np.array_equal(out_mask.numpy(), mask[:, ::-1])
        assert flipped or np.array_equal(out_mask.numpy(), mask)
        blue = _denormalise(out_image)[..., 2]
        assert (blue[:, 0] > blue[:, -1]).all() == flipped  # the ramp runs the other way
        seen.add(flipped)
    assert seen == {True, False}


def _pairs_repeat(array: np.ndarray) -> bool:
    """Rows come in equal pairs, starting at row 0 or row 1 (the crop's offset may be odd)."""
    return any(
        np.array_equal(
            array[p : len(array) - 1 : 2], array[p + 1 :: 2][: len(array[p : len(array) - 1 : 2])]
        )
        for p in (0, 1)
    )


def test_scale_range_sets_the_content_scale():
    cfg = DataConfig(crop_size=(48, 48), scale_range=(2.0, 2.0), hflip=False)
    image, mask = _encoded_pair(height=48, width=48, block=1, seed=3)
    for _ in range(5):
        _, out_mask = build_train_transform(cfg)(image, mask)
        m = out_mask.numpy()
        assert _pairs_repeat(m) and _pairs_repeat(m.T)  # every source pixel became 2x2
        assert not _pairs_repeat(mask) and not _pairs_repeat(mask.T)


def test_photometric_jitter_changes_the_image_not_the_mask():
    plain = DataConfig(crop_size=(96, 144), scale_range=(1.0, 1.0), hflip=False)
    jitter = DataConfig(
        crop_size=(96, 144),
        scale_range=(1.0, 1.0),
        hflip=False,
        photometric=True,
        color_jitter=(0.5, 0.5, 0.5, 0.1),
    )
    image, mask = _encoded_pair()
    base_image, base_mask = build_train_transform(plain)(image, mask)
    transform = build_train_transform(jitter)
    outputs = [transform(image, mask) for _ in range(10)]
    assert all(torch.equal(m, base_mask) for _, m in outputs)
    assert any((o - base_image).abs().max() > 0.1 for o, _ in outputs)


def test_eval_transform_normalises_at_full_resolution():
    image, mask = _encoded_pair()
    out_image, out_mask = build_eval_transform(DataConfig())(image, mask)
    expected = (image / 255.0 - MEAN) / STD
    assert np.abs(out_image.numpy().transpose(1, 2, 0) - expected).max() < 1e-5
    assert np.array_equal(out_mask.numpy(), mask)


def test_eval_resize_keeps_full_resolution_mask_unless_asked():
    image, mask = _encoded_pair()
    out_image, out_mask = build_eval_transform(DataConfig(eval_size=(48, 72)))(image, mask)
    assert out_image.shape == (3, 48, 72) and out_mask.shape == (96, 144)
    both = DataConfig(eval_size=(48, 72), eval_resize_mask=True)
    out_image, out_mask = build_eval_transform(both)(image, mask)
    assert out_mask.shape == (48, 72) and set(out_mask.unique().tolist()) <= set(VALUES)


def test_bad_crop_size_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data.crop_size must be \[H, W\]"):
        build_train_transform(DataConfig(crop_size=(769,)))
    with pytest.raises(ConfigError, match=r"data.scale_range must satisfy 0 < low <= high"):
        build_train_transform(DataConfig(scale_range=(2.0, 0.5)))


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_one_warp_matches_the_textbook_albumentations_chain(scale):
    # With a fixed scale and a crop covering the whole scaled frame (plus padding), nothing
    # is random: the warp must reproduce RandomScale -> PadIfNeeded -> RandomCrop.
    image, mask = _encoded_pair(height=48, width=72, block=12, seed=1)
    crop = (int(48 * scale) + 8, int(72 * scale) + 8)
    cfg = DataConfig(crop_size=crop, scale_range=(scale, scale), hflip=False)
    fast_image, fast_mask = build_train_transform(cfg)(image, mask)
    ref_image, ref_mask = build_reference_train_transform(cfg)(image, mask)
    assert torch.equal(fast_mask[-8:], ref_mask[-8:]) and (fast_mask[-8:] == 255).all()
    assert (
        fast_mask != ref_mask
    ).float().mean() < 0.03  # nearest may round a border row differently
    assert (_denormalise(fast_image) - _denormalise(ref_image)).__abs__().mean() < 2.0


def test_seeded_pipeline_repeats_exactly():
    # The trainer seeds each sample (resumable runs replay the same crops and flips).
    transform = build_train_transform(DataConfig(crop_size=(64, 64), photometric=True))
    image, mask = _encoded_pair()
    outputs = []
    for seed in (5, 5, 6):
        transform.seed(seed)
        outputs.append(transform(image, mask))
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
    assert not torch.equal(outputs[0][0], outputs[2][0])
