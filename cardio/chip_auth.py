"""The t4t-auth chip-authentication applet: a P-256 key generated on the card.

The APDUs are specified in docs/card-profiles.md. At personalisation the kiosk asks the card to
generate its key and binds the public key in the credential (claim `cnf`); a reader sends a
fresh challenge and checks the card's signature over `AUTH_DOMAIN || challenge`.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from .apdu import ApduProcessor
from .errors import MalformedCardError

AUTH_AID = bytes.fromhex("F0434954594341524401")  # F0 "CITYCARD" 01 (proprietary RID F0)
AUTH_DOMAIN = b"citycard-chip-auth-v1"  # domain separation: the key signs nothing else
CLA_PROPRIETARY = 0x80
INS_GENERATE_KEY = 0x47  # P1 80: generate; P1 81: read the public key (as ISO 7816-8)
INS_INTERNAL_AUTHENTICATE = 0x88
P1_GENERATE, P1_READ_PUBLIC = 0x80, 0x81
CHALLENGE_LENGTH = 32


class ChipAuthApplication:
    """The applet seen through an APDU processor."""

    def __init__(self, processor: ApduProcessor) -> None:
        self.processor = processor

    def select(self) -> None:
        self.processor.send(0x00, 0xA4, 0x04, 0x00, AUTH_AID, le=256)

    def generate_key(self) -> ec.EllipticCurvePublicKey:
        """Have the card generate its key (once, before locking); its public key."""
        self.select()
        return _point(self.processor.send(CLA_PROPRIETARY, INS_GENERATE_KEY, P1_GENERATE, 0, le=256))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        self.select()
        return _point(self.processor.send(CLA_PROPRIETARY, INS_GENERATE_KEY, P1_READ_PUBLIC, 0, le=256))

    def authenticate(self, challenge: bytes) -> bytes:
        """The card's raw ES256 signature (r || s) over AUTH_DOMAIN || challenge."""
        self.select()
        return self.processor.send(CLA_PROPRIETARY, INS_INTERNAL_AUTHENTICATE, 0, 0, challenge, le=256)


def _point(data: bytes) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError as exc:
        raise MalformedCardError("The card returned a chip key that is not a P-256 point.") from exc
