"""The issue's performance targets as data, and their assessment on a benchmark result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from segmnv3.deploy.bench.results import BenchmarkResult, LatencyResult, TargetResult, Targets
from segmnv3.deploy.bench.subjects import REFERENCE
from segmnv3.deploy.runtimes.backend import (
    EAGER,
    EXECUTORCH,
    EXECUTORCH_INT8,
    FP32_BACKENDS,
    INT8_TUNED,
    LITERT,
    LITERT_INT8,
    ONNXRUNTIME,
    Backend,
)

XNNPACK_PAIRS = ((LITERT_INT8, LITERT), (EXECUTORCH_INT8, EXECUTORCH))
"""(int8, fp32) of each phone runtime: the XNNPACK int8 target compares within a runtime."""


@dataclass(frozen=True)
class Target:
    """A limit a figure must stay under (``max``) or reach (``min``)."""

    name: str
    limit: float
    kind: Literal["max", "min"]
    description: str

    def assess(self, value: float | None) -> TargetResult:
        met = (
            None
            if value is None
            else (value <= self.limit if self.kind == "max" else value >= self.limit)
        )
        return TargetResult(value, self.limit, self.kind, met)


TARGETS = (
    Target(
        "fastest_fp32_vs_torchvision_eager_half",
        0.30,
        "max",
        "fastest fp32 runtime / torchvision eager, half resolution",
    ),
    Target("int8_vs_fastest_fp32_half", 0.75, "max", "fastest tuned int8 / fastest fp32, half"),
    Target("int8_agreement_half", 0.99, "min", "argmax agreement of that int8 with eager"),
    Target("full_vs_half_fastest_fp32", 4.3, "max", "full / half latency of the fastest fp32"),
    Target("video_end_to_end_vs_model_only", 0.8, "min", "video end-to-end FPS / model-only"),
    Target("eager_peak_rss_mb", 1200.0, "max", "peak RSS (MB) of eager on one full image"),
    Target(
        "xnnpack_int8_vs_fp32_half",
        0.75,
        "max",
        "XNNPACK int8 / the same runtime's fp32 (LiteRT or ExecuTorch, the better), half",
    ),
    Target("xnnpack_int8_agreement_half", 0.99, "min", "argmax agreement of that int8 with eager"),
    Target(
        "fastest_fp32_vs_cache_floor_half",
        1.25,
        "max",
        "fastest fp32 / the per-layer floor with cache-resident bandwidth (roofline), half",
    ),
    Target(
        "app_vs_model_only_half",
        0.85,
        "max",
        "frame -> label map at the frame's size, fastest runtime and graph / ONNX "
        "Runtime's model-only inference (its logits graph, same rounds), half",
    ),
)


AGREEMENT_TARGETS = ("int8_agreement_half", "xnnpack_int8_agreement_half")
"""Targets that mean something only on a model trained for the benchmark's image scale."""


def assess_targets(result: BenchmarkResult, *, agreement: bool = True) -> Targets:
    """The targets for the first model (row 8 by default): value, limit, met.

    A figure the run did not measure (a backend or resolution left out, as the demo's
    short benchmark does) is None (not assessed). ``agreement=False`` leaves the int8
    agreement targets unassessed: on a toy model trained at another scale they say
    nothing about int8 (the demo).
    """
    first = result.models[0]
    half = {b: result.latency_of(first.name, b, "half") for b in first.backends}
    half = {b: row for b, row in half.items() if row is not None}
    fp32 = _fastest(half[b] for b in FP32_BACKENDS if b in half)
    int8 = _fastest(half[b] for b in INT8_TUNED if b in half)
    full = result.latency_of(first.name, fp32.backend, "full")
    reference = result.latency_of(*REFERENCE, "half")
    eager_rss = next((m.peak_rss_mb for m in result.memory if m.backend == EAGER), None)
    xnnpack = _xnnpack_int8(half)
    video = result.video
    values = {
        "fastest_fp32_vs_torchvision_eager_half": _ratio(fp32, reference),
        "int8_vs_fastest_fp32_half": _ratio(int8, fp32),
        "int8_agreement_half": None if int8 is None else int8.agreement_with_eager,
        "full_vs_half_fastest_fp32": _ratio(full, fp32),
        "video_end_to_end_vs_model_only": None if video is None else video.end_to_end_vs_model_only,
        "eager_peak_rss_mb": eager_rss,
        "xnnpack_int8_vs_fp32_half": xnnpack[1] if xnnpack else None,
        "xnnpack_int8_agreement_half": xnnpack[0].agreement_with_eager if xnnpack else None,
        "fastest_fp32_vs_cache_floor_half": _vs_floor(result, first.name),
        "app_vs_model_only_half": _app_vs_model_only(result, first.name),
    }
    if not agreement:
        values.update(dict.fromkeys(AGREEMENT_TARGETS))
    results = {target.name: target.assess(values[target.name]) for target in TARGETS}
    xnnpack_backend = xnnpack[0].backend if xnnpack else None
    return Targets(
        first.name, results, fp32.backend, None if int8 is None else int8.backend, xnnpack_backend
    )


def _ratio(numerator: LatencyResult | None, denominator: LatencyResult | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    return numerator.median_ms / denominator.median_ms


def _xnnpack_int8(half: dict[Backend, LatencyResult]) -> tuple[LatencyResult, float] | None:
    """The phone int8 row with the lowest int8 / fp32 ratio within its runtime, and the ratio."""
    pairs = [
        (half[int8], half[int8].median_ms / half[fp32].median_ms)
        for int8, fp32 in XNNPACK_PAIRS
        if half.get(int8) and half.get(fp32)
    ]
    return min(pairs, key=lambda pair: pair[1]) if pairs else None


def _vs_floor(result: BenchmarkResult, model: str) -> float | None:
    """Fastest fp32 / cache-bandwidth floor of ``model`` at half resolution (roofline)."""
    roofline = next(
        (r for r in result.rooflines if r.model == model and r.resolution == "half"), None
    )
    ratios = None if roofline is None else roofline.fastest_vs_floor
    return None if ratios is None else ratios[0]


def _app_vs_model_only(result: BenchmarkResult, model: str) -> float | None:
    """The fastest app path (any runtime, any graph) / ONNX Runtime's model-only inference
    (its logits graph, timed in the same rounds)."""
    rows = [a for a in result.app if a.model == model]
    model_only = next(
        (a.inference_ms for a in rows if a.backend == ONNXRUNTIME and a.output == "logits"), None
    )
    if not rows or model_only is None:
        return None
    return min(a.total_ms for a in rows) / model_only


def _fastest(rows) -> LatencyResult | None:
    return min(rows, key=lambda row: row.median_ms, default=None)
