"""Several cards per document number: renewal and replacement keep the number, in a new slot.

`cards` was keyed by document number, one card each. A renewed or replaced card keeps its
number (library accounts and other records are keyed to it) and gets a new status slot, so a
card is now keyed by its slot (status list, index) — which was unique already — and
`generation` counts the cards of one number (0 the first; unique with the number). Existing
cards become generation 0 and keep every value.

SQLite cannot change a primary key in place: the table is rebuilt (copied into a new one), and
the publication triggers of 0002, which SQLite drops with the old table, are made again.
PostgreSQL changes its constraints in place; its triggers stay.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "document_number, status_list, status_index, kid, iat, exp, status, state, kiosk_id, "
    "request_id, revocation_code_hash, created_at, updated_at"
)
# The triggers of 0002, as they were written there (a migration never imports another).
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


def _sqlite_cards(name: str, by_slot: bool) -> None:
    """`cards` as a new table `name`: keyed by slot with generations, or as before."""
    key = (
        [
            sa.PrimaryKeyConstraint("status_list", "status_index", name="pk_cards"),
            sa.UniqueConstraint(
                "document_number", "generation", name="uq_cards_document_generation"
            ),
        ]
        if by_slot
        else [
            sa.PrimaryKeyConstraint("document_number", name="pk_cards"),
            sa.UniqueConstraint("status_list", "status_index", name="uq_cards_status_slot"),
        ]
    )
    generation = (
        [sa.Column("generation", sa.Integer(), nullable=False, server_default="0")]
        if by_slot
        else []
    )
    op.create_table(
        name,
        sa.Column("document_number", sa.String(24), nullable=False),
        sa.Column(
            "status_list", sa.String(32), sa.ForeignKey("status_lists.list_id"), nullable=False
        ),
        sa.Column("status_index", sa.Integer(), nullable=False),
        *generation,
        sa.Column("kid", sa.String(16), nullable=False),
        sa.Column("iat", sa.BigInteger(), nullable=True),
        sa.Column("exp", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("revocation_code_hash", sa.String(128), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        *key,
        sa.UniqueConstraint("kiosk_id", "request_id", name="uq_cards_kiosk_request"),
    )


def _sqlite_rebuild(by_slot: bool, where: str = "") -> None:
    for trigger in ("cards_status_changed", "cards_added_not_valid"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_index("ix_cards_list_status", table_name="cards")
    _sqlite_cards("cards_rebuilt", by_slot)
    op.execute(f"INSERT INTO cards_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM cards{where}")
    op.drop_table("cards")
    op.rename_table("cards_rebuilt", "cards")
    op.create_index("ix_cards_list_status", "cards", ["status_list", "status"])
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_rebuild(by_slot=True)
        return
    op.add_column(
        "cards", sa.Column("generation", sa.Integer(), nullable=False, server_default="0")
    )
    op.drop_constraint("cards_pkey", "cards", type_="primary")
    op.drop_constraint("uq_cards_status_slot", "cards", type_="unique")
    op.create_primary_key("cards_pkey", "cards", ["status_list", "status_index"])
    op.create_unique_constraint(
        "uq_cards_document_generation", "cards", ["document_number", "generation"]
    )


def downgrade() -> None:
    """Back to one card per number: only the newest card of each number can stay, so this
    refuses while any number has more than one."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM cards WHERE generation > 0 LIMIT 1")).first():
        raise RuntimeError(
            "Some document numbers have been renewed or replaced; the registry cannot go back "
            "to one card per number. Restore a backup made before the upgrade instead."
        )
    if bind.dialect.name != "postgresql":
        _sqlite_rebuild(by_slot=False)
        return
    op.drop_constraint("uq_cards_document_generation", "cards", type_="unique")
    op.drop_constraint("cards_pkey", "cards", type_="primary")
    op.create_primary_key("cards_pkey", "cards", ["document_number"])
    op.create_unique_constraint("uq_cards_status_slot", "cards", ["status_list", "status_index"])
    op.drop_column("cards", "generation")
