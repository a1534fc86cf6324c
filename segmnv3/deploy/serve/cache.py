"""What the server knows about each file it sends: a strong ETag and a gzip copy.

A phone should download the page once: every answer carries an ``ETag`` (the SHA-256 of
the content), so a reload asks ``If-None-Match`` and gets ``304 Not Modified`` with no
body; a URL that names the current version (``?v=<etag>``, the page learns them from
``/settings.json``) is ``immutable`` and not asked again at all. Text and WASM files are
gzipped once per content (14.2 MB of WASM -> ~3.4 MB) and kept in memory; a file whose
gzip saves under 10 % (float weights) is sent as it is. Files are streamed in chunks,
never read whole per request: 200 stalled downloads cost 200 chunks, not 200 copies.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 256 * 1024
MIN_SAVING = 0.10
"""gzip is used when it saves at least this fraction of the bytes."""
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Entry:
    """One version of a file (its size and mtime): identity ETag and gzip body, if worth it."""

    stamp: tuple[int, int]
    version: str  # hex digest prefix: the ETag's value and the ``?v=`` of immutable URLs
    gzip: bytes | None

    def etag(self, encoding: str | None) -> str:
        """The strong ETag of the identity (None) or ``gzip`` representation."""
        return f'"{self.version}-gz"' if encoding == "gzip" else f'"{self.version}"'


class FileCache:
    """Entries by file, computed once per version (concurrent first requests wait once)."""

    def __init__(self) -> None:
        self._entries: dict[Path, Entry] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def entry(self, file: Path, handle=None) -> Entry:
        """The entry of ``file`` as it is now (``handle``: the open file being sent)."""
        info = os.fstat(handle.fileno()) if handle is not None else file.stat()
        stamp = (info.st_size, info.st_mtime_ns)
        with self._guard:
            lock = self._locks.setdefault(file, threading.Lock())
        with lock:
            found = self._entries.get(file)
            if found is None or found.stamp != stamp:
                with open(file, "rb") as source:
                    found = _digest(source, stamp)
                self._entries[file] = found
            return found

    def warm(self, files) -> threading.Thread:
        """Compute the entries of ``files`` in a daemon thread (the first visitor waits less)."""

        def run() -> None:
            for file in files:
                with contextlib.suppress(OSError):  # a missing file: a 404 when asked
                    self.entry(file)

        thread = threading.Thread(target=run, name="segmnv3-gzip", daemon=True)
        thread.start()
        return thread


def _digest(source, stamp: tuple[int, int]) -> Entry:
    digest = hashlib.sha256()
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    parts, packed, read, limit = [], 0, 0, (1 - MIN_SAVING) * stamp[0]
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        read += len(chunk)
        if packer is not None:
            parts.append(packer.compress(chunk))
            packed += len(parts[-1])
            if packed > limit or (read >= 4 * CHUNK and packed > (1 - MIN_SAVING) * read):
                packer, parts = None, []  # not worth it (judged on the first MiB): hash on
    if packer is not None:
        parts.append(packer.flush())
    body = b"".join(parts) if packer is not None else None
    if body is not None and len(body) > limit:
        body = None
    return Entry(stamp, digest.hexdigest()[:20], body)


def bytes_entry(data: bytes) -> Entry:
    """The entry of an in-memory body (small: never gzipped)."""
    return Entry((len(data), 0), hashlib.sha256(data).hexdigest()[:20], None)


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``q=0`` refuses it)."""
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not quality or float(quality) > 0
            except ValueError:
                return False
    return False


def not_modified(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 says for it)."""
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags
