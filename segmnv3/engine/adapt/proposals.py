"""One NetAdapt step's proposals: per unit, the smallest cut (a multiple of 8 channels) whose
measured saving reaches ``delta_ms``.

Cuts are measured, not predicted: each unit's candidates are timed end to end, all units
together in one interleaved round, and a bracket search (``UnitSearch``) narrows each unit
to the shallowest cut that reaches the saving. A per-layer table, when the latency source
has one, picks the first cut and, scaled by the error measured on this unit, the next
ones (a summed table misses what a cut saves outside the convs: activations, resizes,
SE); without one the search gallops from the shallowest cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from torch import nn

from segmnv3.models.config import ModelConfig
from segmnv3.models.segmenter import build_model_from_config
from segmnv3.models.surgery import Unit, shrink, unit_channels, units, with_channels

CHANNEL_STEP = 8
CURRENT = "current"
SEED = "seed"


class LatencySource(Protocol):
    """What the search needs of a latency source (``deploy.latency.sources``)."""

    def measure(self, models: dict) -> dict:
        """Latency (ms) of each model, measured together (or looked up)."""

    def predict(self, model: nn.Module) -> float | None:
        """Predicted latency (ms) from a lookup table; None without one."""


@dataclass
class Proposal:
    """A unit cut to ``count`` channels, with its latencies (``from_ms``: the current model,
    measured in the same rounds)."""

    unit: Unit
    count: int
    predicted_ms: float | None
    measured_ms: float
    from_ms: float


def counts_to_try(config: ModelConfig, unit: Unit) -> list[int]:
    """Counts below the unit's current one, largest first, that keep the seed's topology."""
    current = unit_channels(config, unit)
    found = []
    for count in range(current - CHANNEL_STEP, CHANNEL_STEP - 1, -CHANNEL_STEP):
        try:
            with_channels(config, unit, count)
        except ValueError:
            continue
        found.append(count)
    return found


def propose(
    model: nn.Module,
    config: ModelConfig,
    latency: LatencySource,
    delta_ms: float,
    seed: tuple[nn.Module, float],
    *,
    rounds: int = 5,
) -> list[Proposal]:
    """The proposals of one step; a unit none of whose measured cuts reached ``delta_ms``
    within ``rounds`` rounds of measurement gives none.

    ``seed`` is the seed model and its latency (ms) at step 0. Each candidate is timed
    interleaved with the current model and the seed, and its latency is ``seed_ms`` x (its
    time / the seed's time in the same rounds): a ratio measured side by side survives load
    changes between steps that absolute times do not, and anchoring every step to the seed
    (not to the step before) keeps the small errors of each ratio from compounding.
    """
    seed_model, seed_ms = seed
    base = latency.predict(model)
    searches = {}
    for unit in units(config):
        counts = counts_to_try(config, unit)
        if counts:
            predicted = _predicted_savings(config, unit, counts, latency, base)
            searches[unit] = UnitSearch(counts, predicted).first_guess(delta_ms)
    pending = dict(searches)
    for _ in range(rounds):
        if not pending:
            break
        candidates = {
            unit: shrink(model, config, unit, search.count)[0] for unit, search in pending.items()
        }
        timings = latency.measure({SEED: seed_model, CURRENT: model, **candidates})
        scale = seed_ms / timings[SEED]
        for unit, search in list(pending.items()):
            saving = (timings[CURRENT] - timings[unit]) * scale
            predicted = None if base is None else base - search.predicted[search.index]
            ms, from_ms = timings[unit] * scale, timings[CURRENT] * scale
            proposal = Proposal(unit, search.count, predicted, ms, from_ms)
            if not search.record(saving, delta_ms, proposal):
                del pending[unit]
    return [search.found for search in searches.values() if search.found is not None]


@dataclass
class UnitSearch:
    """The shallowest cut of one unit that saves ``delta_ms``, narrowed by measurements.

    ``counts`` run from the shallowest cut to the deepest; a deeper cut saves more. ``lo``
    is the deepest index measured short of the saving (-1: none yet), ``hi`` the shallowest
    measured to reach it (its proposal in ``found``), ``index`` the next to measure.

    Args:
        counts: channel counts to choose from, largest (shallowest cut) first.
        predicted: the table's predicted saving (ms) of each count, or None.
    """

    counts: list[int]
    predicted: list[float] | None = None
    index: int = 0
    lo: int = -1
    hi: int | None = None
    found: Proposal | None = None
    stride: int = 1

    @property
    def count(self) -> int:
        return self.counts[self.index]

    def first_guess(self, delta_ms: float) -> UnitSearch:
        """Start at the shallowest cut the table predicts to save ``delta_ms`` (the
        deepest when it predicts none does); without a table, at the shallowest cut."""
        if self.predicted is not None:
            self.index = self._predicted_index(1.0, delta_ms)
        return self

    def record(self, saving: float, delta_ms: float, proposal: Proposal) -> bool:
        """Take the saving measured at ``index``; False when the search is done."""
        measured = self.index
        if saving >= delta_ms:
            self.hi, self.found = measured, proposal
        else:
            self.lo = measured
        upper = len(self.counts) if self.hi is None else self.hi
        if upper - self.lo <= 1:
            return False
        if self.predicted is not None and self.predicted[measured] > 0 and saving > 0:
            self.index = self._predicted_index(saving / self.predicted[measured], delta_ms)
        elif self.hi is not None and self.lo >= 0:
            self.index = (self.lo + self.hi) // 2
        elif self.hi is not None:
            self.index = max(self.lo + 1, measured - self.stride)
        else:
            self.index = min(upper - 1, measured + self.stride)
        self.stride *= 2
        return True

    def _predicted_index(self, scale: float, delta_ms: float) -> int:
        """The shallowest unmeasured index whose scaled prediction saves ``delta_ms``."""
        upper = len(self.counts) if self.hi is None else self.hi
        for index in range(self.lo + 1, upper):
            if self.predicted[index] * scale >= delta_ms:
                return index
        return upper - 1


def _predicted_savings(config, unit, counts, latency, base) -> list[float] | None:
    """The table's predicted saving (ms) of each count of ``unit`` against ``base``, the
    current model's prediction (None without a table)."""
    if base is None:
        return None
    return [
        base - latency.predict(build_model_from_config(with_channels(config, unit, count)))
        for count in counts
    ]
