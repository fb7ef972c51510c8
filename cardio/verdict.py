"""Typed verdicts: what a reader says about a card, with one sentence a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    SUPERSEDED = "superseded"
    UNKNOWN_KEY = "unknown_key"
    KEY_REVOKED = "key_revoked"
    KEY_EXPIRED = "key_expired"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    WRONG_ISSUER = "wrong_issuer"
    STALE_STATUS = "stale_status"
    STATUS_UNAVAILABLE = "status_unavailable"
    CLONE_SUSPECTED = "clone_suspected"

    @property
    def sentence(self) -> str:
        return _SENTENCES[self]


_SENTENCES = {
    Verdict.VALID: "This card is valid.",
    Verdict.EXPIRED: "This card has expired; the holder can renew it at any enrolment kiosk.",
    Verdict.NOT_YET_VALID: "This card is not valid yet; check the reader's clock, then try again.",
    Verdict.REVOKED: "This card has been revoked; do not accept it.",
    Verdict.SUSPENDED: "This card is suspended; the holder should contact the city card office.",
    Verdict.SUPERSEDED: (
        "This card has been replaced by a newer card; do not accept it — the holder has the new one."
    ),
    # No key of this city's trust list signed it (readers refresh the list every few seconds):
    # in practice a card of another city, which staff must not take for a fault.
    Verdict.UNKNOWN_KEY: "Card of another city — not accepted here.",
    Verdict.KEY_REVOKED: "This card was made by a kiosk whose key has been withdrawn; do not accept it.",
    Verdict.KEY_EXPIRED: (
        "This card was made outside its kiosk key's validity period; do not accept it."
    ),
    Verdict.BAD_SIGNATURE: "This card's signature is not genuine; do not accept it.",
    Verdict.MALFORMED: "This card's data cannot be read; ask the holder to try again or use the printed QR.",
    Verdict.WRONG_ISSUER: "This card was issued by another city; this reader cannot accept it.",
    Verdict.STALE_STATUS: (
        "The revocation list on this reader is too old to trust; connect the reader to refresh it."
    ),
    Verdict.STATUS_UNAVAILABLE: (
        "The reader has no revocation list for this card; connect the reader to refresh it."
    ),
    Verdict.CLONE_SUSPECTED: "This card's data was copied from another chip; do not accept it.",
}


@dataclass(frozen=True)
class VerificationResult:
    """A verdict, its sentence, warnings, and the displayable claims (only when VALID)."""

    verdict: Verdict
    message: str
    claims: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.name,
            "valid": self.valid,
            "message": self.message,
            "warnings": list(self.warnings),
            "claims": self.claims,
        }


def result(verdict: Verdict, *warnings: str) -> VerificationResult:
    return VerificationResult(verdict, verdict.sentence, None, tuple(warnings))
