"""`python tools/adapt.py ...` is `segmnv3 adapt ...` (see --help).

Needs segmnv3 importable (`make` or `pip install -e .` installs it). No tools/ file is
named like a standard-library module, so this folder (first on the import path)
shadows nothing.
"""

from segmnv3.cli import run_tool

if __name__ == "__main__":
    run_tool("adapt")
