"""The processes one adapt run uses: alone, N local workers, or torchrun ranks.

Every process runs the same loop; rank 0 measures latency and writes files; each rank
fine-tunes the proposals ``index % world_size == rank`` and the results are gathered with
torch.distributed (gloo: plain Python objects over CPU tensors), so the choice is the
one a single process makes for the same seed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.distributed as dist


@dataclass(frozen=True)
class Team:
    """This process' rank in the run (``Team(0, 1)``: alone)."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mine(self, count: int) -> list[int]:
        """The proposal indices this rank fine-tunes."""
        return list(range(self.rank, count, self.world_size))

    def broadcast(self, value: Any, source: int = 0) -> Any:
        """``value`` of rank ``source`` on every rank."""
        if self.world_size == 1:
            return value
        box = [value if self.rank == source else None]
        dist.broadcast_object_list(box, src=source)
        return box[0]

    def gather(self, value: dict) -> dict:
        """The union of every rank's dict."""
        if self.world_size == 1:
            return dict(value)
        parts: list[Any] = [None] * self.world_size
        dist.all_gather_object(parts, value)
        return {key: item for part in parts for key, item in part.items()}


def torchrun_team() -> Team | None:
    """The team torchrun started (``WORLD_SIZE`` > 1 in the environment), joined; else None."""
    from segmnv3.engine.distributed import init_distributed

    context = init_distributed("cpu")  # gloo: proposals are fine-tuned on the CPU
    return Team(context.rank, context.world_size) if context.distributed else None


def run_workers(count: int, job: Callable[[Team], Any]) -> Any:
    """Run ``job(team)`` in ``count`` local processes (gloo on 127.0.0.1); rank 0's result.

    ``job`` must be picklable (a module-level function or a ``functools.partial`` of one).
    """
    import torch.multiprocessing as mp

    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = mp.get_context("spawn").SimpleQueue()
    mp.start_processes(
        _worker, args=(count, port, job, results), nprocs=count, start_method="spawn"
    )
    return results.get()


def _worker(rank: int, count: int, port: int, job: Callable[[Team], Any], results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=count)
    try:
        result = job(Team(rank, count))
        if rank == 0:
            results.put(result)
    finally:
        dist.destroy_process_group()
