"""`segmnv3 demo`: the whole job on built-in synthetic Cityscapes data, end to end.

Every step calls the same functions the `segmnv3` subcommands call; `--tiny` only
changes sizes, so CI exercises the demo itself.
"""

from __future__ import annotations

import argparse

SUMMARY = "Run the whole job on built-in synthetic data: data, train, eval, infer, export, bench."
EXAMPLES = """examples:
  segmnv3 demo                 # ~5-10 min on 2 CPU cores; outputs under outputs/demo/
  segmnv3 demo --fresh         # start over instead of reusing what is already there
  segmnv3 demo --tiny --out outputs/demo-ci   # CI smoke run: same steps, tiny sizes

Re-running reuses the generated data and the finished training run.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="outputs/demo", help="folder for every output")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--fresh", action="store_true", help="delete --out first and start over")
    parser.add_argument("--device", default="auto", help="training device: auto, cpu, cuda")


def run(args: argparse.Namespace) -> int:
    import shutil
    import time
    from pathlib import Path

    from segmnv3.commands.demo_pipeline import DemoPlan, run_demo

    out = Path(args.out)
    if args.fresh and out.exists():
        shutil.rmtree(out)
    plan = DemoPlan.tiny(out) if args.tiny else DemoPlan.default(out)
    started = time.perf_counter()
    summary = run_demo(plan, device=args.device)
    print(summary.render(time.perf_counter() - started))
    return 0
