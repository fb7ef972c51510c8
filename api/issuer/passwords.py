"""Desk passwords: kept only as a salted scrypt digest, checked with the same work whether or
not the account exists.

    scrypt$14$8$1$<salt, base64url>$<32-byte hash, base64url>

(N = 2^14, r = 8, p = 1: about 50 ms and 16 MiB per guess.) A password is at least
`MIN_LENGTH` characters; what it may contain is not restricted (a passphrase is welcome),
except control characters.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import unicodedata

LOG_N, R, P = 14, 8, 1
MIN_LENGTH = 12
MAX_LENGTH = 256  # a longer one costs the server more work, not the guesser
_DKLEN = 32
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes) -> bytes:
    # NFC, so that the same passphrase typed on two keyboards is the same bytes.
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(data, salt=salt, n=1 << LOG_N, r=R, p=P, maxmem=_MAXMEM, dklen=_DKLEN)


def has_control(password: str) -> bool:
    """True when `password` holds a control character (NUL, a tab, a line break ...): no
    keyboard types one into a password field, and they are cut off or changed on the way."""
    return any(unicodedata.category(ch) == "Cc" for ch in password)


def acceptable(password: str) -> bool:
    return (
        MIN_LENGTH <= len(password) <= MAX_LENGTH
        and password.strip() != ""
        and not has_control(password)
    )


def hash_password(password: str) -> str:
    """The digest the registry keeps (the password must be `acceptable`)."""
    if not acceptable(password):
        raise ValueError("password too short or too long")
    salt = secrets.token_bytes(16)
    return f"scrypt${LOG_N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt))}"


def _parse(digest: str | None) -> tuple[bytes, bytes] | None:
    if not digest:
        return None
    parts = digest.split("$")
    if len(parts) != 6 or parts[:4] != ["scrypt", str(LOG_N), str(R), str(P)]:
        return None
    try:
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if len(salt) != 16 or len(expected) != _DKLEN:
        return None
    return salt, expected


@functools.cache
def _dummy() -> tuple[bytes, bytes]:
    """Checked against when there is no account or no password: the same work either way."""
    return secrets.token_bytes(16), secrets.token_bytes(_DKLEN)


def check_password(password: str, digest: str | None) -> bool:
    """True when `password` matches `digest`; one scrypt whatever the inputs."""
    parsed = _parse(digest)
    salt, expected = parsed or _dummy()
    candidate = password[:MAX_LENGTH]
    same = hmac.compare_digest(_derive(candidate, salt), expected)
    return same and parsed is not None and len(password) <= MAX_LENGTH
