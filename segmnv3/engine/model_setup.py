"""The model as training needs it: initial weights, BatchNorm options, SyncBatchNorm, DDP,
torch.compile."""

from __future__ import annotations

import torch
from torch import nn

from segmnv3.core.checkpoint import (
    is_state_dict,
    is_training_checkpoint,
    load_checkpoint,
    load_weights,
)
from segmnv3.core.errors import CheckpointError
from segmnv3.engine.config import Config
from segmnv3.engine.distributed import DistributedContext


def build_training_model(
    config: Config, context: DistributedContext, memory_format: torch.memory_format
) -> nn.Module:
    """``build_model_from_config`` + ``model.init_weights`` + ``train.bn_momentum`` +
    SyncBatchNorm (CUDA, several ranks)."""
    from segmnv3.models.segmenter import build_model_from_config

    model = build_model_from_config(config.model)
    if config.model.init_weights:
        load_initial_weights(model, config.model.init_weights)
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


def load_initial_weights(model: nn.Module, path: str) -> None:
    """Copy every weight of a segmnv3 checkpoint (or bare state dict) into ``model``.

    Only the weights: the optimiser, schedule and step of that run are not restored, so a
    new run starts at step 0 from them (e.g. from ``segmnv3 convert-deeplab`` output).

    Raises:
        CheckpointError: unreadable file, or keys / shapes that do not match the model
            exactly (the message names the file and says to check ``model.*``).
    """
    data = load_checkpoint(path)
    if is_training_checkpoint(data):
        data = data["model"]
    if not is_state_dict(data):
        raise CheckpointError(
            f"model.init_weights={path} is neither a segmnv3 checkpoint nor a state dict; "
            "give a file written by segmnv3 train or segmnv3 convert-deeplab"
        )
    try:
        load_weights(model, data, source=f"model.init_weights={path}")
    except CheckpointError as error:
        raise CheckpointError(
            f"{error}; model.* must describe the model that file holds (its config is "
            "stored in it: start from that config)"
        ) from None
