"""Why a wallet credential or presentation was refused: typed reasons shared by the formats.

`cardio.sdjwt`, `cardio.mdoc` and `cardio.presentation` raise `PresentationError` with one
`PresentationReason`; the verifier turns it into the chip's `Verdict` (a presentation whose key binding
fails is a copy, as a chip that fails its challenge is) and the reason's sentence.
"""

from __future__ import annotations

from enum import Enum

from .errors import CitycardError
from .verdict import Verdict


class PresentationReason(Enum):
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_ISSUER_SIGNATURE = "bad_issuer_signature"
    UNSIGNED_DISCLOSURE = "unsigned_disclosure"
    REPEATED_DISCLOSURE = "repeated_disclosure"
    DISCLOSURES_CHANGED = "disclosures_changed"
    NO_KEY_BINDING = "no_key_binding"
    BAD_KEY_BINDING = "bad_key_binding"
    WRONG_NONCE = "wrong_nonce"
    WRONG_AUDIENCE = "wrong_audience"
    OUTSIDE_TIME_WINDOW = "outside_time_window"
    WRONG_FORMAT = "wrong_format"
    UNREQUESTED_DISCLOSURE = "unrequested_disclosure"

    @property
    def verdict(self) -> Verdict:
        return _VERDICTS[self]

    @property
    def sentence(self) -> str:
        return _SENTENCES[self]


_VERDICTS = {
    PresentationReason.MALFORMED: Verdict.MALFORMED,
    PresentationReason.WRONG_FORMAT: Verdict.MALFORMED,
    PresentationReason.UNKNOWN_KEY: Verdict.UNKNOWN_KEY,
    PresentationReason.UNREQUESTED_DISCLOSURE: Verdict.MALFORMED,
    PresentationReason.BAD_ISSUER_SIGNATURE: Verdict.BAD_SIGNATURE,
    PresentationReason.UNSIGNED_DISCLOSURE: Verdict.BAD_SIGNATURE,
    PresentationReason.REPEATED_DISCLOSURE: Verdict.BAD_SIGNATURE,
    PresentationReason.DISCLOSURES_CHANGED: Verdict.BAD_SIGNATURE,
    PresentationReason.NO_KEY_BINDING: Verdict.CLONE_SUSPECTED,
    PresentationReason.BAD_KEY_BINDING: Verdict.CLONE_SUSPECTED,
    PresentationReason.WRONG_NONCE: Verdict.CLONE_SUSPECTED,
    PresentationReason.WRONG_AUDIENCE: Verdict.CLONE_SUSPECTED,
    PresentationReason.OUTSIDE_TIME_WINDOW: Verdict.CLONE_SUSPECTED,
}

_SENTENCES = {
    PresentationReason.MALFORMED: (
        "The phone's answer cannot be read; ask the holder to show it again or use the card."
    ),
    PresentationReason.WRONG_FORMAT: (
        "This is not a citycard wallet credential or presentation; ask the holder for the "
        "citycard."
    ),
    PresentationReason.UNKNOWN_KEY: (
        "The credential was signed by a key the reader does not know; refresh the trust list, "
        "and if it persists do not accept it."
    ),
    PresentationReason.UNREQUESTED_DISCLOSURE: (
        "The answer holds details this venue did not ask for, which a citycard wallet never "
        "sends; do not accept it, and show the request QR again."
    ),
    PresentationReason.BAD_ISSUER_SIGNATURE: "The credential's signature is not genuine; do not accept it.",
    PresentationReason.UNSIGNED_DISCLOSURE: (
        "The answer holds a detail the city did not sign (changed or added); do not accept it."
    ),
    PresentationReason.REPEATED_DISCLOSURE: (
        "The answer holds the same detail twice, which a genuine wallet never sends; do not "
        "accept it."
    ),
    PresentationReason.DISCLOSURES_CHANGED: (
        "The details were changed after the holder's phone signed them; do not accept them."
    ),
    PresentationReason.NO_KEY_BINDING: (
        "The answer is not signed by the holder's phone, so it may be a copy; ask the holder "
        "to answer this venue's request."
    ),
    PresentationReason.BAD_KEY_BINDING: (
        "The holder's signature on the answer is not genuine, so it may be a copy; do not "
        "accept it."
    ),
    PresentationReason.WRONG_NONCE: (
        "The answer was made for another request (a replay or a copy); ask the holder to scan "
        "this venue's request again."
    ),
    PresentationReason.WRONG_AUDIENCE: (
        "The answer was made for another venue; ask the holder to scan this venue's request."
    ),
    PresentationReason.OUTSIDE_TIME_WINDOW: (
        "The answer is too old or dated in the future; show a new request and check the "
        "reader's clock."
    ),
}


class PresentationError(CitycardError):
    """A wallet credential or presentation refused for one typed `reason`."""

    def __init__(self, reason: PresentationReason, detail: str | None = None) -> None:
        super().__init__(reason.sentence if detail is None else f"{detail} {reason.sentence}")
        self.reason = reason
