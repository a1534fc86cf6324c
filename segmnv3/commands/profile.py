"""`segmnv3 profile`: params and MAdds of configs at full and half resolution."""

from __future__ import annotations

import argparse

SUMMARY = "Print params and MAdds at 1024x2048 and 512x1024 for configs, beside the paper's."
EXAMPLES = """examples:
  segmnv3 profile                      # every paper config in configs/
  segmnv3 profile --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml
  segmnv3 profile --config my.yaml --json outputs/profile.json
  segmnv3 profile --roofs              # measured GEMM rates and copy bandwidth of this CPU
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="config file (repeatable); default: all paper rows",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--roofs",
        action="store_true",
        help="measure this CPU's one-thread roofs instead (fp32 / bf16 / int8 GEMM rates, "
        "cache and DRAM copy bandwidth; ~5 s) and print them",
    )


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict
    from pathlib import Path

    from tqdm import tqdm

    from segmnv3.commands.zoo import format_table, paper_configs, profile_config
    from segmnv3.core.errors import UserError
    from segmnv3.core.files import write_text_atomic
    from segmnv3.engine.config import load_config

    if args.json and Path(args.json).is_dir():
        raise UserError(f"--json {args.json} is a folder; give a file name, e.g. profile.json")
    if args.roofs:
        if args.config:
            raise UserError(
                "--roofs measures this CPU, not a config: drop --config, or drop --roofs "
                "to profile the config"
            )
        return _roofs(args.json)
    paths = [Path(p) for p in args.config] if args.config else paper_configs()
    configs = [load_config(p) for p in paths]  # all errors before any work
    progress = tqdm(
        list(zip(paths, configs, strict=True)), desc="profiling", unit="config", leave=False
    )
    entries = [profile_config(path, config) for path, config in progress]
    print(format_table(entries))
    print(
        "MAdds: multiply-accumulates of convs, linear layers and bilinear resizes (4 per output)."
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(args.json), json.dumps([asdict(e) for e in entries], indent=2))
        print(f"wrote {args.json}")
    return 0


def _roofs(json_path: str | None) -> int:
    import json
    from pathlib import Path

    from segmnv3.core.files import write_text_atomic
    from segmnv3.core.schema import to_plain
    from segmnv3.deploy.bench.roofs import measure_roofs, roofs_lines

    roofs = measure_roofs()
    print("\n".join(roofs_lines(roofs)))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(json_path), json.dumps(to_plain(roofs), indent=2))
        print(f"wrote {json_path}")
    return 0
