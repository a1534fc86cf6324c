"""What a run leaves behind besides checkpoints: JSONL log, TensorBoard events, curves PNG."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from segmnv3.core.files import atomic_path, write_text_atomic
from segmnv3.core.optional import optional, pyplot

LOG_NAME = "log.jsonl"
CURVES_NAME = "curves.png"


class RunLog:
    """Appends one JSON record per event to ``log.jsonl`` and mirrors scalars to TensorBoard.

    Only rank 0 creates one; other ranks pass ``enabled=False`` and nothing is written.

    Args:
        run_dir: the run directory.
        enabled: False on ranks other than 0.
        resume_step: when resuming, records after this step (written by the interrupted
            run after its last checkpoint) are dropped so curves do not double back.
        tensorboard: also write TensorBoard event files under ``run_dir/tb`` (skipped with a
            warning when the ``tensorboard`` package of ``segmnv3[tensorboard]`` is missing).
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        enabled: bool,
        resume_step: int = 0,
        tensorboard: bool = True,
    ) -> None:
        self.path = Path(run_dir) / LOG_NAME
        self.enabled = enabled
        self.writer = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = [r for r in read_log(self.path) if r.get("step", 0) <= resume_step]
        write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        board = None
        if tensorboard:
            board = optional(
                "torch.utils.tensorboard",
                package="tensorboard",
                feature="TensorBoard logging (train.tensorboard; log.jsonl is still written)",
            )
        if board is not None:
            self.writer = board.SummaryWriter(
                log_dir=str(Path(run_dir) / "tb"), purge_step=resume_step
            )

    def write(self, kind: str, step: int, values: dict[str, Any]) -> None:
        """Record ``values`` (numbers, or a dict of per-class numbers) at ``step``."""
        if not self.enabled:
            return
        record = {"kind": kind, "step": step, **values}
        with open(self.path, "a") as file:
            file.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for name, value in values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    self.writer.add_scalar(f"{kind}/{name}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def read_log(path: Path) -> list[dict[str, Any]]:
    """All records of a ``log.jsonl`` (an unfinished last line is skipped)."""
    if not Path(path).is_file():
        return []
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash
    return records


def plot_curves(run_dir: Path) -> Path | None:
    """Training loss and validation mIoU against the step, as ``run_dir/curves.png``.

    Returns None when there is nothing to plot or matplotlib (``segmnv3[plots]``) is
    missing (a warning says how to install it).
    """
    records = read_log(Path(run_dir) / LOG_NAME)
    train = [(r["step"], r["loss"]) for r in records if r["kind"] == "train"]
    val = [(r["step"], r["miou"]) for r in records if r["kind"] == "val"]
    if not train and not val:
        return None
    plt = pyplot()
    if plt is None:
        return None
    figure, (loss_axis, miou_axis) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        steps, losses = zip(*train, strict=True)
        loss_axis.plot(steps, losses, color="tab:blue")
        if all(value > 0 and math.isfinite(value) for value in losses):
            loss_axis.set_yscale("log")
    loss_axis.set(title="training loss", xlabel="iteration", ylabel="loss")
    if val:
        steps, mious = zip(*val, strict=True)
        miou_axis.plot(steps, [100 * m for m in mious], marker="o", color="tab:green")
    miou_axis.set(title="validation mIoU", xlabel="iteration", ylabel="mIoU (%)")
    for axis in (loss_axis, miou_axis):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    path = Path(run_dir) / CURVES_NAME
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)
    return path
