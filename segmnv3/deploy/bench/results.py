"""Typed benchmark results and their JSON form (``bench.json``), serialised here only.

The report, the demo and the tests read fields of these dataclasses. The JSON keys are
the field names: ``BenchmarkResult.to_dict`` / ``from_dict`` convert through
``core.schema`` (a typo'd or missing key is an error naming it). Backends are
``Backend`` values in memory and their names in JSON; a latency row's ``Timing`` and
the targets' results are ``FLAT`` (their keys sit in the row / in ``targets``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from segmnv3.core import schema
from segmnv3.core.paper import PaperRow
from segmnv3.deploy.bench.app import AppLatency
from segmnv3.deploy.bench.roofline import RooflineResult
from segmnv3.deploy.bench.roofs import Roofs
from segmnv3.deploy.runtimes.backend import Backend


@dataclass(frozen=True)
class CpuInfo:
    """The core's assumed peak multiply-accumulate rates (``timing.cpu_peak``: FMA pipes x
    lanes x clock, an assumption; the measured rates are ``Roofs``)."""

    model_name: str
    mhz: float
    fma_units: int
    fp32_lanes: int
    avx512_vnni: bool
    amx: bool
    peak_fp32_gmacs: float
    peak_int8_vnni_gmacs: float | None
    method: str


@dataclass(frozen=True)
class Timing:
    """Latency of one runner over ``runs`` timed runs, in milliseconds."""

    median_ms: float
    p90_ms: float
    min_ms: float
    runs: int
    cpu_per_wall: float | None = None  # process CPU time / wall time: ~1 for one thread


@dataclass(frozen=True)
class LatencyResult:
    """One (model, backend, resolution) cell of the latency tables."""

    model: str
    backend: Backend
    resolution: str  # "half" / "full"
    size: tuple[int, int]
    timing: Timing = field(metadata=schema.FLAT)
    ratio_to_torchvision_eager: float
    gmacs_per_s: float
    pct_fp32_peak: float  # of the assumed FMA peak (CpuInfo)
    agreement_with_eager: float
    pct_fp32_roof: float | None = None  # of the measured one-thread fp32 GEMM rate (Roofs)

    @property
    def median_ms(self) -> float:
        return self.timing.median_ms


@dataclass(frozen=True)
class MemoryResult:
    """Peak resident memory of a fresh process segmenting one image on ``backend``."""

    model: str
    backend: Backend
    size: tuple[int, int]
    peak_rss_mb: float
    seconds: float


@dataclass(frozen=True)
class VideoResult:
    """Model-only and end-to-end frame rates of the overlay pipeline on a clip."""

    backend: Backend
    size: tuple[int, int]
    frames: int
    model_fps: float
    end_to_end_fps: float
    end_to_end_vs_model_only: float


@dataclass(frozen=True)
class ModelResult:
    """A benchmarked network: size, cost per resolution, backends, and the paper's row."""

    name: str
    baseline: bool
    params: int
    madds: dict[str, int]  # resolution label -> MAdds
    backends: tuple[Backend, ...]
    paper: PaperRow | None = None


@dataclass(frozen=True)
class TargetResult:
    """One target of the issue: the measured value against its limit."""

    value: float | None
    limit: float
    kind: Literal["max", "min"]  # max: value must be <= limit; min: >= limit
    met: bool | None  # None when the value was not measured


@dataclass(frozen=True)
class Targets:
    """The targets, assessed on the first (target) model."""

    model: str
    results: dict[str, TargetResult] = field(metadata=schema.FLAT)
    fastest_fp32_backend: Backend
    int8_backend: Backend | None
    xnnpack_int8_backend: Backend | None = None  # LiteRT / ExecuTorch int8 of the XNNPACK target


@dataclass(frozen=True)
class BenchmarkResult:
    """Everything ``segmnv3 bench`` measured (``bench.json``)."""

    cpu: CpuInfo
    threads: int
    warmup: int
    repeats: int
    sizes: dict[str, tuple[int, int]]
    load_average: dict[str, tuple[float, float, float]]  # "before" / "after"
    calibration_images: int
    agreement_images: int
    models: list[ModelResult]
    latency: list[LatencyResult]
    memory: list[MemoryResult]
    video: VideoResult | None = None
    quick: bool = False
    targets: Targets | None = None
    roofs: Roofs | None = None  # measured in the same run (None in reports made before them)
    rooflines: list[RooflineResult] = field(default_factory=list)  # ONNX Runtime per op class
    app: list[AppLatency] = field(default_factory=list)  # frame -> labels at the frame's size

    def latency_of(self, model: str, backend: Backend, resolution: str) -> LatencyResult | None:
        """The cell for (model, backend, resolution), or None when it was not measured."""
        for row in self.latency:
            if (row.model, row.backend, row.resolution) == (model, backend, resolution):
                return row
        return None

    @property
    def fp32_roof_gmacs(self) -> float:
        """The fp32 rate floors and "% of roof" use: the measured one, or (reports made
        before roofs were measured) the assumed FMA peak."""
        return self.roofs.fp32_gmacs if self.roofs else self.cpu.peak_fp32_gmacs

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``bench.json``)."""
        return schema.to_plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "bench.json") -> BenchmarkResult:
        """Read the JSON form back.

        Raises:
            ConfigError: an unknown or mistyped key, named with ``source``.
        """
        return schema.from_dict(cls, data, source=source)


__all__ = [
    "AppLatency",
    "BenchmarkResult",
    "CpuInfo",
    "LatencyResult",
    "MemoryResult",
    "ModelResult",
    "RooflineResult",
    "Roofs",
    "TargetResult",
    "Targets",
    "Timing",
    "VideoResult",
]
