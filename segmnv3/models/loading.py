"""Build a model from a checkpoint file: the one loader every command and runtime uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from segmnv3.core.checkpoint import (
    is_state_dict,
    is_training_checkpoint,
    load_checkpoint,
    load_weights,
    nonfinite_tensors,
)
from segmnv3.core.errors import CheckpointError, DatasetError, NonFiniteError
from segmnv3.core.label_file import stored_label_set
from segmnv3.core.label_set import LabelSet
from segmnv3.core.schema import from_dict
from segmnv3.models.config import ModelConfig
from segmnv3.models.segmenter import Segmenter, build_model_from_config


def load_model(
    path: str | Path,
    model_config: ModelConfig | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[Segmenter, dict[str, Any] | None]:
    """``load_labelled_model`` without the label set: ``(model, stored_config)``."""
    model, stored, _labels = load_labelled_model(path, model_config, map_location)
    return model, stored


def load_labelled_model(
    path: str | Path,
    model_config: ModelConfig | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[Segmenter, dict[str, Any] | None, LabelSet]:
    """Build the model a checkpoint describes and load its weights.

    Args:
        path: a full training checkpoint (holding its config) or a bare state dict.
        model_config: describes the model; required for a bare state dict. For a full
            checkpoint it may be given, but must equal the stored ``model`` section.
        map_location: device the tensors are loaded onto.

    Returns:
        ``(model, stored_config, labels)``: the model in eval mode on ``map_location``, the
        checkpoint's whole config as a plain dict (None for a bare state dict; callers read
        the sections they own from it: ``data`` for normalisation and geometry), and the
        label set it was trained with (``core.label_file.stored_label_set``: Cityscapes for
        older 19-class checkpoints and bare state dicts of 19 classes).

    Raises:
        CheckpointError: unsafe or unreadable file, missing config, weights that do not
            fit the model the config describes, or a stored label set of another size.
        NonFiniteError: weights holding NaN or inf (a diverged run).
    """
    data = load_checkpoint(path, map_location=map_location)
    stored = None
    if is_training_checkpoint(data):
        stored = data["config"]
        section = from_dict(
            ModelConfig, stored.get("model", {}), source=f"{path} (stored config)", prefix="model."
        )
        if model_config is not None and model_config != section:
            raise CheckpointError(
                f"the given config describes a different model than checkpoint {path} "
                f"({_differences(model_config, section)}); drop the config to use the stored one"
            )
        model_config, state_dict = section, data["model"]
    elif is_state_dict(data):
        if model_config is None:
            raise CheckpointError(
                f"{path} is a bare state dict without a config; give the config (YAML) "
                "describing the model it was trained with"
            )
        state_dict = data
    else:
        raise CheckpointError(
            f"{path} is neither a segmnv3 checkpoint (keys 'model' and 'config') nor a state "
            f"dict of tensors (found {type(data).__name__})"
        )
    bad = nonfinite_tensors(state_dict)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise NonFiniteError(
            f"checkpoint {path} holds NaN or inf weights ({shown}): the run that wrote it "
            "diverged and its outputs would be meaningless; use an earlier checkpoint or "
            "retrain with a lower train.base_lr"
        )
    model = build_model_from_config(model_config)
    load_weights(model, state_dict, source=str(path))
    try:
        labels = stored_label_set(
            data if stored is not None else {}, model_config.num_classes, source=str(path)
        )
    except DatasetError as error:
        raise CheckpointError(str(error)) from None
    return model.to(map_location).eval(), stored, labels


def _differences(given: ModelConfig, stored: ModelConfig) -> str:
    """``model.x: given A, checkpoint B`` for each field that differs."""
    import dataclasses

    return "; ".join(
        f"model.{field.name}: given {getattr(given, field.name)!r}, "
        f"checkpoint {getattr(stored, field.name)!r}"
        for field in dataclasses.fields(ModelConfig)
        if getattr(given, field.name) != getattr(stored, field.name)
    )
