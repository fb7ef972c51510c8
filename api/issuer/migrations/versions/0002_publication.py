"""Publishing: the signed bytes every host serves, and a mark per status list that every status
change raises in its own transaction.

`published_files` holds what the one publisher signed (api.issuer.publisher), so every host
serves the same bytes with the same ETag. `publication_marks` counts each status list's status
changes (`changed`) and how many of them its published token shows (`published`). A trigger on
`cards` raises `changed` inside the transaction that changes a card's status, whichever code
path changes it: a committed revocation always leaves a mark, and the publisher works until
published == changed. Lists that exist now start owed one publish.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RAISE_MARK = (
    "INSERT INTO publication_marks (list_id, changed, published) VALUES (NEW.status_list, 1, 0) "
    "ON CONFLICT (list_id) DO UPDATE SET changed = publication_marks.changed + 1"
)
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER cards_status_changed AFTER UPDATE OF status ON cards "
    f"WHEN OLD.status IS NOT NEW.status BEGIN {_RAISE_MARK}; END",
    "CREATE TRIGGER cards_added_not_valid AFTER INSERT ON cards "
    f"WHEN NEW.status <> 'valid' BEGIN {_RAISE_MARK}; END",
]
_PG_TRIGGERS = [
    "CREATE FUNCTION citycard_raise_publication_mark() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN {_RAISE_MARK}; RETURN NULL; END $$",
    "CREATE TRIGGER cards_status_changed AFTER UPDATE OF status ON cards FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) "
    "EXECUTE FUNCTION citycard_raise_publication_mark()",
    "CREATE TRIGGER cards_added_not_valid AFTER INSERT ON cards FOR EACH ROW "
    "WHEN (NEW.status <> 'valid') EXECUTE FUNCTION citycard_raise_publication_mark()",
]


def upgrade() -> None:
    op.create_table(
        "published_files",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "publication_marks",
        sa.Column("list_id", sa.String(32), primary_key=True),
        sa.Column("changed", sa.BigInteger(), nullable=False),
        sa.Column("published", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO publication_marks (list_id, changed, published) "
        "SELECT list_id, 1, 0 FROM status_lists"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    on_cards = " ON cards" if op.get_bind().dialect.name == "postgresql" else ""
    for trigger in ("cards_status_changed", "cards_added_not_valid"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}{on_cards}")
    if on_cards:
        op.execute("DROP FUNCTION IF EXISTS citycard_raise_publication_mark()")
    op.drop_table("publication_marks")
    op.drop_table("published_files")
