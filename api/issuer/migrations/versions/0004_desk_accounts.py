"""The service desk: a desk login (password digest, role) for staff accounts.

`desk_accounts` holds, per staff account that has one, the scrypt digest of the password an
admin set, the account's desk role (staff or admin) and the time before which its sessions
are refused. Staff ids are role or badge ids; no personal data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_accounts",
        sa.Column("staff_id", sa.String(64), sa.ForeignKey("staff.staff_id"), primary_key=True),
        sa.Column("password_hash", sa.String(160), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sessions_after", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("desk_accounts")
