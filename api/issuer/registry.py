"""The issuer's registry: cards, kiosks, staff, status lists and an audit trail, in SQL.

What it keeps, and what it never keeps
--------------------------------------
The registry knows a card only by its document number, where its status lives (status list id
and index), the key that signed it (kid), its issue and expiry times, its status and its
lifecycle state. It never holds a name, a birth date, a sex, a photo, an address, a
nationality, a residence status or a client's network address: there is no column for any of
them (tests/test_registry.py inspects the schema and fails if one appears). The one secret per
card, the receipt's one-time revocation code, is kept only as a salted scrypt hash.

Tables
    cards           one row per allocated document number
    status_lists    one row per Token Status List (size and bits per entry)
    kiosks          kiosk accounts: the kiosk's signing key (kid) and its API public key
    staff           staff accounts: a SHA-256 hash of each bearer token
    kiosk_nonces    nonces of signed kiosk requests seen recently (replay protection)
    counters        the document number sequence
    audit_events    what happened, when, and who did it (kiosk or staff id); no personal data

Databases
    SQLite by default (`DIR/registry.sqlite`, WAL journal, every write transaction started with
    BEGIN IMMEDIATE so that concurrent writers queue instead of deadlocking), PostgreSQL by URL
    (`postgresql+psycopg://...`; a plain `postgresql://` URL is given the psycopg driver). The URL
    comes from, in order: the caller, `CITYCARD_DATABASE_URL`, `[database] url` in
    `DIR/server.toml`, the SQLite default.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cardio.errors import CitycardError

DATABASE_ENV = "CITYCARD_DATABASE_URL"
SQLITE_FILE = "registry.sqlite"
LEGACY_JSON = "registry.json"
SERVER_TOML = "server.toml"
DOCUMENT_COUNTER = "document"

# Card status: what the status list says about the card (cardio.statuslist.Status).
VALID, REVOKED, SUSPENDED = "valid", "revoked", "suspended"
# Card lifecycle: allocated to a kiosk, reported issued, or voided (never completed).
ALLOCATED, ISSUED, VOIDED = "allocated", "issued", "voided"
# Kiosk and staff account states.
ACTIVE = "active"
WITHDRAWN = "revoked"


class RegistryError(CitycardError):
    """The registry cannot be opened or used; the message says what to check."""


class Base(DeclarativeBase):
    pass


class Card(Base):
    """One document number. No personal data: see the module docstring."""

    __tablename__ = "cards"

    document_number: Mapped[str] = mapped_column(String(24), primary_key=True)
    status_list: Mapped[str] = mapped_column(String(32), ForeignKey("status_lists.list_id"))
    status_index: Mapped[int] = mapped_column(Integer)
    kid: Mapped[str] = mapped_column(String(16))  # hex of the signing key's 8-byte kid
    iat: Mapped[int | None] = mapped_column(BigInteger)  # None until the kiosk reports issued
    exp: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=VALID)
    state: Mapped[str] = mapped_column(String(16), default=ALLOCATED)
    kiosk_id: Mapped[str | None] = mapped_column(String(64))  # None: signed by the issuer CLI
    request_id: Mapped[str | None] = mapped_column(String(64))  # the kiosk's idempotency key
    revocation_code_hash: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("status_list", "status_index", name="uq_cards_status_slot"),
        UniqueConstraint("kiosk_id", "request_id", name="uq_cards_kiosk_request"),
        Index("ix_cards_list_status", "status_list", "status"),
    )


class StatusListRow(Base):
    """One Token Status List: its id (the last part of its URI), size and bits per entry."""

    __tablename__ = "status_lists"

    list_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Kiosk(Base):
    """A kiosk account: its signing key in the trust list and the public key of its API key."""

    __tablename__ = "kiosks"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_label: Mapped[str] = mapped_column(String(64))  # its signing key's label in the trust list
    kid: Mapped[str] = mapped_column(String(16))
    auth_public_key: Mapped[str] = mapped_column(String(256))  # PEM SubjectPublicKeyInfo, P-256
    auth_key_fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Staff(Base):
    """A staff account (a role or badge id, not a person's name) and its bearer token's hash."""

    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class KioskNonce(Base):
    """A signed kiosk request's nonce, kept for the clock-skew window to refuse exact replays."""

    __tablename__ = "kiosk_nonces"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(BigInteger, index=True)


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class AuditEvent(Base):
    """What happened (action), when (at), who (actor type and kiosk or staff id), to which card."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # cli / kiosk / staff / holder / server
    actor_id: Mapped[str | None] = mapped_column(String(64))  # kiosk or staff id; None otherwise
    action: Mapped[str] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(String(64))  # a fixed word (new status, key label)


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
            self.engine = create_engine(parsed, pool_pre_ping=True)

    @classmethod
    def for_directory(cls, directory: Path, url: str | None = None) -> Registry:
        return cls(database_url(directory, url))

    def close(self) -> None:
        self.engine.dispose()

    def _unreachable(self, exc: Exception) -> RegistryError:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0:1]
        return RegistryError(
            f"The registry database {self.display_url} cannot be used ({''.join(reason)}); "
            f"check that it runs and that {DATABASE_ENV} or server.toml names it correctly."
        )

    def create_schema(self) -> None:
        """Create the tables that do not exist yet (idempotent)."""
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError as exc:
            raise self._unreachable(exc) from exc
        if self.is_sqlite and self.url.database:
            Path(self.url.database).chmod(0o600)

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
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise self._unreachable(exc) from exc
        try:
            with conn:
                conn.execution_options(citycard_write=write)
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
        except OperationalError as exc:
            raise self._unreachable(exc) from exc

    # -- small helpers shared by the issuer --------------------------------------------------

    def next_value(self, session: Session, name: str) -> int:
        """Increment counter `name` and return its new value (atomic in the transaction)."""
        row = session.execute(
            update(Counter)
            .where(Counter.name == name)
            .values(value=Counter.value + 1)
            .returning(Counter.value)
        ).first()
        if row is None:
            raise RegistryError(f"The registry has no {name!r} counter; it was not initialised.")
        return int(row[0])

    def ensure_counter(self, session: Session, name: str, value: int = 0) -> None:
        if session.get(Counter, name) is None:
            session.add(Counter(name=name, value=value))

    def ensure_status_list(
        self, session: Session, list_id: str, size: int, bits: int, now: int
    ) -> None:
        if session.get(StatusListRow, list_id) is None:
            session.add(StatusListRow(list_id=list_id, size=size, bits=bits, created_at=now))

    @staticmethod
    def audit(
        session: Session,
        now: int,
        actor_type: str,
        action: str,
        actor_id: str | None = None,
        document_number: str | None = None,
        detail: str | None = None,
    ) -> None:
        session.add(
            AuditEvent(
                at=now,
                actor_type=actor_type,
                actor_id=actor_id,
                action=action,
                document_number=document_number,
                detail=detail,
            )
        )

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
                for c in s.scalars(select(Card).order_by(Card.document_number))
            }

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, as JSON-ready dicts (privacy checks and backups)."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.read() as s:
            for table in Base.metadata.sorted_tables:
                rows = s.execute(table.select()).mappings().all()
                out[table.name] = [dict(r) for r in rows]
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
                self.ensure_counter(s, DOCUMENT_COUNTER)
                counter = s.get(Counter, DOCUMENT_COUNTER)
                assert counter is not None
                counter.value = max(counter.value, next_document - 1)
                for number, card in cards.items():
                    self.ensure_status_list(s, str(card["list"]), size, bits, now)
                    if s.get(Card, number) is None:
                        s.add(
                            Card(
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
                self.audit(s, now, "cli", "import-registry-json", detail=str(len(cards)))
        except (SQLAlchemyError, KeyError, TypeError, ValueError) as exc:
            raise RegistryError(
                f"{path} could not be imported into the registry ({exc}); fix or remove it."
            ) from exc
        path.rename(path.with_name(LEGACY_JSON + ".imported"))
        return True
