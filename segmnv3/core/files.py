"""Files that appear whole or not at all.

Every file segmnv3 writes for a user (checkpoints, exported graphs, images, videos, JSON
reports) goes through one of these helpers: the bytes go to a temporary file beside the
destination (``.<stem>.tmp<PID><suffix>``: same filesystem, same extension so libraries
that pick a format by extension still work), are flushed and fsync'ed, then ``os.replace``
swaps it in. A crash at any point leaves either the old file or the new one, never a torn
one; the temporary file names the process that wrote it, so leftovers of dead processes
can be recognised (``stale_temporaries``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_TEMPORARY = re.compile(r"^\.(?P<stem>.*)\.tmp(?P<pid>\d+)(?P<suffix>\.[^.]*)?$")


def temporary_path(path: str | Path, pid: int | None = None) -> Path:
    """Where the atomic helpers stage ``path``: ``.<stem>.tmp<PID><suffix>`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp{pid or os.getpid()}{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; publish it when the block succeeds.

    For libraries that write to a path themselves (``onnx.save``, ``cv2.imwrite``,
    ``cv2.VideoWriter``). The parent folder is created. If the block raises, the temporary
    file is removed and ``path`` is left as it was.

    Example::

        with atomic_path(out / "model.onnx") as temporary:
            onnx.save(graph, str(temporary))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(path.parent)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary binary file, then publish it as ``path``."""
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        write(file)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """``Path.write_bytes`` with the atomic guarantee."""
    return atomic_write(path, lambda file: file.write(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``Path.write_text`` (UTF-8) with the atomic guarantee."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def copy_atomic(source: str | Path, destination: str | Path) -> Path:
    """Copy a finished file with the same guarantee (e.g. ``last.pt`` -> ``best.pt``)."""
    with open(source, "rb") as reader:
        return atomic_write(destination, lambda writer: shutil.copyfileobj(reader, writer))


def stale_temporaries(folder: str | Path) -> list[Path]:
    """Temporary files in ``folder`` left by processes that no longer run."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = []
    for entry in folder.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and not _process_alive(int(match["pid"])):
            stale.append(entry)
    return sorted(stale)


def fsync_directory(directory: str | Path) -> None:
    """Persist a rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the data file is already synced
    finally:
        os.close(descriptor)


def _fsync_file(path: Path) -> None:
    if path.is_file():
        with open(path, "rb+") as file:
            os.fsync(file.fileno())


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete ``stale_temporaries(folder)`` (files, or staging folders); return them."""
    removed = []
    for path in stale_temporaries(folder):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
