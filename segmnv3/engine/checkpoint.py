"""Run checkpoints: ``last.pt`` / ``best.pt`` in a run directory, and models with their Config.

File I/O (atomic writes, safe loading) lives in ``segmnv3.core.checkpoint``; this module
adds what training and evaluation know about: run directories and the whole ``Config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from segmnv3.core.checkpoint import (
    is_training_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    write_failure,
)
from segmnv3.core.errors import CheckpointError
from segmnv3.core.files import copy_atomic
from segmnv3.core.label_set import LabelSet
from segmnv3.engine.config import Config, load_config
from segmnv3.models import loading

__all__ = [
    "BEST_NAME",
    "LAST_NAME",
    "copy_atomic",
    "is_training_checkpoint",
    "load_checkpoint",
    "load_model",
    "load_weights",
    "save_checkpoint",
    "save_run_checkpoint",
]

LAST_NAME = "last.pt"
BEST_NAME = "best.pt"


def save_run_checkpoint(state: dict[str, Any], run_dir: str | Path, *, is_best: bool) -> Path:
    """Keep ``last.pt`` (always) and ``best.pt`` (when ``is_best``) in ``run_dir``."""
    last = save_checkpoint(state, Path(run_dir) / LAST_NAME)  # refuses NaN / inf weights
    if is_best:
        best = Path(run_dir) / BEST_NAME
        try:
            copy_atomic(last, best)
        except OSError as error:
            raise CheckpointError(
                f"cannot write {best}: {write_failure(error)}; {last} is complete: free "
                "space or choose another folder, then rerun to resume"
            ) from None
    return last


def load_model(
    path: str | Path,
    config: Config | str | Path | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[torch.nn.Module, Config]:
    """``load_labelled_model`` without the label set: ``(model, config)``."""
    model, config, _labels = load_labelled_model(path, config, map_location)
    return model, config


def load_labelled_model(
    path: str | Path,
    config: Config | str | Path | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[torch.nn.Module, Config, LabelSet]:
    """Build the model described by a checkpoint and load its weights.

    Args:
        path: a full training checkpoint (holding its config) or a bare state dict.
        config: ``Config``, or a YAML path, describing the model. Required for a bare state
            dict. For a full checkpoint it may be given to change data/eval settings, but
            its ``model`` section must match the one stored in the checkpoint.
        map_location: device the tensors are loaded onto.

    Returns:
        ``(model, config, labels)``: the model in eval mode on ``map_location``, the config
        and the label set the checkpoint was trained with.
    """
    if isinstance(config, str | Path):
        config = load_config(config)
    model, stored, labels = loading.load_labelled_model(
        path, None if config is None else config.model, map_location=map_location
    )
    if config is None:
        if stored is None:
            raise CheckpointError(f"{path}: no config stored and none given")
        config = Config.from_dict(stored, source=f"{path} (stored config)")
    return model, config, labels
