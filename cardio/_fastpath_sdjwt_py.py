"""`sd_presentation` of cardio/_fastpath.c in pure Python: a citycard SD-JWT VC presentation
read in one pass, None wherever cardio.sdjwt or cardio.sdjwt_vc would refuse and for anything
citycard never writes. Its own module for size; cardio._fastpath_py exports it. The constants
are the C module's too, which tests hold equal to cardio.sdjwt_vc's and cardio.wallet_claims's."""

from __future__ import annotations

import binascii
import hashlib
import re
from typing import Any, Final, NamedTuple

from ._fastpath_wallet_py import disclosures, jws, unfold

SD_VISIBLE: Final = frozenset({"iss", "iat", "exp", "vct", "status", "cnf", "entitlements"})
"""cardio.sdjwt_vc's claims that are always visible (never a disclosure)."""
SD_ITEMS: Final = frozenset({
    "family_name", "given_name", "birth_date", "sex", "photo", "languages", "program",
    "document_number", "age_over_18", "age_over_65", "resident_of",
})  # fmt: skip
"""cardio.wallet_claims.ITEMS: what a holder can disclose."""
_VCT: Final = "urn:citycard:resident-card:1"
_CODE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_TO_URL: Final = bytes.maketrans(b"+/", b"-_")

SdPresentation = tuple[
    object, bytes, bytes, str, int, int, int, str, dict[str, Any], tuple[str, ...], bytes, bytes,
    bytes, str, str, int,
]  # fmt: skip
"""(kid, issuer_input, issuer_der, iss, iat, exp, idx, uri, disclosed, entitlements, holder_xy,
kb_input, kb_der, nonce, aud, kb_iat): the kid as the credential has it, for the caller to
check, and the holder key's 64 coordinate bytes, for the caller to load."""


class _Disclosure(NamedTuple):  # what unfold reads of a cardio.sdjwt.Disclosure
    name: str | None
    value: object
    digest: str


def _digest(data: bytes) -> str:
    raw = binascii.b2a_base64(hashlib.sha256(data).digest(), newline=False)
    return raw[:43].translate(_TO_URL).decode("ascii")


def _is_text(value: object, want: str) -> bool:
    return type(value) is str and value == want


def _small_uint(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**40


def _disclosed_ok(name: str, value: object) -> bool:
    """cardio.sdjwt_vc._checked, as a test."""
    if name in ("age_over_18", "age_over_65"):
        return type(value) is bool
    if name == "languages":
        return type(value) is list and all(type(v) is str for v in value)
    if type(value) is not str:
        return False
    return len(value) % 4 == 0 if name == "photo" else 0 < len(value) <= 100


def _holder_xy(jwk: object) -> bytes | None:
    """x || y of a holder JWK that cardio.jwk.from_jwk reads (P-256, no private part, x and y
    strict base64url of 32 bytes), None for any other; the point's check is the caller's."""
    from ._fastpath_py import b64u_decode  # that module imports this one

    if type(jwk) is not dict or "d" in jwk:
        return None
    if not (_is_text(jwk.get("kty"), "EC") and _is_text(jwk.get("crv"), "P-256")):
        return None
    x, y = jwk.get("x"), jwk.get("y")
    if type(x) is not str or type(y) is not str:
        return None
    xb, yb = b64u_decode(x), b64u_decode(y)
    if xb is None or yb is None or len(xb) != 32 or len(yb) != 32:
        return None
    return xb + yb


def sd_presentation(text: object, /) -> SdPresentation | None:
    """sd_presentation(text) -> (kid, issuer_input, issuer_der, iss, iat, exp, idx, uri,
    disclosed, entitlements, holder_xy, kb_input, kb_der, nonce, aud, kb_iat) of a citycard SD-JWT VC
    presentation that cardio.sdjwt_vc and cardio.sdjwt read without refusing anything they
    decide without a key, or None for anything else."""
    from ._fastpath_py import der_signature  # that module imports this one

    if type(text) is not str or not text.isascii() or len(text) > 64 * 1024:
        return None
    cut = text.rfind("~") + 1
    if cut in (0, len(text)):  # not an SD-JWT, or no KB-JWT
        return None
    issued = disclosures(text[:cut])
    if issued is None:
        return None
    by_digest: dict[str, _Disclosure] = {}
    for encoded, _salt, name, value in issued[1]:
        digest = _digest(encoded.encode("ascii"))
        if name in SD_VISIBLE or digest in by_digest:
            return None
        by_digest[digest] = _Disclosure(name, value, digest)
    token = jws(issued[0])
    if token is None:
        return None
    header, payload, issuer_input, issuer_signature = token
    kid = header.get("kid")
    if not _is_text(header.get("typ"), "dc+sd-jwt") or kid is None:
        return None
    if "_sd_alg" in payload and not _is_text(payload["_sd_alg"], "sha-256"):
        return None
    unfolded = unfold({k: v for k, v in payload.items() if k != "_sd_alg"}, by_digest)
    if unfolded is None or len(unfolded[1]) != len(by_digest):
        return None
    claims = unfolded[0]
    status, cnf = claims.get("status"), claims.get("cnf")
    status_list = status.get("status_list") if type(status) is dict else None
    if type(status_list) is not dict or type(cnf) is not dict or "jwk" not in cnf:
        return None
    idx: Any = status_list.get("idx")
    uri = status_list.get("uri")
    iss, iat, exp = claims.get("iss"), claims.get("iat"), claims.get("exp")
    if not (_is_text(claims.get("vct"), _VCT) and _small_uint(iat) and _small_uint(exp)
            and _small_uint(idx) and type(uri) is str and type(iss) is str):  # fmt: skip
        return None
    disclosed: dict[str, Any] = {}
    for name, value in claims.items():
        if name in SD_VISIBLE:
            continue
        if name not in SD_ITEMS or not _disclosed_ok(name, value):
            return None
        disclosed[name] = value
    listed = claims.get("entitlements", [])
    if "entitlements" in payload and type(payload["entitlements"]) is not list:
        return None
    if type(listed) is not list or not all(type(e) is str and _CODE.fullmatch(e) for e in listed):
        return None
    holder_xy = _holder_xy(cnf["jwk"])
    if holder_xy is None:
        return None
    kb = jws(text[cut:])
    if kb is None or not _is_text(kb[0].get("typ"), "kb+jwt"):
        return None
    kb_payload = kb[1]
    if not _is_text(kb_payload.get("sd_hash"), _digest(text[:cut].encode("ascii"))):
        return None
    nonce, aud, kb_iat = kb_payload.get("nonce"), kb_payload.get("aud"), kb_payload.get("iat")
    if type(nonce) is not str or type(aud) is not str or type(kb_iat) is not int:
        return None
    issuer_der, kb_der = der_signature(issuer_signature), der_signature(kb[3])
    assert issuer_der is not None and kb_der is not None  # jws() read 64 bytes
    return (kid, issuer_input, issuer_der, iss, iat, exp, idx, uri, disclosed, tuple(listed),
            holder_xy, kb[2], kb_der, nonce, aud, kb_iat)  # fmt: skip
