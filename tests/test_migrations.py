"""The registry's Alembic migrations: an empty database and one made before migrations (by
`metadata.create_all`, with cards, kiosks and staff in it) are brought to the models' schema
on SQLite and PostgreSQL, keep their rows, and the issuer works on them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from api.issuer.cli import main as cli_main
from api.issuer.registry import Base, Registry, migrate
from api.issuer.service import Issuer
from cardio import codes
from cardio.credential import Holder
from cardio.keys import public_pem
from cardio.kiosk_auth import KioskCredential
from cardio.statuslist import Status
from tests.api_fixtures import BACKENDS, fixture_database_url  # noqa: F401
from tests.conftest import NOW

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
ROOT = Path(__file__).resolve().parent.parent

# The registry's tables as `metadata.create_all` made them before there were migrations (a
# frozen copy: the models may change, a database made then does not).
LEGACY = sa.MetaData()
sa.Table(
    "status_lists", LEGACY,
    sa.Column("list_id", sa.String(32), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("bits", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)
sa.Table(
    "cards", LEGACY,
    sa.Column("document_number", sa.String(24), primary_key=True),
    sa.Column("status_list", sa.String(32), sa.ForeignKey("status_lists.list_id"), nullable=False),
    sa.Column("status_index", sa.Integer, nullable=False),
    sa.Column("kid", sa.String(16), nullable=False),
    sa.Column("iat", sa.BigInteger),
    sa.Column("exp", sa.BigInteger),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("kiosk_id", sa.String(64)),
    sa.Column("request_id", sa.String(64)),
    sa.Column("revocation_code_hash", sa.String(128)),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("status_list", "status_index", name="uq_cards_status_slot"),
    sa.UniqueConstraint("kiosk_id", "request_id", name="uq_cards_kiosk_request"),
    sa.Index("ix_cards_list_status", "status_list", "status"),
)
sa.Table(
    "kiosks", LEGACY,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("key_label", sa.String(64), nullable=False),
    sa.Column("kid", sa.String(16), nullable=False),
    sa.Column("auth_public_key", sa.String(256), nullable=False),
    sa.Column("auth_key_fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
sa.Table(
    "staff", LEGACY,
    sa.Column("staff_id", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
sa.Table(
    "kiosk_nonces", LEGACY,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.BigInteger, nullable=False, index=True),
)
sa.Table(
    "counters", LEGACY,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
sa.Table(
    "audit_events", LEGACY,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.BigInteger, nullable=False, index=True),
    sa.Column("actor_type", sa.String(16), nullable=False),
    sa.Column("actor_id", sa.String(64)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("document_number", sa.String(24)),
    sa.Column("detail", sa.String(64)),
)  # fmt: skip

STAFF_TOKEN = codes.new_staff_token()
KIOSK = KioskCredential.generate("kiosk-2")
SELF_REVOKE_CODE = codes.new_revocation_code()
LEGACY_ROWS: dict[str, list[dict[str, Any]]] = {
    "status_lists": [{"list_id": "1", "size": 1 << 17, "bits": 2, "created_at": NOW}],
    "counters": [{"name": "document", "value": 3}],
    "kiosks": [
        {
            "kiosk_id": "kiosk-2", "key_label": "kiosk-2", "kid": "00112233aabbccdd",
            "auth_public_key": public_pem(KIOSK.public_key),
            "auth_key_fingerprint": "f" * 64, "state": "active",
            "created_at": NOW, "updated_at": NOW,
        },
    ],
    "staff": [
        {
            "staff_id": "desk-1", "token_hash": codes.hash_staff_token(STAFF_TOKEN),
            "state": "active", "created_at": NOW, "updated_at": NOW,
        },
    ],
    "cards": [
        {
            "document_number": "DEV00000018", "status_list": "1", "status_index": 17,
            "kid": "8899aabbccddeeff", "iat": NOW, "exp": NOW + 86400 * 730,
            "status": "valid", "state": "issued", "kiosk_id": None, "request_id": None,
            "revocation_code_hash": None, "created_at": NOW, "updated_at": NOW,
        },
        {
            "document_number": "DEV00000026", "status_list": "1", "status_index": 4711,
            "kid": "00112233aabbccdd", "iat": NOW, "exp": NOW + 86400 * 730,
            "status": "valid", "state": "issued", "kiosk_id": "kiosk-2", "request_id": "req-1",
            "revocation_code_hash": codes.hash_code(SELF_REVOKE_CODE),
            "created_at": NOW, "updated_at": NOW,
        },
        {
            "document_number": "DEV00000034", "status_list": "1", "status_index": 99,
            "kid": "00112233aabbccdd", "iat": None, "exp": None,
            "status": "valid", "state": "allocated", "kiosk_id": "kiosk-2", "request_id": "req-2",
            "revocation_code_hash": None, "created_at": NOW, "updated_at": NOW,
        },
    ],
    "audit_events": [
        {"id": 1, "at": NOW, "actor_type": "cli", "action": "issue", "actor_id": None,
         "document_number": "DEV00000018", "detail": "kiosk-1"},
    ],
}  # fmt: skip


def _url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'registry.sqlite'}"


def _schema_differences(registry: Registry) -> list[Any]:
    with registry.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def _make_legacy_database(url: str, tables: list[str] | None = None) -> None:
    """A registry made the old way: `create_all` of the pre-migration tables, with rows."""
    engine = sa.create_engine(Registry(url).url)
    chosen = [LEGACY.tables[t] for t in tables] if tables else None
    LEGACY.create_all(engine, tables=chosen)
    with engine.begin() as conn:
        for table in LEGACY.sorted_tables:
            if table.name in LEGACY_ROWS and (chosen is None or table in chosen):
                conn.execute(table.insert(), LEGACY_ROWS[table.name])
    engine.dispose()


@BOTH
def test_an_empty_database_is_migrated_to_the_models_schema(
    tmp_path: Path, database_url: str | None
) -> None:
    registry = Registry(_url(database_url, tmp_path))
    assert registry.revision() is None
    assert registry.upgrade() == migrate.head()
    assert registry.revision() == migrate.head()
    assert _schema_differences(registry) == []
    assert registry.upgrade() == migrate.head()  # again: nothing to do
    assert registry.cards() == {}
    registry.close()


@BOTH
def test_a_registry_made_before_migrations_keeps_its_rows_and_works(
    tmp_path: Path, database_url: str | None, holder: Holder
) -> None:
    url = _url(database_url, tmp_path)
    _make_legacy_database(url)
    Issuer.init(tmp_path / "issuer", now=NOW).close()  # keys and issuer.json; its own registry
    issuer = Issuer(tmp_path / "issuer", url)

    registry = issuer.registry  # opening it migrates
    assert registry.revision() == migrate.head()
    assert _schema_differences(registry) == []
    dump = registry.dump()
    for table, rows in LEGACY_ROWS.items():
        # the columns a legacy registry had (later migrations add some: cards.generation)
        assert [{k: r[k] for k in rows[0]} for r in dump[table]] == rows, table

    # The issuer goes on where the old registry stopped.
    assert issuer.staff_for_token(STAFF_TOKEN) == "desk-1"
    kiosk = issuer.kiosk("kiosk-2")
    assert kiosk is not None and kiosk.auth_key_fingerprint == "f" * 64
    again = issuer.allocate("kiosk-2", "req-2")
    assert (again.document_number, again.status_index, again.replayed) == ("DEV00000034", 99, True)
    assert issuer.allocate("kiosk-2", "req-3").document_number == "DEV00000042"
    assert issuer.issue(holder, now=NOW).credential.document_number == "DEV00000059"
    assert issuer.self_revoke("DEV00000026", SELF_REVOKE_CODE) is not None
    info, changed = issuer.set_card_status("DEV00000018", "suspended", "staff", "desk-1")
    assert changed and info.status == "suspended"
    lst = issuer.status_list("1")
    assert (lst.get(4711), lst.get(17), lst.get(99)) == (
        Status.INVALID, Status.SUSPENDED, Status.VALID,
    )  # fmt: skip
    issuer.publish_status()
    assert issuer.remember_nonce("kiosk-2", "n-1", NOW, 300)
    assert not issuer.remember_nonce("kiosk-2", "n-1", NOW, 300)
    issuer.close()

    # Opened again: already at the newest revision, nothing changes.
    reopened = Issuer(tmp_path / "issuer", url)
    assert reopened.card_status("DEV00000026") == "revoked"
    assert len(reopened.registry.cards()) == 5
    reopened.close()


def test_a_partial_old_registry_gets_the_tables_it_lacked(tmp_path: Path) -> None:
    url = _url(None, tmp_path)
    _make_legacy_database(url, ["status_lists", "cards", "counters"])
    registry = Registry(url)
    registry.upgrade()
    assert _schema_differences(registry) == []
    assert set(registry.cards()) == {"DEV00000018", "DEV00000026", "DEV00000034"}
    registry.close()


def test_the_migrations_are_installed_with_the_package() -> None:
    """Every file of api/issuer/migrations matches the package data pyproject.toml declares."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["api.issuer"]
    package = ROOT / "api" / "issuer"
    declared = {p for pattern in patterns for p in package.glob(pattern)}
    files = {
        p for p in (package / "migrations").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }  # fmt: skip
    assert files and files <= declared
    assert (package / "migrations" / "env.py") in files


def test_db_upgrade_command(tmp_path: Path) -> None:
    url = _url(None, tmp_path)
    _make_legacy_database(url)
    Issuer.init(tmp_path / "issuer", now=NOW).close()
    (tmp_path / "issuer" / "server.toml").write_text(f'[database]\nurl = "{url}"\n')
    runner = CliRunner()
    first = runner.invoke(cli_main, ["db", "upgrade", "--dir", str(tmp_path / "issuer")])
    assert first.exit_code == 0, first.output
    assert f"from revision none to {migrate.head()}." in first.output
    again = runner.invoke(cli_main, ["db", "upgrade", "--dir", str(tmp_path / "issuer")])
    assert again.exit_code == 0 and "is up to date" in again.output
    registry = Registry(url)
    assert len(registry.cards()) == 3
    registry.close()
    missing = runner.invoke(cli_main, ["db", "upgrade", "--dir", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "is not an issuer directory" in missing.output
