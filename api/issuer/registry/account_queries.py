"""The registry's reads and writes of kiosk and staff accounts and of kiosk request nonces.

The rules belong to api.issuer.accounts; the SQL to here.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .schema import ACTIVE, WITHDRAWN, KioskNonce, KioskRecord, StaffRecord

if TYPE_CHECKING:
    from .database import Registry

# A kiosk decommissioned while its cards stay valid (`kiosk retire`): it may no longer act,
# as a withdrawn one, but its signing key is retired, not revoked.
RETIRED = "retired"


def kiosk(session: Session, kiosk_id: str) -> KioskRecord | None:
    return session.get(KioskRecord, kiosk_id)


def kiosk_ids(session: Session) -> list[str]:
    return list(session.scalars(select(KioskRecord.kiosk_id).order_by(KioskRecord.kiosk_id)))


def add_kiosk(
    session: Session,
    kiosk_id: str,
    key_label: str,
    kid: str,
    auth_public_key: str,
    auth_key_fingerprint: str,
    now: int,
) -> KioskRecord:
    row = KioskRecord(
        kiosk_id=kiosk_id,
        key_label=key_label,
        kid=kid,
        auth_public_key=auth_public_key,
        auth_key_fingerprint=auth_key_fingerprint,
        state=ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def staff(session: Session, staff_id: str) -> StaffRecord | None:
    return session.get(StaffRecord, staff_id)


def staff_with_token_hash(session: Session, token_hash: str) -> StaffRecord | None:
    return session.scalars(select(StaffRecord).where(StaffRecord.token_hash == token_hash)).first()


def add_staff(session: Session, staff_id: str, token_hash: str, now: int) -> StaffRecord:
    row = StaffRecord(
        staff_id=staff_id, token_hash=token_hash, state=ACTIVE, created_at=now, updated_at=now
    )
    session.add(row)
    return row


def withdraw(row: KioskRecord | StaffRecord, now: int) -> None:
    """The account may no longer act (it stays, for the audit trail)."""
    row.state, row.updated_at = WITHDRAWN, now


def retire(row: KioskRecord, now: int) -> None:
    """The kiosk may no longer act; the account says it was retired, not revoked."""
    row.state, row.updated_at = RETIRED, now


def remember_nonce(registry: Registry, kiosk_id: str, nonce: str, now: int, window: int) -> bool:
    """Record a signed request's nonce in a transaction of its own; False when it is already
    there (a replay within the window)."""
    try:
        with registry.write() as s:
            if secrets.randbelow(64) == 0:  # now and then, forget nonces past the window
                s.execute(delete(KioskNonce).where(KioskNonce.seen_at < now - 2 * window))
            s.add(KioskNonce(kiosk_id=kiosk_id, nonce=nonce, seen_at=now))
    except IntegrityError:
        return False
    return True
