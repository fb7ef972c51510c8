"""The verifier's hot path in pure Python: the functions of the compiled `cardio._fastpath`.

Used where the C extension was not built (a platform without a compiler) or when
CITYCARD_PURE_PYTHON=1 asks for it; `cardio.fastpath` chooses. Every rule of
cardio/_fastpath.c is here in the same order, so both accept the same bytes, return the same
values and refuse with the same first reason (tests/test_fastpath.py holds the two equal). It
is several times slower after an ES256 verify than the C is (docs/benchmarks.md says why).

sign1(data)    the fixed COSE_Sign1 shape every citycard credential has, or None for any other
               shape (cardio.cose.parse_sign1 then decides, slowly and in full).
claims(data)   the credential claims (docs/credential.md) decoded and checked in one pass over
               deterministic CBOR, all three variants (print, chip, compact chip); ValueError
               with a reason for anything else.
iso_day(days)  'YYYY-MM-DD' of a day number since 1970-01-01.
name_ok(text)  whether a text may be printed as a family or given name.
b64u_decode(t) strict base64url (the wallet formats' JWS and disclosures), or None.
der_signature  the DER form of a 64-byte ES256 signature, or None.
b64encode(data)  standard base64 text of bytes (a photo as a reader shows it).
json(data)     JSON in the subset citycard writes, as (value,), or None (json then decides).
mso(payload)   an mdoc MSO in the one shape citycard issues, or None (cbor2 then decides).
device_response(data)  an mdoc DeviceResponse in the one shape citycard's wallets write, or
               None (cbor2 then decides).
jws(token)     a compact ES256 JWS as cardio.jws.parse reads it, or None (it then decides).
disclosures(signed)  an SD-JWT's issued part as cardio.sdjwt.SdJwt.parse reads it, or None.
unfold(node, by_digest)  an SD-JWT payload with its digests replaced by the disclosures, and
               the digests used, or None (cardio.sdjwt._unfold then decides).
sd_presentation(text)  a citycard SD-JWT VC presentation read in one pass up to its signature
               checks, or None (cardio.presentation then reads and decides in full).
"""

from __future__ import annotations

import binascii
import operator
import re
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Final, Generic, NoReturn, TypeVar, cast, overload

# the wallet formats' readers (an SD-JWT VC presentation in one pass; an mdoc's MSO,
# citycard's JSON), in their own modules for size
from ._fastpath_sdjwt_py import SD_ITEMS as SD_ITEMS
from ._fastpath_sdjwt_py import SD_VISIBLE as SD_VISIBLE
from ._fastpath_sdjwt_py import sd_presentation as sd_presentation
from ._fastpath_wallet_py import device_response as device_response
from ._fastpath_wallet_py import disclosures as disclosures
from ._fastpath_wallet_py import json as json
from ._fastpath_wallet_py import jws as jws
from ._fastpath_wallet_py import mso as mso
from ._fastpath_wallet_py import unfold as unfold

# ---- limits (cardio/credential.py) ----------------------------------------------------------

MAX_INPUT: Final = 64 * 1024
_MAX_ISSUER: Final = 64
_MAX_URI: Final = 200
_MAX_NAME: Final = 100
_MAX_PHOTO: Final = 8 * 1024
_MIN_UID, _MAX_UID = 4, 10
_MAX_ENTITLEMENTS: Final = 16
_MAX_LANGUAGES: Final = 8
_MAX_TIME: Final = 253_402_300_800  # 10000-01-01T00:00:00Z: every time has a date
_MIN_BIRTH_DAYS: Final = -25_567  # 1900-01-01
_MAX_BIRTH_DAYS: Final = 99_999
_MAX_LIST_ID: Final = 8  # a compact credential's status list id

# The compact credential's entitlement numbers (docs/credential.md section 2.1): number i is
# ENTITLEMENT_CODES[i]. Only ever appended to; the same table as cardio/_fastpath.c's.
ENTITLEMENT_CODES: Final = (
    "bank-account", "budget", "civic-workshops", "community-college", "culture",
    "culture-discount", "culture-free", "culture-offers", "digital-space", "education-discount",
    "employment-agency", "food-assistance", "health-services", "language-courses",
    "leisure-discount", "library", "municipal-services", "museum", "pharmacy-discount", "pool",
    "school-id", "shelter", "sport", "sport-discount", "sport-offers", "theatre", "transport",
)  # fmt: skip

# ---- the result type ------------------------------------------------------------------------

T = TypeVar("T")


class _ClaimField(Generic[T]):
    """One named position of Claims, read-only like a member of a C struct sequence."""

    def __init__(self, index: int, doc: str | None = None) -> None:
        self.index = index
        self.__doc__ = doc

    @overload
    def __get__(self, claims: None, owner: type[Claims]) -> _ClaimField[T]: ...
    @overload
    def __get__(self, claims: Claims, owner: type[Claims]) -> T: ...
    def __get__(self, claims: Claims | None, owner: type[Claims]) -> T | _ClaimField[T]:
        return self if claims is None else cast(T, tuple.__getitem__(claims, self.index))

    def __set__(self, claims: Claims, value: object) -> NoReturn:
        raise AttributeError("readonly attribute")

    def __delete__(self, claims: Claims) -> NoReturn:
        raise AttributeError("readonly attribute")


class Claims(tuple[object, ...]):
    """The credential claims, decoded and checked (docs/credential.md)."""

    __slots__ = ()
    n_fields: Final = 17
    n_sequence_fields: Final = 17
    n_unnamed_fields: Final = 0

    issuer = _ClaimField[str](0, "iss (1)")
    document_number = _ClaimField[str](1, "cti (7), ASCII")
    issued_at = _ClaimField[int](2, "iat (6), seconds since 1970")
    expires_at = _ClaimField[int](3, "exp (4), seconds since 1970")
    status_index = _ClaimField[int](4, "status (65535) idx")
    status_uri = _ClaimField[str](5, "status (65535) uri; a compact credential's status list id")
    variant = _ClaimField[int](6, "0 print, 1 chip, 2 compact chip")
    program = _ClaimField[str](7, "programme id")
    family_name = _ClaimField[str | None](8, "None in a compact credential")
    given_name = _ClaimField[str | None](9, "None in a compact credential")
    birth_days = _ClaimField[int | None](
        10, "birth date as days since 1970-01-01; None in a compact credential"
    )
    sex = _ClaimField[str | None](11, "F, M, X or None")
    entitlements = _ClaimField[tuple[str, ...]](12, "tuple of codes")
    languages = _ClaimField[tuple[str, ...]](13, "tuple of language tags")
    photo = _ClaimField[bytes | None](14, "JPEG bytes or None")
    chip_uid = _ClaimField[bytes | None](15, "the bound chip UID or None")
    chip_key = _ClaimField[tuple[bytes, bytes] | None](16, "(x, y) of the bound chip key or None")

    __match_args__ = (
        "issuer", "document_number", "issued_at", "expires_at", "status_index", "status_uri",
        "variant", "program", "family_name", "given_name", "birth_days", "sex", "entitlements",
        "languages", "photo", "chip_uid", "chip_key",
    )  # fmt: skip

    def __new__(cls, sequence: Iterable[object]) -> Claims:
        try:
            items = iter(sequence)
        except TypeError:
            raise TypeError("constructor requires a sequence") from None
        values = tuple(items)
        if len(values) != cls.n_fields:
            name = f"{cls.__module__}.{cls.__qualname__}"
            raise TypeError(f"{name}() takes a 17-sequence ({len(values)}-sequence given)")
        return super().__new__(cls, values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(self.__match_args__, self, strict=True))
        return f"{type(self).__module__}.{type(self).__qualname__}({fields})"


# ---- a minimal deterministic-CBOR reader ----------------------------------------------------

_UINT, _NEGINT, _BYTES, _TEXT, _ARRAY, _MAP = range(6)
_SMALLEST = (24, 0x100, 0x10000, 0x1_0000_0000)  # the least argument each longer head may carry
_TRUNCATED: Final = "the claims are truncated"


class _ClaimReader:
    """A cursor over deterministic CBOR. Each refusal raises ValueError with its reason."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def head(self) -> tuple[int, int]:
        """One data item head: (major type, argument); minimal encoding, definite lengths."""
        if self.pos >= len(self.data):
            raise ValueError(_TRUNCATED)
        initial = self.data[self.pos]
        self.pos += 1
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info
        if info > 27:
            raise ValueError("the claims use an indefinite length or a reserved head")
        size = 1 << (info - 24)
        if len(self.data) - self.pos < size:
            raise ValueError(_TRUNCATED)
        argument = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        if argument < _SMALLEST[info - 24]:
            raise ValueError("the claims are not in deterministic CBOR")
        return major, argument

    def expect(self, major: int, why: str) -> int:
        """The argument of a head of this major type."""
        got, argument = self.head()
        if got != major:
            raise ValueError(why)
        return argument

    def uint_below(self, limit: int, why: str) -> int:
        value = self.expect(_UINT, why)
        if value >= limit:
            raise ValueError(why)
        return value

    def span(self, length: int) -> bytes:
        """The content of a definite byte or text string whose head was just read."""
        if len(self.data) - self.pos < length:
            raise ValueError(_TRUNCATED)
        start = self.pos
        self.pos += length
        return self.data[start : self.pos]

    def read_bytes(self, min_len: int, max_len: int, why: str) -> bytes:
        content = self.span(self.expect(_BYTES, why))
        if not min_len <= len(content) <= max_len:
            raise ValueError(why)
        return content

    def read_text(self, min_chars: int, max_chars: int, why: str) -> str:
        """A text string; strict UTF-8 (no surrogates, no overlong forms) like cbor2's."""
        content = self.span(self.expect(_TEXT, why))
        if len(content) > max_chars * 4:
            raise ValueError(why)
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("a text claim is not valid UTF-8") from None
        if not min_chars <= len(text) <= max_chars:
            raise ValueError(why)
        return text

    def read_ascii(self, ok: Callable[[bytes], object], why: str) -> str:
        """An ASCII text string that the pattern `ok` matches."""
        content = self.span(self.expect(_TEXT, why))
        if len(content) > 64 or not ok(content):
            raise ValueError(why)
        return content.decode("ascii")

    def read_name(self) -> str:
        why = "a name is empty, too long or holds invisible characters"
        text = self.read_text(1, _MAX_NAME, why)
        if not name_ok(text):
            raise ValueError(why)
        return text

    def read_codes(self, max_count: int, ok: Callable[[bytes], object], why: str) -> tuple[str, ...]:
        """An array of up to `max_count` ASCII codes."""
        count = self.expect(_ARRAY, why)
        if count > max_count:
            raise ValueError(why)
        return tuple(self.read_ascii(ok, why) for _ in range(count))

    def literal(self, expected: bytes, why: str) -> None:
        """Exactly these encoded bytes next (fixed keys and values)."""
        if not self.data.startswith(expected, self.pos):
            raise ValueError(why)
        self.pos += len(expected)

    def int_key(self, order: tuple[int, ...]) -> int:
        """A map key that must be an integer; its index in `order` (canonical order)."""
        major, argument = self.head()
        if major not in (_UINT, _NEGINT):
            raise ValueError("a claim key is not an integer")
        key = argument if major == _UINT else -1 - argument
        if key not in order:
            raise ValueError("the credential has an unexpected claim")
        return order.index(key)


# [a-z0-9][a-z0-9-]{0,31}: programme ids and entitlement codes
_code_ok = re.compile(rb"[a-z0-9][a-z0-9-]{0,31}").fullmatch
# [A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}: language tags
_lang_ok = re.compile(rb"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}").fullmatch
# [A-Z0-9-]{4,24}: document numbers
_docno_ok = re.compile(rb"[A-Z0-9-]{4,24}").fullmatch
# [a-z0-9][a-z0-9-]{0,7}: a compact credential's status list id
_list_id_ok = re.compile(rb"[a-z0-9][a-z0-9-]{0,7}").fullmatch

# Characters with no place in a printed name: Unicode categories Cc, Cf, Cs, Co (but ZWNJ and
# ZWJ, which Persian and Indic names need), Zl and Zp, as of Python 3.11's unicodedata. The
# same table as the C module's, rather than unicodedata, so that both keep one rule whichever
# Python runs them.
_INVISIBLE_RANGES = (
    (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605),
    (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
    (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200B), (0x200E, 0x200F),
    (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xD800, 0xF8FF),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD),
)  # fmt: skip
_INVISIBLE = re.compile(
    "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _INVISIBLE_RANGES) + "]"
)


def name_ok(text: object, /) -> bool:
    """True for a printable name: 1 to 100 characters, not only white space, no control,
    format, surrogate, private-use or line-separator characters."""
    return (
        isinstance(text, str)
        and 1 <= len(text) <= _MAX_NAME
        and _INVISIBLE.search(text) is None
        and not str.isspace(text)
    )


# ---- claims ---------------------------------------------------------------------------------

# Top-level claim keys in canonical order: iss exp iat cti cnf status card.
_TOP_ORDER = (1, 4, 6, 7, 8, 65535, -65537)
_T_ISS, _T_EXP, _T_IAT, _T_CTI, _T_CNF, _T_STATUS, _T_CARD = range(7)
# Card fields 0..10: variant program family given birth sex photo entitlements languages uid
# status (10: the compact credential's status reference only).
_CARD_ORDER = tuple(range(11))
_C_VARIANT, _C_PROGRAM, _C_FAMILY, _C_GIVEN, _C_BIRTH = range(5)
_C_SEX, _C_PHOTO, _C_ENTITLEMENTS, _C_LANGUAGES, _C_UID, _C_STATUS = range(5, 11)
_VARIANT_COMPACT: Final = 2


def _read_birth_days(r: _ClaimReader) -> int:
    major, argument = r.head()
    if major == _UINT and argument <= _MAX_BIRTH_DAYS:
        return argument
    if major == _NEGINT and argument < -_MIN_BIRTH_DAYS:
        return -1 - argument
    raise ValueError("the birth date is not a day after 1900-01-01")


def _read_sex(r: _ClaimReader) -> str:
    # a one-letter text string: F, M or X
    letter = r.data[r.pos + 1 : r.pos + 2]
    if r.data[r.pos : r.pos + 1] != b"\x61" or letter not in (b"F", b"M", b"X"):
        raise ValueError("sex is not F, M or X")
    r.pos += 2
    return letter.decode("ascii")


_CARD_READERS: Final[dict[int, Callable[[_ClaimReader], object]]] = {
    _C_PROGRAM: lambda r: r.read_ascii(_code_ok, "the programme id is not a short lower-case code"),
    _C_FAMILY: _ClaimReader.read_name,
    _C_GIVEN: _ClaimReader.read_name,
    _C_BIRTH: _read_birth_days,
    _C_SEX: _read_sex,
    _C_PHOTO: lambda r: r.read_bytes(1, _MAX_PHOTO, "the photo is not 1 to 8192 bytes"),
    _C_ENTITLEMENTS: lambda r: r.read_codes(
        _MAX_ENTITLEMENTS, _code_ok, "the entitlements are not up to 16 codes"
    ),
    _C_LANGUAGES: lambda r: r.read_codes(
        _MAX_LANGUAGES, _lang_ok, "the languages are not up to 8 language tags"
    ),
    _C_UID: lambda r: r.read_bytes(_MIN_UID, _MAX_UID, "the chip UID is not 4 to 10 bytes"),
}


def _read_entitlement_numbers(r: _ClaimReader) -> tuple[str, ...]:
    """The compact credential's entitlement numbers: 1 to 16, known, strictly increasing; as
    codes."""
    why = "the entitlement numbers are not 1 to 16 known numbers in increasing order"
    count = r.expect(_ARRAY, why)
    if not 1 <= count <= _MAX_ENTITLEMENTS:
        raise ValueError(why)
    codes = []
    following = 0
    for _ in range(count):
        number = r.uint_below(len(ENTITLEMENT_CODES), why)
        if number < following:
            raise ValueError(why)
        codes.append(ENTITLEMENT_CODES[number])
        following = number + 1
    return tuple(codes)


def _read_compact_status(r: _ClaimReader) -> tuple[str, int]:
    """[list id, idx]"""
    why = "the compact status is not a list id and an index"
    r.literal(b"\x82", why)
    list_id = r.read_ascii(_list_id_ok, why)
    return list_id, r.uint_below(1 << 32, why)


_COMPACT_READERS: Final[dict[int, Callable[[_ClaimReader], object]]] = {
    _C_PROGRAM: _CARD_READERS[_C_PROGRAM],
    _C_ENTITLEMENTS: _read_entitlement_numbers,
    _C_UID: _CARD_READERS[_C_UID],
    _C_STATUS: _read_compact_status,
}


def _read_compact_card(r: _ClaimReader, count: int, card: dict[int, object]) -> dict[int, object]:
    """The rest of a compact card claim (variant 2, already read): programme, entitlement
    numbers (when count is 5), chip UID, status [list id, idx]; in exactly that order."""
    why = "the compact card claim is not programme, entitlements, chip UID and status"
    if count == 5:
        keys: tuple[int, ...] = (_C_PROGRAM, _C_ENTITLEMENTS, _C_UID, _C_STATUS)
    elif count == 4:
        keys = (_C_PROGRAM, _C_UID, _C_STATUS)
    else:
        raise ValueError(why)
    for want in keys:
        if r.int_key(_CARD_ORDER) != want:
            raise ValueError(why)
        card[want] = _COMPACT_READERS[want](r)
    return card


def _read_card(r: _ClaimReader) -> dict[int, object]:
    """The card's own fields by key: variant first; then the compact fields, or the other
    variants' (the first five required, the rest optional)."""
    count = r.expect(_MAP, "the card claim is not a map")
    if not 4 <= count <= 10:
        raise ValueError("the card claim has missing or unexpected fields")
    if r.int_key(_CARD_ORDER) != _C_VARIANT:
        raise ValueError("the card claim has missing fields")
    variant = r.uint_below(3, "the card variant is not 0, 1 or 2")
    card: dict[int, object] = {_C_VARIANT: variant}
    if variant == _VARIANT_COMPACT:
        return _read_compact_card(r, count, card)
    if count < 5:
        raise ValueError("the card claim has missing or unexpected fields")
    last = _C_VARIANT
    for i in range(1, count):
        k = r.int_key(_CARD_ORDER)
        if k <= last:
            raise ValueError("the card fields are repeated or out of order")
        if k > _C_BIRTH and i < 5:
            raise ValueError("the card claim has missing fields")
        if k == _C_STATUS:
            raise ValueError("the credential has an unexpected claim")
        last = k
        card[k] = _CARD_READERS[k](r)
    return card


def _read_cnf(r: _ClaimReader) -> tuple[bytes, bytes]:
    """cnf: {1: {1: 2, -1: 1, -2: x, -3: y}}, an EC2 P-256 COSE_Key (RFC 8747)."""
    why = "the chip key claim is not a P-256 COSE_Key confirmation"
    r.literal(b"\xa1\x01\xa4\x01\x02\x20\x01\x21", why)
    x = r.read_bytes(32, 32, why)
    r.literal(b"\x22", why)
    return x, r.read_bytes(32, 32, why)


def _read_status(r: _ClaimReader) -> tuple[int, str]:
    """{"status_list": {"idx": uint, "uri": text}}"""
    why = "the status claim is not a status list reference"
    r.literal(b"\xa1\x6bstatus_list\xa2\x63idx", why)
    index = r.uint_below(1 << 32, why)
    r.literal(b"\x63uri", why)
    return index, r.read_text(1, _MAX_URI, why)


def _read_claims(r: _ClaimReader) -> Claims:
    count = r.expect(_MAP, "the credential claims are not a map")
    if not 5 <= count <= 7:
        raise ValueError("the credential has missing or unexpected claims")
    issuer = document_number = status_uri = ""
    issued_at = expires_at = status_index = 0
    chip_key: tuple[bytes, bytes] | None = None
    card: dict[int, object] = {}
    last = -1
    for _ in range(count):
        k = r.int_key(_TOP_ORDER)
        if k <= last:
            raise ValueError("the claims are repeated or out of order")
        if count == 6 and k == _T_CNF:
            raise ValueError("the credential has missing claims")
        if count == 5 and k in (_T_CNF, _T_STATUS):
            raise ValueError("the credential has missing claims")
        last = k
        if k == _T_ISS:
            issuer = r.read_text(1, _MAX_ISSUER, "the issuer is not a short text")
        elif k == _T_EXP:
            expires_at = r.uint_below(_MAX_TIME, "the expiry time is not a time")
        elif k == _T_IAT:
            issued_at = r.uint_below(_MAX_TIME, "the issue time is not a time")
        elif k == _T_CTI:
            why = "the document number is not 4 to 24 capital letters, digits or '-'"
            cti = r.span(r.expect(_BYTES, why))
            if not _docno_ok(cti):
                raise ValueError(why)
            document_number = cti.decode("ascii")
        elif k == _T_CNF:
            chip_key = _read_cnf(r)
        elif k == _T_STATUS:
            status_index, status_uri = _read_status(r)
        else:
            card = _read_card(r)
    if r.pos != len(r.data):
        raise ValueError("the claims have trailing bytes")
    if expires_at <= issued_at:
        raise ValueError("the card expires before it was issued")
    variant = card[_C_VARIANT]
    # a compact credential carries its status in the card claim, and only it has no claim 65535
    if (variant == _VARIANT_COMPACT) != (count == 5):
        raise ValueError("the credential has missing or unexpected claims")
    if variant == _VARIANT_COMPACT:
        status_uri, status_index = cast(tuple[str, int], card[_C_STATUS])
    chip = variant != 0
    chip_uid = card.get(_C_UID)
    photo = card.get(_C_PHOTO)
    bound = chip_uid is not None or chip_key is not None
    if chip_uid is not None and chip_key is not None:
        raise ValueError("a chip binding names exactly one of a UID or a chip key")
    if chip and not bound:
        raise ValueError("a chip credential must be bound to its chip")
    if not chip and (bound or photo is not None):
        raise ValueError("a print credential carries neither a photo nor a chip binding")
    return Claims(
        (
            issuer, document_number, issued_at, expires_at, status_index, status_uri,
            variant, card[_C_PROGRAM], card.get(_C_FAMILY), card.get(_C_GIVEN), card.get(_C_BIRTH),
            card.get(_C_SEX), card.get(_C_ENTITLEMENTS, ()), card.get(_C_LANGUAGES, ()), photo,
            chip_uid, chip_key,
        )
    )  # fmt: skip


def _buffer_bytes(payload: bytes | bytearray | memoryview) -> bytes:
    """The bytes of a C-contiguous buffer, as PyObject_GetBuffer(PyBUF_SIMPLE) gives them."""
    if type(payload) is bytes:
        return payload
    try:
        view = memoryview(payload)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(payload).__name__}'") from None
    with view:
        if not view.c_contiguous:
            raise BufferError("memoryview: underlying buffer is not C-contiguous")
        return view.tobytes()


def claims(payload: bytes | bytearray | memoryview, /) -> Claims:
    """claims(payload) -> Claims, decoded and checked; ValueError with the reason otherwise."""
    data = _buffer_bytes(payload)
    if len(data) > MAX_INPUT:
        raise ValueError("the claims are larger than 65536 bytes")
    return _read_claims(_ClaimReader(data))


# ---- COSE_Sign1 -----------------------------------------------------------------------------

# tag 18, array of 4, protected bstr(13) = {1: -7, 4: bstr(8) kid}
_SIGN1_START: Final = b"\xd2\x84\x4d\xa2\x01\x26\x04\x48"
_KID_AT, _KID_LEN = len(_SIGN1_START), 8
_PROTECTED_AT, _PROTECTED_LEN = 3, 13
_SIGNATURE_TAIL: Final = 2 + 64  # bstr(64) head and the raw r || s
_SHORTEST_SIGN1: Final = _KID_AT + _KID_LEN + 1 + 1 + _SIGNATURE_TAIL  # empty payload
# Sig_structure = ["Signature1", protected, h'', payload]
_SIG1_CONTEXT: Final = b"\x84\x6aSignature1"


def _bstr_head(length: int) -> bytes:
    """A minimal byte string head (payloads stay below 64 KB)."""
    if length < 24:
        return bytes([0x40 | length])
    if length < 0x100:
        return bytes([0x58, length])
    return b"\x59" + length.to_bytes(2, "big")


def _der_integer(value: bytes) -> bytes:
    """One DER INTEGER from unsigned big-endian bytes: no leading zeros, one for a high bit."""
    digits = value.lstrip(b"\x00") or b"\x00"
    if digits[0] & 0x80:
        digits = b"\x00" + digits
    return bytes([0x02, len(digits)]) + digits


def sign1(data: object, /) -> tuple[bytes, bytes, bytes, bytes] | None:
    """sign1(data) -> (kid, sig_structure, der_signature, payload) for a COSE_Sign1 in the
    credential's fixed shape, or None for any other input."""
    if type(data) is not bytes or not _SHORTEST_SIGN1 <= len(data) <= MAX_INPUT:
        return None
    if not data.startswith(_SIGN1_START):
        return None
    pos = _KID_AT + _KID_LEN
    if data[pos] != 0xA0:  # empty unprotected header
        return None
    # payload: a definite byte string with a minimal head
    initial = data[pos + 1]
    pos += 2
    if initial >> 5 != _BYTES:
        return None
    info = initial & 0x1F
    if info < 24:
        length = info
    elif info == 24:
        length = data[pos]
        pos += 1
        if length < 24:
            return None
    elif info == 25:
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if length < 0x100:
            return None
    else:
        return None
    end = pos + length
    if len(data) - end != _SIGNATURE_TAIL or data[end : end + 2] != b"\x58\x40":
        return None
    payload = data[pos:end]
    kid = data[_KID_AT : _KID_AT + _KID_LEN]
    tbs = b"".join((
        _SIG1_CONTEXT,
        _bstr_head(_PROTECTED_LEN),
        data[_PROTECTED_AT : _PROTECTED_AT + _PROTECTED_LEN],
        b"\x40",
        _bstr_head(length),
        payload,
    ))  # fmt: skip
    der = _der_integer(data[end + 2 : end + 34]) + _der_integer(data[end + 34 :])
    return kid, tbs, bytes([0x30, len(der)]) + der, payload


# ---- dates ----------------------------------------------------------------------------------

_EPOCH: Final = date(1970, 1, 1)
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896  # 0001-01-01 .. 9999-12-31, like datetime.date
_LONG_LONG: Final = range(-(2**63), 2**63)


def iso_day(days: int, /) -> str:
    """iso_day(days) -> 'YYYY-MM-DD' for a day number since 1970-01-01."""
    value = operator.index(days)
    if value not in _LONG_LONG:  # the C module reads a long long
        raise OverflowError("int too big to convert")
    if not _FIRST_DAY <= value <= _LAST_DAY:
        raise ValueError("the day is outside the years 1 to 9999")
    return (_EPOCH + timedelta(days=value)).isoformat()


# ---- the wallet formats: strict base64url and ES256 signatures ------------------------------

_B64U_VALUE: Final = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")


def b64u_decode(text: object, /) -> bytes | None:
    """b64u_decode(text) -> bytes of strict base64url without padding (alphabet only, no length
    4k+1, zero unused bits), or None for anything else."""
    if not isinstance(text, str) or not text.isascii() or "+" in text or "/" in text or "=" in text:
        return None
    tail = len(text) % 4
    if tail == 1:
        return None
    last = _B64U_VALUE.get(text[-1]) if text else 0
    if last is None or (tail and last & (0x0F if tail == 2 else 0x03)):
        return None
    try:  # strict mode refuses any character outside the alphabet (whitespace too)
        return binascii.a2b_base64(text.encode("ascii").translate(_TO_STANDARD) + b"=" * (-tail % 4), strict_mode=True)
    except binascii.Error:
        return None


def b64encode(data: bytes, /) -> str:
    """b64encode(data) -> the standard base64 text of bytes, with padding (TypeError for
    anything but bytes)."""
    if type(data) is not bytes:
        raise TypeError("b64encode() takes bytes")
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def der_signature(raw: object, /) -> bytes | None:
    """der_signature(raw) -> the DER ECDSA-Sig-Value of a 64-byte r || s, or None for anything
    else."""
    if not isinstance(raw, bytes) or len(raw) != 64:
        return None
    der = _der_integer(raw[:32]) + _der_integer(raw[32:])
    return bytes([0x30, len(der)]) + der
