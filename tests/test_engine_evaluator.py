"""Test-time augmentation (flip, scales) and the evaluation loop on tiny fixed models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segmnv3.engine.evaluator import evaluate, predict_probabilities


def _shift_model() -> nn.Module:
    """Logits of class c at pixel x = input at x - 1 (not flip-equivariant), 3 classes."""
    model = nn.Conv2d(3, 3, kernel_size=(1, 3), padding=(0, 1), bias=False)
    with torch.no_grad():
        model.weight.zero_()
        model.weight[:, :, 0, 0] = torch.eye(3)  # reads the left neighbour
    return model.eval()


def test_flip_averages_the_mirrored_pass():
    model = _shift_model()
    images = torch.randn(2, 3, 32, 40)
    plain = model(images).softmax(1)
    mirrored = model(images.flip(-1)).flip(-1).softmax(1)
    got = predict_probabilities(model, images, flip=True)
    assert torch.allclose(got, (plain + mirrored) / 2, atol=1e-6)
    assert not torch.allclose(plain, mirrored, atol=1e-3)  # the case is not trivial


def test_scales_resize_input_and_upsample_logits_to_the_input_size():
    model = nn.Conv2d(3, 3, 1).eval()  # pointwise: commutes with bilinear resizing
    images = torch.rand(1, 3, 64, 96)
    got = predict_probabilities(model, images, scales=(0.5, 1.0))
    assert got.shape == (1, 3, 64, 96)
    assert torch.allclose(got.sum(1), torch.ones(1, 64, 96), atol=1e-5)
    half = nn.functional.interpolate(images, size=(32, 48), mode="bilinear", align_corners=False)
    low = nn.functional.interpolate(
        model(half), size=(64, 96), mode="bilinear", align_corners=False
    )
    expected = (low.softmax(1) + model(images).softmax(1)) / 2
    assert torch.allclose(got, expected, atol=1e-5)


def test_evaluate_counts_a_perfect_model_as_miou_one():
    class Oracle(nn.Module):
        """Reads the answer hidden in the input's first channel."""

        def forward(self, images):
            return nn.functional.one_hot(images[:, 0].long(), 3).permute(0, 3, 1, 2).float() * 10

    masks = torch.randint(0, 3, (4, 16, 16))
    images = masks[:, None].float().expand(-1, 3, -1, -1).clone()
    masks[:, :2] = 255  # ignored rows: whatever is predicted there does not count
    loader = [(images[:2], masks[:2]), (images[2:], masks[2:])]
    scores = evaluate(Oracle(), loader, num_classes=3, device=torch.device("cpu"), progress=False)
    assert scores.miou == pytest.approx(1.0) and scores.valid_pixels == 4 * 14 * 16


def _tiny_checkpoint(tmp_path, root, *overrides: str):
    from segmnv3.core.checkpoint import save_checkpoint
    from segmnv3.engine.config import load_config

    settings = ["model.backbone=mobilenet_v3_small", f"data.root={root}", "data.num_workers=0"]
    config = load_config(None, [*settings, *overrides])
    torch.manual_seed(0)
    from segmnv3 import build_model_from_config

    model = build_model_from_config(config.model)
    state = {"model": model.state_dict(), "config": config.to_dict()}
    return save_checkpoint(state, tmp_path / "tiny.pt")


@pytest.mark.parametrize("resize_mask", [False, True])
def test_eval_size_scores_at_the_mask_resolution(synthetic_root, tmp_path, resize_mask):
    """data.eval_size shrinks the input; logits are resized to the mask, whatever its size.

    Before the fix, eval_resize_mask=False crashed: "target (1,128,256) != prediction
    (1,64,128)" (logits were resized to the image, not to the full-resolution mask).
    """
    from segmnv3.engine.eval_report import EvalRequest, evaluate_checkpoint

    overrides = ["data.eval_size=[64,128]", f"data.eval_resize_mask={str(resize_mask).lower()}"]
    path = _tiny_checkpoint(tmp_path, synthetic_root, *overrides)
    request = EvalRequest(str(path), max_images=2, progress=False, save_predictions=None)
    scores, report = evaluate_checkpoint(request)
    pixels_per_image = 64 * 128 if resize_mask else 128 * 256  # the fixture is 128x256
    assert 0 < scores.valid_pixels <= 2 * pixels_per_image
    assert scores.valid_pixels > 2 * pixels_per_image // 2  # most synthetic pixels are valid
    assert report["images"] == 2


def test_evaluate_resizes_logits_to_a_larger_mask():
    model = nn.Conv2d(3, 3, 1).eval()
    images, masks = torch.rand(1, 3, 32, 48), torch.randint(0, 3, (1, 64, 96))
    seen = []
    scores = evaluate(
        model,
        [(images, masks)],
        num_classes=3,
        device=torch.device("cpu"),
        progress=False,
        on_batch=lambda index, predictions: seen.append(predictions.shape),
    )
    assert seen == [(1, 64, 96)] and scores.valid_pixels == 64 * 96
    # Same image and mask sizes: the predictions are the plain argmax (no resize).
    expected = model(images).argmax(1)
    same = []
    evaluate(
        model,
        [(images, expected)],
        num_classes=3,
        device=torch.device("cpu"),
        progress=False,
        on_batch=lambda index, predictions: same.append(predictions),
    )
    assert torch.equal(same[0], expected)
