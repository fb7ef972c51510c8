"""Running the registry's Alembic migrations (api.issuer.migrations) from inside the program.

No alembic.ini: the configuration is made here, and the migrations run on a connection the
registry hands over, inside its transaction. A database made before the migrations existed
(tables created by `metadata.create_all`, no `alembic_version` table) needs nothing special:
the first migration creates only the tables that are missing, and the upgrade stamps it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed number: two processes opening one PostgreSQL registry migrate one after the other.
_PG_LOCK_KEY = 0x43495459  # "CITY"


def config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the registry; with `connection`, env.py migrates on it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest migration's revision."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> str:
    """Migrate the database behind `connection` (in its open transaction) to the newest
    revision, and return that revision."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    target = head()
    current = current_revision(connection)
    if current is not None and not _known(current):
        raise _newer_schema(current, target)
    if current != target:
        command.upgrade(config(connection), "head")
    return target


def _known(revision: str) -> bool:
    """True when `revision` is one of this version's migrations."""
    return any(
        s.revision == revision for s in ScriptDirectory.from_config(config()).walk_revisions()
    )


def _newer_schema(revision: str, newest: str) -> Exception:
    # Here, not at the top: the registry's database module imports this one.
    from .database import RegistryError

    # An older citycard meeting a schema a newer one migrated (a rolling restart, a rollback
    # after a bad release): Alembic would say it "can't locate revision" with a traceback.
    # There is no way down: migrations are not undone, the backup is the way back.
    return RegistryError(
        f"This registry was migrated by a newer citycard (schema revision {revision}; this "
        f"version knows up to {newest}); run that newer version, or restore the backup taken "
        "before the upgrade."
    )
