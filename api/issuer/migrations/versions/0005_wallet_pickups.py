"""Wallet pickups: sealed packages the kiosk leaves for the resident's phone (docs/wallet.md).

`wallet_pickups` holds a random pickup id, the AES-256-GCM ciphertext (the issuer has no key
for it), the expiry (15 minutes after the upload), the count of wrong transaction codes and,
after an OpenID4VCI token request, the access token's SHA-256 and the configurations fetched.
No personal data and nothing that names a card or a kiosk.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_pickups",
        sa.Column("pickup_id", sa.String(22), primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("delivered", sa.String(200), nullable=False),
    )
    op.create_index("ix_wallet_pickups_expires_at", "wallet_pickups", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_wallet_pickups_expires_at", table_name="wallet_pickups")
    op.drop_table("wallet_pickups")
