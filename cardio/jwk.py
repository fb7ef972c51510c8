"""JSON Web Keys (RFC 7517/7518) for P-256, base64url without padding, and JWK Sets.

The wallet formats name keys as JWKs: the holder's key in an SD-JWT VC's `cnf.jwk`, the kiosk
keys in the trust directory's `jwks.json`. A JWS `kid` is the trust list's 8-byte key id in
lower-case hex, so a verifier finds the key in the trust list exactly as for the chip.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import fastpath
from .errors import MalformedError
from .keys import SoftwareSigner, p256_from_xy, p256_xy
from .trustlist import KeyPurpose, KeyState, TrustedKey

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_KID_HEX = re.compile(r"[0-9a-f]{16}\Z")
_B64U_VALUE = {
    c: i
    for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def b64u(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: object, what: str = "value") -> bytes:
    """Strict base64url without padding; MalformedError for any other character or length,
    and for unused bits that are not zero (one value, one encoding)."""
    if not isinstance(text, str) or "+" in text or "/" in text or "=" in text:
        raise MalformedError(f"The {what} is not base64url text.")
    tail = len(text) % 4
    try:
        if tail == 1 or (tail and _B64U_VALUE[text[-1]] & (0x0F if tail == 2 else 0x03)):
            raise MalformedError(f"The {what} is not canonical base64url.")
        data = text.encode("ascii").translate(_TO_STANDARD) + b"=" * (-len(text) % 4)
        # strict mode refuses any character outside the alphabet (whitespace too)
        return binascii.a2b_base64(data, strict_mode=True)
    except (KeyError, UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise MalformedError(f"The {what} is not base64url text.") from exc


def kid_text(kid: bytes) -> str:
    """A trust list key id as a JOSE `kid`: 16 lower-case hex digits."""
    return kid.hex()


def kid_bytes(text: object) -> bytes:
    """The trust list key id named by a JOSE `kid`; MalformedError when it is not one."""
    if not isinstance(text, str) or not _KID_HEX.match(text):
        raise MalformedError("The key id is not 16 lower-case hex digits.")
    return bytes.fromhex(text)


def public_jwk(key: ec.EllipticCurvePublicKey, kid: str | None = None) -> dict[str, str]:
    """The public JWK of a P-256 key (members in RFC 7638 order, then `kid`)."""
    x, y = p256_xy(key)
    jwk = {"crv": "P-256", "kty": "EC", "x": b64u(x), "y": b64u(y)}
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def from_jwk(obj: object) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a JWK; MalformedError for anything else (private parts too)."""
    if not isinstance(obj, dict) or obj.get("kty") != "EC" or obj.get("crv") != "P-256":
        raise MalformedError("The key is not a P-256 JWK.")
    if "d" in obj:
        raise MalformedError("The public key carries its private part; it was refused.")
    texts = (obj.get("x"), obj.get("y"))
    # strict base64url has one text per value, so the texts name the point exactly
    key = _jwk_cache.get(texts) if type(texts[0]) is str and type(texts[1]) is str else None
    if key is not None:
        return key
    # the fast path's strict decoder has b64u_decode's rules (tests hold them equal); on a
    # refusal b64u_decode runs again only to raise its own message
    x = fastpath.b64u_decode(texts[0])
    if x is None:
        x = b64u_decode(texts[0], "JWK x")
    y = fastpath.b64u_decode(texts[1])
    if y is None:
        y = b64u_decode(texts[1], "JWK y")
    if len(x) != 32 or len(y) != 32:
        raise MalformedError("The JWK coordinates are not 32 bytes each.")
    key = p256_cached(x + y)
    if len(_jwk_cache) >= _P256_CACHE_SIZE:
        _jwk_cache.clear()
    _jwk_cache[(texts[0], texts[1])] = key  # both text: b64u_decode accepted them
    return key


_P256_CACHE_SIZE = 1024
_p256_cache: dict[bytes, ec.EllipticCurvePublicKey] = {}
_jwk_cache: dict[tuple[Any, Any], ec.EllipticCurvePublicKey] = {}


def p256_cached(xy: bytes) -> ec.EllipticCurvePublicKey:
    """The P-256 key of the 64 coordinate bytes `xy`, from a small cache keyed by those bytes.

    Loading a point (with its on-curve check) costs a tenth of a verify; a venue sees the same
    holders and issuers again and again. Keyed by the full key bytes, never by a key id, so a
    changed or revoked key can never be served in another's place (only points that passed
    the check are cached).
    """
    key = _p256_cache.get(xy)
    if key is None:
        key = p256_from_xy(xy[:32], xy[32:])
        if len(_p256_cache) >= _P256_CACHE_SIZE:
            _p256_cache.clear()  # bounded: a flood of fresh keys costs loads, never memory
        _p256_cache[xy] = key
    return key


def thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    canonical = json.dumps(public_jwk(key), separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canonical.encode("ascii")).digest())


def private_jwk(signer: SoftwareSigner) -> dict[str, str]:
    """The private JWK of a software key (the demo's holder key; a wallet keeps its own)."""
    jwk = public_jwk(signer.public_key, thumbprint(signer.public_key))
    private = serialization.load_pem_private_key(signer.private_pem(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    jwk["d"] = b64u(private.private_numbers().private_value.to_bytes(32, "big"))
    return jwk


def signer_from_jwk(obj: object) -> SoftwareSigner:
    """A software signer from a private P-256 JWK; MalformedError when it is not one."""
    if not isinstance(obj, dict) or "d" not in obj:
        raise MalformedError("The key is not a private P-256 JWK.")
    public = from_jwk({k: v for k, v in obj.items() if k != "d"})
    d = b64u_decode(obj["d"], "JWK d")
    if len(d) != 32:
        raise MalformedError("The JWK's private value is not 32 bytes.")
    try:
        private = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
    except ValueError as exc:
        raise MalformedError("The JWK's private value is not a P-256 key.") from exc
    if p256_xy(private.public_key()) != p256_xy(public):
        raise MalformedError("The JWK's private value does not match its public key.")
    return SoftwareSigner(private)


def jwks(keys: Iterable[TrustedKey]) -> dict[str, Any]:
    """A JWK Set of the trust list's issuing (kiosk) keys, `kid` as in their signatures.

    Each entry also says the key's validity window and state, as the trust list does; the
    trust list stays the authority (it is what the root key signs). A revoked key is left out:
    a JWK set's user does not read our `state` member, and nothing such a key signed may verify.
    """
    out = []
    for k in keys:
        if k.purpose is not KeyPurpose.ISSUE or k.state is KeyState.REVOKED:
            continue
        jwk: dict[str, Any] = public_jwk(k.public_key, kid_text(k.kid))
        jwk.update(use="sig", alg="ES256", nbf=k.not_before, exp=k.not_after, state=k.state.value)
        out.append(jwk)
    return {"keys": out}
