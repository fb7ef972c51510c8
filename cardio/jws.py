"""Compact JWS (RFC 7515) with ES256 only, and strict JSON for what it signs.

Only what the SD-JWT formats need: a header with `alg` ES256 (never `none`, never a `crit`
extension we would have to understand), a JSON object payload, a 64-byte r || s signature.
JSON is read strictly: one object, no duplicate member names, bounded size, so
two verifiers cannot read one token two ways.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from . import fastpath
from .errors import MalformedError
from .jwk import b64u
from .keys import ECDSA_SHA256, Signer

MAX_JWS = 64 * 1024


def json_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding citycard signs."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise MalformedError("The JSON names one member twice.")
    return out


def _constant(name: str) -> Any:
    raise MalformedError(f"The JSON holds {name}, which is not a JSON number.")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_constant)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
"""The decoder's own (C) scanner, with the same hooks: skips `decode`'s Python wrapper."""


def loads_json(data: bytes, what: str = "JSON") -> Any:
    """Strict JSON from UTF-8 bytes; MalformedError for anything else."""
    if len(data) > MAX_JWS:
        raise MalformedError(f"The {what} is too large.")
    # the form citycard writes, read in one pass by the compiled fast path (its Python twin is
    # slower than the json module); anything else as below
    fast = fastpath.json(data) if fastpath.IMPLEMENTATION == "c" else None
    if fast is not None:
        return fast[0]
    try:
        text = data.decode("utf-8")
        try:  # one value filling the whole text, read by the decoder's scanner directly
            obj, end = _SCAN(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):  # whitespace around it, or an error: the full decoder decides
            obj = _DECODER.decode(text)
    except MalformedError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedError(f"The {what} is not valid JSON.") from exc
    return obj  # nesting is bounded by the size limit and the parser's own RecursionError


@dataclass(frozen=True, slots=True)
class Jws:
    """A parsed, not yet verified, compact JWS."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verify(self, key: ec.EllipticCurvePublicKey) -> bool:
        return verify_es256(key, self.signature, self.signing_input)


def verify_es256(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """True when `signature` (raw r || s) is a valid ES256 signature of `data` under `key`
    (as cardio.keys.verify_es256, with the DER form built by the fast path)."""
    der = fastpath.der_signature(signature)
    if der is None:
        return False
    try:
        key.verify(der, data, ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


def b64u_decode(text: object, what: str) -> bytes:
    """Strict base64url without padding (cardio.jwk.b64u_decode's rules, by the fast path);
    MalformedError for anything else."""
    data = fastpath.b64u_decode(text)
    if data is None:
        raise MalformedError(f"The {what} is not base64url text.")
    return data


def sign(signer: Signer, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A compact JWS over `payload`, `alg` ES256 added to `header`."""
    head = b64u(json_bytes({"alg": "ES256", **header}))
    body = b64u(json_bytes(payload))
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64u(signer.sign(signing_input))}"


def parse(token: object, what: str = "token") -> Jws:
    """Parse a compact ES256 JWS with a JSON object payload; MalformedError otherwise."""
    # the compiled reader when it reads the token (its Python twin is slower than what
    # follows); what follows decides everything else
    fast = fastpath.jws(token) if fastpath.IMPLEMENTATION == "c" else None
    if fast is not None:
        return Jws(*fast)
    if not isinstance(token, str) or len(token) > MAX_JWS:
        raise MalformedError(f"The {what} is not a JWS of acceptable size.")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError(f"The {what} is not a compact JWS (three parts).")
    head, body, sig = parts
    # the fast path's decoder returns None instead of raising: the message is built only then
    raw = fastpath.b64u_decode(head)
    if raw is None:
        raise MalformedError(f"The {what} header is not base64url text.")
    header = loads_json(raw, f"{what} header")
    raw = fastpath.b64u_decode(body)
    if raw is None:
        raise MalformedError(f"The {what} payload is not base64url text.")
    payload = loads_json(raw, f"{what} payload")
    signature = fastpath.b64u_decode(sig)
    if signature is None:
        raise MalformedError(f"The {what} signature is not base64url text.")
    if type(header) is not dict or header.get("alg") != "ES256":
        raise MalformedError(f"The {what} is not signed with ES256.")
    if "crit" in header:
        raise MalformedError(f"The {what} names critical extensions citycard does not know.")
    if type(payload) is not dict:
        raise MalformedError(f"The {what} payload is not a JSON object.")
    if len(signature) != 64:
        raise MalformedError(f"The {what} signature is not 64 bytes.")
    # the signing input is the token up to its second dot: sliced, not rebuilt
    return Jws(header, payload, token[: len(head) + 1 + len(body)].encode("ascii"), signature)
