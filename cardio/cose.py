"""COSE_Sign1 (RFC 9052 section 4.2) with ES256, on cbor2 and cryptography.

Only what citycard needs: a tagged COSE_Sign1 whose protected header carries `alg` (-7) and
`kid`, an empty unprotected header, an embedded payload, no external AAD. Anything else is
refused as malformed rather than interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, fastpath
from .errors import MalformedError
from .keys import ES256, Signer, der_from_raw, verify_es256

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
    return _encode_parts(protected, payload, signature)


# The protected header every citycard signer writes for a credential: {1: -7, 4: h'<8 bytes>'}.
_COMMON_PROTECTED = b"\xa2\x01\x26\x04\x48"
_HEAD = b"\xd2\x84"  # tag 18, array of 4
_SIG_HEAD = b"\x58\x40"  # byte string of 64


def _bstr(data: bytes, pos: int, what: str) -> tuple[bytes, int]:
    """The definite byte string starting at `pos` (minimal head only), and the next position."""
    if pos >= len(data) or data[pos] >> 5 != 2:
        raise MalformedError(f"The {what} is not a COSE_Sign1 in the encoding citycard accepts.")
    info = data[pos] & 0x1F
    if info < 24:
        length, pos = info, pos + 1
    elif info in (24, 25, 26, 27):
        n = 1 << (info - 24)
        length = int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
        if pos + 1 + n > len(data) or cbor.head(2, length) != data[pos : pos + 1 + n]:
            raise MalformedError(f"The {what} is not a COSE_Sign1 in the encoding citycard accepts.")
        pos += 1 + n
    else:
        raise MalformedError(f"The {what} is not a COSE_Sign1 in the encoding citycard accepts.")
    end = pos + length
    if end > len(data):
        raise MalformedError(f"The {what} is truncated.")
    return data[pos:end], end


def parse_sign1(data: bytes, what: str = "signed data", max_size: int = cbor.MAX_INPUT) -> Sign1:
    """Parse a tagged COSE_Sign1 strictly; MalformedError on anything unexpected.

    Only one encoding is accepted: tag 18, a definite array of four, protected header and
    payload as definite byte strings, an empty unprotected map (an alg or kid outside the
    signature could be swapped by anyone), and a 64-byte ES256 signature, nothing after it.
    Reading that fixed shape directly is both the strictest check and the fastest.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError(f"The {what} is not a byte string.")
    data = bytes(data)
    if len(data) > max_size:
        raise MalformedError(f"The {what} is larger than {max_size} bytes.")
    if not data.startswith(_HEAD):
        raise MalformedError(f"The {what} is not a tagged COSE_Sign1.")
    protected, pos = _bstr(data, 2, what)
    if data[pos : pos + 1] != b"\xa0":
        raise MalformedError(f"The {what} carries unprotected headers; citycard never uses them.")
    payload, pos = _bstr(data, pos + 1, what)
    if data[pos : pos + 2] != _SIG_HEAD or len(data) != pos + 66:
        raise MalformedError(f"The {what} does not end with a 64-byte ES256 signature.")
    if len(protected) == 13 and protected.startswith(_COMMON_PROTECTED):
        headers: dict[int, Any] = {HDR_ALG: ES256, HDR_KID: protected[5:]}
    else:
        headers = _parse_protected(protected, what)
    return Sign1(protected, headers, payload, data[pos + 2 :])


def prepare_sign1(data: bytes, what: str = "signed data") -> tuple[bytes, bytes, bytes, bytes]:
    """What an ES256 verify needs: (kid, Sig_structure, DER signature, payload).

    The fixed shape every credential has is read by `fastpath.sign1` (compiled); any other
    shape goes through `parse_sign1`, which accepts or refuses it exactly as for other data.
    """
    parts = fastpath.sign1(data)
    if parts is not None:
        return parts
    msg = parse_sign1(data, what)
    return msg.kid, sig_structure(msg.protected, msg.payload), der_from_raw(msg.signature), msg.payload


def _encode_parts(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return (
        b"\xd2\x84"
        + cbor.head(2, len(protected))
        + protected
        + b"\xa0"
        + cbor.head(2, len(payload))
        + payload
        + b"\x58\x40"
        + signature
    )


def _parse_protected(protected: bytes, what: str) -> dict[int, Any]:
    headers = cbor.loads_strict(protected, f"{what} header")
    if not isinstance(headers, dict) or not set(headers) <= _ALLOWED_HEADERS:
        raise MalformedError(f"The {what} has unexpected protected headers.")
    if headers.get(HDR_ALG) != ES256:
        raise MalformedError(f"The {what} is not signed with ES256.")
    kid = headers.get(HDR_KID)
    if not isinstance(kid, bytes) or not kid:
        raise MalformedError(f"The {what} names no key id.")
    return headers
