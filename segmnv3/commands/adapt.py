"""`segmnv3 adapt`: NetAdapt (paper section 4.2), a model slimmed to a latency budget."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from segmnv3.commands.arg_types import non_negative_int, positive_float, positive_int, resolution

SUMMARY = "Slim a model layer by layer to a latency budget on your runtime (NetAdapt)."
EXAMPLES = """examples:
  segmnv3 adapt --checkpoint runs/row08/best.pt --target-ratio 0.7 --size 512x1024
  segmnv3 adapt --config table7_row11_v3small_rf2_lraspp_f128_os16 --dataset synthetic \\
      --target-ratio 0.7 --size 256x512 --iterations 20 --out-dir runs/adapt_row11
  segmnv3 adapt --checkpoint runs/mine/best.pt --target-ms 30 --runtime openvino
  segmnv3 adapt --checkpoint runs/mine/best.pt --target-ms 80 \\
      --latency-table phone_table.json --size 512x1024        # latencies measured elsewhere
  segmnv3 adapt ... --workers 2                    # proposals fine-tuned in 2 processes
  torchrun --nproc_per_node 4 tools/adapt.py ...   # the same, one share per rank

Each step proposes, for every unit of channels (one block's expansion, the bottleneck of
a residual group, the last conv, the head), the smallest cut (multiples of 8) that saves
--delta of the seed's latency, measured end to end on --runtime (1 thread) at --size;
fine-tunes each proposal --iterations steps on the training split, scores it on the last
--heldout training images, and keeps the best dAcc/|dLatency| (--criterion accuracy: the
smallest accuracy loss). It repeats until --target-ms. The run folder gets adapt.jsonl
(every proposal, chosen or not, with predicted and measured ms), adapt.png, state.pt after
each step, and at the end adapted.yaml (train it from scratch: segmnv3 train --config
OUT/adapted.yaml) and adapted.pt (or fine-tune it: --init-weights OUT/adapted.pt).
Ctrl-C stops after saving nothing new; the same command continues at the last finished step.

--latency-table (JSON): {"runtime", "size": [H, W], "threads", "device", "rest_ms",
"layers": [{"in_channels", "out_channels", "kernel", "stride", "dilation", "groups",
"input": [h, w], "ms"}, ...]}: each conv's latency alone, rest_ms the rest of the model;
a run on ONNX Runtime writes OUT/latency_table.json in this format (the seed's layers).
"""


# shorthand flag -> config key
SHORTHANDS = {"data_root": "data.root", "dataset": "data.dataset", "batch_size": "train.batch_size"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    seed = parser.add_argument_group("seed model and data")
    seed.add_argument("--checkpoint", help="trained segmnv3 checkpoint to adapt (its config)")
    seed.add_argument("--config", help="paper row or YAML to adapt from random init (smoke)")
    seed.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    seed.add_argument("--data-root", help="data.root (default: the checkpoint's)")
    seed.add_argument("--dataset", choices=("cityscapes", "synthetic", "folder"))
    seed.add_argument("--batch-size", type=positive_int, help="train.batch_size")
    target = parser.add_argument_group("target")
    target.add_argument("--target-ms", type=positive_float, help="latency to reach (ms)")
    target.add_argument("--target-ratio", type=positive_float, help="target / seed latency")
    target.add_argument(
        "--runtime", default="onnxruntime", choices=("onnxruntime", "openvino", "litert")
    )
    target.add_argument("--size", type=resolution, default=(512, 1024), help="network input HxW")
    target.add_argument("--threads", type=positive_int, default=1, help="runtime threads")
    target.add_argument(
        "--repeats", type=positive_int, default=30, help="timed rounds per measurement (median)"
    )
    target.add_argument("--latency-table", help="per-layer latencies measured elsewhere (JSON)")
    search = parser.add_argument_group("search")
    search.add_argument("--delta", type=positive_float, default=0.01, help="step saving / seed")
    search.add_argument("--iterations", type=non_negative_int, default=20, help="fine-tune steps")
    search.add_argument("--criterion", choices=("ratio", "accuracy"), default="ratio")
    search.add_argument("--heldout", type=positive_int, default=8, help="held-out train images")
    search.add_argument("--seed", type=int, default=0)
    search.add_argument("--max-steps", type=positive_int, default=200)
    search.add_argument("--workers", type=positive_int, default=1, help="local processes")
    search.add_argument("--out-dir", default="runs/adapt", help="run folder")


def run(args: argparse.Namespace) -> int:
    from segmnv3.core.errors import UserError
    from segmnv3.engine.adapt.team import Team, run_workers, torchrun_team

    _check_flags(args)
    team = torchrun_team()
    if team is not None:
        return _run_team(args, team)
    if args.workers > 1:
        return run_workers(args.workers, functools.partial(_run_team, args))
    try:
        return _run_team(args, Team())
    except KeyboardInterrupt:
        raise UserError(
            f"interrupted: {args.out_dir} holds every finished step; run the same command "
            "again to continue"
        ) from None


def _check_flags(args: argparse.Namespace) -> None:
    from segmnv3.core.errors import UserError

    if (args.target_ms is None) == (args.target_ratio is None):
        raise UserError("give one of --target-ms (milliseconds) or --target-ratio (e.g. 0.7)")
    if args.target_ratio is not None and args.target_ratio >= 1:
        raise UserError(
            f"--target-ratio {args.target_ratio}: the seed already runs at 1.0 of its own "
            "latency: nothing to do; ask for less than 1 (e.g. 0.7)"
        )
    if (args.checkpoint is None) == (args.config is None):
        raise UserError("give the seed model: --checkpoint (trained) or --config (a paper row)")
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out-dir {out_dir} is a file; give a folder")


def _run_team(args: argparse.Namespace, team) -> int:
    import torch

    from segmnv3.engine.adapt.search import AdaptSettings, adapt
    from segmnv3.engine.data_loop import ensure_synthetic

    torch.set_num_threads(1)  # the same arithmetic in every process: the same choices
    config, model = _seed(args)
    latency = _latency_source(args, model if team.is_main else None)
    settings = AdaptSettings(
        target_ms=args.target_ms,
        target_ratio=args.target_ratio,
        delta=args.delta,
        iterations=args.iterations,
        criterion=args.criterion,
        heldout=args.heldout,
        seed=args.seed,
        max_steps=args.max_steps,
    )
    if team.is_main:
        ensure_synthetic(config.data)
        print(f"adapting {_describe(args)} for {latency.describe()}")
    team.broadcast(None)  # the synthetic data exists before other ranks read it
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = getattr(latency, "table", None)
    if team.is_main and table is not None and args.latency_table is None:
        table.save(out_dir / "latency_table.json")
    result = adapt(model, config, settings, latency, out_dir, team=team, say=_say(team))
    if team.is_main:
        print(f"wrote {result.config_path} and {result.checkpoint_path} ({out_dir / 'adapt.png'})")
    return 0


def _seed(args: argparse.Namespace):
    """The seed's root config (data section included) and model."""
    import torch

    from segmnv3.commands.config_flags import flag_overrides, keep_synthetic_out_of_real_root
    from segmnv3.engine.config import Config, apply_override, load_config
    from segmnv3.models.loading import load_model
    from segmnv3.models.segmenter import build_model_from_config

    overrides = flag_overrides(args, SHORTHANDS)
    if args.checkpoint:
        model, stored = load_model(args.checkpoint)
        data = Config.from_dict(stored or {}, source=args.checkpoint).to_dict()
        for item in overrides:
            apply_override(data, item)
        return Config.from_dict(data, source=f"{args.checkpoint} + flags"), model
    config = keep_synthetic_out_of_real_root(load_config(args.config, overrides))
    torch.manual_seed(args.seed)  # the same random seed model in every process and rerun
    return config, build_model_from_config(config.model).eval()


def _latency_source(args: argparse.Namespace, seed_model):
    from segmnv3.deploy.latency.meter import LatencyMeter
    from segmnv3.deploy.latency.sources import MeasuredLatency, TableLatency
    from segmnv3.deploy.latency.table import load_table

    if args.latency_table:
        table = load_table(args.latency_table)
        table.check_matches(args.runtime, args.size, f"--latency-table {args.latency_table}")
        return TableLatency(table)
    meter = LatencyMeter(args.runtime, args.size, threads=args.threads, repeats=args.repeats)
    return MeasuredLatency(meter, seed_model)


def _describe(args: argparse.Namespace) -> str:
    return args.checkpoint or f"{args.config} (random init)"


def _say(team):
    return print if team.is_main else (lambda _message: None)
