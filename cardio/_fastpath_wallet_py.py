"""The pure-Python twins of cardio/_fastpath.c's wallet readers (re-exported by
cardio/_fastpath_py.py, which holds the rest of the fast path).

mso(payload)   an mdoc MSO in the one shape citycard issues, or None (cbor2 then decides).
json(data)     JSON in the subset citycard writes, as (value,), or None (json then decides).
device_response(data)  an mdoc DeviceResponse in the one shape citycard's wallets write, as
               (issuer_auth, elements, device_signature), or None (cbor2 then decides).
jws(token)     a compact ES256 JWS as cardio.jws.parse reads it, or None (it then decides).
disclosures(signed)  an SD-JWT's issued part as cardio.sdjwt.SdJwt.parse reads it, or None.
unfold(node, by_digest)  an SD-JWT payload with its digests replaced by the disclosures, and
               the digests used, or None (cardio.sdjwt._unfold then decides).

Each accepts exactly what the C accepts and returns the same values
(tests/test_presentation_fastpath.py holds them equal, and to cbor2's and the json module's
readings).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

_MSO_HEAD: Final = b"\xa7\x66status\xa1\x6bstatus_list\xa2\x63idx"
_MSO_DOCTYPE_AND_VERSION: Final = (
    b"\x67docType\x77org.citycard.resident.1\x67version\x631.0\x6cvalidityInfo\xa3"
)
_MSO_TDATE_KEYS: Final = (b"\x66signed", b"\x69validFrom", b"\x6avalidUntil")
_MSO_DIGESTS: Final = b"\x6cvalueDigests\xa1\x77org.citycard.resident.1"
_MSO_DEVICE_KEY: Final = b"\x6ddeviceKeyInfo\xa1\x69deviceKey\xa4\x01\x02\x20\x01\x21\x58\x20"
_MSO_TAIL: Final = b"\x6fdigestAlgorithm\x67SHA-256"
_TDATE: Final = re.compile(rb"\xc0\x74[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_UINT_BELOW = (24, 0x100, 0x10000, 0x100000000)


class _Refused(Exception):
    """The bytes are not the template (mso returns None)."""


class _Bytes:
    """A cursor over deterministic CBOR that refuses (with _Refused) anything unexpected."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def head(self) -> tuple[int, int]:
        if self.at >= len(self.data):
            raise _Refused
        b = self.data[self.at]
        self.at += 1
        info = b & 0x1F
        if info < 24:
            return b >> 5, info
        if info > 27:
            raise _Refused
        n = 1 << (info - 24)
        if len(self.data) - self.at < n:
            raise _Refused
        value = int.from_bytes(self.data[self.at : self.at + n], "big")
        self.at += n
        if value < _UINT_BELOW[info - 24]:
            raise _Refused
        return b >> 5, value

    def expect(self, major: int) -> int:
        got, value = self.head()
        if got != major:
            raise _Refused
        return value

    def span(self, length: int) -> bytes:
        if len(self.data) - self.at < length:
            raise _Refused
        self.at += length
        return self.data[self.at - length : self.at]

    def literal(self, want: bytes) -> None:
        if self.data[self.at : self.at + len(want)] != want:
            raise _Refused
        self.at += len(want)

    def tdate(self, key: bytes) -> str:
        self.literal(key)
        text = self.data[self.at : self.at + 22]
        if not _TDATE.fullmatch(text):
            raise _Refused
        t = text[2:]
        month, day, hour, minute, second = (int(t[i : i + 2]) for i in (5, 8, 11, 14, 17))
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
            raise _Refused
        self.at += 22
        return t.decode("ascii")


def mso(payload: object, /) -> tuple[dict[int, bytes], bytes, bytes, str, str, str, int, str] | None:
    """mso(payload) -> (digests, x, y, signed, validFrom, validUntil, idx, uri) of an issuerAuth
    payload holding citycard's MSO in its one deterministic shape, or None for any other bytes."""
    if type(payload) is not bytes or payload[:2] != b"\xd8\x18":
        return None
    r = _Bytes(payload)
    r.at = 2
    try:
        if r.expect(2) != len(payload) - r.at:
            return None
        r.literal(_MSO_HEAD)
        idx = r.expect(0)
        r.literal(b"\x63uri")
        try:
            uri = r.span(r.expect(3)).decode("utf-8")
        except UnicodeDecodeError:
            return None
        r.literal(_MSO_DOCTYPE_AND_VERSION)
        signed, valid_from, valid_until = (r.tdate(k) for k in _MSO_TDATE_KEYS)
        r.literal(_MSO_DIGESTS)
        major, count = r.head()
        if major != 5 or count > len(payload) - r.at:
            return None
        digests: dict[int, bytes] = {}
        previous = -1
        for _ in range(count):
            digest_id = r.expect(0)
            if digest_id <= previous:  # unsigned keys strictly increasing: canonical, none twice
                return None
            previous = digest_id
            digests[digest_id] = r.span(r.expect(2))
        r.literal(_MSO_DEVICE_KEY)
        x = r.span(32)
        r.literal(b"\x22\x58\x20")
        y = r.span(32)
        r.literal(_MSO_TAIL)
    except _Refused:
        return None
    if r.at != len(payload):
        return None
    return digests, x, y, signed, valid_from, valid_until, idx, uri


_JSON_MAX_DEPTH: Final = 32
_JSON_DIGITS = re.compile(rb"-?([0-9]*)")
_JSON_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
_JSON_WORDS: Final = {ord("t"): (b"true", True), ord("f"): (b"false", False), ord("n"): (b"null", None)}


class _Json:
    """The subset reader of `json`: every method raises _Refused for what it does not take."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at, self.depth = data, 0, 0

    def value(self) -> object:
        data, at = self.data, self.at
        if at >= len(data):
            raise _Refused
        c = data[at]
        if c == 0x22:  # "
            return self.string()
        if c in (0x7B, 0x5B):  # { [
            self.depth += 1
            if self.depth > _JSON_MAX_DEPTH:
                raise _Refused
            out = self.object() if c == 0x7B else self.array()
            self.depth -= 1
            return out
        if c in _JSON_WORDS:
            word, value = _JSON_WORDS[c]
            if data[at : at + len(word)] != word:
                raise _Refused
            self.at += len(word)
            return value
        if c == 0x2D or 0x30 <= c <= 0x39:  # - or a digit
            return self.number()
        raise _Refused

    def string(self) -> str:
        start = self.at + 1
        match = _JSON_PLAIN.match(self.data, start)
        assert match is not None  # the pattern matches the empty text too
        end = match.end()  # the first quote, backslash or control character, or the end
        if self.data[end : end + 1] != b'"':
            raise _Refused
        self.at = end + 1
        try:
            return self.data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused from None

    def number(self) -> int:
        match = _JSON_DIGITS.match(self.data, self.at)
        assert match is not None  # the pattern matches the empty text too
        digits = match.group(1)
        self.at = match.end()
        if not 1 <= len(digits) <= 18 or (len(digits) > 1 and digits[:1] == b"0"):
            raise _Refused
        if self.data[self.at : self.at + 1] in (b".", b"e", b"E"):
            raise _Refused
        return int(match.group(0))

    def array(self) -> list[object]:
        self.at += 1
        out: list[object] = []
        if self.data[self.at : self.at + 1] == b"]":
            self.at += 1
            return out
        while True:
            out.append(self.value())
            sep = self.data[self.at : self.at + 1]
            self.at += 1
            if sep == b"]":
                return out
            if sep != b",":
                raise _Refused

    def object(self) -> dict[str, object]:
        self.at += 1
        out: dict[str, object] = {}
        if self.data[self.at : self.at + 1] == b"}":
            self.at += 1
            return out
        while True:
            if self.data[self.at : self.at + 1] != b'"':
                raise _Refused
            key = self.string()
            if key in out or self.data[self.at : self.at + 1] != b":":  # a member named twice
                raise _Refused
            self.at += 1
            out[key] = self.value()
            sep = self.data[self.at : self.at + 1]
            self.at += 1
            if sep == b"}":
                return out
            if sep != b",":
                raise _Refused


def json(data: object, /) -> tuple[object] | None:
    """json(data) -> (value,) for UTF-8 JSON in the subset citycard writes (no white space, no
    string escapes, integers of up to 18 digits, no member named twice, nesting up to 32), or
    None for anything else."""
    if type(data) is not bytes:
        return None
    reader = _Json(data)
    try:
        value = reader.value()
    except _Refused:
        return None
    if reader.at != len(data):
        return None
    return (value,)


_DR_HEAD: Final = (
    b"\xa3\x66status\x00\x67version\x631.0\x69documents\x81"
    b"\xa3\x67docType\x77org.citycard.resident.1"
    b"\x6cdeviceSigned\xa2\x6adeviceAuth\xa1\x6fdeviceSignature\x84\x43\xa1\x01\x26\xa0\xf6\x58\x40"
)
_DR_MIDDLE: Final = b"\x6anameSpaces\xd8\x18\x41\xa0\x6cissuerSigned\xa2\x6aissuerAuth\x84"
_DR_NAMESPACES: Final = b"\x6anameSpaces\xa1\x77org.citycard.resident.1"
_FULL_DATE: Final = re.compile(rb"\xd9\x03\xec\x6a([0-9]{4})-([0-9]{2})-([0-9]{2})")

Element = tuple[str, int, Any, bytes]


def _text(r: _Bytes, length: int) -> str:
    try:
        return r.span(length).decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused from None


def _element_value(r: _Bytes) -> Any:
    """An elementValue of a kind citycard issues (text, bytes, a boolean, a full-date, an array
    of texts); _Refused for any other."""
    first = r.data[r.at : r.at + 1]
    if first in (b"\xf4", b"\xf5"):
        r.at += 1
        return first == b"\xf5"
    if first == b"\xd9":
        match = _FULL_DATE.match(r.data, r.at)
        if match is None:
            raise _Refused
        r.at = match.end()
        try:  # the date type decides the calendar
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            raise _Refused from None
    major, length = r.head()
    if major == 2:
        return r.span(length)
    if major == 3:
        return _text(r, length)
    if major != 4 or length > len(r.data) - r.at:
        raise _Refused
    return [_text(r, r.expect(3)) for _ in range(length)]


def _element(r: _Bytes) -> Element:
    """One #6.24(bstr .cbor IssuerSignedItem) in citycard's shape, as an element tuple."""
    start = r.at
    r.literal(b"\xd8\x18")
    item = _Bytes(r.span(r.expect(2)))
    item.literal(b"\xa4\x66random")
    item.span(item.expect(2))
    item.literal(b"\x68digestID")
    digest_id = item.expect(0)
    item.literal(b"\x6celementValue")
    value = _element_value(item)
    item.literal(b"\x71elementIdentifier")
    name = _text(item, item.expect(3))
    if item.at != len(item.data):
        raise _Refused
    return name, digest_id, value, r.data[start : r.at]


def device_response(data: object, /) -> tuple[list[Any], list[Element], bytes] | None:
    """device_response(data) -> (issuer_auth, elements, device_signature) of an mdoc
    DeviceResponse in the one deterministic shape citycard's wallets write (see the C), or None
    for any other bytes."""
    if type(data) is not bytes or len(data) > 64 * 1024:
        return None
    r = _Bytes(data)
    try:
        r.literal(_DR_HEAD)
        device_signature = r.span(64)
        r.literal(_DR_MIDDLE)
        protected = r.span(r.expect(2))
        unprotected: dict[int, bytes] = {}
        if data[r.at : r.at + 1] == b"\xa0":
            r.at += 1
        else:
            r.literal(b"\xa1\x18\x21")  # {33: one certificate}, x5chain
            unprotected[33] = r.span(r.expect(2))
        payload = r.span(r.expect(2))
        signature = r.span(r.expect(2))
        r.literal(_DR_NAMESPACES)
        major, count = r.head()
        if major != 4 or count > len(data) - r.at:
            return None
        elements: list[Element] = []
        names: set[str] = set()
        for _ in range(count):
            element = _element(r)
            if element[0] in names:  # an element named twice: the general path says so
                return None
            names.add(element[0])
            elements.append(element)
    except _Refused:
        return None
    if r.at != len(data):
        return None
    return [protected, unprotected, payload, signature], elements, device_signature


_UNFOLD_MAX_DEPTH: Final = 32


class _Unfold:
    """The walk of `unfold`: every method raises _Refused where cardio.sdjwt._unfold would
    refuse (or the nesting is too deep)."""

    def __init__(self, by_digest: dict[str, Any]) -> None:
        self.by_digest, self.used, self.seen, self.depth = by_digest, set[str](), set[str](), 0

    def nested(self, value: Any) -> Any:
        if type(value) is dict or type(value) is list:
            return self.node(value)
        if isinstance(value, dict | list):  # not JSON's: _unfold decides
            raise _Refused
        return value

    def take(self, item: object) -> Any:
        """The disclosure of a digest seen for the first time (None: there is none)."""
        if type(item) is not str or item in self.seen:
            raise _Refused
        self.seen.add(item)
        return self.by_digest.get(item)

    def use(self, found: Any) -> tuple[Any, Any]:
        try:
            name, value, digest = found.name, found.value, found.digest
            self.used.add(digest)
        except (AttributeError, TypeError):
            raise _Refused from None
        return name, value

    def node(self, node: dict[Any, Any] | list[Any]) -> Any:
        self.depth += 1
        if self.depth > _UNFOLD_MAX_DEPTH:
            raise _Refused
        out = self.obj(node) if type(node) is dict else self.array(node)  # type: ignore[arg-type]
        self.depth -= 1
        return out

    def obj(self, node: dict[Any, Any]) -> dict[str, Any]:
        digests = node.get("_sd", [])
        if type(digests) is not list:
            raise _Refused
        out: dict[str, Any] = {}
        for key, value in node.items():
            if type(key) is not str or key in ("...", "_sd_alg"):
                raise _Refused
            if key != "_sd":
                out[key] = self.nested(value)
        for item in digests:
            found = self.take(item)
            if found is None:
                continue
            name, value = self.use(found)
            if type(name) is not str or name in out:  # an element's disclosure, or an overwrite
                raise _Refused
            out[name] = self.nested(value)
        return out

    def array(self, node: list[Any]) -> list[Any]:
        out: list[Any] = []
        for element in node:
            if type(element) is dict and "..." in element:
                if len(element) != 1:
                    raise _Refused
                found = self.take(element["..."])
                if found is None:
                    continue
                name, value = self.use(found)
                if name is not None:  # a member's disclosure as an element
                    raise _Refused
                out.append(self.nested(value))
            else:
                out.append(self.nested(element))
        return out


def unfold(node: object, by_digest: object, /) -> tuple[Any, set[str]] | None:
    """unfold(node, by_digest) -> (claims, used) as cardio.sdjwt._unfold reads an SD-JWT
    payload when it does not refuse, or None (it refuses, or nests too deep)."""
    if type(by_digest) is not dict or not (type(node) is dict or type(node) is list):
        return None
    walk = _Unfold(by_digest)
    try:
        claims = walk.node(node)
    except _Refused:
        return None
    return claims, walk.used


def jws(token: object, /) -> tuple[dict[str, object], dict[str, object], bytes, bytes] | None:
    """jws(token) -> (header, payload, signing_input, signature) of a compact ES256 JWS whose
    JSON texts json() reads (header with alg ES256 and no crit, payload an object, a 64-byte
    signature), or None for anything else."""
    from ._fastpath_py import b64u_decode  # that module imports this one

    if type(token) is not str or not token.isascii() or len(token) > 64 * 1024:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    head, body, signature = (b64u_decode(part) for part in parts)
    if head is None or body is None or signature is None or len(signature) != 64:
        return None
    read_header, read_payload = (json(text) if text[:1] == b"{" else None for text in (head, body))
    if read_header is None or read_payload is None:
        return None
    header, payload = read_header[0], read_payload[0]
    if type(header) is not dict or type(payload) is not dict:  # (a text starting "{" is one)
        return None
    alg = header.get("alg")
    if type(alg) is not str or alg != "ES256" or "crit" in header:
        return None
    return header, payload, token[: len(parts[0]) + 1 + len(parts[1])].encode("ascii"), signature


_MAX_DISCLOSURES: Final = 64
_RESERVED_NAMES: Final = ("_sd", "...", "_sd_alg")

Disclosed = tuple[str, str, str | None, object]


def disclosures(signed: object, /) -> tuple[str, list[Disclosed]] | None:
    """disclosures(signed) -> (jwt, [(encoded, salt, name, value), ...]) of an SD-JWT's issued
    part `<JWT>~<disclosure>~...~` whose disclosures' JSON json() reads, or None."""
    from ._fastpath_py import b64u_decode  # that module imports this one

    if type(signed) is not str or not signed.isascii() or not signed.endswith("~"):
        return None
    jwt, *encoded, _ = signed.split("~")
    if len(encoded) > _MAX_DISCLOSURES:
        return None
    out: list[Disclosed] = []
    for text in encoded:
        raw = b64u_decode(text)
        read = json(raw) if raw is not None and raw[:1] == b"[" else None
        parts = None if read is None else read[0]
        if type(parts) is not list or len(parts) not in (2, 3):
            return None
        salt, name = parts[0], parts[1] if len(parts) == 3 else None
        if type(salt) is not str or not salt:
            return None
        if name is not None and (type(name) is not str or name in _RESERVED_NAMES):
            return None
        out.append((text, salt, name, parts[-1]))
    return jwt, out
