"""Model options shared by ``infer`` and ``export``: weights, config, random init, resolution.

Kept free of heavy imports at module level so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from segmnv3.commands.arg_types import positive_int, resolution
from segmnv3.core.errors import UserError

if TYPE_CHECKING:
    from segmnv3.deploy.model import DeployModel


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--weights``, ``--config``, ``--random-init``, ``--resolution``, ``--threads``."""
    parser.add_argument("--weights", metavar="CKPT", help="checkpoint (.pt) from `segmnv3 train`")
    parser.add_argument(
        "--config",
        metavar="YAML",
        help="model config; needed for a bare state dict or with --random-init (row 8 if omitted)",
    )
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="smoke test without weights: random parameters (predictions are meaningless)",
    )
    parser.add_argument(
        "--resolution",
        metavar="HxW",
        type=resolution,
        help="run the network at this size (e.g. 512x1024; each side 32..8192) and resize "
        "predictions back",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=1, help="CPU threads of the runtime (>= 1)"
    )


def parse_resolution(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"512x1024"`` -> ``(512, 1024)`` (height x width); None or ``""`` -> None.

    A tuple (what ``--resolution`` already parsed to) is returned as it is.

    Raises:
        UserError: the text is not ``HxW`` with both sides in 32..8192.
    """
    import argparse

    if not text or isinstance(text, tuple):
        return text or None
    try:
        return resolution(text)
    except argparse.ArgumentTypeError as error:
        raise UserError(f"--resolution {text!r}: {error}") from None


def load_deploy_model(args: argparse.Namespace) -> DeployModel:
    """The model to deploy from ``--weights`` / ``--config`` / ``--random-init``.

    Raises:
        UserError: no ``--weights`` without ``--random-init``, both given, or an unusable
            checkpoint / config.
    """
    from pathlib import Path

    from segmnv3.deploy.model import DeployModel
    from segmnv3.deploy.model import load_deploy_model as load_weights
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    if args.weights and args.random_init:
        raise UserError("--weights and --random-init exclude each other; drop one")
    if args.weights:
        config = load_config(args.config) if args.config else None
        if config is None:
            return load_weights(args.weights)
        return load_weights(args.weights, config.model, config.data)
    if not args.random_init:
        raise UserError(
            "no --weights given: pass a checkpoint from `segmnv3 train` "
            "(or --random-init for a smoke test with random parameters)"
        )
    config = load_config(args.config)  # the defaults are paper row 8
    name = Path(args.config).stem if args.config else "row08"
    from segmnv3.core.label_file import stored_label_set

    labels = stored_label_set({}, config.model.num_classes, source=name)  # 19: Cityscapes
    return DeployModel(build_model_from_config(config.model).eval(), name, config.data, labels)
