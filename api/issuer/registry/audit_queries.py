"""The registry's reads and writes of the audit trail for the service desk.

Every desk action is one `audit_events` row: who (actor type and staff id), what (action and a
fixed word), which document number, when. Never a name, a birth date or a photo: the columns
hold ids and fixed words only.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import queries
from .schema import AuditEvent


def record(
    session: Session,
    now: int,
    staff_id: str | None,
    action: str,
    document_number: str | None = None,
    detail: str | None = None,
) -> None:
    """A desk action by `staff_id` (None: nobody logged in, e.g. a refused login)."""
    queries.audit(session, now, "staff", action, staff_id, document_number, detail)


def events_for(session: Session, number: str, limit: int) -> list[AuditEvent]:
    """The newest `limit` events of document number `number`, oldest first (what a clerk
    needs is what happened lately, however long the card has lived)."""
    newest = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.document_number == number)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(reversed(list(newest)))


def count_for(session: Session, number: str) -> int:
    """How many events document number `number` has."""
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.document_number == number)
    ) or 0


def newest_at(session: Session, number: str, action: str) -> int | None:
    """When `action` last happened to document number `number` (None: never), however many
    other events the number has."""
    return session.scalars(
        select(AuditEvent.at)
        .where(AuditEvent.document_number == number, AuditEvent.action == action)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()


def recent(session: Session, limit: int = 100) -> list[AuditEvent]:
    """The newest events first."""
    return list(
        session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
    )
