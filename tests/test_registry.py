"""The SQL registry: a schema with no room for personal data, on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Integer, LargeBinary, String, inspect

from api.issuer import registry as registry_module
from api.issuer.registry import Base, Registry, RegistryError
from api.issuer.service import Issuer, IssuerError
from cardio.credential import Holder
from cardio.statuslist import Status
from tests.api_fixtures import BACKENDS, fixture_database_url, make_issuer  # noqa: F401
from tests.conftest import NOW

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

# Every column there is, and nothing else: a new column must be added here, after asking
# whether it could ever hold something that identifies a resident.
EXPECTED_COLUMNS = {
    "cards": {
        "document_number", "generation", "status_list", "status_index", "kid", "iat", "exp",
        "status", "state", "kiosk_id", "request_id", "revocation_code_hash", "created_at",
        "updated_at",
    },
    "status_lists": {"list_id", "size", "bits", "created_at"},
    "kiosks": {
        "kiosk_id", "key_label", "kid", "auth_public_key", "auth_key_fingerprint", "state",
        "created_at", "updated_at",
    },
    "staff": {"staff_id", "token_hash", "state", "created_at", "updated_at"},
    "kiosk_nonces": {"kiosk_id", "nonce", "seen_at"},
    "counters": {"name", "value"},
    "audit_events": {
        "id", "at", "actor_type", "actor_id", "action", "document_number", "detail",
    },
    "published_files": {"name", "body", "etag", "version", "published_at"},
    "publication_marks": {"list_id", "changed", "published"},
    "desk_accounts": {"staff_id", "password_hash", "role", "sessions_after", "updated_at"},
    "wallet_pickups": {
        "pickup_id", "sealed", "expires_at", "failures", "token_hash", "delivered", "proof_hash"
    },
}  # fmt: skip
# The one column of bytes: the signed files every reader downloads anyway (trust list, root
# key, status lists: keys, labels and bits, never a resident's data). Nothing else may be
# binary. Its rows are checked like every other in test_issuer's privacy test.
PUBLIC_BYTES = {"published_files.body"}
# The other: wallet packages sealed under a key the issuer never holds, deleted within 15
# minutes (docs/wallet.md); tests/test_wallet_pickup.py scans them for the resident's data.
SEALED_BYTES = {"wallet_pickups.sealed"}
PERSONAL = re.compile(
    r"name|birth|born|sex|gender|photo|portrait|image|address|street|city|nation|citizen|"
    r"residen|status_of_stay|passport|phone|mail|ip|remote|client|note|comment|text|json|blob|"
    r"language|entitle|uid|face|bio",
)
ALLOWED_DESPITE_PATTERN = {"document_number", "key_label"}  # "ip" in neither; "name" in none


def test_schema_has_no_column_for_personal_data() -> None:
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    assert {name: {c.name for c in t.columns} for name, t in tables.items()} == EXPECTED_COLUMNS
    for table in tables.values():
        for column in table.columns:
            where = f"{table.name}.{column.name}"
            if column.name not in ALLOWED_DESPITE_PATTERN and column.name != "name":
                assert not PERSONAL.search(column.name), where
            # Only integers and short strings: no room for a photo, a document scan or free text.
            if where in PUBLIC_BYTES | SEALED_BYTES:
                assert isinstance(column.type, LargeBinary), where
                continue
            assert isinstance(column.type, Integer | BigInteger | String), where
            if isinstance(column.type, String):
                assert column.type.length is not None and column.type.length <= 256, where
    # counters.name is the counter's name ("document"), not a person's.
    assert [c.name for c in tables["counters"].primary_key.columns] == ["name"]
    # published_files.name is a file's name ("status/1.cwt"), not a person's.
    assert [c.name for c in tables["published_files"].primary_key.columns] == ["name"]
    assert "personal data" in (registry_module.__doc__ or "")


def _runtime_imports(node: ast.AST) -> Iterator[str]:
    """The modules a piece of code imports, leaving out `if TYPE_CHECKING:` blocks."""
    if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
        yield from (m for child in node.orelse for m in _runtime_imports(child))
        return
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        yield node.module
    for child in ast.iter_child_nodes(node):
        yield from _runtime_imports(child)


def test_all_sql_is_in_the_registry() -> None:
    """The issuer's parts decide; api.issuer.registry runs the statements. None of the parts
    imports SQLAlchemy (type hints aside)."""
    package = Path(registry_module.__file__).resolve().parent.parent
    for name in ("service", "config", "errors", "keys", "publisher", "cards", "accounts"):
        part = package / f"{name}.py"
        imports = set(_runtime_imports(ast.parse(part.read_text("utf-8"))))
        assert not {m for m in imports if m.split(".")[0] == "sqlalchemy"}, part.name


@BOTH
def test_the_same_schema_is_created_in_the_database(
    tmp_path: Path, database_url: str | None
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    registry = issuer.registry
    assert registry.is_sqlite == (database_url is None)
    found = inspect(registry.engine)
    for table, columns in EXPECTED_COLUMNS.items():
        assert {c["name"] for c in found.get_columns(table)} == columns, table
    if registry.is_sqlite:
        assert (issuer.dir / "registry.sqlite").stat().st_mode & 0o777 == 0o600
    issuer.close()


@BOTH
def test_issue_revoke_and_status_list_on_each_database(
    tmp_path: Path, database_url: str | None, holder: Holder
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    cards = [issuer.issue(holder, now=NOW) for _ in range(5)]
    assert [c.credential.document_number for c in cards][:2] == ["DEV00000018", "DEV00000026"]
    issuer.set_status(cards[1].status_index, "revoked")
    issuer.set_status(cards[2].status_index, "suspended")
    lst = issuer.status_list("1")
    assert [lst.get(c.status_index) for c in cards] == [
        Status.VALID, Status.INVALID, Status.SUSPENDED, Status.VALID, Status.VALID,
    ]  # fmt: skip
    assert issuer.card_status(cards[1].credential.document_number) == "revoked"
    with pytest.raises(IssuerError, match="cannot be reinstated"):
        issuer.set_status(cards[1].status_index, "valid")
    actions = [e["action"] for e in issuer.registry.dump()["audit_events"]]
    assert actions.count("issue") == 5 and actions.count("status") == 2
    # A second Issuer on the same registry sees the same cards and continues the numbering.
    again = Issuer(issuer.dir)
    assert again.registry.cards() == issuer.registry.cards()
    assert again.issue(holder, now=NOW).credential.document_number == "DEV00000067"
    again.close()
    issuer.close()


@BOTH
def test_concurrent_allocations_get_distinct_numbers_and_slots(
    tmp_path: Path, database_url: str | None
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    issuer.add_kiosk("kiosk-2")
    results: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(4):
                a = issuer.allocate("kiosk-2", f"req-{n}-{i:04d}")
                results.append((a.document_number, a.status_index))
                # A retry of the same request while other threads allocate: the same allocation.
                b = issuer.allocate("kiosk-2", f"req-{n}-{i:04d}")
                assert (b.document_number, b.status_index) == (a.document_number, a.status_index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 12
    assert len({r[0] for r in results}) == 12 and len({r[1] for r in results}) == 12
    numbers = sorted(int(r[0][3:10]) for r in results)
    assert numbers == list(range(1, 13))
    issuer.close()


def test_a_legacy_registry_json_is_imported_once(tmp_path: Path, holder: Holder) -> None:
    issuer = Issuer.init(tmp_path / "issuer", now=NOW)
    issuer.issue(holder, now=NOW)
    cards = issuer.registry.cards()
    issuer.close()
    # Pretend this directory predates the SQL registry.
    (issuer.dir / "registry.sqlite").unlink()
    for extra in issuer.dir.glob("registry.sqlite-*"):
        extra.unlink()
    ((number, card),) = cards.items()
    legacy = {
        "next_document": 2,
        "cards": {
            number: {k: card[k] for k in ("list", "idx", "kid", "iat", "exp", "status")},
        },
    }
    (issuer.dir / "registry.json").write_text(json.dumps(legacy))
    again = Issuer(issuer.dir)
    assert again.registry.cards()[number]["idx"] == card["idx"]
    assert not (issuer.dir / "registry.json").exists()
    assert (issuer.dir / "registry.json.imported").exists()
    assert again.issue(holder, now=NOW).credential.document_number == "DEV00000026"
    again.close()


def test_database_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITYCARD_DATABASE_URL", raising=False)
    resolve = registry_module.database_url
    assert resolve(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'registry.sqlite'}"
    (tmp_path / "server.toml").write_text('[database]\nurl = "sqlite:////tmp/other.sqlite"\n')
    assert resolve(tmp_path) == "sqlite:////tmp/other.sqlite"
    monkeypatch.setenv("CITYCARD_DATABASE_URL", "postgresql://u@h/db")
    assert resolve(tmp_path) == "postgresql://u@h/db"
    assert resolve(tmp_path, "sqlite:///x") == "sqlite:///x"
    assert Registry("postgresql://u@h/db").url.drivername == "postgresql+psycopg"
    for bad, fragment in (("mysql://u@h/db", "SQLite or PostgreSQL"), ("::", "not a URL")):
        with pytest.raises(RegistryError, match=fragment):
            Registry(bad)


def test_an_unreachable_database_is_a_sentence(tmp_path: Path) -> None:
    registry = Registry("postgresql://citycard:secret-pw@127.0.0.1:9/nowhere?connect_timeout=2")
    with pytest.raises(RegistryError) as info:
        registry.upgrade()
    message = str(info.value)
    assert message.startswith("The registry database postgresql+psycopg://citycard:***@127.0.0.1:9")
    assert "secret-pw" not in message
    assert message.endswith("names it correctly.")
    with pytest.raises(RegistryError):
        Issuer.init(tmp_path / "issuer", database_url=str(registry.url.render_as_string(False)))
    assert not (tmp_path / "issuer" / "issuer.json").exists()


def test_sqlite_overwrites_what_it_deletes(tmp_path: Path) -> None:
    """A deleted row (a picked-up wallet package's ciphertext) leaves no bytes in free pages."""
    from sqlalchemy import text

    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    marker = b"CIPHERTEXT-" + bytes(range(32)) * 8
    with registry.engine.begin() as conn:
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
        conn.execute(text("CREATE TABLE t (b BLOB)"))
        conn.execute(text("INSERT INTO t VALUES (:b)"), {"b": marker})
    with registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM t"))
    with registry.engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    registry.engine.dispose()
    for path in tmp_path.iterdir():
        assert marker not in path.read_bytes(), path.name
