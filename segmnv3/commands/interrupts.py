"""SIGTERM handled like Ctrl-C by commands that write files (``infer``, ``export``, ``bench``).

By default SIGTERM (``kill``, a job scheduler, ``docker stop``) ends Python on the spot:
no ``finally`` runs, temporaries stay behind. Inside ``terminate_as_interrupt`` it raises
``KeyboardInterrupt`` instead, so the same clean-up as for Ctrl-C runs; the command then
exits with ``exit_code`` (130 for SIGINT, 143 for SIGTERM, the shell's 128 + signal).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Interrupts:
    """Which signal stopped the command (SIGINT unless SIGTERM was received)."""

    def __init__(self) -> None:
        self.signal = signal.SIGINT

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signal)

    @property
    def name(self) -> str:
        return "terminated (SIGTERM)" if self.signal == signal.SIGTERM else "interrupted"


@contextmanager
def terminate_as_interrupt() -> Iterator[Interrupts]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` in the main thread."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts  # signal handlers can only be installed from the main thread
        return

    def handler(signum, frame):
        if interrupts.signal == signal.SIGTERM:
            return  # a second SIGTERM while cleaning up after the first: let it finish
        interrupts.signal = signal.Signals(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_until_interrupted(body: Callable[[], int], after_interrupt: str | Callable[[], str]) -> int:
    """``body()`` with SIGTERM treated like Ctrl-C; on either, say ``after_interrupt`` (a
    callable is asked then, to describe what is on disk at that moment).

    Returns ``body``'s exit code, or 130 / 143 after printing e.g.
    ``interrupted: no report written ...`` to stderr.
    """
    with terminate_as_interrupt() as interrupts:
        try:
            return body()
        except KeyboardInterrupt:
            said = after_interrupt() if callable(after_interrupt) else after_interrupt
            print(f"{interrupts.name}: {said}", file=sys.stderr)
            return interrupts.exit_code
