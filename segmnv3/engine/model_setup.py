"""The model as training needs it: initial weights, BatchNorm options, SyncBatchNorm, DDP,
torch.compile."""

from __future__ import annotations

import torch
from torch import nn

from segmnv3.core.checkpoint import load_weights
from segmnv3.core.errors import CheckpointError
from segmnv3.core.label_set import LabelSet
from segmnv3.engine.config import Config
from segmnv3.engine.distributed import DistributedContext


def build_training_model(
    config: Config,
    context: DistributedContext,
    memory_format: torch.memory_format,
    labels: LabelSet | None = None,
) -> nn.Module:
    """``build_model_from_config`` + ``model.init_weights`` + ``train.bn_momentum`` +
    SyncBatchNorm (CUDA, several ranks).

    ``labels``: the run's label set (default: ``label_set_of(config.data)``); initial
    weights of another label set keep the classifier rows of the classes both share.
    """
    from segmnv3.models.segmenter import build_model_from_config

    model = build_model_from_config(config.model)
    if config.model.init_weights:
        if labels is None:
            from segmnv3.data.build import label_set_of

            labels = label_set_of(config.data)
        summary = load_initial_weights(model, config.model.init_weights, labels=labels)
        if context.is_main:
            print(summary)
    if config.train.bn_momentum is not None:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = config.train.bn_momentum
    if context.distributed and config.train.sync_bn:
        if context.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        elif context.is_main:
            print("note: SyncBatchNorm needs CUDA; CPU processes keep per-process BatchNorm")
    return model.to(context.device, memory_format=memory_format)


def wrap_for_training(
    model: nn.Module, config: Config, context: DistributedContext
) -> tuple[nn.Module, nn.parallel.DistributedDataParallel | None]:
    """(module to call in the training step, the DDP wrapper or None for ``no_sync``)."""
    ddp = None
    if context.distributed:
        ids = [context.device.index] if context.device.type == "cuda" else None
        ddp = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        model = ddp
    return (torch.compile(model) if config.train.compile else model), ddp


def load_initial_weights(model: nn.Module, path: str, *, labels: LabelSet | None = None) -> str:
    """Copy the weights of a segmnv3 checkpoint (or bare state dict) into ``model``.

    Only the weights: the optimiser, schedule and step of that run are not restored, so a
    new run starts at step 0 from them (e.g. from ``segmnv3 convert-deeplab`` output).
    When the file's label set (``core.label_file.stored_label_set``: none stored and 19
    classes = Cityscapes) has other classes than ``labels``, every tensor but the final
    classifier convs still loads strictly; their rows of classes with the same name are
    copied, the others keep ``model``'s own initialisation (``engine.finetune``).

    Args:
        model: the new run's model (freshly initialised).
        path: the file.
        labels: the new run's label set; None = Cityscapes for 19 classes, else generic.

    Returns:
        One line saying which classes kept their rows and which are new.

    Raises:
        CheckpointError: unreadable file, or keys / shapes that do not match the model
            (the message names the file and says to check ``model.*``).
    """
    from segmnv3.core.label_file import stored_label_set
    from segmnv3.engine.finetune import classifier_keys, merge_classifier_rows, read_init_source

    keys = classifier_keys(model)
    source = read_init_source(path, keys[0])
    if labels is None:
        labels = stored_label_set({}, model.state_dict()[keys[0]].shape[0], source="model")
    if source.labels.names == labels.names:
        state = source.state_dict
        summary = (
            f"init weights: every tensor of {path} loaded ({labels.num_classes} classes, "
            f"the same as the run's {labels.name})"
        )
    else:
        state, summary = merge_classifier_rows(model, source, labels)
    try:
        load_weights(model, state, source=f"model.init_weights={path}")
    except CheckpointError as error:
        raise CheckpointError(
            f"{error}; model.* must describe the model that file holds (its config is "
            "stored in it: start from that config)"
        ) from None
    return summary
