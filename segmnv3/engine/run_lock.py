"""One training process per run directory: an advisory lock plus cleanup of dead writers.

Two runs writing the same ``out_dir`` interleave ``log.jsonl`` and overwrite each other's
checkpoints, so :class:`RunLock` holds ``fcntl.flock`` on ``<run_dir>/.lock`` (which also
records the holder's PID) for the whole run, and deletes the file when the run ends. The
kernel drops the lock when its process dies, however it dies, so a lock file left by a
killed run never blocks: the next run takes it over and says whose it was. Only rank 0 of
a distributed run takes it.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from segmnv3.core.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not protected against each other there
    fcntl = None

LOCK_NAME = ".lock"


class RunDirectoryError(UserError):
    """The run directory cannot be used: not a folder, not writable, or in use."""


class RunLock:
    """Exclusive use of a run directory (created if missing) while the ``with`` block runs.

    Raises:
        RunDirectoryError: ``run_dir`` is a file, cannot be created or written, or another
            live process holds its lock (the message names that PID).

    Attributes:
        previous_pid: PID recorded by a holder that died without releasing the lock
            (killed), else None.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.previous_pid: int | None = None
        self._file = None

    def __enter__(self) -> RunLock:
        _make_run_dir(self.run_dir)
        while self._file is None:
            self._file = self._open_locked()
        self.previous_pid = _read_pid(self._file)  # a PID is left only if its holder was killed
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()
        return self

    def _open_locked(self):
        """The lock file, flock'ed; None when its holder deleted it meanwhile (retry)."""
        try:
            file = open(self.path, "a+")  # noqa: SIM115 (held for the run); keeps a PID
        except OSError as error:
            raise RunDirectoryError(
                f"cannot write in the run directory {self.run_dir}: {error.strerror}; "
                "choose a writable output folder"
            ) from None
        if fcntl is None:
            return file
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(file)
            file.close()
            who = f"process {holder}" if holder else "another process"
            raise RunDirectoryError(
                f"the run directory {self.run_dir} is in use by {who} (another training "
                f"run holds {self.path}); wait for it to end, stop it, or choose another "
                "output folder"
            ) from None
        try:
            current = os.stat(self.path).st_ino
        except FileNotFoundError:
            current = None
        if current != os.fstat(file.fileno()).st_ino:  # locked a file its holder just deleted
            file.close()
            return None
        return file

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: see _open_locked
        self._file.close()  # closing drops the flock
        self._file = None


def _make_run_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirectoryError(
            f"the run directory {run_dir} is an existing file, not a folder; "
            "choose another output folder"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RunDirectoryError(
            f"cannot create the run directory {run_dir}: a part of the path is a file; "
            "choose another output folder"
        ) from None
    except OSError as error:
        raise RunDirectoryError(
            f"cannot create the run directory {run_dir}: {error.strerror}; "
            "choose a writable output folder"
        ) from None
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise RunDirectoryError(
            f"the run directory {run_dir} is not writable; choose a writable output folder"
        )


def _read_pid(file) -> int | None:
    file.seek(0)
    text = file.read().strip()
    return int(text) if text.isdigit() else None
