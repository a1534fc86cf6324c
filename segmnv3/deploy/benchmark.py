"""Paper-style CPU benchmark: params, MAdds and single-thread latency of every backend.

For each model and resolution every backend gets a predictor, then all predictors of that
resolution are timed *interleaved* (one run of each, round after round) so that load
from other processes on a shared machine hits all of them alike; medians and p90s are
reported with each latency as a ratio to torchvision's eager ``lraspp_mobilenet_v3_large``
measured in the same rounds, and as a fraction of the core's fp32 FMA peak.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FP32_BACKENDS = ("eager", "onnxruntime", "openvino")
# "-naive": library-default int8; "openvino-int8-bf16": the tuned int8 file with its
# float ops in bf16 (AMX); see deploy/quantize.py RECIPES.
OUR_BACKENDS = (*FP32_BACKENDS, "openvino-bf16", "onnxruntime-int8", "openvino-int8",
                "openvino-int8-bf16", "onnxruntime-int8-naive", "openvino-int8-naive")  # fmt: skip
BASELINE_BACKENDS = ("eager", "onnxruntime")
REFERENCE = ("torchvision-lraspp", "eager")  # every latency ratio is against this pair


@dataclass
class Subject:
    """One network to benchmark.

    Attributes:
        name: row label (config stem, or the baseline's name).
        model: the PyTorch module (eval mode).
        backends: backends to time it on.
        paper: the paper's row (``segmnv3.core.paper.PaperRow``) or None.
        baseline: True for the torchvision / smp comparison models.
    """

    name: str
    model: object
    backends: tuple[str, ...]
    paper: object = None
    baseline: bool = False
    params: int = 0
    madds: dict[str, int] = field(default_factory=dict)  # resolution label -> MAdds
    config: dict | None = None  # Config.to_dict() of our models (for the memory probe)


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def time_interleaved(
    runners: dict[tuple[str, str], Callable[[], object]],
    *,
    warmup: int,
    repeats: int,
    progress=None,
) -> dict[tuple[str, str], dict]:
    """Median, p90 and min latency (ms) of each runner, measured round-robin.

    The minimum is the figure least disturbed by other processes on a shared machine.

    Args:
        runners: (subject, backend) -> a call that runs one inference.
        warmup: untimed runs of each runner first (allocations, JIT, caches).
        repeats: timed rounds.
        progress: optional tqdm bar, advanced once per run.
    """
    for run in runners.values():
        for _ in range(warmup):
            run()
            if progress is not None:
                progress.update()
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
    for _ in range(repeats):
        for key, run in runners.items():
            start = time.perf_counter()
            run()
            samples[key].append(time.perf_counter() - start)
            if progress is not None:
                progress.update()
    return {
        key: {
            "median_ms": percentile_ms(s, 50),
            "p90_ms": percentile_ms(s, 90),
            "min_ms": percentile_ms(s, 0),
            "runs": len(s),
        }  # fmt: skip
        for key, s in samples.items()
    }


def cpu_peak(fma_units: int = 2) -> dict:
    """The core's peak multiply-accumulate rates, from /proc/cpuinfo.

    fp32: ``fma_units`` FMA pipes x SIMD lanes (16 fp32 with AVX-512, 8 with AVX2) x
    clock; one FMA is one MAC. The clock is /proc/cpuinfo's ``cpu MHz`` (the nominal
    frequency under a hypervisor; turbo would raise the true peak). The number of FMA
    pipes is not exposed by the CPU, hence the argument (2 on Xeon Scalable Gold and
    Platinum parts). int8 with AVX-512 VNNI does 4 MACs per 32-bit lane.
    """
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    fields = dict(
        line.split(":", 1) for line in info.splitlines()[:40] if ":" in line
    )  # first core only
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    mhz = float(fields.get("cpu MHz", "0") or 0)
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    fp32 = fma_units * lanes * mhz * 1e6
    return {
        "model_name": fields.get("model name", "unknown"),
        "mhz": mhz,
        "fma_units": fma_units,
        "fp32_lanes": lanes,
        "avx512_vnni": "avx512_vnni" in flags,
        "amx": "amx_tile" in flags,
        "peak_fp32_gmacs": fp32 / 1e9,
        "peak_int8_vnni_gmacs": 4 * fp32 / 1e9 if "avx512_vnni" in flags else None,
        "method": f"{fma_units} FMA units x {lanes} fp32 lanes x {mhz:.0f} MHz (/proc/cpuinfo)",
    }


def agreement(reference, candidate, batches: list[np.ndarray]) -> float:
    """Fraction of pixels where two predictors' argmax labels match."""
    same = total = 0
    for batch in batches:
        a, b = reference.predict(batch), candidate.predict(batch)
        same += int((a == b).sum())
        total += a.size
    return same / max(total, 1)
