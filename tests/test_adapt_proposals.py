"""NetAdapt's per-unit search for the shallowest cut that saves delta, on known savings."""

from __future__ import annotations

import pytest

from segmnv3.engine.adapt.proposals import UnitSearch

COUNTS = list(range(560, 0, -8))  # 70 cuts, shallowest first


def run(search: UnitSearch, saving_of, delta: float, rounds: int = 5) -> tuple[int | None, int]:
    """Drive the search with ``saving_of(index)``; (found index, measurements)."""
    for measured in range(1, rounds + 1):
        index = search.index
        if not search.record(saving_of(index), delta, proposal=index):
            return search.hi, measured
    return search.hi, rounds


def linear(index: int) -> float:
    return 0.01 * (index + 1)  # ms saved by cut ``index``


@pytest.mark.parametrize("delta", [0.005, 0.05, 0.2, 0.45])
def test_a_table_off_by_a_factor_still_gives_the_shallowest_cut(delta):
    truth = min(i for i in range(len(COUNTS)) if linear(i) >= delta)
    predicted = [linear(i) / 2.5 for i in range(len(COUNTS))]  # underpredicts 2.5x
    search = UnitSearch(COUNTS, predicted).first_guess(delta)
    found, measured = run(search, linear, delta)
    assert found == truth
    assert search.found == truth and measured <= 4  # the measured error corrects the table


@pytest.mark.parametrize("delta", [0.005, 0.05, 0.2, 0.45, 0.7])
def test_without_a_table_the_search_brackets_then_bisects(delta):
    truth = min(i for i in range(len(COUNTS)) if linear(i) >= delta)
    found, _ = run(UnitSearch(COUNTS), linear, delta, rounds=20)
    assert found == truth


def test_a_unit_that_cannot_save_delta_gives_nothing():
    search = UnitSearch(COUNTS, [0.001] * len(COUNTS)).first_guess(1.0)
    found, measured = run(search, lambda index: 0.002, 1.0)
    assert found is None and search.found is None and measured == 1  # the deepest cut fell short
