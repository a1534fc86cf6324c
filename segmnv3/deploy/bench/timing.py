"""Measuring instruments of the benchmark: interleaved timing, the CPU's peak, agreement.

All predictors of one resolution are timed *interleaved* (one run of each, round after
round) so that load from other processes on a shared machine hits all of them alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from pathlib import Path

import numpy as np

from segmnv3.deploy.bench.results import CpuInfo, Timing
from segmnv3.deploy.runtimes import Predictor


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def time_interleaved(
    runners: dict[Hashable, Callable[[], object]],
    *,
    warmup: int,
    repeats: int,
    progress=None,
) -> dict[Hashable, Timing]:
    """Median, p90 and min latency (ms) of each runner, measured round-robin.

    The order rotates each round: a runner timed right after another one (its caches
    evicted, the core's clock changed) is not always the same one.

    The minimum is the figure least disturbed by other processes on a shared machine.
    Each runner's process CPU time over its wall time checks the thread count a runtime
    really used (~1 for one thread; 2 if it ran a second worker).

    Args:
        runners: key (e.g. (subject, backend)) -> a call that runs one inference.
        warmup: untimed runs of each runner first (allocations, JIT, caches).
        repeats: timed rounds.
        progress: optional tqdm bar, advanced once per run.
    """
    for run in runners.values():
        for _ in range(warmup):
            run()
            if progress is not None:
                progress.update()
    samples: dict[Hashable, list[float]] = {key: [] for key in runners}
    cpu: dict[Hashable, float] = dict.fromkeys(runners, 0.0)
    order = list(runners)
    for round_index in range(repeats):
        shift = round_index % len(order)  # each runner takes each place in the round alike
        for key in order[shift:] + order[:shift]:
            run = runners[key]
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            samples[key].append(time.perf_counter() - start)
            cpu[key] += time.process_time() - start_cpu
            if progress is not None:
                progress.update()
    return {
        key: Timing(
            percentile_ms(s, 50),
            percentile_ms(s, 90),
            percentile_ms(s, 0),
            len(s),
            cpu[key] / max(sum(s), 1e-9),
        )
        for key, s in samples.items()
    }


def cpu_peak(fma_units: int = 2) -> CpuInfo:
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
    return CpuInfo(
        model_name=fields.get("model name", "unknown"),
        mhz=mhz,
        fma_units=fma_units,
        fp32_lanes=lanes,
        avx512_vnni="avx512_vnni" in flags,
        amx="amx_tile" in flags,
        peak_fp32_gmacs=fp32 / 1e9,
        peak_int8_vnni_gmacs=4 * fp32 / 1e9 if "avx512_vnni" in flags else None,
        method=f"{fma_units} FMA units x {lanes} fp32 lanes x {mhz:.0f} MHz (/proc/cpuinfo)",
    )


def agreement(reference: Predictor, candidate: Predictor, batches: list[np.ndarray]) -> float:
    """Fraction of pixels where two predictors' argmax labels match; a pixel whose logits
    are not finite in either never matches (NumPy's argmax of NaN logits is index 0 for
    both, which would count as agreement)."""
    from segmnv3.deploy.export.parity import agreeing_pixels

    same = total = 0
    for batch in batches:
        matches = agreeing_pixels(reference.logits(batch), candidate.logits(batch))
        same += int(matches.sum())
        total += matches.size
    return same / max(total, 1)
