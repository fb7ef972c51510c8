"""The wallet pickups' table: ciphertexts the kiosk left for a phone, for at most 15 minutes.

A row holds the pickup id (random, chosen by the kiosk), the sealed package (AES-256-GCM under
a key the issuer does not have, docs/wallet.md), when it expires, how many wrong transaction
codes it has seen, the SHA-256 of the wallet page's proof that it holds the key, and once a
standard wallet redeemed the offer the SHA-256 of its access token and which credential
configurations it has fetched. No name, no document number, no
kiosk id: nothing ties a row to a person or a card.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .schema import Base


class WalletPickup(Base):
    """One sealed wallet package waiting for its phone."""

    __tablename__ = "wallet_pickups"

    pickup_id: Mapped[str] = mapped_column(String(22), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    delivered: Mapped[str] = mapped_column(String(200), default="")
    # NULL for a pickup a kiosk left without a proof (before migration 0006)
    proof_hash: Mapped[str | None] = mapped_column(String(64))
