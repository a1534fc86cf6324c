"""What may change when a run continues from a checkpoint, and what a finished run reports.

A checkpoint records the schedule it was trained under (``train.iterations``: the poly LR
decays to 0 there). Continuing it under another length is allowed only as an explicit
extension past the step it reached, so a mistyped ``--iterations`` never silently
rewrites a run (``step 900/50``). The validation scores of a run are read back from the
checkpoint (``last_miou``; the run's ``log.jsonl`` for checkpoints written before that
key existed), so a finished run rerun reports its real final metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segmnv3.core.errors import CheckpointError, ConfigError
from segmnv3.core.label_file import LABELS_KEY, stored_label_set
from segmnv3.core.label_set import LabelSet
from segmnv3.engine.run_log import LOG_NAME, read_log


class ScheduleChangeError(ConfigError):
    """The requested ``train.iterations`` differs from the checkpoint's without an extension."""


def check_schedule(state: dict[str, Any], requested: int, *, source: Path, extend: bool) -> None:
    """Allow the same schedule, or with ``extend`` a longer one than the step reached.

    Args:
        state: the training checkpoint being resumed.
        requested: ``train.iterations`` of the config the run continues with.
        source: the checkpoint's path (for messages).
        extend: the caller asked to continue under a new ``train.iterations``; the poly
            schedule is then recomputed for the new length from the current step.

    Raises:
        ScheduleChangeError: ``requested`` differs from the stored length and either
            ``extend`` is off or ``requested`` is not beyond the step already reached.
    """
    stored = int(state["config"]["train"]["iterations"])
    step = int(state["step"])
    if requested == stored:
        return
    where = f"{source} is at step {step} of a {stored}-iteration schedule"
    if requested <= step:
        raise ScheduleChangeError(
            f"{where}; train.iterations={requested} is not beyond the step it reached. "
            f"Rerun with iterations={stored} to finish it (or see its results), extend it to "
            f"more than {step} iterations, or start a new run in another output folder"
        )
    if not extend:
        raise ScheduleChangeError(
            f"{where}, but train.iterations={requested} was asked for; changing the length "
            "of an existing run changes its learning-rate schedule. Ask for an extension "
            "(segmnv3 train --extend) to continue it to the new length, rerun with "
            f"iterations={stored}, or start a new run in another output folder"
        )


def check_same_labels(state: dict[str, Any], labels: LabelSet, config, *, source: Path) -> None:
    """CheckpointError when the data's classes (``labels``) are not the ones the run in
    ``state`` was trained on (``config``: the root config the run continues with)."""
    if LABELS_KEY not in state:
        return  # written before label sets were stored: Cityscapes (the model checks)
    stored = stored_label_set(state, config.model.num_classes, source=str(source))
    if not stored.same_classes(labels):
        raise CheckpointError(
            f"{source} was trained on the classes {list(stored.names)}, the data at "
            f"{config.data.root} has {list(labels.names)}: resume it with its own data, or "
            "start a new run from its weights with --init-weights (rows of classes of the "
            "same name are copied) and another --out-dir"
        )


def stored_last_miou(state: dict[str, Any], source: Path) -> float | None:
    """The latest validation mIoU of the run ``state`` belongs to (None: never validated)."""
    if "last_miou" in state:
        value = state["last_miou"]
        return None if value is None else float(value)
    step = int(state["step"])
    records = read_log(Path(source).parent / LOG_NAME)
    scores = [r["miou"] for r in records if r.get("kind") == "val" and r["step"] <= step]
    return scores[-1] if scores and scores[-1] is not None else None


def describe_miou(value: float | None) -> str:
    """``12.34`` (percent) for a score, ``n/a (no validation yet)`` for a run without one."""
    if value is None or value < 0:
        return "n/a (no validation yet)"
    return f"{100 * value:.2f}"
