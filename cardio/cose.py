"""COSE_Sign1 (RFC 9052 section 4.2) with ES256, on cbor2 and cryptography.

Only what citycard needs: a tagged COSE_Sign1 whose protected header carries `alg` (-7) and
`kid`, an empty unprotected header, an embedded payload, no external AAD. Anything else is
refused as malformed rather than interpreted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor
from .errors import MalformedError
from .keys import ES256, Signer, verify_es256

COSE_SIGN1_TAG = 18
HDR_ALG = 1
HDR_CONTENT_TYPE = 3
HDR_KID = 4
HDR_TYP = 16
_ALLOWED_HEADERS = frozenset({HDR_ALG, HDR_CONTENT_TYPE, HDR_KID, HDR_TYP})
_SIG1_CONTEXT = b"\x6aSignature1"  # text string "Signature1"


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Sig_structure = ["Signature1", protected, external_aad = h'', payload], encoded."""
    return (
        b"\x84"
        + _SIG1_CONTEXT
        + cbor.head(2, len(protected))
        + protected
        + b"\x40"
        + cbor.head(2, len(payload))
        + payload
    )


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, not yet verified, COSE_Sign1."""

    protected: bytes
    headers: dict[int, Any]
    payload: bytes
    signature: bytes

    @property
    def kid(self) -> bytes:
        kid = self.headers.get(HDR_KID)
        return kid if isinstance(kid, bytes) else b""

    @property
    def typ(self) -> str | None:
        typ = self.headers.get(HDR_TYP)
        return typ if isinstance(typ, str) else None

    def verify(self, key: ec.EllipticCurvePublicKey) -> bool:
        return verify_es256(key, self.signature, sig_structure(self.protected, self.payload))


def sign1(signer: Signer, payload: bytes, typ: str | None = None) -> bytes:
    """A tagged COSE_Sign1 over `payload` by `signer`, kid in the protected header."""
    headers: dict[int, Any] = {HDR_ALG: ES256, HDR_KID: signer.kid}
    if typ is not None:
        headers[HDR_TYP] = typ
    protected = cbor.dumps(headers)
    signature = signer.sign(sig_structure(protected, payload))
    return cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def parse_sign1(data: bytes, what: str = "signed data", max_size: int = cbor.MAX_INPUT) -> Sign1:
    """Parse a tagged COSE_Sign1 strictly; MalformedError on anything unexpected."""
    obj = cbor.loads_strict(data, what, max_size)
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != COSE_SIGN1_TAG:
        raise MalformedError(f"The {what} is not a tagged COSE_Sign1.")
    value = obj.value
    # cbor2 6 decodes the content of a tag as immutable containers (tuple, frozendict).
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise MalformedError(f"The {what} is not a COSE_Sign1 array of four items.")
    protected, unprotected, payload, signature = value
    if not isinstance(protected, bytes) or not isinstance(payload, bytes):
        raise MalformedError(f"The {what} has no embedded payload or protected header.")
    if not isinstance(unprotected, Mapping) or len(unprotected) != 0:
        # An alg or kid outside the signature could be swapped by anyone: refuse them all.
        raise MalformedError(f"The {what} carries unprotected headers; citycard never uses them.")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise MalformedError(f"The {what} does not carry a 64-byte ES256 signature.")
    headers = cbor.loads_strict(protected, f"{what} header")
    if not isinstance(headers, dict) or not set(headers) <= _ALLOWED_HEADERS:
        raise MalformedError(f"The {what} has unexpected protected headers.")
    if headers.get(HDR_ALG) != ES256:
        raise MalformedError(f"The {what} is not signed with ES256.")
    kid = headers.get(HDR_KID)
    if not isinstance(kid, bytes) or not kid:
        raise MalformedError(f"The {what} names no key id.")
    return Sign1(protected, headers, payload, signature)
