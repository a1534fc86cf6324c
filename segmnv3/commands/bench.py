"""`segmnv3 bench`: paper-style CPU latency of every backend, beside the paper and baselines."""

from __future__ import annotations

import argparse

SUMMARY = "Benchmark params, MAdds, latency (eager/ONNX Runtime/OpenVINO/int8) and memory."
EXAMPLES = """examples:
  segmnv3 bench                                   # paper Table 7 rows 8 and 11, 1 thread
  segmnv3 bench --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml --threads 2
  segmnv3 bench --quick --output outputs/bench-ci   # tiny sizes and repeats, for CI

Writes bench.json, bench.md, latency_vs_madds.png and latency_half_full.png to --output.
Baselines timed in the same rounds: torchvision lraspp_mobilenet_v3_large and smp
DeepLabV3+ (timm MobileNetV3-Large encoder), both with random weights (latency does not
depend on the weights). Run it on a quiet machine: `uptime` load is printed in the report.
"""

ROWS = ("table7_row08_v3large_rf2_lraspp_f128_os16", "table7_row11_v3small_rf2_lraspp_f128_os16")
SIZES = {"half": (512, 1024), "full": (1024, 2048)}
QUICK_SIZES = {"half": (64, 128), "full": (128, 256)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="config to benchmark (repeatable); default: Table 7 rows 8 and 11",
    )
    parser.add_argument(
        "--weights",
        help="checkpoint for a single --config (int8 agreement "
        "is only meaningful with trained weights)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads of every runtime")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per backend")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument(
        "--quick", action="store_true", help="CI mode: 64x128 / 128x256 inputs, 2 runs, row 11 only"
    )
    parser.add_argument("--output", default="outputs/bench", help="report folder")
    parser.add_argument(
        "--data-root",
        help="images for int8 calibration and agreement "
        "(default: a temporary synthetic set at the full size)",
    )
    parser.add_argument("--calib-images", type=int, default=8, help="int8 calibration images")
    parser.add_argument(
        "--agreement-images", type=int, default=2, help="val images for argmax agreement with eager"
    )
    parser.add_argument(
        "--fma-units", type=int, default=2, help="AVX-512 FMA pipes per core, for the compute floor"
    )
    parser.add_argument("--no-video", action="store_true", help="skip the video FPS figure")


def run(args: argparse.Namespace) -> int:
    import json
    from contextlib import ExitStack
    from pathlib import Path

    from segmnv3.core.errors import UserError
    from segmnv3.deploy.bench_run import build_subjects, run_benchmark
    from segmnv3.deploy.bundle import synthetic_root
    from segmnv3.deploy.report import assess_targets, charts, markdown
    from segmnv3.models.zoo import CONFIG_DIR

    rows = ROWS[1:] if args.quick else ROWS
    paths = (
        [Path(p) for p in args.config] if args.config else [CONFIG_DIR / f"{r}.yaml" for r in rows]
    )
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UserError(f"--config: {missing} not found; see configs/README.md")
    if args.weights and not args.config:
        raise UserError("--weights needs --config (the model it was trained as, given first)")
    sizes = QUICK_SIZES if args.quick else SIZES
    repeats, warmup = (2, 1) if args.quick else (args.repeats, args.warmup)
    calib, agree = (2, 1) if args.quick else (args.calib_images, args.agreement_images)
    out_dir = Path(args.output)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--output {out_dir}: cannot create it ({error.strerror})") from None
    with ExitStack() as stack:
        root = (
            Path(args.data_root)
            if args.data_root
            else synthetic_root(stack, sizes["full"], calib, agree)
        )
        video = (
            None if args.no_video else _video_probe(stack, sizes["half"], args.threads, args.quick)
        )
        result = run_benchmark(
            build_subjects(paths, args.weights), sizes, out_dir=out_dir, data_root=root,
            threads=args.threads, warmup=warmup, repeats=repeats, calib_images=calib,
            agreement_images=agree, fma_units=args.fma_units, video=video,
        )  # fmt: skip
    result["quick"] = args.quick
    result["targets"] = assess_targets(result)
    (out_dir / "bench.json").write_text(json.dumps(result, indent=2))
    report = markdown(result)
    (out_dir / "bench.md").write_text(report)
    pictures = charts(result, out_dir)
    print(report)
    print(
        f"wrote {out_dir / 'bench.json'}, {out_dir / 'bench.md'}, " + ", ".join(map(str, pictures))
    )
    return 0


def _video_probe(stack, size, threads, quick):
    """A callable(model) -> video FPS figures on a synthetic clip at ``size``."""
    import tempfile
    from pathlib import Path

    from segmnv3.data.synthetic import write_clip
    from segmnv3.deploy.video import measure_video

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="segmnv3-clip-")))
    clip = write_clip(folder / "clip.mp4", frames=8 if quick else 48, size=size)
    return lambda model: measure_video(model, clip, folder / "overlay.mp4", threads=threads)
