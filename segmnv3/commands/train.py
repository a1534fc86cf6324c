"""`segmnv3 train`: the paper's training protocol, alone or under torchrun."""

from __future__ import annotations

import argparse

from segmnv3.commands.arg_types import positive_int
from segmnv3.commands.config_flags import (
    SYNTHETIC_ROOT,
    flag_overrides,
    keep_synthetic_out_of_real_root,
)

SUMMARY = "Train a segmentation model (paper protocol: SGD, poly LR, CE with ignore 255)."
EXAMPLES = """examples:
  segmnv3 train --head lraspp --backbone mobilenet_v3_large --data-root datasets/cityscapes
  segmnv3 train --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml \\
      --data-root datasets/cityscapes --out-dir runs/row08
  segmnv3 train --dataset synthetic --backbone mobilenet_v3_small --iterations 300 \\
      --batch-size 8 --set data.crop_size=[256,512] --set train.base_lr=0.05
  torchrun --nproc_per_node 4 tools/train.py \\
      --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml --batch-size 4
  segmnv3 train --resume runs/row08/last.pt --iterations 300000 --extend
  segmnv3 train --config table8_v3large_rf2_lraspp_f128_os32 --init-weights deeplab_large.pt \\
      --data-root datasets/cityscapes --out-dir runs/from_deeplab   # new run, step 0
  segmnv3 train --dataset folder --data-root datasets/mine --num-classes 6 --out-dir runs/mine
      # your own data and classes (DIR/labels.yaml, images/, masks/: datasets/README.md)
  segmnv3 train --config table8_v3large_rf2_lraspp_f128_os32 --init-weights deeplab_large.pt \\
      --dataset folder --data-root datasets/mine --num-classes 6 --out-dir runs/ft
      # fine-tune to other classes: rows of shared class names kept, the rest re-initialised

Rerunning a command continues from <out-dir>/last.pt (a finished run only reports its
results); another --iterations than the run's is an error unless --extend is given, and
then must exceed the step reached: the poly LR schedule is recomputed for the new length
from the current step. One process at a time may use an --out-dir (it is locked; a
second run fails naming the holder's PID). Ctrl-C (or SIGTERM) saves a
checkpoint after the current step and exits; the global batch is batch-size x processes
x train.accumulate and the LR scales linearly with it (base_lr at base_batch 16).
"""

# shorthand flag -> config key
SHORTHANDS = {
    "head": "model.head",
    "backbone": "model.backbone",
    "data_root": "data.root",
    "dataset": "data.dataset",
    "num_classes": "model.num_classes",
    "out_dir": "train.out_dir",
    "iterations": "train.iterations",
    "batch_size": "train.batch_size",
    "device": "train.device",
    "init_weights": "model.init_weights",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file overriding the paper defaults (configs/)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. train.base_lr=0.02 (repeatable)",
    )
    parser.add_argument("--head", choices=("lraspp", "raspp"), help="model.head")
    parser.add_argument(
        "--backbone",
        choices=("mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2"),
        help="model.backbone",
    )
    parser.add_argument(
        "--data-root",
        help="data.root: folder with leftImg8bit/ and gtFine/, or a folder dataset",
    )
    parser.add_argument(
        "--dataset",
        choices=("cityscapes", "synthetic", "folder"),
        help=f"data.dataset; synthetic is generated at data.root if missing "
        f"(default root {SYNTHETIC_ROOT}); folder: your own data with labels.yaml",
    )
    parser.add_argument(
        "--num-classes",
        type=positive_int,
        help="model.num_classes: must equal the data's label set (19 for Cityscapes)",
    )
    parser.add_argument("--out-dir", help="train.out_dir: run folder (checkpoints, logs)")
    parser.add_argument(
        "--iterations", type=positive_int, help="train.iterations (optimiser steps)"
    )
    parser.add_argument("--batch-size", type=positive_int, help="train.batch_size (per process)")
    parser.add_argument("--device", help="train.device: auto, cpu, cuda or cuda:N")
    parser.add_argument("--resume", help="training checkpoint to continue (its config is reused)")
    parser.add_argument(
        "--init-weights",
        metavar="PATH",
        help="model.init_weights: start a new run (step 0, fresh optimiser and schedule) "
        "from the weights of a segmnv3 checkpoint, e.g. one from convert-deeplab",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="continue an existing run to a new --iterations (beyond the step it reached)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def resolve_config(args: argparse.Namespace):
    """Defaults < --config (or the --resume checkpoint's config) < shorthand flags < --set."""
    from segmnv3.engine.config import Config, apply_override, load_config

    overrides = flag_overrides(args, SHORTHANDS)
    if args.resume and not args.config:
        from segmnv3.engine.checkpoint import is_training_checkpoint, load_checkpoint

        state = load_checkpoint(args.resume)
        if is_training_checkpoint(state):
            data = Config.from_dict(state["config"], source=args.resume).to_dict()
            if not any(item.startswith("train.out_dir=") for item in overrides):
                _continue_in_checkpoint_folder(data, args.resume)
            for item in overrides:
                apply_override(data, item)
            return Config.from_dict(data, source=f"{args.resume} + flags")
    return keep_synthetic_out_of_real_root(load_config(args.config, overrides))


def _continue_in_checkpoint_folder(data: dict, resume: str) -> None:
    """A resumed run continues in the folder its checkpoint is in, not the folder named
    inside it (a copied run must not overwrite the original); --out-dir still decides."""
    from pathlib import Path

    stored, folder = Path(data["train"]["out_dir"]), Path(resume).parent
    if stored.resolve() != folder.resolve():
        print(f"continuing in {folder} (the checkpoint's folder; the run began in {stored})")
    data["train"]["out_dir"] = str(folder)


def run(args: argparse.Namespace) -> int:
    from segmnv3.engine.trainer import train

    config = resolve_config(args)
    result = train(config, resume=args.resume, progress=not args.no_progress, extend=args.extend)
    return 130 if result.interrupted else 0
