"""Device choice and the torchrun process group (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from segmnv3.core.errors import ConfigError


@dataclass(frozen=True)
class DistributedContext:
    """Where this process runs and which rank it is.

    Attributes:
        rank / world_size / local_rank: from torchrun's environment (0 / 1 / 0 alone).
        device: the device this process trains on.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that prints, logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(preference: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cuda`` -> this process' local GPU."""
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"train.device={preference!r} but CUDA is not available; use device cpu (or auto)"
            )
        if preference == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(preference)


def init_distributed(device_preference: str) -> DistributedContext:
    """Join the process group that ``torchrun`` describes in RANK / WORLD_SIZE / LOCAL_RANK.

    Without those variables (a plain ``python tools/train.py``) this is a single process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_preference, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistributedContext(rank, world_size, local_rank, device)


def barrier(context: DistributedContext) -> None:
    if context.distributed:
        dist.barrier()


def shutdown(context: DistributedContext) -> None:
    """Leave the process group (idempotent)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """True on every rank when ``flag`` is true on at least one (e.g. a caught SIGTERM)."""
    if not context.distributed:
        return flag
    tensor = torch.tensor([int(flag)], device=context.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def broadcast_buffers(model: torch.nn.Module, context: DistributedContext) -> None:
    """Copy rank 0's buffers (BatchNorm statistics) to every rank.

    DDP broadcasts them at the start of each forward, so after the last training step
    the ranks' statistics differ by that step's update; this makes them equal.
    """
    if context.distributed:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def parameter_fingerprints(model: torch.nn.Module, context: DistributedContext) -> list[str]:
    """SHA-256 of every rank's parameters and buffers, gathered on all ranks.

    Equal strings mean bit-identical models: the check that DDP kept the ranks in step.
    """
    digest = hashlib.sha256()
    for tensor in [*model.parameters(), *model.buffers()]:
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    mine = digest.hexdigest()
    if not context.distributed:
        return [mine]
    gathered: list[str] = [""] * context.world_size
    dist.all_gather_object(gathered, mine)
    return gathered
