"""The ``segmnv3`` command: one entry point, one small module per subcommand.

Each module in ``segmnv3.commands`` defines ``SUMMARY`` (one line), ``EXAMPLES``
(text shown under ``--help``), ``add_arguments(parser)`` and ``run(args) -> int``.
Heavy imports (torch, cv2, onnx) happen inside ``run`` so that ``--help`` is instant.
``tools/*.py`` are thin wrappers that call ``main`` with their subcommand name.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from segmnv3.core.errors import UserError, user_message
from segmnv3.core.quiet import quiet_third_party

# name -> module under segmnv3.commands; order is the order shown by --help.
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "synth": "synth",
    "prepare": "prepare",
    "train": "train",
    "eval": "evaluate",
    "infer": "infer",
    "export": "export",
    "serve": "serve",
    "bench": "bench",
    "bench-data": "bench_data",
    "profile": "profile",
    "convert-deeplab": "convert_deeplab",
    "adapt": "adapt",
}

EXAMPLES = """examples:
  segmnv3 demo                                   # the whole job on built-in synthetic data
  segmnv3 synth datasets/synthetic                # a small synthetic set in the Cityscapes layout
  segmnv3 profile                                # params / MAdds of every paper config
  segmnv3 train --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml --data-root datasets/cityscapes
  segmnv3 eval runs/row08/best.pt --data-root datasets/cityscapes
  segmnv3 infer video.mp4 --weights runs/row08/best.pt
  segmnv3 <command> --help                       # options and examples of one command
"""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples as written; "(default: X)" once, and only where X tells the reader something."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or action.default == []:
            return text  # nothing to show: no default, a flag, an empty list
        if "(default" in text:
            return text  # the help already says it in words
        return super()._get_help_string(action)


def _load(name: str):
    return importlib.import_module(f"segmnv3.commands.{COMMANDS[name]}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; ``only`` restricts it to one subcommand (used by tools/*.py)."""
    parser = argparse.ArgumentParser(
        prog="segmnv3",
        description="MobileNetV3 + LR-ASPP semantic segmentation (Howard et al. 2019).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from importlib.metadata import version

    parser.add_argument("--version", action="version", version=f"segmnv3 {version('segmnv3')}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMANDS if only is None else [only]:
        module = _load(name)
        command = sub.add_parser(
            name,
            help=module.SUMMARY,
            description=module.SUMMARY,
            epilog=module.EXAMPLES,
            formatter_class=_Formatter,
        )
        module.add_arguments(command)
        command.add_argument(
            "--verbose",
            action="store_true",
            help="also show third-party log lines (TensorFlow, ExecuTorch, ONNX Runtime, "
            "OpenCV, torch warnings)",
        )
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    quiet_third_party(verbose=args.verbose)  # before any library is imported
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except UserError as error:
        print(f"error: {user_message(error)}", file=sys.stderr)
        return 2


def run_tool(name: str) -> None:
    """Entry point for ``tools/<name>.py``: ``python tools/train.py ...`` == ``segmnv3 train ...``."""
    sys.exit(main([name, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
