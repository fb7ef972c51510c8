"""Base45 (RFC 9285): the QR alphanumeric-mode text encoding of binary data."""

from __future__ import annotations

from .errors import MalformedError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """Decode base45 text; MalformedError on any character or group RFC 9285 does not allow."""
    try:
        values = [_VALUE[ch] for ch in text]
    except KeyError as exc:
        raise MalformedError("The QR text holds a character that base45 does not use.") from exc
    if len(values) % 3 == 1:
        raise MalformedError("The QR text has a base45 length that cannot be decoded.")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        if len(group) == 3:
            n = group[0] + group[1] * 45 + group[2] * 2025
            if n > 0xFFFF:
                raise MalformedError("The QR text holds a base45 group out of range.")
            out += n.to_bytes(2, "big")
        else:
            n = group[0] + group[1] * 45
            if n > 0xFF:
                raise MalformedError("The QR text holds a base45 group out of range.")
            out.append(n)
    return bytes(out)
