"""Latency sources for ``segmnv3 adapt``: what its search calls ``measure`` and ``predict``.

* ``MeasuredLatency``: every model exported and timed end to end on the runtime
  (``meter``); ONNX Runtime also gets a per-layer table of the seed (``table``) whose
  predictions pick the first cut to try and are reported beside the measurements.
* ``TableLatency``: a table measured elsewhere (``--latency-table``, e.g. on a phone):
  nothing is timed here, the table's prediction is the latency.
"""

from __future__ import annotations

import platform
from collections.abc import Hashable

from torch import nn

from segmnv3.deploy.latency.meter import LatencyMeter
from segmnv3.deploy.latency.table import LatencyTable, measure_table


class MeasuredLatency:
    """Measured end to end; predicted from a per-layer table of the seed when available."""

    def __init__(self, meter: LatencyMeter, seed: nn.Module | None = None) -> None:
        self.meter, self.table = meter, None
        runtime = meter.backend.runtime
        if seed is not None and runtime == "onnxruntime" and meter.threads == 1:
            seed_ms = meter.measure({"seed": seed})["seed"]
            self.table = measure_table(seed, seed_ms, meter.size, _this_machine())

    def measure(self, models: dict[Hashable, nn.Module]) -> dict[Hashable, float]:
        return self.meter.measure(models)

    def predict(self, model: nn.Module) -> float | None:
        return None if self.table is None else self.table.predict(model)

    def describe(self) -> str:
        meter = self.meter
        return (
            f"{meter.backend.runtime}, {meter.threads} thread(s), "
            f"{meter.size[0]}x{meter.size[1]}, measured end to end"
        )


class TableLatency:
    """A lookup table's predictions stand for the latency (nothing is timed)."""

    def __init__(self, table: LatencyTable) -> None:
        self.table = table

    def measure(self, models: dict[Hashable, nn.Module]) -> dict[Hashable, float]:
        return {key: self.table.predict(model) for key, model in models.items()}

    def predict(self, model: nn.Module) -> float | None:
        return self.table.predict(model)

    def describe(self) -> str:
        table = self.table
        return (
            f"{table.runtime}, {table.threads} thread(s), {table.size[0]}x{table.size[1]}, "
            f"from a latency table ({table.device})"
        )


def _this_machine() -> str:
    from segmnv3.deploy.bench.timing import cpu_peak

    return f"{cpu_peak().model_name} ({platform.machine()}), ONNX Runtime, 1 thread"
