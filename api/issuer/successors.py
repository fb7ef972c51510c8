"""The rules of a number's next card: when a renewal or a replacement may be allocated, what it
does to the card in hand at once (a replacement revokes it), and what the new card's issue does
to the cards before it (a renewal supersedes them). api.issuer.cards calls these inside its
transactions; the SQL is in api.issuer.registry.queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import CardStateError
from .registry import ALLOCATED, ISSUED, REVOKED, SUSPENDED, VALID, CardRecord, queries
from .registry.schema import SUPERSEDED

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RENEWAL, REPLACEMENT = "renewal", "replacement"
"""The kinds of successor card (`CardRegistry.allocate_successor`)."""


def check_successor(
    s: Session, current: CardRecord, kind: str, kiosk_id: str, now: int
) -> CardRecord | None:
    """Refuse (CardStateError, with what to do) a successor the number's current card does
    not allow; for a replacement, revoke the current card now and return it."""
    number = current.document_number
    if current.state != ISSUED:
        raise CardStateError(
            f"Card {number} was never completed, so it cannot be renewed or replaced; "
            "make a new card instead."
        )
    newest = queries.newest_card(s, number)
    if newest is not None and newest.state == ALLOCATED:
        raise CardStateError(
            f"A new card for {number} is being made at kiosk {newest.kiosk_id}; finish or "
            "cancel it there first."
        )
    if kind == RENEWAL:
        if current.status == SUSPENDED:
            raise CardStateError(
                f"Card {number} is suspended, so it cannot be renewed; the holder should "
                "contact the city card office."
            )
        if current.status != VALID:
            raise CardStateError(
                f"Card {number} is {current.status}, so it cannot be renewed; a lost or "
                "stolen card is replaced instead."
            )
        return None
    if current.status == REVOKED:
        return None  # reported lost already: nothing more to revoke
    queries.set_status(current, REVOKED, now)
    queries.audit(s, now, "kiosk", "replace-revoke", kiosk_id, number, REVOKED)
    return current


def supersede_earlier(s: Session, card: CardRecord, kiosk_id: str, now: int) -> None:
    """The new card `card` is made: the number's earlier cards still in use (a renewed card)
    become superseded. Revoked and voided ones stay as they are. A card on a list of 1 bit
    per card (an early issuer's) cannot say superseded there: it is revoked."""
    for earlier in queries.cards_of(s, card.document_number):
        if (
            earlier.generation < card.generation
            and earlier.state == ISSUED
            and earlier.status in (VALID, SUSPENDED)
        ):
            row = queries.status_list_row(s, earlier.status_list)
            status = SUPERSEDED if row is None or row.bits >= 2 else REVOKED
            queries.set_status(earlier, status, now)
            queries.audit(s, now, "kiosk", "superseded", kiosk_id, card.document_number, status)
