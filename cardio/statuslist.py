"""IETF Token Status List (draft-ietf-oauth-status-list-21), CWT form.

A `StatusList` packs one status of `bits` bits (1, 2, 4 or 8) per card into a byte array,
index 0 in the least significant bits of byte 0 (draft section 4.1), and travels as the CBOR
map {"bits": bits, "lst": zlib(byte array)} (section 4.3). A Status List Token (section 5.2)
is a tagged COSE_Sign1 with protected typ "application/statuslist+cwt" over the claims
{2: sub = the list's URI, 6: iat, 4: exp?, 65534: ttl?, 65533: status list}.

`parse_token` only parses: the caller finds the signing key by `token.kid` in its trust list
and calls `token.sign1.verify(key)`. Decompression is capped so that a few kilobytes of
DEFLATE cannot expand into gigabytes (a "zip bomb") before anyone checked a signature.

Errors: every problem with received data is a `StatusListError` carrying a sentence. An index
outside the list raises `StatusIndexError` (a `StatusListError` and an `IndexError`); a value
that does not fit the list's bit width raises `StatusValueError` (a `StatusListError` and a
`ValueError`). A token dated beyond a reader's clock allowance is refused with a
`FutureStatusListError` (a `StatusListError`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from . import cbor, cose
from .errors import MalformedError, StatusListError
from .keys import Signer

MEDIA_TYPE = "application/statuslist+cwt"

ALLOWED_BITS = (1, 2, 4, 8)
# Largest decompressed list accepted by default: 4 MiB = 32 million 1-bit or 16 million 2-bit
# entries, far above a city's needs and small enough to hold in memory on a reader.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# Largest Status List Token accepted by default (compressed lists are small; see the size test).
DEFAULT_MAX_TOKEN = 1024 * 1024

# CWT claim keys (RFC 8392 section 4, draft section 5.2).
CLAIM_ISS = 1
CLAIM_SUB = 2
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_STATUS_LIST = 65533
CLAIM_TTL = 65534

_KEY_BITS = "bits"
_KEY_LST = "lst"
_KEY_AGGREGATION = "aggregation_uri"
_ZLIB_LEVEL = 9
_SHIFT = {1: 3, 2: 2, 4: 1, 8: 0}  # log2(statuses per byte)


class Status(IntEnum):
    """Status Type values (draft section 7.1)."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    APPLICATION_SPECIFIC = 3  # permanently reserved for application use; may appear in lists


SUPERSEDED = Status.APPLICATION_SPECIFIC
"""citycard's meaning of the application-specific value 3: the card was renewed and the newer
card (same document number, another slot) replaces it. A list of 1 bit per card, as early
issuers published, can only say 0 or 1 and reads as before."""


class StatusIndexError(StatusListError, IndexError):
    """An index outside the status list."""


class StatusValueError(StatusListError, ValueError):
    """A status value that does not fit the list's bit width."""


class FutureStatusListError(StatusListError):
    """A status list token whose `iat` is further ahead of the reader's clock than allowed.

    Held, such a token would never go stale and would make every genuine newer list look
    older than it, so a reader refuses it (and discards one it holds).
    """


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass; a CBOR true is not a number


class StatusList:
    """A packed, mutable array of `size` statuses of `bits` bits each."""

    __slots__ = ("_bits", "_data", "_idx_mask", "_shift", "_size", "_value_mask")

    def __init__(self, size: int, bits: int = 1) -> None:
        if not _is_int(bits) or bits not in ALLOWED_BITS:
            raise StatusListError(f"A status list uses 1, 2, 4 or 8 bits per entry, not {bits!r}.")
        if not _is_int(size) or size < 0:
            raise StatusListError(f"A status list size is a whole number of entries, not {size!r}.")
        shift = _SHIFT[bits]
        self._bits = bits
        self._size = size
        self._shift = shift
        self._idx_mask = (1 << shift) - 1
        self._value_mask = (1 << bits) - 1
        self._data = bytearray(-(-size * bits // 8))

    @classmethod
    def _from_bytes(cls, bits: int, data: bytes) -> StatusList:
        lst = cls(0, bits)
        lst._data = bytearray(data)
        lst._size = len(data) << lst._shift
        return lst

    @property
    def size(self) -> int:
        return self._size

    @property
    def bits(self) -> int:
        return self._bits

    def to_bytes(self) -> bytes:
        """The uncompressed byte array (draft section 4.1, before step 4)."""
        return bytes(self._data)

    def get(self, idx: int) -> int:
        """The status at `idx`; StatusIndexError outside 0 .. size - 1."""
        if type(idx) is not int or not 0 <= idx < self._size:
            raise StatusIndexError(
                f"Status index {idx!r} is outside the status list (0 to {self._size - 1})."
            )
        return (self._data[idx >> self._shift] >> ((idx & self._idx_mask) * self._bits)) & (
            self._value_mask
        )

    def set(self, idx: int, value: int) -> None:
        """Set the status at `idx`; StatusIndexError / StatusValueError on bad input."""
        if type(idx) is not int or not 0 <= idx < self._size:
            raise StatusIndexError(
                f"Status index {idx!r} is outside the status list (0 to {self._size - 1})."
            )
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 0 <= value <= self._value_mask
        ):
            raise StatusValueError(
                f"Status value {value!r} does not fit in {self._bits} bit(s); "
                f"use 0 to {self._value_mask} or a list with more bits."
            )
        pos = idx >> self._shift
        off = (idx & self._idx_mask) * self._bits
        self._data[pos] = (self._data[pos] & ~(self._value_mask << off) & 0xFF) | (
            int(value) << off
        )

    def compress(self) -> bytes:
        """DEFLATE in the ZLIB format at the highest level (draft section 4.1 step 4)."""
        return zlib.compress(self._data, _ZLIB_LEVEL)

    def to_cbor(self) -> dict[str, Any]:
        """The StatusList CBOR map of draft section 4.3."""
        return {_KEY_BITS: self._bits, _KEY_LST: self.compress()}

    @classmethod
    def from_cbor(cls, obj: object, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusList:
        """A StatusList from its decoded CBOR map; StatusListError for anything else.

        The decompressed array may not exceed `max_bytes`; the check is made while
        decompressing, so an oversized stream is refused after producing at most
        `max_bytes` + 1 bytes.
        """
        if not isinstance(obj, Mapping):
            raise StatusListError("The status list is not a CBOR map.")
        if not {_KEY_BITS, _KEY_LST} <= set(obj) <= {_KEY_BITS, _KEY_LST, _KEY_AGGREGATION}:
            raise StatusListError("The status list must hold exactly 'bits' and 'lst'.")
        bits, lst = obj[_KEY_BITS], obj[_KEY_LST]
        if not _is_int(bits) or bits not in ALLOWED_BITS:
            raise StatusListError("The status list's 'bits' is not 1, 2, 4 or 8.")
        if not isinstance(lst, bytes):
            raise StatusListError("The status list's 'lst' is not a byte string.")
        if _KEY_AGGREGATION in obj and not isinstance(obj[_KEY_AGGREGATION], str):
            raise StatusListError("The status list's 'aggregation_uri' is not a text string.")
        return cls._from_bytes(bits, _inflate(lst, max_bytes))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self._bits, self._size, self._data) == (other._bits, other._size, other._data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusList(size={self._size}, bits={self._bits})"


def _inflate(data: bytes, max_bytes: int) -> bytes:
    """Decompress one complete ZLIB stream of at most `max_bytes` output bytes."""
    if not _is_int(max_bytes) or max_bytes < 1:
        raise StatusListError("The status list size cap must be a positive number of bytes.")
    inflater = zlib.decompressobj()  # wbits=15: the ZLIB format only, header and checksum
    try:
        out = inflater.decompress(data, max_bytes)  # never more than max_bytes of output
        if not inflater.eof:
            # Stopped at the cap, at the end of the input, or just before the checksum.
            if inflater.decompress(inflater.unconsumed_tail, 1):
                raise StatusListError(
                    f"The status list expands to more than {max_bytes} bytes; it was refused."
                )
            if not inflater.eof:
                raise StatusListError("The status list's compressed data is truncated.")
    except zlib.error as exc:
        raise StatusListError("The status list's 'lst' is not valid ZLIB data.") from exc
    if inflater.unused_data:
        raise StatusListError("The status list's compressed data has trailing bytes.")
    return out


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A parsed, NOT yet verified, Status List Token."""

    uri: str
    iat: int
    exp: int | None
    ttl: int | None
    status_list: StatusList
    kid: bytes
    sign1: cose.Sign1


def sign_token(
    signer: Signer,
    status_list: StatusList,
    uri: str,
    iat: int,
    ttl: int | None = None,
    exp: int | None = None,
) -> bytes:
    """A Status List Token in CWT form (draft section 5.2): a tagged COSE_Sign1."""
    if not isinstance(uri, str) or not uri:
        raise StatusListError("A status list token needs its URI as a non-empty text string.")
    if not _is_int(iat) or iat < 0:
        raise StatusListError("A status list token's issue time must be a whole number of seconds.")
    claims: dict[int, Any] = {
        CLAIM_SUB: uri,
        CLAIM_IAT: iat,
        CLAIM_STATUS_LIST: status_list.to_cbor(),
    }
    if exp is not None:
        if not _is_int(exp) or exp < 0:
            raise StatusListError("A status list token's expiry must be a whole number of seconds.")
        claims[CLAIM_EXP] = exp
    if ttl is not None:
        if not _is_int(ttl) or ttl <= 0:
            raise StatusListError("A status list token's ttl must be a positive number of seconds.")
        claims[CLAIM_TTL] = ttl
    return cose.sign1(signer, cbor.dumps(claims), typ=MEDIA_TYPE)


def parse_token(
    data: bytes, max_size: int = DEFAULT_MAX_TOKEN, max_bytes: int = DEFAULT_MAX_BYTES
) -> StatusListToken:
    """Parse a Status List Token strictly, without checking its signature.

    StatusListError (never anything else) when the bytes are not a tagged COSE_Sign1 with
    typ "application/statuslist+cwt", deterministic CBOR claims with a text `sub`, an integer
    `iat`, integer `exp` / positive `ttl` when present and a valid status list.
    """
    try:
        msg = cose.parse_sign1(data, "status list", max_size)
        if msg.typ != MEDIA_TYPE:
            raise StatusListError(f"The data is not a status list token (typ is not {MEDIA_TYPE}).")
        claims = cbor.loads_strict(msg.payload, "status list claims", max_size)
    except MalformedError as exc:
        raise StatusListError(f"{exc} The status list was refused.") from exc
    if not isinstance(claims, dict):
        raise StatusListError("The status list claims are not a CBOR map.")
    uri = claims.get(CLAIM_SUB)
    if not isinstance(uri, str) or not uri:
        raise StatusListError("The status list token names no URI (claim 2, sub).")
    iat = claims.get(CLAIM_IAT)
    if type(iat) is not int or iat < 0:
        raise StatusListError("The status list token has no valid issue time (claim 6, iat).")
    exp = claims.get(CLAIM_EXP)
    if exp is not None and (type(exp) is not int or exp < 0):
        raise StatusListError("The status list token's expiry (claim 4, exp) is not a number.")
    ttl = claims.get(CLAIM_TTL)
    if ttl is not None and (type(ttl) is not int or ttl <= 0):
        raise StatusListError("The status list token's ttl (claim 65534) is not a positive number.")
    iss = claims.get(CLAIM_ISS)
    if iss is not None and not isinstance(iss, str):
        raise StatusListError("The status list token's issuer (claim 1, iss) is not text.")
    if CLAIM_STATUS_LIST not in claims:
        raise StatusListError("The status list token carries no status list (claim 65533).")
    status_list = StatusList.from_cbor(claims[CLAIM_STATUS_LIST], max_bytes)
    return StatusListToken(
        uri=uri,
        iat=iat,
        exp=exp,
        ttl=ttl,
        status_list=status_list,
        kid=msg.kid,
        sign1=msg,
    )
