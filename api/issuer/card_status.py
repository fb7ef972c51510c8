"""Status changes by document number: what the lost-card page, the service desk and
`citycard-api status set` call.

A document number can have had several cards (a first card, renewals, replacements), each in
its own status slot. These functions act on the number's *current* card: the newest card made
for it, or, while a renewal is still being made, the card the holder has in hand. Older cards
of the number are superseded or revoked already and are not changed here.

    from api.issuer.card_status import set_current_card_status
    info, changed = set_current_card_status(issuer.cards, "NYC00000017", "revoked", "staff", "desk-3")

Errors (all `IssuerError`, each with a sentence to show): `UnknownCardError` for a number the
registry does not know, `CardStateError` for a change the card's state forbids (a revoked card
is never reinstated), `IssuerError` for a status word other than valid, revoked, suspended.
"""

from __future__ import annotations

from .cards import CardInfo, CardRegistry
from .registry import REVOKED, SUSPENDED, VALID

CHANGEABLE_STATUSES = (VALID, REVOKED, SUSPENDED)
"""The statuses a person may set: valid (reinstate), revoked, suspended."""


def set_current_card_status(
    cards: CardRegistry,
    document_number: str,
    status: str,
    actor_type: str,
    actor_id: str | None,
) -> tuple[CardInfo, bool]:
    """Revoke, suspend or reinstate (`status` valid) the current card of `document_number`.

    `actor_type` is "staff", "holder" or "cli" and `actor_id` the staff or kiosk id (never a
    person's name): both go to the audit trail. Returns the card as the registry now knows it
    and True when its status changed (False when it already had that status). The publisher
    publishes the change; call `wait_published(info.status_list)` to wait for it.
    """
    return cards.set_card_status(document_number, status, actor_type, actor_id)


def card_history(cards: CardRegistry, document_number: str) -> list[CardInfo]:
    """Every card the number has had, oldest first (the last is the newest); no personal data.
    UnknownCardError when the registry does not know the number."""
    return cards.history(document_number)
