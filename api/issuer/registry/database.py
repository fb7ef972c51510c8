"""The registry database: which one (URL), its connection pool, its transactions, its schema.

SQLite by default (`DIR/registry.sqlite`, WAL journal, every write transaction started with
BEGIN IMMEDIATE so that concurrent writers queue instead of deadlocking), PostgreSQL by URL
(`postgresql+psycopg://...`; a plain `postgresql://` URL is given the psycopg driver). The URL
comes from, in order: the caller, `CITYCARD_DATABASE_URL`, `[database] url` in
`DIR/server.toml`, the SQLite default. The schema is brought up to date by the Alembic
migrations (api.issuer.migrations) when the registry opens.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from cardio.errors import CitycardError

from ..errors import this_user
from . import desk_schema, migrate, queries  # noqa: F401 - desk_schema: the desk's table joins the metadata
from .schema import DOCUMENT_COUNTER, ISSUED, Base, CardRecord

DATABASE_ENV = "CITYCARD_DATABASE_URL"
SQLITE_FILE = "registry.sqlite"
LEGACY_JSON = "registry.json"
SERVER_TOML = "server.toml"

T = TypeVar("T")
# SQLite's words for a file or directory it may not write or open.
_PERMISSION_WORDS = ("readonly", "unable to open database file", "permission denied")


class RegistryError(CitycardError):
    """The registry cannot be opened or used; the message says what to check."""


def _reason(exc: Exception) -> str:
    """The first line of the database's own message (SQLAlchemy appends a long tail)."""
    return "".join(str(getattr(exc, "orig", exc)).strip().splitlines()[0:1])


def database_url(directory: Path, explicit: str | None = None) -> str:
    """The registry URL for an issuer directory (see the module docstring for the order)."""
    if explicit:
        return explicit
    from_env = os.environ.get(DATABASE_ENV)
    if from_env:
        return from_env
    toml_path = Path(directory) / SERVER_TOML
    if toml_path.is_file():
        try:
            data = tomllib.loads(toml_path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{toml_path} is not valid TOML ({exc}); fix the file.") from exc
        url = data.get("database", {}).get("url")
        if url is not None:
            if not isinstance(url, str) or not url:
                raise RegistryError(f"{toml_path}: [database] url must be a non-empty string.")
            return url
    return f"sqlite:///{(Path(directory) / SQLITE_FILE).resolve()}"


def _normalise_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise RegistryError(
            "The database URL is not a URL; use sqlite:///PATH or postgresql://USER@HOST/DB."
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise RegistryError(
            f"The registry runs on SQLite or PostgreSQL, not {parsed.get_backend_name()}; fix the database URL."
        )
    return parsed


# PostgreSQL connections end in bounded time when the server or the route to it fails, instead
# of after the kernel's TCP timeouts (many minutes) or never (docs/deployment.md):
#   connect_timeout   a server that does not take the connection;
#   keepalives_*      a peer gone while the connection is idle (the publisher lock's own
#                     connection, pooled ones): dropped after about 30 + 3 x 10 s;
#   tcp_user_timeout  sent data unacknowledged for 60 s: the route is gone (a legitimate long
#                     statement is acknowledged by the server's kernel at once, so it is safe);
#   statement_timeout 60 s for every statement: the issuer's own run in milliseconds (one
#                     card, one status list of at most a few hundred kilobytes, the publisher's
#                     reads), so this only ends a server that hangs. Migrations, which may
#                     rebuild a large table or wait for another host's migration lock, lift it
#                     for their transaction (Registry.upgrade). It is the server that enforces
#                     it, so a frozen server is left to tcp_user_timeout and keepalives.
# A value the URL sets itself wins (?connect_timeout=...; its options come after ours).
_PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}
PG_STATEMENT_TIMEOUT_MS = 60_000


def postgresql_connect_args(url: URL) -> dict[str, Any]:
    """The libpq parameters that bound a PostgreSQL connection (see above), after the URL's."""
    args = {k: v for k, v in _PG_CONNECT_ARGS.items() if k not in url.query}
    own = url.query.get("options", "")
    own = " ".join(own) if isinstance(own, tuple) else own
    args["options"] = f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} {own}".strip()
    return args


def _sqlite_tuning(engine: Engine) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE for write transactions (see Registry.write)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        # Deleted rows (a picked-up wallet package's ciphertext) are overwritten with zeros,
        # not left in free pages until SQLite reuses them.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("citycard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Registry:
    """A connection pool to the registry database, and the transactions the issuer runs on it."""

    def __init__(self, url: str) -> None:
        parsed = _normalise_url(url)
        self.url = parsed
        self.display_url = parsed.render_as_string(hide_password=True)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(parsed, connect_args={"timeout": 30})
            _sqlite_tuning(self.engine)
        else:
            self.engine = create_engine(
                parsed, pool_pre_ping=True, connect_args=postgresql_connect_args(parsed)
            )

    @classmethod
    def for_directory(cls, directory: Path, url: str | None = None) -> Registry:
        return cls(database_url(directory, url))

    @classmethod
    def open(
        cls,
        directory: Path,
        url: str | None,
        status_lists: list[str],
        list_size: int,
        list_bits: int,
        now: int,
        create: bool = False,
    ) -> Registry:
        """The registry of the issuer in `directory`, ready for use: schema migrated, the
        document counter and the configured status lists present, a pre-SQL registry.json
        imported. Only with `create` (a new issuer) may it be missing or empty."""
        registry = cls.for_directory(directory, url)
        try:
            if not create:
                registry.check_present(directory)
            registry.upgrade()
            with registry.write() as s:
                queries.ensure_counter(s, DOCUMENT_COUNTER)
                for list_id in status_lists:
                    queries.ensure_status_list(s, list_id, list_size, list_bits, now)
            registry.import_legacy_json(directory, list_size, list_bits, now)
        except BaseException:
            registry.close()
            raise
        return registry

    def close(self) -> None:
        self.engine.dispose()

    def _unreachable(self, exc: Exception) -> RegistryError:
        reason = _reason(exc)
        path = self.sqlite_path
        if path is not None and any(w in reason for w in _PERMISSION_WORDS):
            # A SQLite file (or its directory, where the journal goes) this process may not
            # write: its permissions are the fault, not the URL.
            return RegistryError(
                f"The registry {path} cannot be used ({reason}); let the user {this_user()!r} "
                f"read and write it and its directory {path.parent} (check their owner and mode)."
            )
        return RegistryError(
            f"The registry database {self.display_url} cannot be used ({_reason(exc)}); "
            f"check that it runs and that {DATABASE_ENV} or server.toml names it correctly."
        )

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file of the registry (None: PostgreSQL, or SQLite in memory)."""
        name = self.url.database
        if not self.is_sqlite or not name or name == ":memory:" or name.startswith("file:"):
            return None
        return Path(name)

    @contextmanager
    def _sentences(self) -> Iterator[None]:
        """Database errors that are no fault of the statement become sentences: a database
        that cannot be reached, a SQLite file that is not a database (damaged, truncated).
        Others (a unique key already taken) stay as they are, for the caller."""
        try:
            yield
        except OperationalError as exc:
            raise self._unreachable(exc) from exc
        except DatabaseError as exc:
            if type(exc) is not DatabaseError:  # IntegrityError, ProgrammingError, ...
                raise
            if self.sqlite_path is None:
                raise self._unreachable(exc) from exc
            raise RegistryError(
                f"The registry {self.sqlite_path} is damaged ({_reason(exc)}); "
                "restore it from backup."
            ) from exc

    def check_present(self, directory: Path) -> None:
        """Refuse a registry that is missing or empty. Opening one would make it afresh, and
        a new registry hands out the document numbers and status slots of cards already made
        again: only a new issuer (`Issuer.init`) starts one. A pre-SQL registry.json waiting
        to be imported (`import_legacy_json`) is the one exception."""
        if (Path(directory) / LEGACY_JSON).is_file():
            return
        why = "(a new, empty one would give out the document numbers of cards already made)"
        path = self.sqlite_path
        if path is not None:
            if not path.exists():  # checked before connecting: that would create it
                raise RegistryError(
                    f"The registry {path} is missing; restore it from backup {why}."
                )
            if path.is_file() and path.stat().st_size == 0:
                raise RegistryError(
                    f"The registry {path} is empty; restore it from backup {why}."
                )
        with self._sentences(), self.engine.connect() as conn:
            tables = inspect(conn).get_table_names()
        if not tables:
            where = path or self.display_url
            raise RegistryError(
                f"The registry {where} is empty; restore it from backup {why}, or check that "
                f"{DATABASE_ENV} or server.toml names the issuer's registry."
            )

    def upgrade(self) -> str:
        """Bring the schema to the newest migration (idempotent); returns the revision.

        A database made before the migrations (tables, no alembic_version) is recognised and
        upgraded in place: its rows stay."""
        with self._sentences(), self.engine.connect() as conn:
            conn.execution_options(citycard_write=True)  # one migrator at a time on SQLite
            with conn.begin():
                if not self.is_sqlite:  # no limit for a migration (see _PG_CONNECT_ARGS)
                    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                revision = migrate.upgrade(conn)
        if self.is_sqlite and self.url.database:
            Path(self.url.database).chmod(0o600)
        return revision

    def revision(self) -> str | None:
        """The schema's current migration (None: not migrated yet)."""
        with self._sentences(), self.engine.connect() as conn:
            return migrate.current_revision(conn)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction: committed when the block ends, rolled back on an error."""
        with self._transaction(write=True) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never blocks writers on SQLite in WAL mode)."""
        with self._transaction(write=False) as session:
            yield session

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Session]:
        with self._sentences(), self.engine.connect() as conn:
            conn.execution_options(citycard_write=write)
            with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.flush()

    @staticmethod
    def retrying(attempts: int, work: Callable[[], T]) -> T:
        """`work()` (a write transaction of its own), again when a concurrent writer took the
        same unique key first; the last attempt's conflict is raised."""
        for attempt in range(attempts):
            try:
                return work()
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def cards(self) -> dict[str, dict[str, Any]]:
        """Every card as a plain dict, keyed by document number (for tools and tests)."""
        with self.read() as s:
            return {
                c.document_number: {
                    "list": c.status_list,
                    "idx": c.status_index,
                    "kid": c.kid,
                    "iat": c.iat,
                    "exp": c.exp,
                    "status": c.status,
                    "state": c.state,
                    "kiosk": c.kiosk_id,
                }
                for c in queries.all_cards(s)
            }

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, as JSON-ready dicts (privacy checks and backups); bytes
        (the published files) as hex."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.read() as s:
            for table in Base.metadata.sorted_tables:
                rows = s.execute(table.select()).mappings().all()
                out[table.name] = [
                    {k: v.hex() if isinstance(v, bytes) else v for k, v in r.items()} for r in rows
                ]
        return out

    def import_legacy_json(self, directory: Path, size: int, bits: int, now: int) -> bool:
        """Move a pre-SQL `registry.json` into the database once; True when it did."""
        path = Path(directory) / LEGACY_JSON
        if not path.is_file():
            return False
        try:
            legacy = json.loads(path.read_text("utf-8"))
            cards = legacy["cards"]
            next_document = int(legacy["next_document"])
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise RegistryError(
                f"{path} cannot be read ({exc}); restore it from backup or remove it."
            ) from exc
        try:
            with self.write() as s:
                queries.raise_counter(s, DOCUMENT_COUNTER, next_document - 1)
                for number, card in cards.items():
                    queries.ensure_status_list(s, str(card["list"]), size, bits, now)
                    if queries.card(s, number) is None:
                        s.add(
                            CardRecord(
                                document_number=number,
                                status_list=str(card["list"]),
                                status_index=int(card["idx"]),
                                kid=str(card["kid"]),
                                iat=int(card["iat"]),
                                exp=int(card["exp"]),
                                status=str(card["status"]),
                                state=ISSUED,
                                created_at=int(card["iat"]),
                                updated_at=now,
                            )
                        )
                queries.audit(s, now, "cli", "import-registry-json", detail=str(len(cards)))
        except (SQLAlchemyError, KeyError, TypeError, ValueError) as exc:
            raise RegistryError(
                f"{path} could not be imported into the registry ({exc}); fix or remove it."
            ) from exc
        path.rename(path.with_name(LEGACY_JSON + ".imported"))
        return True
