"""Strict CBOR for signed data: deterministic encoding out, bounded and strict decoding in.

Everything citycard signs is encoded deterministically (cbor2's canonical mode). On the way
in, cbor2's C decoder refuses duplicate map keys (RFC 9052 section 3: a map with a repeated
label must not be processed), indefinite lengths and nesting deeper than `MAX_DEPTH`; it never
pre-allocates from a declared length, so hostile input stays bounded in time and memory.

`loads_strict` also insists that the input is exactly one item that re-encodes, in the order
decoded, to the same bytes (no trailing bytes, no non-minimal heads). Credential claims, on
the verification hot path, are decoded by `cardio.fastpath.claims` instead (compiled, or its
pure-Python twin).
"""

from __future__ import annotations

from typing import Any

import cbor2

from .errors import MalformedError

MAX_INPUT = 64 * 1024


def dumps(obj: Any) -> bytes:
    return cbor2.dumps(obj, canonical=True)


MAX_DEPTH = 16


def loads_strict(data: bytes, what: str = "data", max_size: int = MAX_INPUT) -> Any:
    """Decode exactly one CBOR item with minimal heads and nothing after it, or raise MalformedError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError(f"The {what} is not a byte string.")
    if len(data) > max_size:
        raise MalformedError(f"The {what} is larger than {max_size} bytes.")
    try:
        obj = cbor2.loads(data, allow_duplicate_keys=False, allow_indefinite=False, max_depth=MAX_DEPTH)
    except Exception as exc:  # cbor2 raises several types on hostile input
        raise MalformedError(f"The {what} is not valid CBOR (or uses forms citycard refuses).") from exc
    try:
        same = cbor2.dumps(obj) == data
    except Exception as exc:  # e.g. a cyclic structure built from shared-reference tags
        raise MalformedError(f"The {what} cannot be re-encoded.") from exc
    if not same:
        raise MalformedError(f"The {what} has trailing bytes or a non-minimal CBOR encoding.")
    return obj


def head(major: int, length: int) -> bytes:
    """The CBOR head for a major type and length (used to build Sig_structure quickly)."""
    mt = major << 5
    if length < 24:
        return bytes((mt | length,))
    if length < 0x100:
        return bytes((mt | 24, length))
    if length < 0x10000:
        return bytes((mt | 25,)) + length.to_bytes(2, "big")
    if length < 0x100000000:
        return bytes((mt | 26,)) + length.to_bytes(4, "big")
    return bytes((mt | 27,)) + length.to_bytes(8, "big")
