"""Fine-tuning from ``model.init_weights``, also across label sets.

Two steps, both before training starts:

* :func:`inherit_source_numerics` (on the config): the source checkpoint's numerics
  (padding, align_corners, the hard-sigmoid constant, head BatchNorm eps, the dilation rule,
  the gate and its pooling) and its input normalisation (``data.mean`` / ``data.std``) carry
  over to the new run unless the user set them; every difference between the source and the
  new run is printed, one line each. Weights trained under one function start the same
  function, not a near neighbour of it.
* :func:`merge_classifier_rows` (on the weights): when the source's label set differs from
  the run's, every tensor except the final classifier convs must still fit strictly; the
  classifier rows (output channels) of classes with the same name are copied, the others
  keep the new model's own initialisation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from segmnv3.core.checkpoint import is_state_dict, is_training_checkpoint, load_checkpoint
from segmnv3.core.errors import CheckpointError, ConfigError, DatasetError
from segmnv3.core.label_file import stored_label_set
from segmnv3.core.label_set import LabelSet
from segmnv3.core.schema import from_dict
from segmnv3.data.config import DataConfig
from segmnv3.engine.config import Config, explicit_keys
from segmnv3.models.config import ModelConfig

# The final classifier convs (one output channel per class) of every head: LR-ASPP (also the
# torchvision preset) has two, summed; R-ASPP one.
CLASSIFIER_MODULES = ("head.high_classifier", "head.low_classifier", "head.classifier")
# Model options that change the function computed by the same weights, not their shapes.
MODEL_NUMERICS = (
    "padding",
    "align_corners",
    "hard_sigmoid_scale",
    "head_bn_eps",
    "dilation",
    "gate",
    "pooling",
    "pool_kernel",
    "pool_stride",
)
DATA_NUMERICS = ("mean", "std")
# Not compared: where the weights come from, and the class count (the labels line says it).
_NOT_COMPARED = ("init_weights", "pretrained_backbone", "num_classes")


@dataclasses.dataclass(frozen=True)
class InitSource:
    """What ``model.init_weights`` holds: weights, its label set and (if stored) config."""

    path: str
    state_dict: dict[str, torch.Tensor]
    labels: LabelSet
    config: dict[str, Any] | None  # None for a bare state dict


def read_init_source(path: str, classifier_key: str | None = None) -> InitSource:
    """Read a segmnv3 checkpoint or bare state dict for ``model.init_weights``.

    Args:
        path: the file.
        classifier_key: a classifier weight's key; its rows give the source's class count
            when the file stores no config.

    Raises:
        CheckpointError: unreadable, neither kind of file, or an inconsistent label set.
    """
    data = load_checkpoint(path)
    config = data["config"] if is_training_checkpoint(data) else None
    state = data["model"] if config is not None else data
    if not is_state_dict(state):
        raise CheckpointError(
            f"model.init_weights={path} is neither a segmnv3 checkpoint nor a state dict; "
            "give a file written by segmnv3 train or segmnv3 convert-deeplab"
        )
    num_classes = (config or {}).get("model", {}).get("num_classes")
    if num_classes is None and classifier_key in state:
        num_classes = int(state[classifier_key].shape[0])
    try:
        labels = stored_label_set(
            data if config is not None else {},
            int(num_classes or ModelConfig().num_classes),
            source=f"model.init_weights={path}",
        )
    except DatasetError as error:
        raise CheckpointError(str(error)) from None
    return InitSource(str(path), state, labels, config)


def classifier_keys(model: nn.Module) -> list[str]:
    """State-dict keys (weight, bias) of the model's final classifier convs."""
    modules = dict(model.named_modules())
    keys = []
    for name in CLASSIFIER_MODULES:
        module = modules.get(name)
        if isinstance(module, nn.Conv2d):
            keys += [f"{name}.{param}" for param, _ in module.named_parameters(recurse=False)]
    if not keys:
        raise CheckpointError(
            f"{type(model).__name__} has none of the classifier convs {list(CLASSIFIER_MODULES)}"
        )
    return keys


def same_class_rows(source: LabelSet, target: LabelSet) -> dict[int, int]:
    """``{target train id: source train id}`` for classes of the same name: the exact name
    first, else the one source name equal up to case; a target class whose name matches
    several source classes only up to case (``Road``, ``road``) gets no row copied."""
    exact = {name: index for index, name in enumerate(source.names)}
    folded: dict[str, list[int]] = {}
    for index, name in enumerate(source.names):
        folded.setdefault(name.casefold(), []).append(index)
    rows = {}
    for index, name in enumerate(target.names):
        if name in exact:
            rows[index] = exact[name]
        elif len(folded.get(name.casefold(), [])) == 1:
            rows[index] = folded[name.casefold()][0]
    return rows


def merge_classifier_rows(
    model: nn.Module, source: InitSource, target: LabelSet
) -> tuple[dict[str, torch.Tensor], str]:
    """The source's weights with classifier rows mapped onto ``target``'s classes.

    Every tensor but the classifier convs' is the source's (the caller loads the result
    strictly, so any other mismatch is still an error). Classifier rows of a class the
    source also has (same name) are its rows; the others are the model's own initial rows.

    Returns:
        ``(state dict, one summary line)``.
    """
    rows = same_class_rows(source.labels, target)
    own = model.state_dict()
    state = dict(source.state_dict)
    for key in classifier_keys(model):
        given = state.get(key)
        if given is None or given.shape[1:] != own[key].shape[1:]:
            continue  # the strict load names the missing key or the shape mismatch
        merged = own[key].detach().clone()
        for new, old in rows.items():
            merged[new] = given[old].to(merged.dtype)
        state[key] = merged
    kept = [target.names[i] for i in sorted(rows)]
    new = [name for i, name in enumerate(target.names) if i not in rows]
    summary = (
        f"init weights: {target.num_classes} classes ({target.name}) from the "
        f"{source.labels.num_classes} of {source.path} ({source.labels.name}); "
        f"kept rows of {', '.join(kept) or 'none'}; new: {', '.join(new) or 'none'}"
    )
    return state, summary


def inherit_source_numerics(
    config: Config, *, announce: Callable[[str], None] | None = print
) -> Config:
    """The config of a run from ``model.init_weights``: the source's numerics and input
    normalisation unless the user set them; each difference is announced, one line each.

    Returns ``config`` itself when it has no ``model.init_weights`` (or nothing to change),
    else a new Config (its ``explicit_keys`` kept).

    Raises:
        CheckpointError: an unreadable source, or a stored config that does not parse.
        ConfigError: the carried-over values do not go with the run's other options.
    """
    path = config.model.init_weights
    if not path:
        return config
    say = announce or (lambda line: None)
    data = load_checkpoint(path)
    if not is_training_checkpoint(data):
        say(
            f"init weights: {path} is a bare state dict without a config: no numerics or "
            "normalisation to carry over; the run's model.* and data.mean/std apply"
        )
        return config
    source_model, source_data = _stored_sections(data["config"], path)
    user = explicit_keys(config)
    model_changes = _compare(
        "model", config.model, source_model, MODEL_NUMERICS, user, path, say, config.model.preset
    )
    data_changes = _compare("data", config.data, source_data, DATA_NUMERICS, user, path, say)
    if not model_changes and not data_changes:
        return config
    try:
        result = Config(
            model=dataclasses.replace(config.model, **model_changes),
            data=dataclasses.replace(config.data, **data_changes),
            train=config.train,
            eval=config.eval,
        )
    except (ValueError, ConfigError) as error:
        raise ConfigError(
            f"the numerics of model.init_weights={path} do not go with this config: {error}; "
            "set them explicitly (--set model.KEY=VALUE)"
        ) from None
    result.explicit_keys = config.explicit_keys
    return result


def _stored_sections(stored: dict[str, Any], path: str) -> tuple[ModelConfig, dict[str, Any]]:
    """The source's model section (defaults for keys it lacks) and its mean / std."""
    source = f"model.init_weights={path} (stored config)"
    try:
        model = from_dict(ModelConfig, stored.get("model", {}), source=source, prefix="model.")
    except ConfigError as error:
        raise CheckpointError(str(error)) from None
    defaults = DataConfig()
    data = stored.get("data") or {}
    values = {key: tuple(data.get(key, getattr(defaults, key))) for key in DATA_NUMERICS}
    return model, values


def _compare(
    section: str,
    run: Any,
    source: Any,
    carried: tuple[str, ...],
    user: frozenset[str],
    path: str,
    say: Callable[[str], None],
    preset: str | None = None,
) -> dict[str, Any]:
    """Announce each differing key; the changes that carry over (``carried``, not set by
    the user; model numerics not under a preset, which fixes them)."""
    changes: dict[str, Any] = {}
    names = [f.name for f in dataclasses.fields(run)] if section == "model" else list(carried)
    for name in names:
        if name in _NOT_COMPARED:
            continue
        mine = getattr(run, name)
        theirs = source[name] if isinstance(source, dict) else getattr(source, name)
        if _plain(mine) == _plain(theirs):
            continue
        key = f"{section}.{name}"
        if name in carried and key not in user and not (section == "model" and preset):
            if name == "pool_kernel" and run.output_stride != source.output_stride:
                say(
                    f"init weights: {key} = {mine!r}: not carried over from {path} "
                    f"({theirs!r} at output stride {source.output_stride}, this run has "
                    f"{run.output_stride})"
                )
                continue
            changes[name] = theirs
            say(f"init weights: {key} = {theirs!r} as in {path} (the default is {mine!r})")
        else:
            why = "as set" if key in user else "as configured"
            say(f"init weights: {key} = {mine!r} {why}; {path} was trained with {theirs!r}")
    return changes


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value
