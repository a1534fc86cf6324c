"""Typed benchmark results and their JSON form (``bench.json``), serialised here only.

The report, the demo and the tests read fields of these dataclasses; ``to_dict`` /
``from_dict`` are the one place that knows the JSON keys. Backends are ``Backend``
values in memory and their names in JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from segmnv3.core.paper import PaperRow
from segmnv3.deploy.runtimes.backend import Backend


def _size(value: Any) -> tuple[int, int]:
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class CpuInfo:
    """The core's identity and peak multiply-accumulate rates (``timing.cpu_peak``)."""

    model_name: str
    mhz: float
    fma_units: int
    fp32_lanes: int
    avx512_vnni: bool
    amx: bool
    peak_fp32_gmacs: float
    peak_int8_vnni_gmacs: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CpuInfo:
        return cls(**data)


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
    timing: Timing
    ratio_to_torchvision_eager: float
    gmacs_per_s: float
    pct_fp32_peak: float
    agreement_with_eager: float

    @property
    def median_ms(self) -> float:
        return self.timing.median_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend.name,
            "resolution": self.resolution,
            "size": list(self.size),
            **dataclasses.asdict(self.timing),
            "ratio_to_torchvision_eager": self.ratio_to_torchvision_eager,
            "gmacs_per_s": self.gmacs_per_s,
            "pct_fp32_peak": self.pct_fp32_peak,
            "agreement_with_eager": self.agreement_with_eager,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyResult:
        timing = Timing(
            data["median_ms"],
            data["p90_ms"],
            data["min_ms"],
            data["runs"],
            data.get("cpu_per_wall"),
        )
        return cls(
            model=data["model"],
            backend=Backend.from_name(data["backend"]),
            resolution=data["resolution"],
            size=_size(data["size"]),
            timing=timing,
            ratio_to_torchvision_eager=data["ratio_to_torchvision_eager"],
            gmacs_per_s=data["gmacs_per_s"],
            pct_fp32_peak=data["pct_fp32_peak"],
            agreement_with_eager=data["agreement_with_eager"],
        )


@dataclass(frozen=True)
class MemoryResult:
    """Peak resident memory of a fresh process segmenting one image on ``backend``."""

    model: str
    backend: Backend
    size: tuple[int, int]
    peak_rss_mb: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "backend": self.backend.name, "size": list(self.size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryResult:
        backend, size = Backend.from_name(data["backend"]), _size(data["size"])
        return cls(**{**data, "backend": backend, "size": size})


@dataclass(frozen=True)
class VideoResult:
    """Model-only and end-to-end frame rates of the overlay pipeline on a clip."""

    backend: Backend
    size: tuple[int, int]
    frames: int
    model_fps: float
    end_to_end_fps: float
    end_to_end_vs_model_only: float

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "backend": self.backend.name, "size": list(self.size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoResult:
        backend, size = Backend.from_name(data["backend"]), _size(data["size"])
        return cls(**{**data, "backend": backend, "size": size})


@dataclass(frozen=True)
class ModelResult:
    """A benchmarked network: size, cost per resolution, backends, and the paper's row."""

    name: str
    baseline: bool
    params: int
    madds: dict[str, int]  # resolution label -> MAdds
    backends: tuple[Backend, ...]
    paper: PaperRow | None = None

    def to_dict(self) -> dict[str, Any]:
        paper = None if self.paper is None else dataclasses.asdict(self.paper)
        return {
            "name": self.name,
            "baseline": self.baseline,
            "params": self.params,
            "madds": dict(self.madds),
            "backends": [b.name for b in self.backends],
            "paper": paper,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelResult:
        paper = data.get("paper")
        if paper is not None:
            paper = PaperRow(**{"description": "", **paper})
        return cls(
            name=data["name"],
            baseline=data["baseline"],
            params=data["params"],
            madds=dict(data["madds"]),
            backends=tuple(Backend.from_name(b) for b in data["backends"]),
            paper=paper,
        )


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
    results: dict[str, TargetResult]
    fastest_fp32_backend: Backend
    int8_backend: Backend
    xnnpack_int8_backend: Backend | None = None  # LiteRT / ExecuTorch int8 of the XNNPACK target

    def to_dict(self) -> dict[str, Any]:
        results = {name: dataclasses.asdict(t) for name, t in self.results.items()}
        xnnpack = self.xnnpack_int8_backend
        return {
            "model": self.model,
            **results,
            "fastest_fp32_backend": self.fastest_fp32_backend.name,
            "int8_backend": self.int8_backend.name,
            "xnnpack_int8_backend": None if xnnpack is None else xnnpack.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Targets:
        results = {k: TargetResult(**v) for k, v in data.items() if isinstance(v, dict)}
        return cls(
            model=data["model"],
            results=results,
            fastest_fp32_backend=Backend.from_name(data["fastest_fp32_backend"]),
            int8_backend=Backend.from_name(data["int8_backend"]),
            xnnpack_int8_backend=(
                Backend.from_name(data["xnnpack_int8_backend"])
                if data.get("xnnpack_int8_backend")
                else None
            ),
        )


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

    def latency_of(self, model: str, backend: Backend, resolution: str) -> LatencyResult | None:
        """The cell for (model, backend, resolution), or None when it was not measured."""
        for row in self.latency:
            if (row.model, row.backend, row.resolution) == (model, backend, resolution):
                return row
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": self.cpu.to_dict(),
            "threads": self.threads,
            "warmup": self.warmup,
            "repeats": self.repeats,
            "sizes": {label: list(size) for label, size in self.sizes.items()},
            "load_average": {k: list(v) for k, v in self.load_average.items()},
            "calibration_images": self.calibration_images,
            "agreement_images": self.agreement_images,
            "models": [m.to_dict() for m in self.models],
            "latency": [r.to_dict() for r in self.latency],
            "memory": [m.to_dict() for m in self.memory],
            "video": None if self.video is None else self.video.to_dict(),
            "quick": self.quick,
            "targets": None if self.targets is None else self.targets.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkResult:
        video, targets = data.get("video"), data.get("targets")
        return cls(
            cpu=CpuInfo.from_dict(data["cpu"]),
            threads=data["threads"],
            warmup=data["warmup"],
            repeats=data["repeats"],
            sizes={label: _size(size) for label, size in data["sizes"].items()},
            load_average={k: tuple(v) for k, v in data["load_average"].items()},
            calibration_images=data["calibration_images"],
            agreement_images=data["agreement_images"],
            models=[ModelResult.from_dict(m) for m in data["models"]],
            latency=[LatencyResult.from_dict(r) for r in data["latency"]],
            memory=[MemoryResult.from_dict(m) for m in data["memory"]],
            video=None if video is None else VideoResult.from_dict(video),
            quick=data.get("quick", False),
            targets=None if targets is None else Targets.from_dict(targets),
        )


__all__ = [
    "BenchmarkResult",
    "CpuInfo",
    "LatencyResult",
    "MemoryResult",
    "ModelResult",
    "TargetResult",
    "Targets",
    "Timing",
    "VideoResult",
]
