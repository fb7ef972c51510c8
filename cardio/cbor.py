"""Strict CBOR for signed data: deterministic encoding out, bounded and strict decoding in.

Everything citycard signs is encoded deterministically (cbor2's canonical mode). On the way
in we decode with cbor2's C decoder (bounded nesting, no pre-allocation from declared lengths)
and then require that re-encoding gives back exactly the input. That one comparison rejects
duplicate map keys, indefinite lengths, non-minimal integers, trailing bytes and unexpected
tags without walking the data in Python.
"""

from __future__ import annotations

from typing import Any

import cbor2

from .errors import MalformedError

MAX_INPUT = 64 * 1024


def dumps(obj: Any) -> bytes:
    return cbor2.dumps(obj, canonical=True)


def loads_strict(data: bytes, what: str = "data", max_size: int = MAX_INPUT) -> Any:
    """Decode `data` or raise MalformedError; never any other exception."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError(f"The {what} is not a byte string.")
    data = bytes(data)
    if len(data) > max_size:
        raise MalformedError(f"The {what} is larger than {max_size} bytes.")
    try:
        obj = cbor2.loads(data)
        same = cbor2.dumps(obj, canonical=True) == data
    except Exception as exc:  # cbor2 raises many types (incl. RecursionError) on hostile input
        raise MalformedError(f"The {what} is not valid CBOR.") from exc
    if not same:
        raise MalformedError(f"The {what} is not deterministically encoded CBOR.")
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
