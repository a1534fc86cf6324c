"""Keep the calling thread's alternate signal stack valid across OpenVINO calls.

Measured here (openvino 2026.4, Linux): after converting, compiling and quantizing
models in one process, the main thread's alternate signal stack (``sigaltstack``)
pointed at memory that was no longer mapped. Python installs its signal handlers with
SA_ONSTACK, so the next SIGINT/SIGTERM (Ctrl-C, or the trainer's "save and exit")
crashed the process with SIGSEGV instead of running the handler. Restoring the stack
that was in place before each OpenVINO call keeps signals working.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections.abc import Iterator


class _Stack(ctypes.Structure):
    _fields_ = [
        ("ss_sp", ctypes.c_void_p),
        ("ss_flags", ctypes.c_int),
        ("ss_size", ctypes.c_size_t),
    ]


def _libc():
    return ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


@contextlib.contextmanager
def preserved_signal_stack() -> Iterator[None]:
    """Restore this thread's alternate signal stack on exit (no-op off Linux)."""
    libc = _libc()
    if libc is None:
        yield
        return
    saved = _Stack()
    libc.sigaltstack(None, ctypes.byref(saved))
    try:
        yield
    finally:
        current = _Stack()
        libc.sigaltstack(None, ctypes.byref(current))
        if (current.ss_sp, current.ss_size) != (saved.ss_sp, saved.ss_size):
            saved.ss_flags &= ~1  # SS_ONSTACK is a read-only status bit
            libc.sigaltstack(ctypes.byref(saved), None)


def current_signal_stack() -> tuple[int, int]:
    """(address, size) of this thread's alternate signal stack; (0, 0) off Linux."""
    libc = _libc()
    if libc is None:
        return 0, 0
    stack = _Stack()
    libc.sigaltstack(None, ctypes.byref(stack))
    return stack.ss_sp or 0, stack.ss_size
