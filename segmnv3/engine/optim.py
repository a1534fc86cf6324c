"""SGD with the paper's LR rule: linear scaling with the global batch, poly decay, warm-up."""

from __future__ import annotations

from torch import nn
from torch.optim import SGD
from torch.optim.lr_scheduler import LambdaLR

from segmnv3.engine.config import TrainConfig


def scaled_lr(config: TrainConfig, world_size: int) -> float:
    """``base_lr x global_batch / base_batch``; global batch = batch x world x accumulate."""
    global_batch = config.batch_size * world_size * config.accumulate
    return config.base_lr * global_batch / config.base_batch


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of the peak LR at optimiser step ``step`` (0-based).

    Poly decay ``(1 - step / iterations) ** poly_power`` per iteration, times a linear
    warm-up from ``warmup_factor`` to 1 over the first ``warmup_iters`` steps.
    """
    progress = min(step, config.iterations) / config.iterations
    factor = (1.0 - progress) ** config.poly_power
    if step < config.warmup_iters:
        alpha = step / config.warmup_iters
        factor *= config.warmup_factor + (1.0 - config.warmup_factor) * alpha
    return factor


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict]:
    """Two groups: weights with decay; norm weights and biases without (unless configured).

    One-dimensional parameters are exactly the BatchNorm scales/shifts and the biases.
    """
    decay, no_decay = [], []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        if parameter.ndim <= 1 and not config.decay_norm_and_bias:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, config: TrainConfig, world_size: int) -> SGD:
    """SGD (momentum 0.9 by default) at the linearly scaled LR."""
    return SGD(
        parameter_groups(model, config),
        lr=scaled_lr(config, world_size),
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )


def build_scheduler(optimizer: SGD, config: TrainConfig) -> LambdaLR:
    """Per-iteration poly schedule (+ warm-up); call ``step()`` after each optimiser step."""
    return LambdaLR(optimizer, lambda step: lr_factor(step, config))
