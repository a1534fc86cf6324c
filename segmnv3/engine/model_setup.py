"""The model as training needs it: BatchNorm options, SyncBatchNorm, DDP, torch.compile."""

from __future__ import annotations

import torch
from torch import nn

from segmnv3.engine.config import Config
from segmnv3.engine.distributed import DistributedContext


def build_training_model(
    config: Config, context: DistributedContext, memory_format: torch.memory_format
) -> nn.Module:
    """``build_model_from_config`` + ``train.bn_momentum`` + SyncBatchNorm (CUDA, several ranks)."""
    from segmnv3.models.segmenter import build_model_from_config

    model = build_model_from_config(config.model)
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
