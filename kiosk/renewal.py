"""The old card a resident presents for a renewal: read it, verify it, decide whether it may be
renewed, and keep only its document number.

A renewal starts from the card itself — the credential read from its chip (or the NDEF message
read back from one, as the demo's `chip.ndef`) or the text of its printed QR code (a
keyboard-wedge scanner types it) — verified offline against the city's published trust list and
status lists like any venue's reader would (`cardio.verify`). A forged card, another city's, a
revoked, suspended or already renewed one is refused with one sentence; an expired card is
renewed only within the programme's window (`[validity] renewal_window_days`). What the kiosk
keeps from it is the document number: the new card keeps it, the registry gives it a new slot
(kiosk.allocator.Successor). Nothing else from the old card is kept or logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cardio import cose, fastpath
from cardio.credential import Variant, from_qr, status_list_id
from cardio.errors import CitycardError, MalformedError
from cardio.type4 import credential_from_ndef
from cardio.verdict import Verdict
from cardio.verify import Verifier

from .programs import Program

_COSE_SIGN1_START = b"\xd2\x84"  # tag 18, array of 4: a bare credential, not an NDEF message

# Why a card that verified (signature and issuer genuine) cannot be renewed, as the resident reads it.
_REFUSED = {
    Verdict.REVOKED: (
        "This card has been revoked, so it cannot be renewed; a lost or stolen card is replaced "
        "instead."
    ),
    Verdict.SUSPENDED: (
        "This card is suspended, so it cannot be renewed; please contact the city card office."
    ),
    Verdict.SUPERSEDED: (
        "This card has already been replaced by a newer card; renew the newer card instead."
    ),
    Verdict.STALE_STATUS: (
        "The kiosk cannot check this card right now (its revocation list is too old); please "
        "try again later or ask the attendant."
    ),
    Verdict.STATUS_UNAVAILABLE: (
        "The kiosk cannot check this card right now (it has no revocation list for it); please "
        "try again later or ask the attendant."
    ),
    Verdict.NOT_YET_VALID: (
        "This card is not valid yet, so it cannot be renewed; please ask the attendant."
    ),
}
_NOT_GENUINE = (
    "This is not a genuine card of this city, so it cannot be renewed; apply for a new card or "
    "ask the attendant."
)


class OldCardRefused(CitycardError):
    """The card presented for renewal cannot be renewed; the message says why, in one sentence."""


@dataclass(frozen=True)
class OldCard:
    """What the kiosk keeps of a card presented for renewal: its number and what it said."""

    document_number: str
    verdict: Verdict  # VALID, or EXPIRED within the programme's window
    expires: date  # the last day it was valid


def credential_of(data: bytes) -> tuple[bytes, bool]:
    """The credential in what was read from an old card, and whether it came from a QR code.

    `data` is a credential read from a chip, the NDEF message read from one, or the text of a
    printed QR code (one trailing line ending, as a scanner types it, is ignored). Bytes that
    are none of these are returned for the verifier to call MALFORMED.
    """
    if data.startswith(_COSE_SIGN1_START):
        return data, False
    try:
        return credential_from_ndef(data), False
    except CitycardError:
        pass
    try:
        text = data.decode("ascii").strip()
        return from_qr(text), True
    except (UnicodeDecodeError, MalformedError):
        return data, False


def check_old_card(
    verifier: Verifier,
    data: bytes,
    program: Program | None,
    now: float | None = None,
) -> OldCard:
    """Verify the card presented for renewal; OldCardRefused (one sentence) unless it may be
    renewed under `program`: genuine, of this city and programme, not revoked, suspended or
    renewed already, and valid, or expired no longer ago than the programme's window."""
    now = datetime.now(UTC).timestamp() if now is None else now
    credential, from_qr_code = credential_of(data)
    if from_qr_code:  # as verify_qr does: a QR code holds the print credential only
        result = verifier.verify(credential, now, variant=Variant.PRINT)
    else:
        result = verifier.verify_without_chip(credential, now)
    verdict = result.verdict
    if verdict in _REFUSED:
        raise OldCardRefused(_REFUSED[verdict])
    if verdict not in (Verdict.VALID, Verdict.EXPIRED):
        raise OldCardRefused(_NOT_GENUINE)
    claims = fastpath.claims(cose.prepare_sign1(credential, "card data")[3])
    if program is not None and claims.program != program.id:
        raise OldCardRefused(
            "This card belongs to another programme, so it cannot be renewed here; apply for a "
            "new card or ask the attendant."
        )
    expires = datetime.fromtimestamp(claims.expires_at - 1, UTC).date()
    if verdict is Verdict.EXPIRED:
        window = program.validity.renewal_window_days if program is not None else 0
        today = datetime.fromtimestamp(now, UTC).date()
        if today > expires + timedelta(days=window):
            raise OldCardRefused(
                f"This card expired on {expires.isoformat()}, more than {window} days ago, so it "
                "can no longer be renewed; please apply for a new card."
            )
    return OldCard(claims.document_number, verdict, expires)


def old_card_list(data: bytes) -> str:
    """The id of the status list the old card names (to fetch just that list), or "1" when
    its data cannot be read (the verifier then says why the card is refused)."""
    credential, _qr = credential_of(data)
    try:
        claims = fastpath.claims(cose.prepare_sign1(credential, "card data")[3])
    except (MalformedError, ValueError):
        return "1"
    return status_list_id(claims.status_uri)
