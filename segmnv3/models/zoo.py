"""Deprecated location, kept only until ``segmnv3/commands/bench.py`` stops importing it.

The zoo table moved to ``segmnv3.commands.zoo``; the shipped configs are
``segmnv3.configs.config_dir()`` / ``paper_configs()``. Nothing in models/ uses this
module; delete it once commands/bench.py reads ``segmnv3.configs.config_dir()``.
"""

from __future__ import annotations

from segmnv3.configs import config_dir

CONFIG_DIR = config_dir()
