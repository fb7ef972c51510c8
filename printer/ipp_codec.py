"""The IPP/1.1 message codec (RFC 8010): operations, status codes, tags and values.

`encode_message` and `decode_message` turn an `IppMessage` (a request, whose `code` is an
operation id, or a response, whose `code` is a status code) into bytes and back. The protocol
numbers (delimiter and value tags, operation ids, status codes, job and printer states) are
`IntEnum`s. `values`, `strings` and `integer` read an attribute group.

Decoding is strict: a truncated message, an unknown group or a value of the wrong size for
its tag raises CardPrinterOfflineError rather than being guessed at (whatever sent it is not
an IPP printer we can use). Collections (RFC 8010 section 3.1.6) are decoded to dicts, so the
full Get-Printer-Attributes answer of a modern printer parses.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Union

from .card_printer import CardPrinterOfflineError

__all__ = [
    "IPP_STATUS_NAMES",
    "DelimiterTag",
    "IppAttribute",
    "IppCollection",
    "IppJobState",
    "IppMessage",
    "IppRange",
    "IppResolution",
    "IppValue",
    "Operation",
    "OutOfBand",
    "PrinterState",
    "StatusCode",
    "ValueTag",
    "attr",
    "decode_message",
    "encode_message",
    "integer",
    "strings",
    "values",
]


class DelimiterTag(IntEnum):
    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED = 0x05


class ValueTag(IntEnum):
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    OCTET_STRING = 0x30
    DATETIME = 0x31
    RESOLUTION = 0x32
    RANGE = 0x33
    BEGIN_COLLECTION = 0x34
    TEXT_WITH_LANGUAGE = 0x35
    NAME_WITH_LANGUAGE = 0x36
    END_COLLECTION = 0x37
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    NATURAL_LANGUAGE = 0x48
    MIME_MEDIA_TYPE = 0x49
    MEMBER_NAME = 0x4A


class Operation(IntEnum):
    PRINT_JOB = 0x0002
    VALIDATE_JOB = 0x0004
    CANCEL_JOB = 0x0008
    GET_JOB_ATTRIBUTES = 0x0009
    GET_PRINTER_ATTRIBUTES = 0x000B


class StatusCode(IntEnum):
    SUCCESSFUL_OK = 0x0000
    SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED = 0x0001
    SUCCESSFUL_OK_CONFLICTING = 0x0002
    CLIENT_ERROR_BAD_REQUEST = 0x0400
    CLIENT_ERROR_FORBIDDEN = 0x0401
    CLIENT_ERROR_NOT_AUTHENTICATED = 0x0402
    CLIENT_ERROR_NOT_AUTHORIZED = 0x0403
    CLIENT_ERROR_NOT_POSSIBLE = 0x0404
    CLIENT_ERROR_TIMEOUT = 0x0405
    CLIENT_ERROR_NOT_FOUND = 0x0406
    CLIENT_ERROR_GONE = 0x0407
    CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE = 0x0408
    CLIENT_ERROR_REQUEST_VALUE_TOO_LONG = 0x0409
    CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
    CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
    CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED = 0x040C
    CLIENT_ERROR_CHARSET_NOT_SUPPORTED = 0x040D
    CLIENT_ERROR_CONFLICTING_ATTRIBUTES = 0x040E
    CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED = 0x040F
    CLIENT_ERROR_COMPRESSION_ERROR = 0x0410
    CLIENT_ERROR_DOCUMENT_FORMAT_ERROR = 0x0411
    CLIENT_ERROR_DOCUMENT_ACCESS_ERROR = 0x0412
    SERVER_ERROR_INTERNAL_ERROR = 0x0500
    SERVER_ERROR_OPERATION_NOT_SUPPORTED = 0x0501
    SERVER_ERROR_SERVICE_UNAVAILABLE = 0x0502
    SERVER_ERROR_VERSION_NOT_SUPPORTED = 0x0503
    SERVER_ERROR_DEVICE_ERROR = 0x0504
    SERVER_ERROR_TEMPORARY_ERROR = 0x0505
    SERVER_ERROR_NOT_ACCEPTING_JOBS = 0x0506
    SERVER_ERROR_BUSY = 0x0507
    SERVER_ERROR_JOB_CANCELED = 0x0508
    SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED = 0x0509


IPP_STATUS_NAMES = {code.value: code.name.lower().replace("_", "-") for code in StatusCode}


class IppJobState(IntEnum):
    """job-state (RFC 8011 5.3.7)."""

    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9


class PrinterState(IntEnum):
    """printer-state (RFC 8011 5.4.11)."""

    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


class OutOfBand(IntEnum):
    """Values without content: 'unsupported', 'unknown', 'no-value' (RFC 8010 3.5.2)."""

    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13


@dataclass(frozen=True)
class IppResolution:
    x: int
    y: int
    units: int = 3  # 3 = dots per inch, 4 = dots per centimetre


@dataclass(frozen=True)
class IppRange:
    lower: int
    upper: int


IppValue = Union[
    int, bool, str, bytes, IppResolution, IppRange, OutOfBand, "IppCollection"
]


@dataclass(frozen=True)
class IppCollection:
    members: dict[str, IppAttribute]

    def get(self, name: str) -> IppValue | None:
        attr = self.members.get(name)
        return attr.values[0] if attr and attr.values else None


@dataclass(frozen=True)
class IppAttribute:
    name: str
    tag: int
    values: tuple[IppValue, ...]

    @property
    def value(self) -> IppValue:
        return self.values[0]


@dataclass
class IppMessage:
    """A request (`code` = operation id) or a response (`code` = status code)."""

    code: int
    request_id: int
    groups: list[tuple[int, dict[str, IppAttribute]]] = field(default_factory=list)
    version: tuple[int, int] = (1, 1)
    data: bytes = b""

    def group(self, tag: int) -> dict[str, IppAttribute]:
        """The first group with this delimiter tag (empty if none)."""
        for gtag, attrs in self.groups:
            if gtag == tag:
                return attrs
        return {}

    def groups_of(self, tag: int) -> list[dict[str, IppAttribute]]:
        return [attrs for gtag, attrs in self.groups if gtag == tag]

    @property
    def status_name(self) -> str:
        return IPP_STATUS_NAMES.get(self.code, f"0x{self.code:04x}")

    @property
    def status_message(self) -> str:
        attr = self.group(DelimiterTag.OPERATION).get("status-message")
        return attr.value if attr is not None and isinstance(attr.value, str) else ""


def attr(name: str, tag: int, *values: IppValue) -> IppAttribute:
    return IppAttribute(name, tag, tuple(values))


# -- encoding ---------------------------------------------------------------------------------

_TEXT_TAGS = frozenset(
    {
        ValueTag.TEXT, ValueTag.NAME, ValueTag.KEYWORD, ValueTag.URI, ValueTag.URI_SCHEME,
        ValueTag.CHARSET, ValueTag.NATURAL_LANGUAGE, ValueTag.MIME_MEDIA_TYPE,
        ValueTag.MEMBER_NAME,
    }
)
_MAX_DEPTH = 8


def _encode_value(tag: int, value: IppValue) -> bytes:
    if isinstance(value, OutOfBand):
        return b""
    if tag in (ValueTag.INTEGER, ValueTag.ENUM) and isinstance(value, int) and not isinstance(value, bool):
        return struct.pack(">i", value)
    if tag == ValueTag.BOOLEAN and isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if tag in _TEXT_TAGS and isinstance(value, str):
        return value.encode("utf-8")
    if tag in (ValueTag.OCTET_STRING, ValueTag.DATETIME) and isinstance(value, bytes):
        return value
    if tag == ValueTag.RESOLUTION and isinstance(value, IppResolution):
        return struct.pack(">iib", value.x, value.y, value.units)
    if tag == ValueTag.RANGE and isinstance(value, IppRange):
        return struct.pack(">ii", value.lower, value.upper)
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE) and isinstance(value, str):
        lang, text = b"en", value.encode("utf-8")
        return struct.pack(">H", len(lang)) + lang + struct.pack(">H", len(text)) + text
    raise ValueError(f"cannot encode {type(value).__name__} as IPP tag 0x{tag:02x}")


def _encode_attr(out: bytearray, attribute: IppAttribute) -> None:
    name = attribute.name.encode("ascii")
    for i, value in enumerate(attribute.values):
        tag = int(value) if isinstance(value, OutOfBand) else attribute.tag
        this_name = name if i == 0 else b""
        if isinstance(value, IppCollection):
            out += struct.pack(">BH", ValueTag.BEGIN_COLLECTION, len(this_name)) + this_name
            out += struct.pack(">H", 0)
            for member in value.members.values():
                mname = member.name.encode("ascii")
                out += struct.pack(">BHH", ValueTag.MEMBER_NAME, 0, len(mname)) + mname
                _encode_attr(out, IppAttribute("", member.tag, member.values))
            out += struct.pack(">BHH", ValueTag.END_COLLECTION, 0, 0)
            continue
        body = _encode_value(tag, value)
        if len(body) > 0xFFFF:
            raise ValueError(f"IPP value of {attribute.name!r} is too long")
        out += struct.pack(">BH", tag, len(this_name)) + this_name
        out += struct.pack(">H", len(body)) + body


def encode_message(message: IppMessage) -> bytes:
    out = bytearray(struct.pack(">BBHI", *message.version, message.code, message.request_id))
    for tag, attrs in message.groups:
        out.append(tag)
        for attribute in attrs.values():
            _encode_attr(out, attribute)
    out.append(DelimiterTag.END)
    return bytes(out) + message.data


# -- decoding ---------------------------------------------------------------------------------


class _Malformed(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Malformed("truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise _Malformed("truncated")
        return self.data[self.pos]


def _decode_value(tag: int, raw: bytes) -> IppValue:
    if tag in (ValueTag.UNSUPPORTED, ValueTag.UNKNOWN, ValueTag.NO_VALUE):
        return OutOfBand(tag)
    if tag in (ValueTag.INTEGER, ValueTag.ENUM):
        if len(raw) != 4:
            raise _Malformed("integer size")
        number: int = struct.unpack(">i", raw)[0]
        return number
    if tag == ValueTag.BOOLEAN:
        if len(raw) != 1 or raw[0] > 1:
            raise _Malformed("boolean")
        return raw == b"\x01"
    if tag == ValueTag.RESOLUTION:
        if len(raw) != 9:
            raise _Malformed("resolution size")
        x, y, units = struct.unpack(">iib", raw)
        return IppResolution(x, y, units)
    if tag == ValueTag.RANGE:
        if len(raw) != 8:
            raise _Malformed("range size")
        lower, upper = struct.unpack(">ii", raw)
        return IppRange(lower, upper)
    if tag == ValueTag.DATETIME:
        if len(raw) != 11:
            raise _Malformed("dateTime size")
        return raw
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE):
        r = _Reader(raw)
        r.take(r.u16())
        text = r.take(r.u16())
        if r.pos != len(raw):
            raise _Malformed("text with language")
        return text.decode("utf-8", errors="replace")
    if tag in _TEXT_TAGS or tag >= 0x40:
        return raw.decode("utf-8", errors="replace")
    return raw  # octetString and unknown tags below 0x40


def _read_collection(r: _Reader, depth: int) -> IppCollection:
    if depth > _MAX_DEPTH:
        raise _Malformed("collections nested too deep")
    members: dict[str, IppAttribute] = {}
    current: str | None = None
    while True:
        tag = r.u8()
        name = r.take(r.u16()).decode("ascii", errors="replace")
        raw = r.take(r.u16())
        if name:
            raise _Malformed("named value inside a collection")
        if tag == ValueTag.END_COLLECTION:
            return IppCollection(members)
        if tag == ValueTag.MEMBER_NAME:
            current = raw.decode("ascii", errors="replace")
            continue
        if current is None:
            raise _Malformed("collection value without a member name")
        value = _read_collection(r, depth + 1) if tag == ValueTag.BEGIN_COLLECTION else _decode_value(tag, raw)
        old = members.get(current)
        if old is None:
            members[current] = IppAttribute(current, tag, (value,))
        else:
            members[current] = IppAttribute(current, old.tag, (*old.values, value))


def decode_message(data: bytes) -> IppMessage:
    """Decode an IPP message; raises CardPrinterOfflineError when the bytes are not IPP."""
    try:
        return _decode(data)
    except (_Malformed, UnicodeDecodeError) as exc:
        raise CardPrinterOfflineError(
            f"The printer answered with a malformed IPP message ({exc}); check that the URI "
            "points at an IPP printer or CUPS queue."
        ) from exc


def _decode(data: bytes) -> IppMessage:
    r = _Reader(data)
    major, minor = r.u8(), r.u8()
    code = r.u16()
    (request_id,) = struct.unpack(">I", r.take(4))
    msg = IppMessage(code, request_id, version=(major, minor))
    attrs: dict[str, IppAttribute] | None = None
    last: str | None = None
    while True:
        tag = r.u8()
        if tag == DelimiterTag.END:
            msg.data = data[r.pos :]
            return msg
        if tag < 0x10:
            if tag not in DelimiterTag.__members__.values():
                raise _Malformed(f"unknown group tag 0x{tag:02x}")
            attrs = {}
            msg.groups.append((tag, attrs))
            last = None
            continue
        if attrs is None:
            raise _Malformed("attribute outside a group")
        name = r.take(r.u16()).decode("utf-8")
        raw = r.take(r.u16())
        if tag == ValueTag.BEGIN_COLLECTION:
            value: IppValue = _read_collection(r, 1)
        elif tag in (ValueTag.END_COLLECTION, ValueTag.MEMBER_NAME):
            raise _Malformed("collection delimiter outside a collection")
        else:
            value = _decode_value(tag, raw)
        if name:
            attrs[name] = IppAttribute(name, tag, (value,))
            last = name
        else:
            if last is None:
                raise _Malformed("additional value without an attribute")
            old = attrs[last]
            attrs[last] = IppAttribute(last, old.tag, (*old.values, value))


# -- reading attributes -----------------------------------------------------------------------


def values(attrs: Mapping[str, IppAttribute], name: str) -> tuple[IppValue, ...]:
    """All values of an attribute (empty when absent or out-of-band)."""
    attribute = attrs.get(name)
    if attribute is None:
        return ()
    return tuple(v for v in attribute.values if not isinstance(v, OutOfBand))


def strings(attrs: Mapping[str, IppAttribute], name: str) -> tuple[str, ...]:
    return tuple(v for v in values(attrs, name) if isinstance(v, str))


def integer(attrs: Mapping[str, IppAttribute], name: str) -> int | None:
    for v in values(attrs, name):
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None

