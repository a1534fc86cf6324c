"""Config overrides from a command's shorthand flags, one rule for `train` and `adapt`."""

from __future__ import annotations

import argparse
import json

SYNTHETIC_ROOT = "datasets/synthetic"


def flag_overrides(args: argparse.Namespace, shorthands: dict[str, str]) -> list[str]:
    """``KEY=VALUE`` overrides, lowest first: each shorthand flag that is set (``flag ->
    config key``; JSON is YAML, so strings stay strings), the synthetic set's own root when
    ``--dataset synthetic`` comes without ``--data-root``, then ``--set``."""
    overrides = [
        f"{key}={json.dumps(getattr(args, flag))}"
        for flag, key in shorthands.items()
        if getattr(args, flag) is not None
    ]
    if args.dataset == "synthetic" and args.data_root is None:
        overrides.append(f"data.root={json.dumps(SYNTHETIC_ROOT)}")
    return overrides + list(args.set)


def keep_synthetic_out_of_real_root(config):
    """``config`` with a synthetic dataset left at the default (Cityscapes) root moved to
    ``SYNTHETIC_ROOT``: fake images are never generated into the real root."""
    from segmnv3.data.config import DataConfig

    if config.data.dataset == "synthetic" and config.data.root == DataConfig().root:
        config.data.root = SYNTHETIC_ROOT
    return config
