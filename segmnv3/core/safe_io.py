"""Opening inputs without hanging: regular files only, and walks that follow no loop.

Reading a named pipe (FIFO) blocks until some other process writes to it, a character
device such as ``/dev/zero`` never ends, and a ``**`` glob over a folder holding a
symlink loop grows without bound. Every path a user gives us as *data* (an image, a
video, a checkpoint, a dataset file) goes through :func:`check_regular_file` before it
is opened, and every recursive listing through :func:`walk_files` / :func:`safe_glob`,
which visit each real folder and each real file once.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from segmnv3.core.errors import UserError

_KINDS = (
    (stat.S_ISDIR, "a folder, not a file"),
    (stat.S_ISFIFO, "a named pipe (FIFO): reading it would wait for a writer forever"),
    (stat.S_ISSOCK, "a socket, not a file"),
    (stat.S_ISCHR, "a character device, not a file"),
    (stat.S_ISBLK, "a block device, not a file"),
)
_VIDEO_DEVICE = re.compile(r"^/dev/video\d+$")


def special_file_reason(path: str | Path, *, video_device: bool = False) -> str | None:
    """Why ``path`` is no regular file we may read ("does not exist", "a named pipe ..."),
    or None when it is one (symlinks are followed; ``video_device`` also accepts
    ``/dev/videoN``, a webcam given by path)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symlink loop (it points, directly or not, to itself)"
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            broken = os.path.islink(path)
            return "a broken symlink (its target does not exist)" if broken else "missing"
        return f"not readable ({error.strerror})"
    if stat.S_ISREG(mode):
        return None
    if video_device and stat.S_ISCHR(mode) and _VIDEO_DEVICE.match(os.path.realpath(path)):
        return None
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


def check_regular_file(
    path: str | Path,
    what: str = "file",
    *,
    error: type[UserError] = UserError,
    video_device: bool = False,
) -> Path:
    """``path`` as a Path when it is a regular file (or a symlink to one), else ``error``.

    Args:
        path: the file a user named.
        what: what it should be, for the message ("checkpoint", "image", "video").
        error: the ``UserError`` subclass to raise (``DatasetError`` for dataset files).
        video_device: also accept ``/dev/videoN`` (a webcam given by path).

    Raises:
        error: one line naming ``path``, what it is instead and what to do.
    """
    reason = special_file_reason(path, video_device=video_device)
    if reason is None:
        return Path(path)
    if reason == "missing":
        raise error(f"{what} {path} does not exist; check the path")
    raise error(f"{what} {path} is {reason}; give a regular file")


def walk_files(root: str | Path, *, unique_files: bool = True) -> Iterator[Path]:
    """Every regular file below ``root`` (symlinks followed), each real file once, sorted
    per folder; folders already visited (symlink loops, two links to one folder) are not
    entered again, so the walk ends on any tree.

    ``unique_files=False`` keeps every name of a file linked under several names (a
    dataset whose masks link to one shared file); folders are still entered once.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] | None = set() if unique_files else None
    yield from _walk(Path(root), seen_dirs, seen_files)


def _walk(folder: Path, seen_dirs: set, seen_files: set | None) -> Iterator[Path]:
    try:
        info = folder.stat()
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    if (info.st_dev, info.st_ino) in seen_dirs:
        return
    seen_dirs.add((info.st_dev, info.st_ino))
    for entry in entries:
        path = Path(entry.path)
        try:
            target = entry.stat()  # follows symlinks
        except OSError:  # broken link, loop of links: not a file to read
            continue
        if stat.S_ISDIR(target.st_mode):
            yield from _walk(path, seen_dirs, seen_files)
        elif stat.S_ISREG(target.st_mode):
            if seen_files is None:
                yield path
            elif (target.st_dev, target.st_ino) not in seen_files:
                seen_files.add((target.st_dev, target.st_ino))
                yield path


def safe_glob(pattern: str) -> list[Path]:
    """``glob.glob(pattern, recursive=True)`` that ends on symlink loops: the regular files
    matching ``pattern`` (``**`` = any number of folders), each real file once, sorted.

    Like ``glob``, wildcards do not match names starting with a dot.
    """
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) and not _magic(parts[fixed]):
        fixed += 1
    base = Path(*parts[:fixed]) if fixed else Path(".")
    rest = parts[fixed:]
    if not rest:
        return [base] if special_file_reason(base) is None else []
    if "**" not in rest:  # bounded depth: no loop to fear
        candidates = (Path(p) for p in glob.glob(pattern))
        return _unique(sorted(p for p in candidates if special_file_reason(p) is None))
    seen_files: set[tuple[int, int]] = set()
    found = []
    for path in walk_files(base):
        relative = path.relative_to(base).parts
        if _match(relative, rest):
            target = path.stat()
            if (target.st_dev, target.st_ino) not in seen_files:
                seen_files.add((target.st_dev, target.st_ino))
                found.append(path if fixed else Path(*relative))
    return sorted(found)


def _unique(paths: list[Path]) -> list[Path]:
    """``paths`` without later links to a file already listed."""
    seen, kept = set(), []
    for path in paths:
        target = path.stat()
        if (target.st_dev, target.st_ino) not in seen:
            seen.add((target.st_dev, target.st_ino))
            kept.append(path)
    return kept


def _magic(part: str) -> bool:
    return any(character in part for character in "*?[")


def _match(names: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether the path components ``names`` match the glob components ``pattern``."""
    if not pattern:
        return not names
    head, tail = pattern[0], pattern[1:]
    if head == "**":
        return any(
            _match(names[skip:], tail)
            for skip in range(len(names) + 1)
            if not any(name.startswith(".") for name in names[:skip])
        )
    if not names or (names[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(names[0], head) and _match(names[1:], tail)
