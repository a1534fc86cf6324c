"""Losses and the LR rule, checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from segmnv3.core.errors import ConfigError
from segmnv3.engine.config import TrainConfig
from segmnv3.engine.losses import OhemCrossEntropy, build_loss
from segmnv3.engine.optim import (
    build_optimizer,
    build_scheduler,
    lr_factor,
    parameter_groups,
    scaled_lr,
)


def _logits_for(probabilities: list[float]) -> torch.Tensor:
    """(1, 2, 1, N) logits whose class-0 softmax probabilities are ``probabilities``."""
    p = torch.tensor(probabilities, dtype=torch.float64)
    class0 = torch.log(p)
    class1 = torch.log1p(-p)
    return torch.stack([class0, class1]).reshape(1, 2, 1, -1)


def test_cross_entropy_ignores_255_and_applies_class_weights():
    logits = _logits_for([0.75, 0.5, 0.2])  # pixel 3 is ignored below
    target = torch.tensor([[[0, 1, 255]]])
    plain = build_loss(TrainConfig(), num_classes=2)(logits, target)
    assert plain.item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)
    weighted = build_loss(TrainConfig(class_weights=[1.0, 3.0]), num_classes=2)(logits, target)
    assert weighted.item() == pytest.approx((-math.log(0.75) - 3 * math.log(0.5)) / 4)


@pytest.mark.parametrize(
    ("min_kept", "expected"),
    [
        # true-class probabilities 0.9, 0.6, 0.5 (+ one ignored): hard = p < 0.7 -> 0.6, 0.5
        (1, (-math.log(0.6) - math.log(0.5)) / 2),
        (2, (-math.log(0.6) - math.log(0.5)) / 2),
        # fewer hard pixels than min_kept: the 3 highest losses are kept
        (3, (-math.log(0.9) - math.log(0.6) - math.log(0.5)) / 3),
        (100, (-math.log(0.9) - math.log(0.6) - math.log(0.5)) / 3),
    ],
)
def test_ohem_keeps_hard_pixels_and_at_least_min_kept(min_kept, expected):
    logits = _logits_for([0.9, 0.6, 0.5, 0.01])
    target = torch.tensor([[[0, 0, 0, 255]]])
    loss = OhemCrossEntropy(threshold=0.7, min_kept=min_kept)(logits, target)
    assert loss.item() == pytest.approx(expected)


def test_ohem_all_ignored_gives_zero_with_gradient():
    logits = torch.zeros(1, 2, 1, 3, requires_grad=True)
    loss = OhemCrossEntropy()(logits, torch.full((1, 1, 3), 255))
    loss.backward()
    assert loss.item() == 0.0 and logits.grad is not None


def test_lovasz_term_is_added_with_its_weight():
    # Pixel a: GT 0, p = (1, 0); pixel b: GT 1, p = (0.5, 0.5).
    # Lovasz-softmax by hand: class 0 errors sorted (0.5 [bg], 0 [fg]) with Jaccard
    # gradient (0.5, 0.5) -> 0.25; class 1 errors (0.5 [fg], 0 [bg]), gradient (1, 0)
    # -> 0.5; mean over present classes = 0.375. Cross-entropy = (0 + ln 2) / 2.
    logits = torch.tensor([[[[30.0, 0.0]], [[-30.0, 0.0]]]])  # (1, 2, 1, 2)
    target = torch.tensor([[[0, 1]]])
    config = TrainConfig(lovasz_weight=2.0)
    loss = build_loss(config, num_classes=2)(logits, target)
    assert loss.item() == pytest.approx(math.log(2) / 2 + 2.0 * 0.375, abs=1e-6)


def test_class_weights_length_is_checked():
    with pytest.raises(ConfigError, match="class_weights has 2 values"):
        build_loss(TrainConfig(class_weights=[1.0, 2.0]), num_classes=19)


@pytest.mark.parametrize(
    ("batch", "world", "accumulate", "lr"),
    [(16, 1, 1, 0.01), (8, 2, 1, 0.01), (4, 1, 2, 0.005), (8, 4, 2, 0.04)],
)
def test_lr_scales_linearly_with_global_batch(batch, world, accumulate, lr):
    config = TrainConfig(batch_size=batch, accumulate=accumulate)
    assert scaled_lr(config, world) == pytest.approx(lr)


def test_poly_decay_and_warmup_factors():
    config = TrainConfig(iterations=100, warmup_iters=10, warmup_factor=0.1)
    assert lr_factor(0, config) == pytest.approx(0.1)
    assert lr_factor(5, config) == pytest.approx(0.95**0.9 * 0.55)
    assert lr_factor(50, config) == pytest.approx(0.5**0.9)
    assert lr_factor(100, config) == 0.0


def test_scheduler_drives_the_optimizer_lr_per_iteration():
    config = TrainConfig(iterations=10, batch_size=8)  # peak LR 0.005
    model = nn.Linear(2, 2)
    optimizer = build_optimizer(model, config, world_size=1)
    scheduler = build_scheduler(optimizer, config)
    seen = []
    for _ in range(3):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([0.005 * (1 - k / 10) ** 0.9 for k in range(3)])


def test_no_weight_decay_on_norm_and_bias_unless_configured():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1, bias=False))
    groups = parameter_groups(model, TrainConfig(weight_decay=4e-5))
    decayed = {tuple(p.shape) for p in groups[0]["params"]}
    assert decayed == {(4, 3, 3, 3), (2, 4, 1, 1)} and groups[0]["weight_decay"] == 4e-5
    assert len(groups[1]["params"]) == 3 and groups[1]["weight_decay"] == 0.0  # bias, BN w, b
    everything = parameter_groups(model, TrainConfig(decay_norm_and_bias=True))
    assert len(everything) == 1 and len(everything[0]["params"]) == 5
