"""Migration 0003 (several cards per document number) on SQLite and PostgreSQL: a registry at
0002 keeps its cards as generation 0, its publication triggers keep counting status changes,
and the downgrade refuses once a number was renewed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from api.issuer.registry import Registry, migrate
from tests.api_fixtures import BACKENDS, fixture_database_url  # noqa: F401
from tests.conftest import NOW

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

_CARD = (
    "INSERT INTO cards (document_number, status_list, status_index, kid, iat, exp, status, "
    "state, created_at, updated_at) VALUES (:n, '1', :i, '00112233aabbccdd', :t, :e, 'valid', "
    "'issued', :t, :t)"
)


def _at(registry: Registry, revision: str, down: bool = False) -> None:
    with registry.engine.begin() as conn:
        cfg = migrate.config(conn)
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _cards(registry: Registry) -> list[tuple[str, int, int]]:
    with registry.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT document_number, status_index, generation FROM cards")
        ).all()
    return sorted((str(n), int(i), int(g)) for n, i, g in rows)


def _mark(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        value = conn.execute(
            sa.text("SELECT changed FROM publication_marks WHERE list_id = '1'")
        ).scalar()
    return int(value or 0)


@BOTH
def test_0002_registry_upgrades_keeps_cards_and_triggers(
    tmp_path: Path, database_url: str | None
) -> None:
    registry = Registry(database_url or f"sqlite:///{tmp_path / 'registry.sqlite'}")
    _at(registry, "0002")
    with registry.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO status_lists (list_id, size, bits, created_at) VALUES ('1', 64, 2, :t)"
            ),
            {"t": NOW},
        )
        for n, i in (("DEV00000018", 17), ("DEV00000026", 42)):
            conn.execute(sa.text(_CARD), {"n": n, "i": i, "t": NOW, "e": NOW + 86400})
    _at(registry, "0003")
    assert registry.revision() == "0003"
    assert _cards(registry) == [
        ("DEV00000018", 17, 0),
        ("DEV00000026", 42, 0),
    ]
    before = _mark(registry)
    with registry.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cards SET status = 'superseded' WHERE status_index = 17"))
    assert _mark(registry) == before + 1  # the trigger survived the rebuild

    # No renewal yet: down to 0002 and up again loses nothing.
    _at(registry, "0002", down=True)
    _at(registry, "head")
    assert len(_cards(registry)) == 2

    with registry.engine.begin() as conn:  # a renewal: the same number, generation 1
        conn.execute(
            sa.text(
                "INSERT INTO cards (document_number, generation, status_list, status_index, kid, "
                "status, state, created_at, updated_at) VALUES ('DEV00000018', 1, '1', 5, "
                "'00112233aabbccdd', 'valid', 'allocated', :t, :t)"
            ),
            {"t": NOW},
        )
    with pytest.raises(RuntimeError, match="renewed or replaced"):
        _at(registry, "0002", down=True)
    registry.close()
