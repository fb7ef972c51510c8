"""A small IPP/1.1 client (RFC 8010 encoding, RFC 8011 operations) over http.client.

Enough for card printers behind a CUPS queue or driverless IPP printers: Print-Job,
Get-Printer-Attributes, Get-Job-Attributes and Cancel-Job. Requests are IPP/1.1 over HTTP
POST with Content-Type application/ipp (`ipp://` is HTTP on port 631 by default, `ipps://`
is HTTPS). A printer answering server-error-busy (or HTTP 503) is asked again after a pause
that doubles each time, up to `retries` attempts.

Every failure is a typed `CardPrinterError` with a sentence: CardPrinterOfflineError (no answer,
or an answer that is not IPP), CardPrinterBusyError (busy through every retry), IppStatusError
(any other IPP error status; `.status` holds the code), and for a stopped printer the
condition errors of `printer.card_printer` (OutOfCardsError, RibbonError, CardCoverOpenError,
CardJamError) derived from printer-state-reasons.

Decoding is strict: a truncated message, an unknown group or a value of the wrong size for
its tag raises CardPrinterOfflineError rather than being guessed at. Collections (RFC 8010
section 3.1.6) are decoded to dicts, so the full Get-Printer-Attributes answer of a modern
printer parses.
"""

from __future__ import annotations

import http.client
import io
import itertools
import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Union
from urllib.parse import urlsplit

from PIL import Image

from .card_printer import (
    CardCoverOpenError,
    CardJamError,
    CardJobResult,
    CardPrinterBusyError,
    CardPrinterError,
    CardPrinterOfflineError,
    OutOfCardsError,
    PrinterStatus,
    RibbonError,
    check_png,
)
from .pwg import encode_pwg_raster

__all__ = [
    "IPP_STATUS_NAMES",
    "DelimiterTag",
    "IppAttribute",
    "IppCardPrinter",
    "IppClient",
    "IppCollection",
    "IppMessage",
    "IppRange",
    "IppResolution",
    "IppStatusError",
    "JobState",
    "Operation",
    "OutOfBand",
    "PrinterState",
    "StatusCode",
    "ValueTag",
    "attr",
    "decode_message",
    "encode_message",
    "integer",
    "raise_for_reasons",
    "strings",
    "values",
]

log = logging.getLogger(__name__)


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


class JobState(IntEnum):
    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9


class PrinterState(IntEnum):
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
_MAX_MESSAGE = 16 * 1024 * 1024
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


# -- the client -------------------------------------------------------------------------------

RETRY_STATUSES = frozenset({StatusCode.SERVER_ERROR_BUSY})
_OPERATION_NAMES: dict[int, str] = {
    Operation.PRINT_JOB: "Print-Job",
    Operation.VALIDATE_JOB: "Validate-Job",
    Operation.CANCEL_JOB: "Cancel-Job",
    Operation.GET_JOB_ATTRIBUTES: "Get-Job-Attributes",
    Operation.GET_PRINTER_ATTRIBUTES: "Get-Printer-Attributes",
}
_CREDENTIALS = "the printer wants credentials citycard does not have; allow the kiosk's user on the queue"
_STATUS_ADVICE: dict[int, str] = {
    StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED: "the printer does not accept this document format",
    StatusCode.CLIENT_ERROR_NOT_FOUND: "check the printer URI",
    StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS: "the queue is not accepting jobs; enable it (cupsaccept) and try again",
    StatusCode.CLIENT_ERROR_NOT_AUTHORIZED: _CREDENTIALS,
    StatusCode.CLIENT_ERROR_NOT_AUTHENTICATED: _CREDENTIALS,
    StatusCode.CLIENT_ERROR_FORBIDDEN: _CREDENTIALS,
}


class IppStatusError(CardPrinterError):
    """The printer refused an operation; `.status` is the IPP status code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _describe_uri(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 631}{parts.path}"


class IppClient:
    """One printer (or CUPS queue) URI. Thread-compatible: one request at a time."""

    def __init__(
        self,
        uri: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        user: str = "citycard",
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(uri)
        if parts.scheme not in ("ipp", "ipps", "http", "https") or not parts.hostname:
            raise CardPrinterError(
                f"{uri!r} is not a printer URI; use ipp://host[:port]/path (for example "
                "ipp://localhost:631/printers/card)."
            )
        self.uri = uri if parts.scheme in ("ipp", "ipps") else uri.replace("http", "ipp", 1)
        self.host = parts.hostname
        self.port = parts.port or 631
        self.path = parts.path or "/"
        self.tls = parts.scheme in ("ipps", "https")
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.user = user
        self.sleep = sleep
        self.ssl_context = ssl_context
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"IppClient({_describe_uri(self.uri)!r})"

    # -- transport --

    def _post(self, body: bytes) -> tuple[int, bytes]:
        conn: http.client.HTTPConnection
        if self.tls:
            context = self.ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(
                "POST",
                self.path,
                body=body,
                headers={"Content-Type": "application/ipp", "Accept": "application/ipp"},
            )
            response = conn.getresponse()
            payload = response.read(_MAX_MESSAGE + 1)
            if len(payload) > _MAX_MESSAGE:
                raise CardPrinterOfflineError(
                    f"The printer at {_describe_uri(self.uri)} sent an answer larger than 16 MB; "
                    "check that the URI points at an IPP printer."
                )
            return response.status, payload
        except (OSError, http.client.HTTPException) as exc:
            reason = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else str(exc) or type(exc).__name__
            raise CardPrinterOfflineError(
                f"The card printer at {_describe_uri(self.uri)} does not answer ({reason}); check "
                "that it is switched on and connected, then try again."
            ) from exc
        finally:
            conn.close()

    def request(
        self,
        operation: int,
        operation_attrs: Iterable[IppAttribute] = (),
        job_attrs: Iterable[IppAttribute] = (),
        data: bytes = b"",
    ) -> IppMessage:
        """Send one operation (retrying while busy) and return the successful response."""
        for attempt in range(1, self.retries + 1):
            request_id = next(self._ids)
            op_group = {
                a.name: a
                for a in (
                    attr("attributes-charset", ValueTag.CHARSET, "utf-8"),
                    attr("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en"),
                    attr("printer-uri", ValueTag.URI, self.uri),
                    attr("requesting-user-name", ValueTag.NAME, self.user),
                    *operation_attrs,
                )
            }
            groups: list[tuple[int, dict[str, IppAttribute]]] = [(DelimiterTag.OPERATION, op_group)]
            job_group = {a.name: a for a in job_attrs}
            if job_group:
                groups.append((DelimiterTag.JOB, job_group))
            body = encode_message(IppMessage(operation, request_id, groups, data=data))
            http_status, payload = self._post(body)
            if http_status == 503:
                busy = True
                response = None
            elif http_status != 200:
                raise CardPrinterOfflineError(
                    f"The printer at {_describe_uri(self.uri)} answered HTTP {http_status} instead of "
                    "IPP; check the printer URI (for a CUPS queue: ipp://host:631/printers/NAME)."
                )
            else:
                response = decode_message(payload)
                if response.request_id != request_id:
                    raise CardPrinterOfflineError(
                        f"The printer at {_describe_uri(self.uri)} answered another request; try again."
                    )
                busy = response.code in RETRY_STATUSES
            if not busy and response is not None:
                if response.code >= 0x0400:
                    raise self._status_error(operation, response)
                return response
            if attempt < self.retries:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                log.info("printer busy, retrying in %.1f s (attempt %d of %d)", delay, attempt, self.retries)
                self.sleep(delay)
        raise CardPrinterBusyError(
            f"The card printer at {_describe_uri(self.uri)} stayed busy through {self.retries} "
            "attempts; wait until it has finished its current job, then try again."
        )

    def _status_error(self, operation: int, response: IppMessage) -> IppStatusError:
        op = _OPERATION_NAMES.get(operation, f"operation 0x{operation:04x}")
        detail = f" ({response.status_message})" if response.status_message else ""
        advice = _STATUS_ADVICE.get(response.code, "check the printer and try again")
        return IppStatusError(
            f"The card printer refused {op} with {response.status_name}{detail}; {advice}.",
            response.code,
        )

    # -- operations --

    def get_printer_attributes(self, requested: Sequence[str] = ("all",)) -> dict[str, IppAttribute]:
        response = self.request(
            Operation.GET_PRINTER_ATTRIBUTES,
            [attr("requested-attributes", ValueTag.KEYWORD, *requested)],
        )
        return response.group(DelimiterTag.PRINTER)

    def print_job(
        self,
        document: bytes,
        document_format: str,
        *,
        job_name: str = "citycard card",
        job_attrs: Iterable[IppAttribute] = (),
    ) -> dict[str, IppAttribute]:
        """Print-Job; returns the job attributes of the response (job-id, job-state, ...)."""
        response = self.request(
            Operation.PRINT_JOB,
            [
                attr("job-name", ValueTag.NAME, job_name),
                attr("document-format", ValueTag.MIME_MEDIA_TYPE, document_format),
            ],
            job_attrs,
            data=document,
        )
        return response.group(DelimiterTag.JOB)

    def get_job_attributes(
        self, job_id: int, requested: Sequence[str] = ("job-state", "job-state-reasons", "job-state-message")
    ) -> dict[str, IppAttribute]:
        response = self.request(
            Operation.GET_JOB_ATTRIBUTES,
            [
                attr("job-id", ValueTag.INTEGER, job_id),
                attr("requested-attributes", ValueTag.KEYWORD, *requested),
            ],
        )
        return response.group(DelimiterTag.JOB)

    def cancel_job(self, job_id: int) -> None:
        self.request(Operation.CANCEL_JOB, [attr("job-id", ValueTag.INTEGER, job_id)])


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


# -- the card printer -------------------------------------------------------------------------

# printer-state-reasons keywords (RFC 8011 5.4.12, PWG 5100.9) that stop a card printer.
_REASON_ERRORS: tuple[tuple[tuple[str, ...], type[CardPrinterError], str], ...] = (
    (("media-empty", "media-needed", "input-tray-missing"), OutOfCardsError,
     "The card printer has no blank cards; load cards into the feeder."),
    (("marker-supply-empty", "marker-supply-missing", "toner-empty", "marker-waste-full"), RibbonError,
     "The card printer's ribbon is used up or missing; replace the ribbon."),
    (("cover-open", "door-open", "interlock-open"), CardCoverOpenError,
     "The card printer's cover is open; close it."),
    (("media-jam", "jam"), CardJamError,
     "A card is jammed in the card printer; open it, remove the card and close it."),
    (("offline", "shutdown", "connecting-to-device"), CardPrinterOfflineError,
     "The card printer is offline; switch it on and check its cable."),
)
PREFERRED_FORMATS = ("application/pdf", "image/pwg-raster")


def _reason_keywords(reasons: Iterable[str]) -> list[str]:
    """Reasons that stop the printer: without a -warning or -report suffix, and not 'none'."""
    out = []
    for reason in reasons:
        if reason == "none" or reason.endswith(("-warning", "-report")):
            continue
        out.append(reason.removesuffix("-error"))
    return out


def raise_for_reasons(reasons: Iterable[str], stopped: bool, *, during_job: bool = False) -> None:
    """Raise the typed error for the first blocking printer-state reason."""
    keywords = _reason_keywords(reasons)
    after = " The card job was cancelled: print the card again." if during_job else ""
    for names, error, sentence in _REASON_ERRORS:
        if any(k in names for k in keywords):
            raise error(sentence + after, during_job=during_job)
    if stopped:
        listed = ", ".join(keywords) or "no reason given"
        raise CardPrinterError(
            f"The card printer is stopped ({listed}); check it and resume it.{after}",
            during_job=during_job,
        )


class IppCardPrinter:
    """A card printer reached over IPP (driverless, or a CUPS queue in front of a driver).

    Both sides go in one job: a two-page PDF, or a two-page PWG raster when the printer does
    not take PDF (chosen from document-format-supported). The job is sent with
    sides=two-sided-long-edge; a printer that cannot print two-sided is refused, since it
    would print the back on a second card. `print_card` returns once the job completed;
    a job that stops, aborts or does not complete within `job_timeout` is cancelled and
    raised as an error, so nothing is reported printed that was not.
    """

    def __init__(
        self,
        uri: str,
        *,
        timeout: float = 30.0,
        job_timeout: float = 180.0,
        poll_interval: float = 0.2,
        retries: int = 5,
        backoff: float = 0.5,
        formats: Sequence[str] = PREFERRED_FORMATS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = IppClient(uri, timeout=timeout, retries=retries, backoff=backoff, sleep=sleep)
        self.job_timeout = job_timeout
        self.poll_interval = poll_interval
        self.formats = tuple(formats)
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"IppCardPrinter({_describe_uri(self.client.uri)!r})"

    _STATUS_ATTRS = (
        "printer-state", "printer-state-reasons", "printer-state-message",
        "printer-is-accepting-jobs", "document-format-supported", "sides-supported",
        "pwg-raster-document-resolution-supported", "pwg-raster-document-type-supported",
        "printer-make-and-model",
    )

    def status(self) -> PrinterStatus:
        try:
            attrs = self.client.get_printer_attributes(self._STATUS_ATTRS)
        except CardPrinterOfflineError as exc:
            return PrinterStatus(False, "offline", ("offline",), str(exc))
        state_code = integer(attrs, "printer-state")
        state = PrinterState(state_code).name.lower() if state_code in (3, 4, 5) else "unknown"
        reasons = strings(attrs, "printer-state-reasons")
        accepting = bool(values(attrs, "printer-is-accepting-jobs")[:1] != (False,))
        blocking = _reason_keywords(reasons)
        ready = state != "stopped" and accepting and not blocking
        message = next(iter(strings(attrs, "printer-state-message")), "")
        details = {
            "make-and-model": next(iter(strings(attrs, "printer-make-and-model")), ""),
            "document-formats": ",".join(strings(attrs, "document-format-supported")),
        }
        return PrinterStatus(ready, state, tuple(reasons), message, details)

    def _choose_format(self, attrs: Mapping[str, IppAttribute]) -> str:
        supported = set(strings(attrs, "document-format-supported"))
        for fmt in self.formats:
            if fmt in supported:
                return fmt
        raise CardPrinterError(
            f"The card printer accepts none of {', '.join(self.formats)} (it accepts "
            f"{', '.join(sorted(supported)) or 'nothing it names'}); use a driverless IPP card "
            "printer or a CUPS queue with its driver."
        )

    def _pwg(self, attrs: Mapping[str, IppAttribute], front: Image.Image, back: Image.Image) -> bytes:
        resolutions = [v for v in values(attrs, "pwg-raster-document-resolution-supported") if isinstance(v, IppResolution)]
        dpis = sorted({r.x for r in resolutions if r.units == 3 and r.x == r.y}) or [300]
        dpi = 300 if 300 in dpis else min(dpis, key=lambda d: abs(d - 300))
        types = strings(attrs, "pwg-raster-document-type-supported")
        color = "srgb_8" if "srgb_8" in types or not types else "sgray_8"
        if color not in types and types and "sgray_8" not in types:
            raise CardPrinterError(
                f"The card printer accepts PWG raster only as {', '.join(types)}; citycard writes "
                "srgb_8 or sgray_8. Use PDF or another printer."
            )
        pages = [front, back]
        if dpi != 300:
            pages = [p.resize((round(p.width * dpi / 300), round(p.height * dpi / 300)), Image.Resampling.LANCZOS) for p in pages]
        return encode_pwg_raster(pages, dpi=dpi, color=color)

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        front = check_png(front_png, "front")
        back = check_png(back_png, "back")
        if front.size != back.size:
            raise CardPrinterError("The front and back of the card differ in size; render the card again.")
        attrs = self.client.get_printer_attributes(self._STATUS_ATTRS)
        state = integer(attrs, "printer-state")
        raise_for_reasons(strings(attrs, "printer-state-reasons"), state == PrinterState.STOPPED)
        if values(attrs, "printer-is-accepting-jobs")[:1] == (False,):
            raise CardPrinterError("The card printer is not accepting jobs; enable its queue and try again.")
        sides = strings(attrs, "sides-supported")
        if "two-sided-long-edge" not in sides:
            raise CardPrinterError(
                "The card printer prints one side only, so the back would come out on a second "
                "card; use a two-sided (duplex) card printer."
            )
        fmt = self._choose_format(attrs)
        if fmt == "application/pdf":
            dpi = round(float(front.info.get("dpi", (300, 300))[0]))  # PNG stores dots per metre
            document = _pdf(front, back, float(dpi))
        else:
            document = self._pwg(attrs, front, back)
        job = self.client.print_job(
            document,
            fmt,
            job_attrs=[attr("sides", ValueTag.KEYWORD, "two-sided-long-edge")],
        )
        job_id = integer(job, "job-id")
        if job_id is None:
            raise CardPrinterOfflineError("The card printer accepted the job but gave no job-id; check the printer.")
        final = self._wait(job_id, integer(job, "job-state"))
        return CardJobResult(
            printer=_describe_uri(self.client.uri),
            job_id=job_id,
            document_format=fmt,
            bytes_sent=len(document),
            state=final,
        )

    def _wait(self, job_id: int, state: int | None) -> str:
        deadline = time.monotonic() + self.job_timeout
        reasons: tuple[str, ...] = ()
        while state != JobState.COMPLETED:
            if state in (JobState.CANCELED, JobState.ABORTED):
                listed = ", ".join(r for r in reasons if r != "none") or "no reason given"
                raise CardPrinterError(
                    f"The card printer {'cancelled' if state == JobState.CANCELED else 'aborted'} "
                    f"the card job ({listed}); the card was not printed. Check the printer and print again.",
                    during_job=True,
                )
            if state == JobState.PROCESSING_STOPPED or time.monotonic() >= deadline:
                printer = self.client.get_printer_attributes(("printer-state", "printer-state-reasons"))
                self._cancel(job_id)
                raise_for_reasons(strings(printer, "printer-state-reasons"), True, during_job=True)
                raise CardPrinterError(
                    f"The card job did not finish within {self.job_timeout:g} s and was cancelled; "
                    "check the printer and print the card again.",
                    during_job=True,
                )
            self.sleep(self.poll_interval)
            job = self.client.get_job_attributes(job_id)
            state = integer(job, "job-state")
            reasons = strings(job, "job-state-reasons")
        return "completed"

    def _cancel(self, job_id: int) -> None:
        try:
            self.client.cancel_job(job_id)
        except CardPrinterError as exc:
            log.warning("could not cancel card job %d: %s", job_id, type(exc).__name__)


def _pdf(front: Image.Image, back: Image.Image, dpi: float) -> bytes:
    buf = io.BytesIO()
    front.convert("RGB").save(
        buf, "PDF", resolution=dpi, save_all=True, append_images=[back.convert("RGB")],
        quality=95, subsampling=0, title="citycard", creationDate=time.gmtime(0), modDate=time.gmtime(0),
    )
    return buf.getvalue()
