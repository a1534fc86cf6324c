"""Third-party log lines kept out of the user's way (unless ``--verbose``).

TensorFlow / absl (used by the LiteRT converter and interpreter), ExecuTorch, ONNX
Runtime, OpenCV, libpng and torch print lines that mean nothing to a user of segmnv3
(``oneDNN custom operations are on``, ``Failed to open midr file``, ``Resetting
threadpool``, ``Removing initializer``, ``cap_v4l.cpp ... can't open camera``,
``libpng error: IDAT: CRC error`` before our own one-line message). Three mechanisms,
each the quietest one that works for its source:

- environment variables read when a library loads (``quiet_third_party``, called by the
  CLI before any heavy import);
- runtime log levels (``logging`` loggers here; ONNX Runtime's in its predictor);
- ``native_stderr_filtered``: native code that prints to file descriptor 2 whatever the
  settings (ExecuTorch, libpng) runs inside it; the lines it writes are replayed, less
  the ones matching known noise.

``segmnv3 <command> --verbose`` (``SEGMNV3_VERBOSE=1``) keeps everything.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

VERBOSE_VARIABLE = "SEGMNV3_VERBOSE"

QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow / absl C++ logs (LiteRT converter, oneDNN)
    "OPENCV_LOG_LEVEL": "ERROR",  # cap_v4l / FFmpeg warnings for a missing webcam
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # FFmpeg's own messages (AV_LOG_QUIET)
}
QUIET_LOGGERS = ("torch.utils._pytree", "torch._export", "torch.export", "onnxscript")

NATIVE_NOISE = re.compile(
    r"^(\[cpuinfo_utils\.cpp:\d+\] |\[threadpool\.cpp:\d+\] Resetting threadpool"  # ExecuTorch
    r"|libpng (error|warning): "  # before our own "cannot read image" line
    r"|INFO: Created TensorFlow Lite .*delegate"  # LiteRT interpreter
    r"|OpenCV: FFMPEG: (tag .* is not supported|fallback to use tag)"  # a WebM's VP8 tag
    r"|WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} [\d:.]+ +\d+ [\w/.]+\.cc:\d+\] )"  # absl INFO / WARNING (oneDNN notice)
)


def is_verbose() -> bool:
    """True when ``--verbose`` (or ``SEGMNV3_VERBOSE=1``) asked for third-party logs."""
    return os.environ.get(VERBOSE_VARIABLE, "") not in ("", "0")


def quiet_third_party(verbose: bool = False) -> None:
    """Silence third-party logs for this process (before importing the libraries).

    Environment variables the user set themselves are kept. Python warnings of our own
    package print as one line ``warning: <message>``; other packages' warnings are
    shown only when verbose.
    """
    if verbose:
        os.environ[VERBOSE_VARIABLE] = "1"
    warnings.formatwarning = _one_line
    if is_verbose():
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(?!segmnv3)")  # keep only ours


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_line(message, category, filename, lineno, line=None) -> str:
    """``warning: <message>`` (no source line, no file name) for our warnings."""
    if category.__module__.startswith("segmnv3") or filename.startswith(_PACKAGE_DIR):
        return f"warning: {message}\n"
    return f"{filename}:{lineno}: {category.__name__}: {message}\n"


_LOCK = threading.RLock()  # re-entrant: a filtered import inside a filtered block


@contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Within the block, what native code writes to fd 2 is held back, then replayed
    without the lines matching ``NATIVE_NOISE`` (nothing is held back when verbose)."""
    if is_verbose():
        yield
        return
    with _LOCK, tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [
                line
                for line in held.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not NATIVE_NOISE.match(line)
            ]
            if kept:  # to fd 2 itself: an outer block (or the terminal) gets them in order
                os.write(2, "".join(kept).encode("utf-8"))
