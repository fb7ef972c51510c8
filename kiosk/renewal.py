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

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from cardio import cose, fastpath
from cardio.apdu import ApduProcessor
from cardio.connection import Connection
from cardio.credential import Variant, from_qr, local_day, status_list_id
from cardio.errors import CardConnectionError, CitycardError, MalformedError
from cardio.published import load_verifier
from cardio.type4 import NdefApplication, credential_from_ndef
from cardio.verdict import Verdict
from cardio.verify import Verifier

from .programs import Program

_COSE_SIGN1_START = b"\xd2\x84"  # tag 18, array of 4: a bare credential, not an NDEF message

# Why a card cannot be renewed, as the resident reads it: a code (the web kiosk shows its own
# translated text for each, kiosk.web.flow.old_card) and the English sentence.
_REFUSED: dict[Verdict, tuple[str, str]] = {
    Verdict.REVOKED: (
        "revoked",
        "This card has been revoked, so it cannot be renewed; a lost or stolen card is replaced "
        "instead.",
    ),
    Verdict.SUSPENDED: (
        "suspended",
        "This card is suspended, so it cannot be renewed; please contact the city card office.",
    ),
    Verdict.SUPERSEDED: (
        "superseded",
        "This card has already been replaced by a newer card; renew the newer card instead.",
    ),
    Verdict.STALE_STATUS: (
        "status",
        "The kiosk cannot check this card right now (its revocation list is too old); please "
        "try again later or ask the attendant.",
    ),
    Verdict.STATUS_UNAVAILABLE: (
        "status",
        "The kiosk cannot check this card right now (it has no revocation list for it); please "
        "try again later or ask the attendant.",
    ),
    Verdict.NOT_YET_VALID: (
        "not_yet_valid",
        "This card is not valid yet, so it cannot be renewed; please ask the attendant.",
    ),
}
NO_WRITER = "This kiosk has no card writer; please scan the QR code printed on your card."
NO_CARD_ON_WRITER = (
    "There is no card on the card writer; please put your old card on it, or scan the QR code "
    "printed on it."
)
# Data that does not even parse (a QR code scanned in part, a blank chip, a photo of the card)
# is no proof of forgery: the resident is asked to show it again, not told it is not genuine.
_NOT_READ = "The card could not be read. Please scan its QR code again or put it on the card writer."
_NOT_GENUINE = (
    "This is not a genuine card of this city, so it cannot be renewed; apply for a new card or "
    "ask the attendant."
)


@runtime_checkable
class PublishedFilesSource(Protocol):
    """Where a kiosk gets the city's published files to check an old card (both allocators:
    the issuer API's files, or the in-process issuer's)."""

    def fetch_published(self, directory: Path, status_lists: list[str]) -> None:
        """Write the root key, trust list and the given status lists into `directory`, laid
        out as `citycard-api publish` writes them."""
        ...


class OldCardRefused(CitycardError):
    """The card presented for renewal cannot be renewed; the message says why, in one sentence.

    `code` names the reason (revoked, suspended, superseded, status, not_yet_valid, not_read,
    not_genuine, other_programme, expired, no_writer, no_card, unreachable, unsupported) and
    `params` its values (expired: `date`, ISO, and `days`), for a UI that says it in the
    resident's language."""

    def __init__(self, code: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


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
        text = data.decode("ascii")
        for ending in ("\r\n", "\n", "\r"):  # a scanner's Enter, a text file's last line
            if text.endswith(ending):
                text = text[: -len(ending)]
                break
        # otherwise exactly as written (docs/credential.md 1.2)
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
        raise OldCardRefused(*_REFUSED[verdict])
    if verdict is Verdict.MALFORMED:
        raise OldCardRefused("not_read", _NOT_READ)
    if verdict not in (Verdict.VALID, Verdict.EXPIRED):
        raise OldCardRefused("not_genuine", _NOT_GENUINE)
    claims = fastpath.claims(cose.prepare_sign1(credential, "card data")[3])
    if program is not None and claims.program != program.id:
        raise OldCardRefused(
            "other_programme",
            "This card belongs to another programme, so it cannot be renewed here; apply for a "
            "new card or ask the attendant."
        )
    expires = datetime.fromtimestamp(claims.expires_at - 1, UTC).date()
    if verdict is Verdict.EXPIRED:
        window = program.validity.renewal_window_days if program is not None else 0
        today = local_day(now)  # the station's day, as it dates what it prints
        if today > expires + timedelta(days=window):
            raise OldCardRefused(
                "expired",
                f"This card expired on {expires.isoformat()}, more than {window} days ago, so it "
                "can no longer be renewed; please apply for a new card.",
                date=expires.isoformat(),
                days=str(window),
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


def verify_old_card(
    source: object,
    data: bytes,
    program: Program | None,
    chip_verdict: Callable[[Verifier], Verdict] | None = None,
    now: float | None = None,
) -> OldCard:
    """`check_old_card` against the published files `source` (a `PublishedFilesSource`) gives now.

    `chip_verdict`, when the card was read on the kiosk's writer, verifies the chip itself
    (its binding included): a copied chip is refused."""
    if not isinstance(source, PublishedFilesSource):
        raise OldCardRefused(
            "unsupported",
            "This kiosk cannot check old cards; please ask the attendant to call technical support.",
        )
    with tempfile.TemporaryDirectory(prefix="citycard-old-card-") as tmp:
        try:
            source.fetch_published(Path(tmp), [old_card_list(data)])
        except CitycardError as exc:
            raise OldCardRefused(
                "unreachable",
                "The kiosk cannot reach the city registry to check the card; please try again "
                "later or ask the attendant.",
            ) from exc
        verifier, _problems = load_verifier(Path(tmp))
        if chip_verdict is not None and chip_verdict(verifier) is Verdict.CLONE_SUSPECTED:
            raise OldCardRefused("not_genuine", _NOT_GENUINE)
        return check_old_card(verifier, data, program, now)


def read_chip(connection: Connection) -> bytes:
    """The NDEF message of the card on `connection` (b"" when it holds none: then MALFORMED)."""
    app = NdefApplication(ApduProcessor(connection))
    try:
        app.select()
        return app.read_ndef()
    except CardConnectionError as exc:
        raise OldCardRefused("no_card", NO_CARD_ON_WRITER) from exc
    except CitycardError:
        return b""
