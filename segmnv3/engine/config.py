"""Training and evaluation sections of the config (owned by segmnv3/engine/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class TrainConfig:
    """Paper protocol (SPEC section 4): SGD 0.9, LR 0.01 at batch 16, poly 0.9, wd 4e-5.

    Attributes:
        iterations: optimiser steps (90k with a pretrained backbone; the default is the
            from-scratch schedule).
        batch_size: per-device batch; the global batch is batch_size x devices x accumulate.
        base_lr: learning rate at ``base_batch``; scaled linearly with the global batch.
    """

    iterations: int = 200_000
    batch_size: int = 16
    accumulate: int = 1
    base_lr: float = 0.01
    base_batch: int = 16
    momentum: float = 0.9
    weight_decay: float = 4e-5
    poly_power: float = 0.9
    warmup_iters: int = 0
    loss: Literal["ce", "ohem"] = "ce"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    out_dir: str = "runs/default"


@dataclass
class EvalConfig:
    """Evaluation options: single scale, full resolution, no flip by default."""

    flip: bool = False
    scales: tuple[float, ...] = (1.0,)
