"""The published files as the API serves them: the bytes the publisher kept in the registry,
with a strong ETag made from them, cached in memory by version.

Every host serves the same bytes (the registry's), so the ETag of a file is the same whichever
host answers, and a CDN or a reader's If-None-Match works across hosts. A request looks at the
registry only when its copy is older than `recheck` seconds, or when the file in DIR/public
changed (one stat(): a publish from this machine shows at once); then it reads the version,
and the bytes only when the version moved.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .registry import Registry, publication_queries

RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    body: bytes
    etag: str
    published_at: int
    version: int


@dataclass(frozen=True)
class _Cached:
    snap: Snapshot | None
    checked: float
    stamp: tuple[int, int, int] | None


def etag_of(data: bytes) -> str:
    """A strong ETag: the first 128 bits of the SHA-256 of the bytes, quoted."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


class PublishedFiles:
    def __init__(
        self, registry: Callable[[], Registry], directory: Path, recheck: float = RECHECK_SECONDS
    ) -> None:
        self.registry = registry
        self.directory = Path(directory)
        self.recheck = recheck
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def _stamp(self, relative: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(os.path.join(self.directory, relative))
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def get(self, relative: str) -> Snapshot | None:
        """The published bytes of `relative` (a trusted name such as "status/1.cwt"), or None
        when nothing is published under it."""
        now = time.monotonic()
        stamp = self._stamp(relative)
        cached = self._cache.get(relative)
        if cached is not None and now - cached.checked < self.recheck and cached.stamp == stamp:
            return cached.snap
        snap = self._load(relative, cached.snap if cached is not None else None)
        with self._lock:
            self._cache[relative] = _Cached(snap, now, stamp)
        return snap

    def _load(self, relative: str, held: Snapshot | None) -> Snapshot | None:
        with self.registry().read() as s:
            version = publication_queries.file_version(s, relative)
            if version is None:
                return None
            if held is not None and held.version == version:
                return held
            row = publication_queries.stored_file(s, relative)
            if row is None:
                return None
            body = bytes(row.body)
            return Snapshot(body, etag_of(body), int(row.published_at), int(row.version))


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
