"""A frame-cache build that keeps its progress: the manifest follows the finished frames.

``data.cache.build_cache`` decodes frames in worker processes; this object rewrites the
manifest as they finish (at most every ``MANIFEST_EVERY`` seconds), at the end and when
the build is interrupted, listing only frames whose arrays are written, and removes the
temporaries that killed workers left (``core.files.remove_stale_temporaries``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from segmnv3.core.files import remove_stale_temporaries

MANIFEST_EVERY = 2.0  # seconds between manifest rewrites during a build


class ProgressManifest:
    """The manifest of a build in progress.

    Args:
        folder: the split's cache folder (``<cache_dir>/<split>``).
        entries: {key: source stamps} of every frame of the split.
        pending: keys of the frames still to decode; all others are listed.
        write_manifest: writes {key: stamps} atomically as the split's manifest.
    """

    def __init__(
        self,
        folder: Path,
        entries: dict[str, dict],
        pending: set[str],
        write_manifest: Callable[[dict[str, dict]], object],
    ) -> None:
        self.folder, self.entries, self.pending = folder, entries, pending
        self.write_manifest = write_manifest
        self.written_at = time.monotonic()
        self._remove_temporaries()

    def done(self, key: str) -> None:
        """Frame ``key`` is written; rewrite the manifest if the last write is old enough."""
        self.pending.discard(key)
        if time.monotonic() - self.written_at >= MANIFEST_EVERY:
            self.write()

    def write(self) -> None:
        """Write the manifest of the finished frames; drop killed workers' temporaries."""
        self.write_manifest({k: v for k, v in self.entries.items() if k not in self.pending})
        self.written_at = time.monotonic()
        self._remove_temporaries()

    def _remove_temporaries(self) -> None:
        if self.folder.is_dir():
            for folder in [self.folder, *(p for p in self.folder.rglob("*") if p.is_dir())]:
                remove_stale_temporaries(folder)
