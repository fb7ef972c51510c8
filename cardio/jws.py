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

from cryptography.hazmat.primitives.asymmetric import ec

from .errors import MalformedError
from .jwk import b64u, b64u_decode
from .keys import Signer, verify_es256

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


def sign(signer: Signer, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A compact JWS over `payload`, `alg` ES256 added to `header`."""
    head = b64u(json_bytes({"alg": "ES256", **header}))
    body = b64u(json_bytes(payload))
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64u(signer.sign(signing_input))}"


def parse(token: object, what: str = "token") -> Jws:
    """Parse a compact ES256 JWS with a JSON object payload; MalformedError otherwise."""
    if not isinstance(token, str) or len(token) > MAX_JWS:
        raise MalformedError(f"The {what} is not a JWS of acceptable size.")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError(f"The {what} is not a compact JWS (three parts).")
    header = loads_json(b64u_decode(parts[0], f"{what} header"), f"{what} header")
    payload = loads_json(b64u_decode(parts[1], f"{what} payload"), f"{what} payload")
    signature = b64u_decode(parts[2], f"{what} signature")
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise MalformedError(f"The {what} is not signed with ES256.")
    if "crit" in header:
        raise MalformedError(f"The {what} names critical extensions citycard does not know.")
    if not isinstance(payload, dict):
        raise MalformedError(f"The {what} payload is not a JSON object.")
    if len(signature) != 64:
        raise MalformedError(f"The {what} signature is not 64 bytes.")
    # the signing input is the token up to its second dot: sliced, not rebuilt
    return Jws(header, payload, token[: len(parts[0]) + 1 + len(parts[1])].encode("ascii"), signature)
