"""The registry as it was before migrations: cards, status lists, kiosks, staff, nonces,
counters and the audit trail.

A registry made before migrations existed (by `metadata.create_all`, no alembic_version table)
already has these tables, with rows in them: only the missing ones are created, the others are
left as they are, and the upgrade stamps the database with this revision.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _status_lists() -> None:
    op.create_table(
        "status_lists",
        sa.Column("list_id", sa.String(32), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )


def _cards() -> None:
    op.create_table(
        "cards",
        sa.Column("document_number", sa.String(24), primary_key=True),
        sa.Column(
            "status_list", sa.String(32), sa.ForeignKey("status_lists.list_id"), nullable=False
        ),
        sa.Column("status_index", sa.Integer(), nullable=False),
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
        sa.UniqueConstraint("status_list", "status_index", name="uq_cards_status_slot"),
        sa.UniqueConstraint("kiosk_id", "request_id", name="uq_cards_kiosk_request"),
    )
    op.create_index("ix_cards_list_status", "cards", ["status_list", "status"])


def _kiosks() -> None:
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("key_label", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(16), nullable=False),
        sa.Column("auth_public_key", sa.String(256), nullable=False),
        sa.Column("auth_key_fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )


def _staff() -> None:
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("token_hash"),
    )


def _kiosk_nonces() -> None:
    op.create_table(
        "kiosk_nonces",
        sa.Column("kiosk_id", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_kiosk_nonces_seen_at", "kiosk_nonces", ["seen_at"])


def _counters() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def _audit_events() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("document_number", sa.String(24), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


# In dependency order: cards refer to status_lists.
TABLES: dict[str, Callable[[], None]] = {
    "status_lists": _status_lists,
    "cards": _cards,
    "kiosks": _kiosks,
    "staff": _staff,
    "kiosk_nonces": _kiosk_nonces,
    "counters": _counters,
    "audit_events": _audit_events,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
