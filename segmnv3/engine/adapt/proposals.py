"""One NetAdapt step's proposals: per unit, the smallest cut (a multiple of 8 channels) whose
measured saving reaches ``delta_ms``.

A lookup table (when the latency source has one) picks the first cut to try; the cut is
then exported and timed end to end beside the current model, and grown by 8 channels
while the measured saving falls short (up to ``tries`` measurements per unit).
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
    """A unit cut to ``count`` channels, with its latencies."""

    unit: Unit
    count: int
    predicted_ms: float | None
    measured_ms: float


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
    tries: int = 3,
) -> list[Proposal]:
    """The proposals of one step; units that cannot save ``delta_ms`` within ``tries``
    measurements give none.

    ``seed`` is the seed model and its latency (ms) at step 0. Each proposal is timed
    interleaved with the current model and the seed, and its latency is ``seed_ms`` x (its
    time / the seed's time in the same rounds): a ratio measured side by side survives load
    changes between steps that absolute times do not, and anchoring every step to the seed
    (not to the step before) keeps the small errors of each ratio from compounding.
    """
    seed_model, seed_ms = seed
    options = {unit: counts_to_try(config, unit) for unit in units(config)}
    options = {unit: counts for unit, counts in options.items() if counts}
    start = {
        unit: _first_guess(model, config, unit, counts, latency, delta_ms)
        for unit, counts in options.items()
    }
    pending = {unit: start[unit] for unit in options if start[unit] is not None}
    accepted: dict[Unit, Proposal] = {}
    for _ in range(tries):
        if not pending:
            break
        candidates = {
            unit: shrink(model, config, unit, options[unit][i])[0] for unit, i in pending.items()
        }
        timings = latency.measure({SEED: seed_model, CURRENT: model, **candidates})
        scale = seed_ms / timings[SEED]
        still = {}
        for unit, index in pending.items():
            count = options[unit][index]
            measured = timings[unit] * scale
            if (timings[CURRENT] - timings[unit]) * scale >= delta_ms:
                predicted = latency.predict(candidates[unit])
                accepted[unit] = Proposal(unit, count, predicted, measured)
            elif index + 1 < len(options[unit]):
                still[unit] = index + 1
        pending = still
    return [accepted[unit] for unit in options if unit in accepted]


def _first_guess(model, config, unit, counts, latency, delta_ms) -> int | None:
    """Index into ``counts`` of the smallest cut the table predicts to save ``delta_ms``
    (0 without a table; None when even the largest cut falls short of it)."""
    base = latency.predict(model)
    if base is None:
        return 0
    for index, count in enumerate(counts):
        if (
            base - latency.predict(build_model_from_config(with_channels(config, unit, count)))
            >= delta_ms
        ):
            return index
    return None
