"""Model options shared by ``infer`` and ``export``: weights, config, random init, backend.

Kept free of heavy imports at module level so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from segmnv3.core.errors import UserError


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--weights``, ``--config``, ``--random-init``, ``--resolution``, ``--threads``."""
    parser.add_argument("--weights", metavar="CKPT", help="checkpoint (.pt) from `segmnv3 train`")
    parser.add_argument(
        "--config", metavar="YAML",
        help="model config; needed for a bare state dict or with --random-init (row 8 if omitted)",
    )  # fmt: skip
    parser.add_argument(
        "--random-init", action="store_true",
        help="smoke test without weights: random parameters (predictions are meaningless)",
    )  # fmt: skip
    parser.add_argument(
        "--resolution", metavar="HxW",
        help="run the network at this size (e.g. 512x1024) and resize predictions back",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the runtime")


def load_deploy_model(weights: str | None, config: str | None, random_init: bool):
    """The model to deploy and a short name for output files.

    Returns:
        ``(model, name)``: the model in eval mode on the CPU.

    Raises:
        UserError: no ``--weights`` without ``--random-init``, both given, or an unusable
            checkpoint / config.
    """
    from segmnv3 import build_model_from_config
    from segmnv3.engine.checkpoint import load_model
    from segmnv3.engine.config import load_config

    if weights and random_init:
        raise UserError("--weights and --random-init exclude each other; drop one")
    if weights:
        model, _ = load_model(weights, config)
        return model.eval(), Path(weights).stem
    if not random_init:
        raise UserError(
            "no --weights given: pass a checkpoint from `segmnv3 train` "
            "(or --random-init for a smoke test with random parameters)"
        )
    cfg = load_config(config)
    return build_model_from_config(cfg.model).eval(), Path(config).stem if config else "row08"
