"""``segmnv3 bench`` end to end: predictors per backend, interleaved timing, memory, video.

For each resolution every (subject, backend) gets a predictor, then all of them are
timed interleaved; each latency is reported as a ratio to torchvision's eager model
measured in the same rounds, and as a fraction of the one-thread fp32 GEMM rate measured
at the start of the run (``roofs``; the assumed FMA peak stays as a labelled second figure).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from segmnv3.deploy.bench.app import AppLatency
from segmnv3.deploy.bench.files import BenchFiles
from segmnv3.deploy.bench.results import (
    BenchmarkResult,
    CpuInfo,
    LatencyResult,
    MemoryResult,
    ModelResult,
    VideoResult,
)
from segmnv3.deploy.bench.roofline import RooflineResult
from segmnv3.deploy.bench.roofs import Roofs, measure_roofs
from segmnv3.deploy.bench.subjects import REFERENCE, Subject
from segmnv3.deploy.bench.timing import agreement, cpu_peak, time_interleaved
from segmnv3.deploy.runtimes import Backend, Predictor, build_predictor
from segmnv3.deploy.runtimes.backend import (
    EAGER,
    EXECUTORCH,
    EXECUTORCH_INT8,
    LITERT,
    LITERT_INT8,
    ONNXRUNTIME,
    ONNXRUNTIME_INT8,
    OPENVINO,
    OPENVINO_BF16,
    OPENVINO_INT8,
)

MEMORY_BACKENDS = (
    EAGER,
    ONNXRUNTIME,
    OPENVINO,
    OPENVINO_BF16,
    ONNXRUNTIME_INT8,
    OPENVINO_INT8,
    LITERT,
    EXECUTORCH,
    LITERT_INT8,
    EXECUTORCH_INT8,
)
"""Backends whose peak RSS is measured (those the first subject runs)."""


@dataclass(frozen=True)
class BenchSettings:
    """How to benchmark.

    Attributes:
        sizes: resolution label (``half``, ``full``) -> (H, W).
        threads: threads of every runtime.
        warmup: untimed runs of each predictor first.
        repeats: timed rounds.
        calib_images: training images for int8 calibration.
        agreement_images: val images for the argmax agreement with eager.
        fma_units: FMA pipes per core, for the assumed peak (a labelled second figure).
        quick: the CI mode (recorded in the result).
    """

    sizes: dict[str, tuple[int, int]]
    threads: int = 1
    warmup: int = 2
    repeats: int = 10
    calib_images: int = 8
    agreement_images: int = 2
    fma_units: int = 2
    quick: bool = False


@dataclass
class _Run:
    """What every resolution of one run shares."""

    subjects: list[Subject]
    settings: BenchSettings
    calibration: list[Path]
    val_images: list[np.ndarray]
    workdir: Path
    cpu: CpuInfo
    roofs: Roofs
    files: dict[tuple[str, tuple[int, int]], BenchFiles]
    params: dict[str, int]
    madds: dict[str, dict[str, int]]  # subject -> resolution label -> MAdds

    def files_of(self, subject: Subject, size: tuple[int, int]) -> BenchFiles:
        key = (subject.name, size)
        if key not in self.files:
            self.files[key] = BenchFiles(subject, size, self.workdir, self.calibration)
        return self.files[key]


def run_benchmark(
    subjects: list[Subject],
    settings: BenchSettings,
    *,
    data_root: Path,
    workdir: Path,
    video: Callable[[Subject], VideoResult] | None = None,
) -> BenchmarkResult:
    """Time every subject on every backend at each size; measure memory at the largest.

    Args:
        subjects: the first is the target model (row 8 by default), then the baselines.
        settings: sizes, threads, repeats, image counts.
        data_root: Cityscapes-layout images (calibration: train, agreement: val).
        workdir: folder for exported and quantized files.
        video: optional measurement of the video pipeline on the first subject.
    """
    import torch

    from segmnv3.deploy.images import dataset_images, read_bgr

    torch.set_num_threads(settings.threads)
    workdir.mkdir(parents=True, exist_ok=True)
    val_paths = dataset_images(data_root, "val", settings.agreement_images)
    run = _Run(
        subjects=subjects,
        settings=settings,
        calibration=dataset_images(data_root, "train", settings.calib_images),
        val_images=[read_bgr(p, what="agreement image") for p in val_paths],
        workdir=workdir,
        cpu=cpu_peak(settings.fma_units),
        roofs=measure_roofs(),
        files={},
        params={},
        madds={s.name: {} for s in subjects},
    )
    load_before = os.getloadavg()
    latency, rooflines = [], []
    for label, size in settings.sizes.items():
        rows = _bench_resolution(run, label, size)
        latency += rows
        rooflines += [_roofline(run, s, label, size, rows) for s in subjects if not s.baseline]
    largest = max(settings.sizes.values(), key=lambda s: s[0] * s[1])
    app = _app_latency(run, subjects[0], settings.sizes["half"], largest)
    memory = _measure_memory(run, subjects[0], largest)
    return BenchmarkResult(
        cpu=run.cpu,
        threads=settings.threads,
        warmup=settings.warmup,
        repeats=settings.repeats,
        sizes=dict(settings.sizes),
        load_average={"before": tuple(load_before), "after": tuple(os.getloadavg())},
        calibration_images=len(run.calibration),
        agreement_images=len(run.val_images),
        models=[_model_result(run, s) for s in subjects],
        latency=latency,
        memory=memory,
        video=video(subjects[0]) if video else None,
        quick=settings.quick,
        roofs=run.roofs,
        rooflines=rooflines,
        app=app,
    )


def _predictors(run: _Run, subject: Subject, size: tuple[int, int]) -> dict[Backend, Predictor]:
    """backend -> predictor for ``subject`` at ``size``."""
    files = run.files_of(subject, size)
    threads = run.settings.threads
    return {
        backend: build_predictor(
            backend, subject.model if backend == EAGER else files.graph(backend), threads=threads
        )
        for backend in subject.backends
    }


def _bench_resolution(run: _Run, label: str, size: tuple[int, int]) -> list[LatencyResult]:
    """Every (subject, backend) at one size: latency, ratio, % of roof, argmax agreement."""
    from segmnv3.deploy.inference.preprocess import to_input
    from segmnv3.models.profile import profile

    predictors: dict[tuple[str, Backend], Predictor] = {}
    desc = f"preparing {label} {size[0]}x{size[1]}"
    for subject in tqdm(run.subjects, desc=desc, leave=False):
        counts = profile(subject.model, size)
        run.params[subject.name], run.madds[subject.name][label] = counts.params, counts.madds
        for backend, predictor in _predictors(run, subject, size).items():
            predictors[subject.name, backend] = predictor
    batch = np.random.default_rng(0).standard_normal((1, 3, *size), dtype=np.float32)
    runners = {key: (lambda p=p: p.logits(batch)) for key, p in predictors.items()}
    settings = run.settings
    total = len(runners) * (settings.warmup + settings.repeats)
    with tqdm(total=total, desc=f"timing {label}", unit="run", leave=False) as bar:
        timings = time_interleaved(
            runners, warmup=settings.warmup, repeats=settings.repeats, progress=bar
        )
    data = {s.name: s.data for s in run.subjects}
    reference_ms = timings[REFERENCE].median_ms
    peak, roof = run.cpu.peak_fp32_gmacs * 1e9, run.roofs.fp32_gmacs * 1e9
    rows = []
    for (name, backend), timing in timings.items():
        batches = [to_input(image, size, data[name]) for image in run.val_images]
        macs_per_s = run.madds[name][label] / (timing.median_ms / 1000)
        same = (
            1.0
            if backend == EAGER
            else agreement(predictors[name, EAGER], predictors[name, backend], batches)
        )
        rows.append(
            LatencyResult(
                model=name,
                backend=backend,
                resolution=label,
                size=size,
                timing=timing,
                ratio_to_torchvision_eager=timing.median_ms / reference_ms,
                gmacs_per_s=macs_per_s / 1e9,
                pct_fp32_peak=100 * macs_per_s / peak,
                agreement_with_eager=same,
                pct_fp32_roof=100 * macs_per_s / roof,
            )
        )
    return rows


def _roofline(
    run: _Run, subject: Subject, label: str, size: tuple[int, int], rows: list[LatencyResult]
) -> RooflineResult:
    """ONNX Runtime's per-node profile of ``subject`` at ``size`` against the roofs, and
    the fastest fp32 latency of ``rows`` over its floor."""
    from segmnv3.deploy.bench.roofline import profile_onnxruntime, roofline

    path = run.files_of(subject, size).onnx()
    runs = max(3, min(run.settings.repeats, 5))
    trace = profile_onnxruntime(path, size, runs, run.workdir)
    result = roofline(
        subject.name,
        label,
        path,
        trace,
        run.roofs,
        size=size,
        model_macs=run.madds[subject.name][label],
        runs=runs,
    )
    trace.unlink()
    fp32 = [r for r in rows if r.model == subject.name and r.backend.precision == "fp32"]
    if not fp32:
        return result
    fastest = min(fp32, key=lambda r: r.median_ms)
    return dataclasses.replace(
        result, fastest_backend=fastest.backend.name, fastest_ms=fastest.median_ms
    )


def _app_latency(
    run: _Run, subject: Subject, size: tuple[int, int], frame_size: tuple[int, int]
) -> list[AppLatency]:
    """Frame (``frame_size``) -> label map at the frame's size, network at ``size``, for
    eager / ONNX Runtime / OpenVINO, each with a logits, a labels and a head graph."""
    import cv2

    from segmnv3.deploy.bench.app import graph_runners, time_app

    files = run.files_of(subject, size)
    backends = tuple(subject.backends)
    runners = graph_runners(
        subject.model, files.onnx(), size, backends, threads=run.settings.threads
    )
    frame = cv2.resize(run.val_images[0], (frame_size[1], frame_size[0]))[..., ::-1]  # RGB
    warmup, repeats = run.settings.warmup, run.settings.repeats
    return time_app(
        runners,
        np.ascontiguousarray(frame),
        size,
        subject.data,
        model=subject.name,
        warmup=warmup,
        repeats=repeats,
        align_corners=bool(getattr(subject.model, "align_corners", False)),
        dram_gbps=run.roofs.dram_gbps,
    )


def _measure_memory(run: _Run, subject: Subject, size: tuple[int, int]) -> list[MemoryResult]:
    """Peak RSS of a fresh process segmenting one ``size`` image, per backend."""
    from segmnv3.deploy.bench.memory import measure_peak_rss

    files = run.files_of(subject, size)
    results = []
    backends = [b for b in MEMORY_BACKENDS if b in subject.backends]
    for backend in tqdm(backends, desc="peak memory", leave=False):
        path = files.checkpoint() if backend == EAGER else files.graph(backend)
        probe = measure_peak_rss(backend, path, size)
        results.append(MemoryResult(subject.name, backend, size, probe.peak_rss_mb, probe.seconds))
    return results


def _model_result(run: _Run, subject: Subject) -> ModelResult:
    return ModelResult(
        name=subject.name,
        baseline=subject.baseline,
        params=run.params.get(subject.name, 0),
        madds=dict(run.madds[subject.name]),
        backends=tuple(subject.backends),
        paper=subject.paper,
    )
