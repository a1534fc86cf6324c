"""Thin wrapper: `python tools/infer.py ...` is `segmnv3 infer ...` (see --help)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without install

from segmnv3.cli import run_tool  # noqa: E402

if __name__ == "__main__":
    run_tool("infer")
