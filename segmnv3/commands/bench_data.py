"""`segmnv3 bench-data`: training samples/s per DataLoader worker (decode + augment)."""

from __future__ import annotations

import argparse

from segmnv3.commands.synth import size_arg

SUMMARY = "Benchmark the data pipeline: decoded + augmented training samples/s per worker."
EXAMPLES = """examples:
  segmnv3 bench-data                                   # 4 generated 2048x1024 synthetic frames
  segmnv3 bench-data --root datasets/cityscapes --samples 100
  segmnv3 bench-data --crop 512x1024 --out outputs/bench_data_512x1024.png

Times each stage in one process with one thread, as one DataLoader worker runs it, and
compares with the textbook albumentations chain measured in the same run. Multiply by
the number of workers (one per core) for the loader's throughput.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", help="dataset root (default: generate 4 full-size synthetic frames in a temp dir)"
    )
    parser.add_argument("--split", default="train", help="split to read")
    parser.add_argument(
        "--crop", type=size_arg, default=(769, 769), metavar="HxW", help="training crop"
    )
    parser.add_argument("--samples", type=int, default=40, help="samples timed per stage")
    parser.add_argument("--out", default="outputs/bench_data.png", help="bar chart PNG")


def run(args: argparse.Namespace) -> int:
    import tempfile

    from segmnv3.data.bench import format_table, plot, time_stages
    from segmnv3.data.config import DataConfig
    from segmnv3.data.synthetic import generate_synthetic

    cfg = DataConfig(crop_size=args.crop)
    with tempfile.TemporaryDirectory(prefix="segmnv3_bench_data_") as scratch:
        root = args.root
        if root is None:
            print("generating 4 synthetic 2048x1024 frames ...")
            root = generate_synthetic(
                scratch, num_train=4, num_val=0, num_test=0, size=(1024, 2048), video=False
            )
        times = time_stages(root, cfg, split=args.split, samples=max(1, args.samples))
    print(format_table(times, args.crop))
    from segmnv3.core.optional import pyplot

    if pyplot() is not None:  # else a warning says how to install matplotlib
        print(f"chart: {plot(times, args.out)}")
    return 0
