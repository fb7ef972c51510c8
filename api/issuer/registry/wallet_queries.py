"""The registry's reads and writes of wallet pickups (api.issuer.wallet_pickup has the rules)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .wallet_schema import WalletPickup


def sweep(session: Session, now: int) -> int:
    """Delete every pickup that has expired; how many went."""
    result = session.execute(delete(WalletPickup).where(WalletPickup.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def add(
    session: Session, pickup_id: str, ciphertext: bytes, expires_at: int, proof_hash: str | None
) -> WalletPickup:
    row = WalletPickup(
        pickup_id=pickup_id,
        sealed=ciphertext,
        expires_at=expires_at,
        failures=0,
        token_hash=None,
        delivered="",
        proof_hash=proof_hash,
    )
    session.add(row)
    session.flush()
    return row


def live(session: Session, pickup_id: str, now: int, lock: bool = False) -> WalletPickup | None:
    """The pickup if it exists and has not expired (`lock`: SELECT … FOR UPDATE)."""
    query = select(WalletPickup).where(
        WalletPickup.pickup_id == pickup_id, WalletPickup.expires_at > now
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def remove(session: Session, row: WalletPickup) -> None:
    session.delete(row)
    session.flush()


def count(session: Session) -> int:
    return len(list(session.scalars(select(WalletPickup.pickup_id))))
