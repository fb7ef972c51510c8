"""A holder reports a lost card with the receipt's one-time code: suspend it or revoke it.

Both check the code exactly as self-revocation does (cardio.codes.check_code: one scrypt and
one HMAC, against a dummy digest when the number is unknown or has no code), so a wrong code,
an unknown number, a used code and a card that cannot be changed this way all take the same
work and get the same answer (None). Revoking uses the code up (`Issuer.self_revoke`);
suspending keeps it, so a holder who suspended a card can still revoke it with the same code
(one who finds the card again has it reinstated at a service desk).
"""

from __future__ import annotations

from cardio import codes

from .card_status import set_current_card_status
from .cards import CardInfo
from .errors import CardStateError, UnknownCardError
from .registry import ISSUED, REVOKED, SUSPENDED, VALID, queries
from .service import Issuer

ACTIONS = (SUSPENDED, REVOKED)


def report_lost(issuer: Issuer, number: str, code: str, action: str, now: int) -> CardInfo | None:
    """Suspend or revoke (`action`) the current card of `number` when `code` is its receipt
    code; the card as it is now, or None when the number and code do not match (no hint why)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    if action == REVOKED:
        return issuer.self_revoke(number, code, now)
    with issuer.registry.read() as s:
        card = queries.card(s, number)
        usable = card is not None and card.state == ISSUED and card.status in (VALID, SUSPENDED)
        stored = card.revocation_code_hash if card is not None and usable else None
    if not codes.check_code(code, stored, issuer.cards.config.pepper()) or stored is None:
        return None
    try:
        info, _changed = set_current_card_status(issuer.cards, number, SUSPENDED, "holder", None)
    except (UnknownCardError, CardStateError):  # changed meanwhile (revoked at a desk)
        return None
    return info
