"""The citycard credential: CWT claims (RFC 8392) in a tagged COSE_Sign1, and its QR text.

Two variants carry the same claims: the *chip* variant adds the photo and the chip binding;
the *print* variant (in the QR) has neither. A third, the *compact* chip variant, is for
256-byte chips: document number, validity, status reference (list id and index), entitlement
numbers and the chip UID, and nothing about the holder's name, birth date or photo. The claim
layout is specified in docs/credential.md. This module encodes it; decoding is done in one strict pass by
`cardio.fastpath.claims` (the verifier's hot path, compiled), which `decode_claims` wraps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import IntEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from . import base45, cbor, cose, fastpath
from .errors import MalformedError
from .fastpath import Claims, iso_day
from .keys import Signer, cose_key, p256_from_xy, p256_xy

QR_PREFIX = "CC1:"
MEDIA_TYPE = "application/vnd.citycard+cwt"

# Registered CWT claim keys (RFC 8392, RFC 8747, draft-ietf-oauth-status-list).
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI, CLAIM_CNF, CLAIM_STATUS = 1, 4, 6, 7, 8, 65535
# Private-use claim (RFC 8392 section 9.1: keys below -65536) holding the card's own fields.
CLAIM_CARD = -65537
# Keys inside the card claim.
C_VARIANT, C_PROGRAM, C_FAMILY, C_GIVEN, C_BIRTH, C_SEX = 0, 1, 2, 3, 4, 5
C_PHOTO, C_ENTITLEMENTS, C_LANGUAGES, C_CHIP_UID = 6, 7, 8, 9
C_STATUS = 10  # compact variant only: [status list id, index]
CNF_COSE_KEY = 1

MAX_NAME = 100
MAX_PHOTO = 8 * 1024
MAX_UID = 10
SEXES = frozenset({"F", "M", "X"})
_EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MIN_BIRTH = date(1900, 1, 1)
_MAX_TIME = 253_402_300_800  # 10000-01-01T00:00:00Z: every time has a calendar date
_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")
ENTITLEMENT_CODE = _CODE
"""A programme or entitlement code: lower-case letters, digits and '-', at most 32."""
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}\Z")
_DOCNO = re.compile(r"[A-Z0-9-]{4,24}\Z")
_LIST_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,7}\Z")


class Variant(IntEnum):
    PRINT = 0
    CHIP = 1
    COMPACT = 2  # a chip too: the compact credential of a 256-byte chip


def status_list_id(status_uri: str) -> str:
    """The last path segment of a status list URI: what a compact credential carries of it."""
    return status_uri.rstrip("/").rsplit("/", 1)[-1] if "/" in status_uri else status_uri


def compact_problem(entitlements: tuple[str, ...], status_uri: str | None = None) -> str | None:
    """Why a compact credential cannot carry these entitlements (or this status list), or None."""
    unknown = [e for e in entitlements if e not in fastpath.ENTITLEMENT_CODES]
    if unknown:
        return (
            f"The entitlement {unknown[0]!r} has no number in the compact credential's table "
            "(docs/credential.md section 2.1), so a compact chip cannot carry it."
        )
    if status_uri is not None and not _LIST_ID.match(status_list_id(status_uri)):
        return (
            f"The status list {status_uri} does not end in a list id of 1 to 8 lower-case letters, "
            "digits or '-', so a compact chip cannot name it."
        )
    return None


@dataclass(frozen=True, slots=True)
class Holder:
    """What is printed on the card about the resident (and nothing else)."""

    program: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str | None = None
    entitlements: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    photo: bytes | None = None

    def __post_init__(self) -> None:
        _check_code(self.program, "programme id")
        _check_name(self.family_name, "family name")
        _check_name(self.given_name, "given name")
        if not isinstance(self.birth_date, date) or self.birth_date < _MIN_BIRTH:
            raise MalformedError("The birth date is not a date on or after 1900-01-01.")
        if self.sex is not None and self.sex not in SEXES:
            raise MalformedError("Sex must be F, M or X, or left out.")
        if len(self.entitlements) > 16 or len(self.languages) > 8:
            raise MalformedError("There are too many entitlements or languages.")
        for code in self.entitlements:
            _check_code(code, "entitlement")
        for lang in self.languages:
            if not isinstance(lang, str) or not _LANG.match(lang):
                raise MalformedError(f"{lang!r} is not a language tag such as 'de' or 'pt-BR'.")
        if self.photo is not None and (
            not isinstance(self.photo, bytes) or not 0 < len(self.photo) <= MAX_PHOTO
        ):
            raise MalformedError(f"The photo must be between 1 and {MAX_PHOTO} bytes.")


@dataclass(frozen=True, slots=True)
class ChipBinding:
    """Ties a chip credential to one chip: its UID (t4t, compact) or its own key (t4t-auth).

    `compact` says that the chip is a 256-byte one (profile `compact`), which holds the compact
    credential: the signer reads it from here (`cardio.chip.bind` sets it). It is not a claim.
    """

    uid: bytes | None = None
    key: ec.EllipticCurvePublicKey | None = None
    compact: bool = False

    def __post_init__(self) -> None:
        if (self.uid is None) == (self.key is None):
            raise MalformedError("A chip binding names exactly one of a UID or a chip key.")
        if self.uid is not None and not (
            isinstance(self.uid, bytes) and 4 <= len(self.uid) <= MAX_UID
        ):
            raise MalformedError("A chip UID is 4 to 10 bytes.")
        if self.compact and self.uid is None:
            raise MalformedError("A compact chip is bound by its UID.")


@dataclass(frozen=True, slots=True)
class Credential:
    issuer: str
    document_number: str
    issued_at: int
    expires_at: int
    status_index: int
    status_uri: str
    holder: Holder
    variant: Variant = Variant.PRINT
    binding: ChipBinding | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.issuer, str) or not 1 <= len(self.issuer) <= 64:
            raise MalformedError("The issuer is not a short text.")
        if not isinstance(self.document_number, str) or not _DOCNO.match(self.document_number):
            raise MalformedError(
                "The document number is not 4 to 24 capital letters, digits or '-'."
            )
        if type(self.issued_at) is not int or not 0 <= self.issued_at < _MAX_TIME:
            raise MalformedError("The issue time is not a time.")
        if type(self.expires_at) is not int or not 0 <= self.expires_at < _MAX_TIME:
            raise MalformedError("The expiry time is not a time.")
        if self.expires_at <= self.issued_at:
            raise MalformedError("The card expires before it was issued.")
        if type(self.status_index) is not int or not 0 <= self.status_index < 2**32:
            raise MalformedError("The status index is not a whole number.")
        if not isinstance(self.status_uri, str) or not 1 <= len(self.status_uri) <= 200:
            raise MalformedError("The status list URI is not a short text.")
        if self.variant is Variant.COMPACT:
            if self.binding is None or self.binding.uid is None or self.holder.photo is not None:
                raise MalformedError(
                    "A compact credential is bound to its chip's UID and carries no photo."
                )
            problem = compact_problem(self.holder.entitlements, self.status_uri)
            if problem is not None:
                raise MalformedError(problem)
        elif self.variant is Variant.CHIP:
            if self.binding is None:
                raise MalformedError("A chip credential must be bound to its chip.")
        elif self.binding is not None or self.holder.photo is not None:
            raise MalformedError("A print credential carries neither a photo nor a chip binding.")

    def for_print(self) -> Credential:
        """The same claims without photo and binding: what goes in the QR."""
        return replace(
            self, holder=replace(self.holder, photo=None), variant=Variant.PRINT, binding=None
        )

    @property
    def expiry_date(self) -> date:
        return _utc_day(self.expires_at - 1)

    # -- encoding -----------------------------------------------------------------------------

    def entitlement_numbers(self) -> list[int]:
        """The compact credential's entitlement numbers, in increasing order."""
        codes = fastpath.ENTITLEMENT_CODES
        return sorted({codes.index(e) for e in self.holder.entitlements})

    def to_claims(self) -> dict[int, Any]:
        if self.variant is Variant.COMPACT:
            return self._compact_claims()
        h = self.holder
        card: dict[int, Any] = {
            C_VARIANT: int(self.variant),
            C_PROGRAM: h.program,
            C_FAMILY: h.family_name,
            C_GIVEN: h.given_name,
            C_BIRTH: (h.birth_date - _EPOCH).days,
        }
        if h.sex is not None:
            card[C_SEX] = h.sex
        if h.photo is not None:
            card[C_PHOTO] = h.photo
        if h.entitlements:
            card[C_ENTITLEMENTS] = list(h.entitlements)
        if h.languages:
            card[C_LANGUAGES] = list(h.languages)
        claims: dict[int, Any] = {
            CLAIM_ISS: self.issuer,
            CLAIM_EXP: self.expires_at,
            CLAIM_IAT: self.issued_at,
            CLAIM_CTI: self.document_number.encode("ascii"),
            CLAIM_STATUS: {"status_list": {"idx": self.status_index, "uri": self.status_uri}},
            CLAIM_CARD: card,
        }
        if self.binding is not None:
            if self.binding.uid is not None:
                card[C_CHIP_UID] = self.binding.uid
            else:
                assert self.binding.key is not None
                claims[CLAIM_CNF] = {CNF_COSE_KEY: cose_key(self.binding.key)}
        return claims

    def _compact_claims(self) -> dict[int, Any]:
        # Nothing about the holder but the programme and entitlements: the reader sends staff to
        # the name and photo printed on the card (docs/credential.md section 1.1).
        assert self.binding is not None and self.binding.uid is not None
        card: dict[int, Any] = {C_VARIANT: int(Variant.COMPACT), C_PROGRAM: self.holder.program}
        numbers = self.entitlement_numbers()
        if numbers:
            card[C_ENTITLEMENTS] = numbers
        card[C_CHIP_UID] = self.binding.uid
        card[C_STATUS] = [status_list_id(self.status_uri), self.status_index]
        return {
            CLAIM_ISS: self.issuer,
            CLAIM_EXP: self.expires_at,
            CLAIM_IAT: self.issued_at,
            CLAIM_CTI: self.document_number.encode("ascii"),
            CLAIM_CARD: card,
        }

    @classmethod
    def from_payload(cls, payload: bytes) -> Credential:
        """Decode signed claims; MalformedError on any key, type, value or encoding out of place."""
        return cls.from_fields(decode_claims(payload))

    @classmethod
    def from_fields(cls, c: Claims) -> Credential:
        """The credential for decoded claims (checked again by Holder and Credential).

        MalformedError for compact claims: they do not hold the holder's name or birth date, so
        they make no Credential (use the Claims, as `display` does).
        """
        if c.variant == Variant.COMPACT:
            raise MalformedError(
                "A compact credential does not carry the holder's name or birth date; use its claims."
            )
        assert c.family_name is not None and c.given_name is not None and c.birth_days is not None
        binding = None
        if c.chip_uid is not None:
            binding = ChipBinding(uid=c.chip_uid)
        elif c.chip_key is not None:
            binding = ChipBinding(key=p256_from_xy(*c.chip_key))
        holder = Holder(
            c.program,
            c.family_name,
            c.given_name,
            date.fromordinal(_EPOCH_ORDINAL + c.birth_days),
            c.sex,
            c.entitlements,
            c.languages,
            c.photo,
        )
        return cls(
            c.issuer,
            c.document_number,
            c.issued_at,
            c.expires_at,
            c.status_index,
            c.status_uri,
            holder,
            Variant(c.variant),
            binding,
        )

    def to_fields(self) -> Claims:
        h, b = self.holder, self.binding
        if self.variant is Variant.COMPACT:
            assert b is not None
            codes = fastpath.ENTITLEMENT_CODES
            return Claims(
                (
                    self.issuer, self.document_number, self.issued_at, self.expires_at,
                    self.status_index, status_list_id(self.status_uri), int(self.variant),
                    h.program, None, None, None, None,
                    tuple(codes[n] for n in self.entitlement_numbers()), (), None, b.uid, None,
                )
            )  # fmt: skip
        key = None if b is None or b.key is None else p256_xy(b.key)
        return Claims(
            (
                self.issuer,
                self.document_number,
                self.issued_at,
                self.expires_at,
                self.status_index,
                self.status_uri,
                int(self.variant),
                h.program,
                h.family_name,
                h.given_name,
                (h.birth_date - _EPOCH).days,
                h.sex,
                h.entitlements,
                h.languages,
                h.photo,
                None if b is None else b.uid,
                key,
            )
        )

    def display(self) -> dict[str, Any]:
        """What a reader may show: what is printed on the card, nothing else."""
        return display(self.to_fields())


def decode_claims(payload: bytes) -> Claims:
    """The claims of a credential, decoded and checked by the compiled decoder.

    Only the deterministic encoding `to_claims` writes is accepted; MalformedError (with the
    first reason found) for anything else.
    """
    try:
        return fastpath.claims(payload)
    except (ValueError, TypeError) as exc:
        raise MalformedError(f"The credential claims are not acceptable: {exc}.") from exc


def display(c: Claims) -> dict[str, Any]:
    """What a reader may show of decoded claims: what is printed on the card, nothing else.

    A compact credential has no name, birth date or photo to show: its display says so with
    `"compare_printed_card": True` (staff compare the name and photo printed on the card).
    """
    if c.variant == Variant.COMPACT:
        return {
            "document_number": c.document_number,
            "program": c.program,
            "entitlements": list(c.entitlements),
            "issued": iso_day(c.issued_at // 86400),
            "expires": iso_day((c.expires_at - 1) // 86400),
            "variant": "compact",
            "compare_printed_card": True,
        }
    assert c.birth_days is not None
    out: dict[str, Any] = {
        "document_number": c.document_number,
        "program": c.program,
        "family_name": c.family_name,
        "given_name": c.given_name,
        "birth_date": iso_day(c.birth_days),
        "sex": c.sex,
        "entitlements": list(c.entitlements),
        "languages": list(c.languages),
        "issued": iso_day(c.issued_at // 86400),
        "expires": iso_day((c.expires_at - 1) // 86400),
        "variant": "chip" if c.variant else "print",
    }
    if c.photo is not None:
        out["photo_base64"] = fastpath.b64encode(c.photo)
    return out


def _utc_day(timestamp: int) -> date:
    """The UTC calendar day of an epoch time (cheaper than going through datetime)."""
    return date.fromordinal(_EPOCH_ORDINAL + timestamp // 86400)


def _check_name(value: object, what: str) -> None:
    # The rule lives in one place, the compiled decoder, so issuing and reading cannot disagree.
    if not isinstance(value, str) or not value.strip():
        raise MalformedError(f"The {what} is empty.")
    if len(value) > MAX_NAME:
        raise MalformedError(f"The {what} is longer than {MAX_NAME} characters.")
    if not fastpath.name_ok(value):
        raise MalformedError(f"The {what} holds control or invisible formatting characters.")


def _check_code(value: object, what: str) -> None:
    if not isinstance(value, str) or not _CODE.match(value):
        raise MalformedError(f"The {what} {value!r} is not a short lower-case code.")


LAST_EXPIRY_DAY = date(9999, 12, 30)
"""The last day a card can be valid through: its `exp`, 00:00 UTC of the next day, must be a
time before the year 10000 (docs/credential.md section 2)."""


def expiry_timestamp(expires: date) -> int:
    """A card printed 'valid until D' has `exp` = 00:00 UTC of the day after D (readers keep
    it valid until D has ended everywhere on earth: cardio.verify.EXPIRY_GRACE).

    MalformedError for a day after LAST_EXPIRY_DAY, which no credential can hold.
    """
    if expires > LAST_EXPIRY_DAY:
        raise MalformedError(
            f"The expiry date {expires.isoformat()} is after {LAST_EXPIRY_DAY.isoformat()}, the "
            "last day a card can be valid through; give an earlier date."
        )
    return (expires.toordinal() - _EPOCH_ORDINAL + 1) * 86400  # no datetime: no overflow


def local_day(timestamp: float) -> date:
    """The calendar day of `timestamp` on this machine's clock and time zone.

    A kiosk dates what it prints (the issue date), counts ages and the default validity by
    this day, and so does the issuer for what it issues itself (`citycard-api issue` without an
    expiry): each runs in its city's time zone (TZ), so an evening enrolment west of UTC is
    dated that day, not the next (docs/credential.md section 2.1).
    """
    return datetime.fromtimestamp(timestamp).date()


def sign_credential(signer: Signer, credential: Credential) -> bytes:
    """The tagged COSE_Sign1 bytes of `credential`, signed by a kiosk key."""
    return cose.sign1(signer, cbor.dumps(credential.to_claims()))


def to_qr(cose_bytes: bytes) -> str:
    return QR_PREFIX + base45.encode(cose_bytes)


def from_qr(text: str) -> bytes:
    """COSE bytes from QR text; MalformedError when it is not a citycard QR.

    The text is taken exactly as written (docs/credential.md section 1.2): nothing is trimmed,
    so any whitespace other than base45's own space (a newline, a tab, NBSP, U+3000) is
    malformed. The line ending a keyboard-wedge scanner appends is the input layer's to remove.
    """
    if not isinstance(text, str) or not text.startswith(QR_PREFIX):
        raise MalformedError("This QR code is not a citycard code (it does not start with CC1:).")
    if len(text) > 3 * cbor.MAX_INPUT // 2 + 8:
        raise MalformedError("This QR code is too long to be a citycard code.")
    return base45.decode(text[len(QR_PREFIX) :])
