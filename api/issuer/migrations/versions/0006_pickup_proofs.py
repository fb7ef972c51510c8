"""Wallet pickups: the SHA-256 of the wallet page's proof that it holds the package's key.

The kiosk leaves `pickup_proof(K)` with the ciphertext; the wallet page must show it to take the
pickup, so a link whose key was damaged no longer spends the one-time pickup (docs/wallet.md).
A digest of a one-way function of K: it tells nothing about K or the package. NULL for pickups
left before this revision (they live 15 minutes) and for kiosks that send no proof.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wallet_pickups") as batch:
        batch.add_column(sa.Column("proof_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wallet_pickups") as batch:
        batch.drop_column("proof_hash")
