"""The publisher's lock: at most one process signs and publishes for a registry at a time.

PostgreSQL: a session-level advisory lock, held on a connection of its own for as long as the
process publishes; the server releases it when that connection ends, so a process killed with
SIGKILL gives it up at once. The key includes the schema, so registries in separate schemas
of one database have separate publishers. SQLite: an exclusive flock on a file beside the
database (the kernel releases it when the process dies).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from .database import Registry

_PG_LOCK_CLASS = 0x43495450  # "CITP": any fixed number, shared by every citycard publisher


class PublisherLock:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._connection: Connection | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if no other publisher holds it; True when this process holds it."""
        if self.held:
            return self.still_held()
        if self.registry.is_sqlite:
            return self._acquire_file()
        try:
            conn = self.registry.engine.connect()
        except SQLAlchemyError:
            return False
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:cls, hashtext(current_schema()))"),
                {"cls": _PG_LOCK_CLASS},
            ).scalar()
            conn.commit()
        except SQLAlchemyError:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._connection = conn
        return True

    def _acquire_file(self) -> bool:
        path = Path(str(self.registry.url.database) + ".publisher-lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        """False (and the lock let go) when the lock's connection to PostgreSQL was lost."""
        if self._connection is None:
            return self._fd is not None
        try:
            self._connection.execute(text("SELECT 1")).scalar()
            self._connection.commit()
        except SQLAlchemyError:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                # Invalidated, not returned to the pool: ending the session frees the lock.
                self._connection.invalidate()
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor frees the flock
            self._fd = None
