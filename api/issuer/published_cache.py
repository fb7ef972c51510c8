"""The published files as the API serves them: the bytes the publisher kept in the registry,
with a strong ETag made from them, cached in memory by version.

Every host serves the same bytes (the registry's), so the ETag of a file is the same whichever
host answers, and a CDN or a reader's If-None-Match works across hosts. A request looks at the
registry only when its copy is older than `recheck` seconds, or when the file in DIR/public
changed (one stat(): a publish from this machine shows at once); then it reads the version,
and the bytes only when the version moved.

While the registry cannot be read (a database outage), a file this host holds is served as it
last read it: the files are signed and carry their own expiry, so a reader refuses one that
grew too old, and an older list served for a while is safer than none (readers would lose
their lists for the whole outage). Whatever needs the database still answers 503. One request
at a time asks the registry for a file; the others get the held copy meanwhile, so a database
that hangs holds up one thread, not every reader. The host reads every public file at start
(`warm`), so it holds them before anyone asks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .registry import Registry, RegistryError, publication_queries

log = logging.getLogger("citycard.api")

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
        self._loading: set[str] = set()  # files a request is reading from the registry now
        self._away = False  # the registry failed: served from memory, said once in the log

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
        held = cached.snap if cached is not None else None
        if cached is not None and now - cached.checked < self.recheck and cached.stamp == stamp:
            return held
        with self._lock:
            if held is not None and relative in self._loading:
                return held  # another request is asking the registry; do not queue behind it
            self._loading.add(relative)
        try:
            snap = self._load(relative, held)
        except RegistryError as exc:
            if held is None:
                raise  # nothing to serve: the API's typed 503
            self._held_through(exc)
            snap = held
        else:
            self._back()
        finally:
            with self._lock:
                self._loading.discard(relative)
        with self._lock:
            self._cache[relative] = _Cached(snap, now, stamp)
        return snap

    def warm(self, names: list[str]) -> None:
        """Read `names` now, so that this host holds them should the registry go away."""
        for relative in names:
            self.get(relative)

    def _held_through(self, exc: RegistryError) -> None:
        with self._lock:
            first, self._away = not self._away, True
        if first:
            log.warning(
                "registry unavailable: %s; serving the public files last read from it "
                "(signed, with their own expiry) until it answers again",
                exc,
            )

    def _back(self) -> None:
        if self._away:
            with self._lock:
                was, self._away = self._away, False
            if was:
                log.warning("registry answers again; the public files are read from it")

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
