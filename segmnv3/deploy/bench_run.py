"""``segmnv3 bench`` end to end: subjects, predictors per backend, timing, memory, targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from segmnv3.deploy.benchmark import (
    BASELINE_BACKENDS,
    OUR_BACKENDS,
    REFERENCE,
    Subject,
    agreement,
    cpu_peak,
    time_interleaved,
)
from segmnv3.deploy.export import export_onnx
from segmnv3.deploy.quantize import quantize_onnxruntime, quantize_openvino
from segmnv3.deploy.runtimes import EagerPredictor, OnnxRuntimePredictor, OpenVinoPredictor

SMP_ENCODER = "tu-mobilenetv3_large_100"  # timm's MobileNetV3-Large; builds offline


def build_subjects(config_paths: list[Path], weights: str | None = None) -> list[Subject]:
    """Our configs (random init; ``weights`` for the first one) and the two baselines."""
    import segmentation_models_pytorch as smp
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    from segmnv3 import build_model_from_config
    from segmnv3.core.paper import paper_row
    from segmnv3.engine.checkpoint import load_model
    from segmnv3.engine.config import load_config

    subjects = []
    for index, path in enumerate(config_paths):
        if weights and index == 0:
            model, config = load_model(weights, path)
        else:
            config = load_config(path)
            model = build_model_from_config(config.model)
        subject = Subject(path.stem, model.eval(), OUR_BACKENDS, paper_row(path))
        subject.config = config.to_dict()
        subjects.append(subject)
    torchvision = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=19)
    deeplab = smp.DeepLabV3Plus(encoder_name=SMP_ENCODER, encoder_weights=None, classes=19)
    subjects.append(Subject(REFERENCE[0], torchvision.eval(), BASELINE_BACKENDS, baseline=True))
    subjects.append(
        Subject(f"smp-deeplabv3plus-{SMP_ENCODER}", deeplab.eval(), BASELINE_BACKENDS,
                baseline=True)
    )  # fmt: skip
    return subjects


def make_predictors(
    subject: Subject, size: tuple[int, int], workdir: Path, calibration: list[Path], threads: int
) -> dict:
    """backend -> predictor for ``subject`` at ``size`` (exports/quantizes into ``workdir``)."""
    predictors = {}
    stem = workdir / f"{subject.name}_{size[0]}x{size[1]}"
    onnx_path = None
    for backend in subject.backends:
        if backend == "eager":
            predictors[backend] = EagerPredictor(subject.model, threads=threads)
            continue
        onnx_path = onnx_path or export_onnx(subject.model, stem.with_suffix(".onnx"), size)
        recipe = "naive" if backend.endswith("-naive") else "tuned"
        if backend == "onnxruntime":
            predictor = OnnxRuntimePredictor(onnx_path, threads=threads)
        elif backend.startswith("onnxruntime-int8"):
            path = quantize_onnxruntime(onnx_path, Path(f"{stem}_{recipe}_int8.onnx"),
                                        calibration, size, recipe)  # fmt: skip
            predictor = OnnxRuntimePredictor(path, threads=threads)
        elif backend.startswith("openvino-int8"):
            path = Path(f"{stem}_{recipe}_int8.xml")
            if not path.exists():  # openvino-int8 and -int8-bf16 share one file
                quantize_openvino(onnx_path, path, calibration, size, recipe)
            precision = "bf16" if backend.endswith("-bf16") else "f32"
            predictor = OpenVinoPredictor(path, threads=threads, precision=precision)
        else:
            precision = "bf16" if backend == "openvino-bf16" else "f32"
            predictor = OpenVinoPredictor(onnx_path, threads=threads, precision=precision)
        predictor.name = backend
        predictors[backend] = predictor
    return predictors


def bench_resolution(subjects, label, size, *, workdir, calibration, val_images, threads,
                     warmup, repeats, peak) -> list[dict]:  # fmt: skip
    """Every (subject, backend) at one size: latency, ratio, % of peak, argmax agreement."""
    from segmnv3 import profile
    from segmnv3.deploy.preprocess import to_input

    predictors = {}
    for subject in tqdm(subjects, desc=f"preparing {label} {size[0]}x{size[1]}", leave=False):
        counts = profile(subject.model, size)
        subject.params, subject.madds[label] = counts.params, counts.madds
        for backend, p in make_predictors(subject, size, workdir, calibration, threads).items():
            predictors[subject.name, backend] = p
    batch = np.random.default_rng(0).standard_normal((1, 3, *size), dtype=np.float32)
    runners = {key: (lambda p=p: p.logits(batch)) for key, p in predictors.items()}
    total = len(runners) * (warmup + repeats)
    with tqdm(total=total, desc=f"timing {label}", unit="run", leave=False) as bar:
        timings = time_interleaved(runners, warmup=warmup, repeats=repeats, progress=bar)
    batches = [to_input(image, size) for image in val_images]
    reference_ms = timings[REFERENCE]["median_ms"]
    rows = []
    for (name, backend), timing in timings.items():
        subject = next(s for s in subjects if s.name == name)
        madds = subject.madds[label]
        seconds = timing["median_ms"] / 1000
        same = (
            1.0
            if backend == "eager"
            else agreement(predictors[name, "eager"], predictors[name, backend], batches)
        )
        rows.append({
            "model": name, "backend": backend, "resolution": label, "size": list(size),
            **timing, "ratio_to_torchvision_eager": timing["median_ms"] / reference_ms,
            "gmacs_per_s": madds / seconds / 1e9,
            "pct_fp32_peak": 100 * madds / seconds / (peak["peak_fp32_gmacs"] * 1e9),
            "agreement_with_eager": same,
        })  # fmt: skip
    return rows


def measure_memory(
    subject: Subject, size: tuple[int, int], workdir: Path, calibration: list[Path]
) -> list[dict]:
    """Peak RSS of a fresh process segmenting one ``size`` image, per backend."""
    import torch

    from segmnv3.deploy.memprobe import measure_peak_rss

    checkpoint = workdir / f"{subject.name}_probe.pt"
    torch.save({"model": subject.model.state_dict(), "config": subject.config}, checkpoint)
    files = {"eager": checkpoint}
    stem = workdir / f"{subject.name}_{size[0]}x{size[1]}"
    onnx_path = stem.with_suffix(".onnx")
    if not onnx_path.exists():
        export_onnx(subject.model, onnx_path, size)
    files.update({"onnxruntime": onnx_path, "openvino": onnx_path, "openvino-bf16": onnx_path})
    for backend, suffix in (("onnxruntime-int8", ".onnx"), ("openvino-int8", ".xml")):
        path = Path(f"{stem}_tuned_int8{suffix}")
        if not path.exists():
            quantize = quantize_onnxruntime if suffix == ".onnx" else quantize_openvino
            quantize(onnx_path, path, calibration, size, "tuned")
        files[backend] = path
    rows = []
    for backend, path in tqdm(files.items(), desc="peak memory", leave=False):
        probe = measure_peak_rss(backend, path, size)
        rows.append(
            {
                "model": subject.name,
                "backend": backend,
                "size": list(size),
                "peak_rss_mb": probe["peak_rss_mb"],
                "seconds": probe["seconds"],
            }
        )
    return rows


def run_benchmark(subjects: list[Subject], sizes: dict[str, tuple[int, int]], *, out_dir: Path,
                  data_root: Path, threads: int, warmup: int, repeats: int, calib_images: int,
                  agreement_images: int, fma_units: int, video=None) -> dict:  # fmt: skip
    """Time every subject on every backend at each size; measure memory at the largest.

    Args:
        subjects: from ``build_subjects``; the first is the target model (row 8 by default).
        sizes: resolution label (``half``, ``full``) -> (H, W).
        out_dir: exported / quantized files go to ``out_dir/files``.
        data_root: Cityscapes-layout images (calibration: train, agreement: val).
        video: optional callable(model) -> dict of video FPS figures (see ``video.py``).
    """
    import os

    import cv2
    import torch

    from segmnv3.data.cityscapes import find_pairs

    torch.set_num_threads(threads)
    workdir = out_dir / "files"
    workdir.mkdir(parents=True, exist_ok=True)
    calibration = find_pairs(data_root, "train")[0][:calib_images]
    val_paths = find_pairs(data_root, "val")[0][:agreement_images]
    val_images = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in val_paths]
    peak = cpu_peak(fma_units)
    load_before = os.getloadavg()
    latency = []
    for label, size in sizes.items():
        latency += bench_resolution(
            subjects, label, size, workdir=workdir, calibration=calibration,
            val_images=val_images, threads=threads, warmup=warmup, repeats=repeats, peak=peak,
        )  # fmt: skip
    largest = max(sizes.values(), key=lambda s: s[0] * s[1])
    memory = measure_memory(subjects[0], largest, workdir, calibration)
    return {
        "cpu": peak, "threads": threads, "warmup": warmup, "repeats": repeats,
        "sizes": {k: list(v) for k, v in sizes.items()},
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "calibration_images": len(calibration), "agreement_images": len(val_images),
        "models": [_subject_dict(s) for s in subjects], "latency": latency,
        "memory": memory, "video": video(subjects[0].model) if video else None,
    }  # fmt: skip


def _subject_dict(subject: Subject) -> dict:
    paper = subject.paper
    return {
        "name": subject.name, "baseline": subject.baseline, "params": subject.params,
        "madds": dict(subject.madds), "backends": list(subject.backends),
        "paper": None if paper is None else {
            "table": paper.table, "row": paper.row, "miou": paper.miou,
            "params_m": paper.params_m, "madds_full_b": paper.madds_full_b,
            "madds_half_b": paper.madds_half_b, "cpu_full_s": paper.cpu_full_s,
            "cpu_half_ms": paper.cpu_half_ms,
        },
    }  # fmt: skip
