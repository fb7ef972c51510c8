"""Personalising and reading a citycard chip, over any `Connection`.

Personalisation order (docs/architecture.md): bind (read the UID, or have the card generate its key) →
the caller signs the chip credential with that binding → write → read back and compare byte
for byte → lock. Nothing is reported personalised unless the read-back matched; a card pulled
mid-write reads back as empty or as its old content (NLEN is written last), so personalising
it again either completes or refuses cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum

from . import cbor
from .apdu import ApduError, ApduProcessor
from .chip_auth import ChipAuthApplication
from .connection import Connection
from .credential import ChipBinding, Credential, Holder, Variant, compact_problem
from .errors import CardConnectionError, CitycardError, MalformedError
from .type4 import NdefApplication, credential_from_ndef, ndef_message
from .verdict import Verdict, VerificationResult, result
from .verify import Verifier

log = logging.getLogger(__name__)

_MIN_DATE = date(1900, 1, 1)


class CardProfile(Enum):
    T4T = "t4t"  # Type 4 tag >= 4 KB, photo on chip, UID bound
    T4T_AUTH = "t4t-auth"  # Java Card NDEF applet + on-card key, challenge-response
    COMPACT = "compact"  # 256-byte NDEF, no photo, UID bound
    PRINT = "print"  # no chip at all

    @property
    def has_chip(self) -> bool:
        return self is not CardProfile.PRINT

    @property
    def photo_on_chip(self) -> bool:
        return self in (CardProfile.T4T, CardProfile.T4T_AUTH)


# The compact profile's NDEF file is 256 bytes; its 2-byte NLEN leaves 254 for the message.
COMPACT_NDEF_CAPACITY = 254
# The largest values a compact credential's claims can take that the kiosk does not know
# before it allocates a number: the CDDL's longest document number, chip UID and status list
# id, an index and times that take the longest CBOR heads a card made before 2106 needs.
_WORST_NUMBER = "X" * 24
_WORST_UID = bytes(10)
_WORST_STATUS_URI = "https://status.invalid/status/" + "x" * 8
_WORST_INDEX = 2**32 - 1
_WORST_TIME = 2**32 - 1
# tag, array(4), the 13-byte protected header, empty unprotected map; bstr(64) signature
_SIGN1_FIXED = 1 + 1 + 14 + 1 + 66


def compact_worst_case(issuer: str, program: str, entitlements: tuple[str, ...]) -> int:
    """The NDEF message bytes of the largest compact credential `issuer` can write for a card
    of `program` holding all of `entitlements` (the longest document number, UID, status list id
    and index the contract allows). MalformedError when a compact credential cannot carry them."""
    holder = Holder(program, "X", "X", _MIN_DATE, entitlements=entitlements)
    worst = Credential(
        issuer, _WORST_NUMBER, _WORST_TIME - 1, _WORST_TIME, _WORST_INDEX, _WORST_STATUS_URI,
        holder, Variant.COMPACT, ChipBinding(uid=_WORST_UID),
    )  # fmt: skip
    payload = cbor.dumps(worst.to_claims())
    cose_size = _SIGN1_FIXED + len(cbor.dumps(payload))  # a signature is always 64 bytes
    return len(ndef_message(bytes(cose_size)))


def compact_room_problem(issuer: str, program: str, entitlements: tuple[str, ...]) -> str | None:
    """Why a `compact` chip cannot hold this programme's card, as a sentence, or None."""
    problem = compact_problem(entitlements)
    if problem is not None:
        return problem
    size = compact_worst_case(issuer, program, entitlements)
    if size > COMPACT_NDEF_CAPACITY:
        return (
            f"A compact chip (256 bytes) cannot hold this programme's card: its credential may "
            f"need {size} bytes of the chip's {COMPACT_NDEF_CAPACITY}. Choose a card profile "
            "with a larger chip for the programme."
        )
    return None


class PersonalisationError(CitycardError):
    """The chip was not personalised; the message says what to do with the card."""


@dataclass(frozen=True)
class Personalised:
    uid: bytes
    ndef_bytes: int
    locked: bool
    apdus: int


@dataclass(frozen=True)
class ChipRead:
    """What a reader learnt from one tap."""

    result: VerificationResult
    uid: bytes
    ndef: bytes | None
    apdus: int
    bytes_received: int


def bind(connection: Connection, profile: CardProfile) -> ChipBinding:
    """What the chip credential must be bound to: the UID, or a key the card generates now.

    A `compact` chip's binding says so: its credential is the compact one (docs/credential.md).
    """
    if profile is CardProfile.T4T_AUTH:
        try:
            key = ChipAuthApplication(ApduProcessor(connection)).generate_key()
        except ApduError as exc:
            raise PersonalisationError(
                f"The card refused to generate its key ({exc}); it may already be personalised. "
                "Use a new blank card."
            ) from exc
        return ChipBinding(key=key)
    if profile.has_chip:
        return ChipBinding(uid=connection.uid, compact=profile is CardProfile.COMPACT)
    raise PersonalisationError("The 'print' profile has no chip to bind; print the card only.")


def personalise(connection: Connection, chip_cose: bytes, *, lock: bool = True) -> Personalised:
    """Write the credential, read it back, compare byte for byte, then lock the chip.

    Raises a typed CitycardError (CardTooSmallError, CardLockedError, NotType4Error,
    CardRemovedError, PersonalisationError) and never reports a card it could not verify.
    """
    processor = ApduProcessor(connection)
    app = NdefApplication(processor)
    message = ndef_message(chip_cose)
    app.select()
    app.read_cc()
    app.write_ndef(message)
    try:
        back = app.read_ndef()
    except MalformedError as exc:
        raise PersonalisationError(
            "The chip did not read back what was written; put this card in the reject tray."
        ) from exc
    if back != message:
        raise PersonalisationError(
            "The chip read back different bytes than were written; put this card in the reject tray."
        )
    if lock:
        app.lock()
    return Personalised(connection.uid, len(message), lock, processor.apdu_count)


def read_card(connection: Connection, verifier: Verifier, now: float | None = None) -> ChipRead:
    """Read the credential off the chip and verify it offline, binding included.

    Card-level problems become verdicts (a tag that is not a citycard is MALFORMED); only a
    card that left the field or a dead reader raises (CardConnectionError).
    """
    processor = ApduProcessor(connection)
    app = NdefApplication(processor)
    uid = connection.uid
    try:
        app.select()
        message = app.read_ndef()
        cose = credential_from_ndef(message)
    except CardConnectionError:
        raise
    except CitycardError as exc:
        log.info("chip read refused: %s", type(exc).__name__)
        return ChipRead(result(Verdict.MALFORMED), uid, None, processor.apdu_count, processor.bytes_received)

    authenticate: Callable[[bytes], bytes] = ChipAuthApplication(processor).authenticate
    res, _cred = verifier.check_chip(cose, uid, authenticate, now)
    return ChipRead(res, uid, message, processor.apdu_count, processor.bytes_received)
