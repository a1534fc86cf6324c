"""Thin wrapper: `python tools/convert_deeplab.py ...` is `segmnv3 convert-deeplab ...`."""

import sys
from pathlib import Path

# Replace tools/ (which holds profile.py, shadowing the stdlib module that torch imports)
# with the repository root, so that a clone runs without install.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from segmnv3.cli import run_tool  # noqa: E402

if __name__ == "__main__":
    run_tool("convert-deeplab")
