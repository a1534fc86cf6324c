"""The trainer's one save decision: when last.pt and best.pt are written."""

from __future__ import annotations

import math

import pytest

from segmnv3.engine.save_policy import SaveDecision, SavePolicy


@pytest.mark.parametrize(
    ("step", "miou", "stopping", "expected"),
    [
        (3, None, False, SaveDecision(save=False)),  # nothing due
        (10, None, False, SaveDecision(save=True)),  # ckpt_interval
        (3, None, True, SaveDecision(save=True)),  # stop signal / end: keep the progress
        (3, 0.4, False, SaveDecision(save=True, new_best=0.4)),  # validated, better
        (3, 0.2, False, SaveDecision(save=True)),  # validated, not better
        (3, math.nan, False, SaveDecision(save=True)),  # NaN is never best
    ],
)
def test_decision_after_a_step(step, miou, stopping, expected):
    policy = SavePolicy(ckpt_interval=5)
    decision = policy.decide(step, best_miou=0.3, miou=miou, stopping=stopping)
    assert decision == expected and decision.is_best == (expected.new_best is not None)


def test_a_step_already_on_disk_is_not_written_again():
    policy = SavePolicy(ckpt_interval=5, saved_step=10)  # resumed at 10, or just saved
    assert policy.decide(10, best_miou=0.3, stopping=True) == SaveDecision(save=False)
    assert not policy.decide(10, best_miou=0.3, miou=0.9).save


def test_interval_zero_saves_only_after_validation_and_at_the_end():
    policy = SavePolicy(ckpt_interval=0)
    assert not policy.decide(1000, best_miou=-1.0).save
    assert policy.decide(1000, best_miou=-1.0, stopping=True).save
    assert policy.decide(1000, best_miou=-1.0, miou=0.0).is_best  # first validation is best
