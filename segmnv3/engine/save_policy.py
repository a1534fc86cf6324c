"""When a run writes ``last.pt`` and ``best.pt``: one policy, decided in one place.

The trainer asks :meth:`SavePolicy.decide` after every step (with the validation mIoU
when it validated) and once when training stops; it never decides by itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SaveDecision:
    """What to write after the current step.

    Attributes:
        save: write ``last.pt``.
        new_best: the validation mIoU that beats every earlier one: also copy ``best.pt``
            (and record it as the run's best); None otherwise.
    """

    save: bool
    new_best: float | None = None

    @property
    def is_best(self) -> bool:
        return self.new_best is not None


@dataclass
class SavePolicy:
    """The run's checkpoint schedule.

    Attributes:
        ckpt_interval: ``train.ckpt_interval`` (0 = only after validations and at the end).
        saved_step: step of the newest checkpoint on disk (the resumed one, or 0 for a
            fresh run: there is nothing to keep before the first step).
    """

    ckpt_interval: int
    saved_step: int = 0

    def decide(
        self, step: int, *, best_miou: float, miou: float | None = None, stopping: bool = False
    ) -> SaveDecision:
        """Save now? Is it best?

        Args:
            step: the optimiser steps done.
            best_miou: the best validation mIoU so far (-1 before the first).
            miou: this step's validation mIoU, None when it did not validate.
            stopping: training ends here (last iteration or a stop signal).

        Returns:
            No save when ``step`` is already on disk (so a finished run rerun, or a stop
            right after a save, writes nothing). Otherwise: after a validation, save, and
            mark best when ``miou`` beats ``best_miou`` (NaN never does); every
            ``ckpt_interval`` steps and when stopping, save ``last.pt`` only.
        """
        if step == self.saved_step:
            return SaveDecision(save=False)
        if miou is not None:
            return SaveDecision(save=True, new_best=miou if miou > best_miou else None)
        due = self.ckpt_interval > 0 and step % self.ckpt_interval == 0
        return SaveDecision(save=stopping or due)
