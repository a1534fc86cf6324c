"""A run whose loss or weights became NaN or inf: detected before every save, reported truly.

The trainer asks :func:`nonfinite_state` at every step that saves (whatever
``train.log_interval`` is), so no diverged model reaches ``last.pt`` or ``best.pt``;
:func:`diverged_error` says which checkpoint is really on disk and gives only hints that
apply (``train.amp=bf16`` only to an fp16 run).
"""

from __future__ import annotations

from pathlib import Path

import torch

from segmnv3.core.checkpoint import nonfinite_tensors
from segmnv3.core.errors import UserError
from segmnv3.engine.distributed import DistributedContext, any_rank


class TrainingDiverged(UserError):
    """The loss or the weights became NaN or inf: the run stops before saving them."""


def nonfinite_state(
    model: torch.nn.Module, loss: torch.Tensor | None, context: DistributedContext
) -> str | None:
    """What is not finite ("the training loss became nan", "the weights hold NaN or inf
    (names)") on any rank (every rank gets the answer), or None when all is finite."""
    bad = nonfinite_tensors(model.state_dict())
    bad_loss = loss is not None and not bool(torch.isfinite(loss).all())
    if not any_rank(bool(bad) or bad_loss, context):
        return None
    if bad_loss:
        return f"the training loss became {loss.item()}"
    return f"the weights hold NaN or inf ({', '.join(bad[:3]) or 'on another process'})"


def diverged_error(
    what: str, *, step: int, run_dir: Path, saved_step: int, amp: str, last_name: str
) -> TrainingDiverged:
    """The error for a run that diverged at ``step``, saying what ``run_dir`` holds."""
    last = run_dir / last_name
    if saved_step > 0 and last.is_file():
        kept = f"{last} holds step {saved_step}, the last checkpoint written (all finite)"
    else:
        kept = f"no checkpoint was written in {run_dir}"
    hint = "lower train.base_lr"
    if amp == "fp16":
        hint += " or use train.amp=bf16 (fp16 overflows more easily)"
    return TrainingDiverged(f"training diverged at step {step}: {what}; {kept}; {hint}, then rerun")
