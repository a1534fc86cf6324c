"""`segmnv3 bench`: paper-style CPU latency of every backend, beside the paper and baselines."""

from __future__ import annotations

import argparse
import dataclasses

SUMMARY = (
    "Benchmark params, MAdds, latency (eager/ONNX Runtime/OpenVINO/LiteRT/ExecuTorch/int8) "
    "and memory."
)
EXAMPLES = """examples:
  segmnv3 bench                                   # paper Table 7 rows 8 and 11, 1 thread
  segmnv3 bench --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml --threads 2
  segmnv3 bench --quick --output outputs/bench-ci   # tiny sizes and repeats, for CI

Writes bench.json, bench.md, latency_vs_madds.png and latency_half_full.png to --output.
Each run first measures this CPU's one-thread roofs (fp32 / bf16 / int8 GEMM, cache and
DRAM copy bandwidth: `segmnv3 profile --roofs`); "% of measured fp32 GEMM" and the
compute floors use them (the assumed FMA peak stays as a labelled second column).
Baselines timed in the same rounds: torchvision lraspp_mobilenet_v3_large and smp
DeepLabV3+ (timm MobileNetV3-Large encoder), both with random weights (latency does not
depend on the weights). Run it on a quiet machine: `uptime` load is printed in the report. With the mobile extra,
LiteRT and ExecuTorch (XNNPACK, the phone CPU kernels) get rows beside the paper's
Pixel 3 column; pin the process to one core (`taskset -c 1 segmnv3 bench`) to mimic it.
"""

ROWS = ("table7_row08_v3large_rf2_lraspp_f128_os16", "table7_row11_v3small_rf2_lraspp_f128_os16")
SIZES = {"half": (512, 1024), "full": (1024, 2048)}
QUICK_SIZES = {"half": (64, 128), "full": (128, 256)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segmnv3.commands.arg_types import non_negative_int, positive_int

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
    parser.add_argument(
        "--threads", type=positive_int, default=1, help="threads of every runtime (>= 1)"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=10, help="timed runs per backend (>= 1)"
    )
    parser.add_argument("--warmup", type=non_negative_int, default=2, help="untimed runs first")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI mode: 64x128 / 128x256 inputs, 2 runs, row 11 only, no LiteRT / ExecuTorch "
        "rows (~20 s per converted file)",
    )
    parser.add_argument("--output", default="outputs/bench", help="report folder")
    parser.add_argument(
        "--data-root",
        help="images for int8 calibration and agreement; "
        "without it, a temporary synthetic set at the full size is generated",
    )
    parser.add_argument(
        "--calib-images", type=positive_int, default=8, help="int8 calibration images (>= 1)"
    )
    parser.add_argument(
        "--agreement-images",
        type=positive_int,
        default=2,
        help="val images for argmax agreement with eager (>= 1)",
    )
    parser.add_argument(
        "--fma-units",
        type=positive_int,
        default=2,
        help="AVX-512 FMA pipes per core, for the assumed-peak column only "
        "(floors use the measured GEMM rate)",
    )
    parser.add_argument("--no-video", action="store_true", help="skip the video FPS figure")


def run(args: argparse.Namespace) -> int:
    from segmnv3.commands.interrupts import run_until_interrupted

    return run_until_interrupted(
        lambda: _run(args),
        f"no report written; exported files in progress were "
        f"removed (nothing partial is left in {args.output})",
    )


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segmnv3.core.errors import UserError
    from segmnv3.deploy.bench.report import markdown
    from segmnv3.deploy.bench.run import BenchSettings

    if args.weights and not args.config:
        raise UserError("--weights needs --config (the model it was trained as, given first)")
    sizes = QUICK_SIZES if args.quick else SIZES
    repeats, warmup = (2, 1) if args.quick else (args.repeats, args.warmup)
    calib, agree = (2, 1) if args.quick else (args.calib_images, args.agreement_images)
    settings = BenchSettings(
        sizes=sizes,
        threads=args.threads,
        warmup=warmup,
        repeats=repeats,
        calib_images=calib,
        agreement_images=agree,
        fma_units=args.fma_units,
        quick=args.quick,
    )
    configs = args.config or list(ROWS[1:] if args.quick else ROWS)
    subjects = load_subjects(configs, args.weights, mobile=not args.quick)
    data_root = Path(args.data_root) if args.data_root else None
    result, written = benchmark(subjects, settings, Path(args.output), data_root, not args.no_video)
    print(markdown(result))
    print("wrote " + ", ".join(map(str, written)))
    return 0


def load_subjects(configs: list[str], weights: str | None = None, mobile: bool = True) -> list:
    """Our configs (paths or shipped names; random init, ``weights`` for the first) and the
    two baselines; ``mobile=False`` leaves out the LiteRT / ExecuTorch rows."""
    from pathlib import Path

    from segmnv3.configs import resolve_config
    from segmnv3.core.errors import ConfigError, UserError
    from segmnv3.core.paper import paper_row
    from segmnv3.deploy.bench.subjects import (
        OUR_BACKENDS,
        Subject,
        baseline_subjects,
        our_backends,
    )
    from segmnv3.deploy.model import load_deploy_model
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    try:
        paths = [resolve_config(c) for c in configs]
    except ConfigError as error:
        raise UserError(f"--config: {error}") from None
    names: dict[str, Path] = {}
    for path in map(Path, paths):
        if path.stem in names:
            raise UserError(
                f"--config: {names[path.stem]} and {path} both give a model named "
                f"{path.stem!r} (files and results are named after the config file); "
                "give each config once, under distinct names"
            )
        names[path.stem] = path
    backends = our_backends() if mobile else tuple(b for b in OUR_BACKENDS if not b.is_mobile)
    subjects = []
    for index, path in enumerate(paths):
        config = load_config(path)
        if weights and index == 0:
            deployed = load_deploy_model(weights, config.model, config.data)
            model, data = deployed.module, deployed.data
        else:
            model, data = build_model_from_config(config.model).eval(), config.data
        subjects.append(
            Subject(
                Path(path).stem,
                model,
                backends,
                paper=paper_row(path),
                data=data,
                model_config=config.model,
            )
        )
    return subjects + baseline_subjects()


def benchmark(
    subjects, settings, out_dir, data_root=None, video: bool = True, agreement: bool = True
):
    """Run the benchmark into ``out_dir`` (a temporary synthetic set when ``data_root`` is
    None); returns the result, with its targets, and the files written. ``agreement=False``
    leaves the int8 agreement targets unassessed (``targets.assess_targets``)."""
    import tempfile
    from contextlib import ExitStack
    from pathlib import Path

    from segmnv3.core.errors import UserError
    from segmnv3.core.files import remove_stale_temporaries
    from segmnv3.data.synthetic import write_clip
    from segmnv3.deploy.bench.report import write_report
    from segmnv3.deploy.bench.run import run_benchmark
    from segmnv3.deploy.bench.targets import assess_targets
    from segmnv3.deploy.bench.video import measure_video
    from segmnv3.deploy.images import synthetic_root

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--output {out_dir}: cannot create it ({error.strerror})") from None
    for folder in (out_dir, out_dir / "files"):
        for path in remove_stale_temporaries(folder):
            print(f"removed {path}, left by an earlier run that was killed")
    sizes = settings.sizes
    with ExitStack() as stack:
        if data_root is None:
            calib, agree = settings.calib_images, settings.agreement_images
            data_root = synthetic_root(stack, max(sizes.values()), calib, agree)
        probe = None
        if video:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="segmnv3-clip-")))
            frames = 8 if settings.quick else 48
            clip = write_clip(folder / "clip.mp4", frames=frames, size=sizes["half"])

            def probe(subject):
                return measure_video(
                    subject.model,
                    clip,
                    folder / "overlay.mp4",
                    threads=settings.threads,
                    data=subject.data,
                )

        result = run_benchmark(
            subjects, settings, data_root=data_root, workdir=out_dir / "files", video=probe
        )
    result = dataclasses.replace(result, targets=assess_targets(result, agreement=agreement))
    return result, write_report(result, out_dir)
