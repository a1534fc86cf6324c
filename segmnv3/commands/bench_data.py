"""`segmnv3 bench-data`: training samples/s per DataLoader worker, PNG vs frame cache."""

from __future__ import annotations

import argparse
import os

from segmnv3.commands.synth import size_arg

SUMMARY = "Benchmark the data pipeline: training samples/s per worker, PNG vs frame cache."
EXAMPLES = """examples:
  segmnv3 bench-data                                   # 4 generated 2048x1024 synthetic frames
  segmnv3 bench-data --root datasets/cityscapes --samples 100
  segmnv3 bench-data --root datasets/mine --crop 256x256     # a folder dataset (labels.yaml)
  segmnv3 bench-data --crop 512x1024 --workers 1 2 4 8 --out outputs/bench_data_512x1024.png

Times each stage in one process with one thread, as one DataLoader worker runs it, for the
PNG path, the textbook albumentations chain, the frame cache (`segmnv3 prepare --cache`;
the benchmark writes its own copy of the first frames to a temp dir) and the cache with
normalisation on the device, interleaved in one run. Then runs a real DataLoader with each
--workers count (wall clock). Multiply by the workers (one per core) for the loader rate.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        help="dataset root, Cityscapes or folder dataset (default: generate 4 full-size "
        "synthetic frames in a temp dir)",
    )
    parser.add_argument("--split", default="train", help="split to read")
    parser.add_argument(
        "--crop", type=size_arg, default=(769, 769), metavar="HxW", help="training crop"
    )
    parser.add_argument("--samples", type=int, default=40, help="samples timed per stage")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=None,
        help="DataLoader worker counts to run (default: 1, 2 and all cores; none: skip)",
    )
    parser.add_argument("--out", default="outputs/bench_data.png", help="chart PNG")


def _worker_counts(requested: list[int] | None) -> list[int]:
    if requested is not None:
        return sorted({max(1, n) for n in requested})
    return sorted({1, 2, os.cpu_count() or 1})


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from segmnv3.data.bench import bench_frames, format_table, time_stages
    from segmnv3.data.bench_loader import format_rates, loader_rates, plot
    from segmnv3.data.config import DataConfig
    from segmnv3.data.synthetic import generate_synthetic

    cfg = DataConfig(crop_size=args.crop)
    workers, rates = _worker_counts(args.workers), None
    with tempfile.TemporaryDirectory(prefix="segmnv3_bench_data_") as scratch:
        root = args.root
        if root is None:
            print("generating 4 synthetic 2048x1024 frames ...")
            root = generate_synthetic(
                Path(scratch) / "frames",
                num_train=4,
                num_val=0,
                num_test=0,
                size=(1024, 2048),
                video=False,
            )
        frames = bench_frames(root, args.split, Path(scratch) / "cache")
        times = time_stages(*frames, cfg, samples=max(1, args.samples))
        print(format_table(times, args.crop))
        if workers:
            rates = loader_rates(*frames, cfg, workers=workers, samples=max(4, args.samples))
            print(format_rates(rates))
    from segmnv3.core.optional import pyplot

    if pyplot() is not None:  # else a warning says how to install matplotlib
        print(f"chart: {plot(times, rates, args.out)}")
    return 0
