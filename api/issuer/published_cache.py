"""The published files as the API serves them: bytes and a strong ETag, kept in memory.

`citycard-api publish` (or the server itself) replaces the files atomically; each request
checks the file's identity (inode, mtime, size) with one stat() and re-reads it only when it
changed, so a publish shows at once without the server reading the file on every request.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Snapshot:
    body: bytes
    etag: str
    mtime: float


def etag_of(data: bytes) -> str:
    """A strong ETag: the first 128 bits of the SHA-256 of the bytes, quoted."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


class PublishedFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, tuple[tuple[int, int, int], Snapshot]] = {}
        self._lock = threading.Lock()

    def get(self, relative: str) -> Snapshot | None:
        """The current bytes of `relative` (a trusted path under the directory), or None."""
        path = os.path.join(self.directory, relative)
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._cache.get(relative)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            with open(path, "rb") as fh:
                body = fh.read()
        except OSError:
            return None
        snap = Snapshot(body, etag_of(body), st.st_mtime)
        with self._lock:
            self._cache[relative] = (stamp, snap)
        return snap


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match semantics (RFC 9110 section 13.1.2): weak comparison, `*` matches."""
    if not header:
        return False
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False
