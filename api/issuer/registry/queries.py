"""The registry's reads and writes of cards, status lists, counters and the audit trail.

Each function runs inside a transaction the caller holds (`Registry.read()` / `write()`); the
rules (which change is allowed when) belong to the issuer's card registry (api.issuer.cards),
the SQL to here.

The statements of an allocation (counters, slot probe, card and audit inserts, the kiosk and
request reads) are plain SQL sent through the driver: building, caching and running an ORM
statement costs ~0.6 ms of CPU, which under many concurrent kiosks is what limits the rate,
not the database (bench/allocate.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from .schema import (
    ALLOCATED,
    ISSUED,
    REVOKED,
    SUPERSEDED,
    VALID,
    VOIDED,
    AuditEvent,
    CardRecord,
    Counter,
    StatusListRow,
)


@functools.cache
def _in_paramstyle(sql: str, paramstyle: str) -> str:
    return sql.replace("%s", "?") if paramstyle == "qmark" else sql


def _run(session: Session, sql: str, params: Sequence[Any]) -> CursorResult[Any]:
    """`sql` (written with %s placeholders) through the driver, in the session's transaction."""
    conn = session.connection()
    return conn.exec_driver_sql(_in_paramstyle(sql, conn.dialect.paramstyle), tuple(params))


# -- counters and status lists -----------------------------------------------------------------


def next_value(session: Session, name: str) -> int | None:
    """Increment counter `name` and return its new value (atomic in the transaction); None
    when there is no such counter."""
    row = _run(
        session, "UPDATE counters SET value = value + 1 WHERE name = %s RETURNING value", (name,)
    ).first()
    return None if row is None else int(row[0])


def ensure_counter(session: Session, name: str, value: int = 0) -> None:
    if session.get(Counter, name) is None:
        session.add(Counter(name=name, value=value))


def raise_counter(session: Session, name: str, at_least: int) -> None:
    """Counter `name` (created if missing) is at least `at_least` afterwards."""
    ensure_counter(session, name)
    counter = session.get(Counter, name)
    assert counter is not None
    counter.value = max(counter.value, at_least)


def ensure_status_list(session: Session, list_id: str, size: int, bits: int, now: int) -> None:
    """Status list `list_id` exists afterwards (made with `size` and `bits` when missing); its
    slot cursor is made by the first allocation (`take_slot_position`)."""
    if session.get(StatusListRow, list_id) is None:
        session.add(StatusListRow(list_id=list_id, size=size, bits=bits, created_at=now))


def open_status_list(session: Session, list_id: str, size: int, bits: int, now: int) -> None:
    """A new status list and its slot cursor. Two processes opening the same list: the second
    fails on the primary key when it commits (and the caller retries)."""
    session.add(StatusListRow(list_id=list_id, size=size, bits=bits, created_at=now))
    session.add(Counter(name=slot_cursor(list_id), value=0))
    session.flush()


def slot_cursor(list_id: str) -> str:
    """The counter that walks status list `list_id`'s slots in their secret order."""
    return f"slots/{list_id}"


def take_slot_position(session: Session, list_id: str) -> int:
    """The next position of the list's slot cursor (0 first; the list's size or more once every
    slot was handed out). Holds the cursor's row until the transaction ends."""
    value = next_value(session, slot_cursor(list_id))
    if value is None:  # a list made before slot cursors: start it now
        ensure_counter(session, slot_cursor(list_id))
        session.flush()
        value = next_value(session, slot_cursor(list_id))
        assert value is not None
    return value - 1


def status_list_row(session: Session, list_id: str) -> StatusListRow | None:
    return session.get(StatusListRow, list_id)


def non_valid_slots(session: Session, list_id: str) -> Iterator[tuple[int, str]]:
    """(index, status) of every card in the list whose status is not valid."""
    for idx, status in session.execute(
        select(CardRecord.status_index, CardRecord.status).where(
            CardRecord.status_list == list_id, CardRecord.status != VALID
        )
    ):
        yield int(idx), str(status)


# -- cards -------------------------------------------------------------------------------------


def has_cards(session: Session) -> bool:
    """True when the registry holds any card (one index probe, never a count)."""
    return session.scalar(select(CardRecord.document_number).limit(1)) is not None


def slot_taken(session: Session, list_id: str, index: int) -> bool:
    sql = "SELECT 1 FROM cards WHERE status_list = %s AND status_index = %s"
    return _run(session, sql, (list_id, index)).first() is not None


def kiosk_state_and_kid(session: Session, kiosk_id: str) -> tuple[str, str] | None:
    """(state, kid) of a kiosk account, for the allocation path."""
    row = _run(session, "SELECT state, kid FROM kiosks WHERE kiosk_id = %s", (kiosk_id,)).first()
    if row is None:
        return None
    state, kid = tuple(row)
    return str(state), str(kid)


def request_taken(session: Session, kiosk_id: str, request_id: str) -> bool:
    """True when a kiosk's allocation request (its idempotency key) already got a card."""
    sql = "SELECT 1 FROM cards WHERE kiosk_id = %s AND request_id = %s"
    return _run(session, sql, (kiosk_id, request_id)).first() is not None


def card(session: Session, number: str) -> CardRecord | None:
    """Document number `number`'s current card: its newest issued card, or, before one was
    issued, its newest card. (A renewal being made leaves the card in hand current; a failed
    one leaves it current for good.)"""
    return session.scalars(
        select(CardRecord)
        .where(CardRecord.document_number == number)
        .order_by((CardRecord.state == ISSUED).desc(), CardRecord.generation.desc())
        .limit(1)
    ).first()


def newest_card(session: Session, number: str, kiosk_id: str | None = None) -> CardRecord | None:
    """The newest card of `number` (of those `kiosk_id` allocated, when given)."""
    query = select(CardRecord).where(CardRecord.document_number == number)
    if kiosk_id is not None:
        query = query.where(CardRecord.kiosk_id == kiosk_id)
    return session.scalars(query.order_by(CardRecord.generation.desc()).limit(1)).first()


def next_generation(session: Session, number: str) -> int:
    """The generation a new card of `number` gets (one more than its newest)."""
    newest = session.scalar(
        select(func.max(CardRecord.generation)).where(CardRecord.document_number == number)
    )
    return 0 if newest is None else int(newest) + 1


def cards_of(session: Session, number: str) -> list[CardRecord]:
    """Every card made for document number `number`, oldest first."""
    return list(
        session.scalars(
            select(CardRecord)
            .where(CardRecord.document_number == number)
            .order_by(CardRecord.generation)
        )
    )


def card_at(session: Session, list_id: str, index: int) -> CardRecord | None:
    """The card using slot `index` of status list `list_id`."""
    return session.get(CardRecord, (list_id, index))


def card_for_request(session: Session, kiosk_id: str, request_id: str) -> CardRecord | None:
    """The card a kiosk's allocation request (its idempotency key) got, if any."""
    return session.scalars(
        select(CardRecord).where(
            CardRecord.kiosk_id == kiosk_id, CardRecord.request_id == request_id
        )
    ).first()


def add_issued_card(
    session: Session,
    number: str,
    list_id: str,
    index: int,
    kid: str,
    issued_at: int,
    expires_at: int,
    now: int,
) -> CardRecord:
    """A card signed here (the issuer CLI): issued at once, valid."""
    row = CardRecord(
        document_number=number,
        status_list=list_id,
        status_index=index,
        kid=kid,
        iat=issued_at,
        exp=expires_at,
        status=VALID,
        state=ISSUED,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def add_allocated_card(
    session: Session,
    number: str,
    list_id: str,
    index: int,
    kid: str,
    kiosk_id: str,
    request_id: str,
    code_hash: str,
    now: int,
    generation: int = 0,
) -> None:
    """A number and slot handed to a kiosk, not yet reported issued (`generation` > 0: a
    renewal or replacement of the number's earlier card)."""
    _run(
        session,
        "INSERT INTO cards (document_number, generation, status_list, status_index, kid, "
        "status, state, kiosk_id, request_id, revocation_code_hash, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (number, generation, list_id, index, kid, VALID, ALLOCATED, kiosk_id, request_id,
         code_hash, now, now),
    )  # fmt: skip


def set_code_hash(row: CardRecord, code_hash: str, now: int) -> None:
    row.revocation_code_hash, row.updated_at = code_hash, now


def mark_issued(
    row: CardRecord, issued_at: int, expires_at: int, code_hash: str | None, now: int
) -> None:
    row.state, row.iat, row.exp, row.updated_at = ISSUED, issued_at, expires_at, now
    if code_hash is not None:
        row.revocation_code_hash = code_hash


def mark_voided(row: CardRecord, now: int) -> None:
    """Voided for good: revoked, and no code can revoke it again."""
    row.state, row.status, row.updated_at = VOIDED, REVOKED, now
    row.revocation_code_hash = None


def set_status(row: CardRecord, status: str, now: int) -> None:
    row.status, row.updated_at = status, now
    if status in (REVOKED, SUPERSEDED):
        row.revocation_code_hash = None


def revoke_if_code_hash(session: Session, number: str, code_hash: str, now: int) -> bool:
    """Revoke card `number` only while its stored code hash is still `code_hash`.

    A compare-and-set on the hash: a code works once, even under concurrent attempts.
    """
    done = session.execute(
        update(CardRecord)
        .where(CardRecord.document_number == number, CardRecord.revocation_code_hash == code_hash)
        .values(status=REVOKED, revocation_code_hash=None, updated_at=now)
        .returning(CardRecord.document_number)
    ).first()
    return done is not None


def all_cards(session: Session) -> list[CardRecord]:
    """Every card, by document number and, within one, oldest first."""
    return list(
        session.scalars(
            select(CardRecord).order_by(CardRecord.document_number, CardRecord.generation)
        )
    )


# -- audit trail -------------------------------------------------------------------------------


def audit(
    session: Session,
    now: int,
    actor_type: str,
    action: str,
    actor_id: str | None = None,
    document_number: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            document_number=document_number,
            detail=detail,
        )
    )


def audit_now(
    session: Session,
    now: int,
    actor_type: str,
    action: str,
    actor_id: str | None = None,
    document_number: str | None = None,
) -> None:
    """`audit`, written at once through the driver (the allocation path)."""
    _run(
        session,
        "INSERT INTO audit_events (at, actor_type, actor_id, action, document_number) "
        "VALUES (%s, %s, %s, %s, %s)",
        (now, actor_type, actor_id, action, document_number),
    )
