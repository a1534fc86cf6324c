"""SIGINT/SIGTERM turn into "save a checkpoint after this step and exit", not a lost run."""

from __future__ import annotations

import signal
import sys
import threading


class StopRequest:
    """Catches SIGINT and SIGTERM while installed; ``requested`` tells the loop to stop.

    A second SIGINT raises ``KeyboardInterrupt`` at once, for a user who really wants out.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame: object) -> None:
        if self.requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        name = signal.Signals(number).name
        print(f"\n{name} received: saving a checkpoint after this step", file=sys.stderr)


def ignore_sigint_in_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: Ctrl-C is for the main process, which saves and exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
