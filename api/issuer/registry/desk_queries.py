"""The registry's reads and writes for the service desk: desk logins of staff accounts, the
list of staff accounts, and a new receipt code's digest on a number's current card.

The rules belong to api.issuer.accounts and api.issuer.desk; the SQL to here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import queries
from .desk_schema import ADMIN_ROLE, STAFF_ROLE, DeskAccount
from .schema import ACTIVE, CardRecord, StaffRecord


def desk_account(session: Session, staff_id: str) -> DeskAccount | None:
    return session.get(DeskAccount, staff_id)


def ensure_desk_account(session: Session, staff_id: str, now: int) -> DeskAccount:
    """The staff account's desk row, made (token only, staff role) when it has none."""
    row = session.get(DeskAccount, staff_id)
    if row is None:
        row = DeskAccount(
            staff_id=staff_id, password_hash=None, role=STAFF_ROLE, sessions_after=0, updated_at=now
        )
        session.add(row)
        session.flush()
    return row


def staff_accounts(session: Session) -> list[tuple[StaffRecord, DeskAccount | None]]:
    """Every staff account with its desk row (None: token only), by id."""
    rows = session.execute(
        select(StaffRecord, DeskAccount)
        .outerjoin(DeskAccount, DeskAccount.staff_id == StaffRecord.staff_id)
        .order_by(StaffRecord.staff_id)
    ).all()
    return [(staff, desk) for staff, desk in rows]


def active_admin_ids(session: Session) -> list[str]:
    """The ids of the active desk admins, their rows locked until the transaction ends: two
    admins stepping down at once on PostgreSQL then queue, and the second sees the first's
    change (SQLite's write transactions queue anyway)."""
    rows = session.execute(
        select(DeskAccount.staff_id)
        .join(StaffRecord, StaffRecord.staff_id == DeskAccount.staff_id)
        .where(DeskAccount.role == ADMIN_ROLE, StaffRecord.state == ACTIVE)
        .order_by(DeskAccount.staff_id)
        .with_for_update()
    ).scalars()
    return list(rows)


def current_card(session: Session, number: str) -> CardRecord | None:
    """The number's current card (api.issuer.registry.queries.card)."""
    return queries.card(session, number)


def set_current_code_hash(session: Session, card: CardRecord, code_hash: str, now: int) -> None:
    """Only `code_hash` opens the card from now on (the old receipt's code stops working)."""
    queries.set_code_hash(card, code_hash, now)
