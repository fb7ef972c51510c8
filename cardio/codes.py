"""Secrets the issuer hands out and keeps only as hashes.

Revocation codes
    The one-time code printed on the resident's receipt, in the receipt's format
    (printer/receipt.py): 10 characters of Crockford base32 (50 random bits), printed as
    `XXXXX-XXXXX`. Typing is forgiving: case, spaces and hyphens do not matter, and O, I, L, U
    are read as 0, 1, 1, V. A phone's own digits, full-width forms, dashes and invisible spaces
    are read as what they look like (`fold_typed`), so ٩ is 9 and – is -. The registry keeps
    only the self-describing digest

        scrypt$15$8$1$<salt, base64url>$<32-byte hash, base64url>

    (N = 2^15, r = 8, p = 1: ~0.1 s and 32 MiB per guess, which puts 2^50 guesses out of reach
    of anyone holding a copy of the registry) when a kiosk makes the code itself
    (`printer.receipt.RevocationCode`, which then reports only the digest), or

        hmac-sha256$<salt, base64url>$<HMAC-SHA-256(pepper, salt || code), base64url>

    when the issuer makes it (the code returned with an allocation). The pepper is a 256-bit
    secret kept in the issuer's directory, never in the registry: the code is random, so a
    keyed hash needs no slow KDF to be safe against a copy of the registry (see docs/api.md,
    "Receipt codes"), and an allocation costs microseconds instead of a scrypt. Digests of
    either kind keep verifying. A check always runs one scrypt and one HMAC, against a dummy
    digest when the card does not exist, so the time an answer takes never tells whether a
    number exists, nor which kind of digest it has.

Staff tokens
    `ccs_` + 43 characters of base64url (256 random bits). High entropy, so the registry keeps a
    plain SHA-256 of the token and finds the staff account by that hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import unicodedata

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
MAX_TYPED = 64  # the longest text read as a code (spaces and marks included)
LOG_N, R, P = 15, 8, 1
_MAXMEM = 64 * 1024 * 1024
_DKLEN = 32
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V", "-": None})
# Dash-like characters that are not Unicode dash punctuation (Pd): minus sign, katakana long
# vowel mark (what a Japanese keyboard gives for '-').
_MORE_DASHES = frozenset("\u2212\u30fc\u2043\ufe63")
STAFF_TOKEN_PREFIX = "ccs_"
HMAC_SCHEME = "hmac-sha256"


def new_revocation_code() -> str:
    """A fresh code as printed on the receipt, e.g. `7KQ2M-XR4PD`."""
    raw = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def fold_typed(text: str) -> str:
    """`text` as typed on any keyboard, read as the ASCII it shows: full-width forms (NFKC),
    any script's decimal digits (Arabic-Indic ٣ is 3), any dash as '-', and without spaces or
    invisible characters (no-break, zero-width, direction marks). For receipt codes and
    document numbers, which are ASCII: a holder whose phone types its own digits must not
    spend attempts on a right code."""
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            continue
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
        elif ch in _MORE_DASHES or unicodedata.category(ch) == "Pd":
            out.append("-")
        else:
            out.append(ch)
    return "".join(out)


def normalise_code(code: str) -> str | None:
    """The code's 10 canonical characters, or None when it cannot be a code at all."""
    if len(code) > MAX_TYPED:  # no typing of a code is this long; folding stays cheap
        return None
    canon = fold_typed(code).upper().translate(_READ_AS)
    if len(canon) != CODE_LENGTH or any(ch not in CROCKFORD for ch in canon):
        return None
    return canon


def _scrypt(canon: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        canon.encode("ascii"), salt=salt, n=1 << LOG_N, r=R, p=P, maxmem=_MAXMEM, dklen=_DKLEN
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_code(code: str) -> str:
    """The digest of a code (which must be a valid code)."""
    canon = normalise_code(code)
    if canon is None:
        raise ValueError("not a revocation code")
    salt = secrets.token_bytes(16)
    return f"scrypt${LOG_N}${R}${P}${_b64(salt)}${_b64(_scrypt(canon, salt))}"


def hash_code_keyed(code: str, pepper: bytes) -> str:
    """The issuer's digest of a code (which must be a valid code): HMAC-SHA-256 under the
    issuer's secret pepper, salted so that equal codes of two cards hash apart."""
    canon = normalise_code(code)
    if canon is None:
        raise ValueError("not a revocation code")
    salt = secrets.token_bytes(16)
    return f"{HMAC_SCHEME}${_b64(salt)}${_b64(_hmac(pepper, salt, canon))}"


def _hmac(pepper: bytes, salt: bytes, canon: str) -> bytes:
    return hmac.new(pepper, salt + canon.encode("ascii"), hashlib.sha256).digest()


def parse_keyed_digest(digest: str | None) -> tuple[bytes, bytes] | None:
    """(salt, mac) of an issuer-made `hmac-sha256$...` digest, else None."""
    if not digest or len(digest) > 128:
        return None
    parts = digest.split("$")
    if len(parts) != 3 or parts[0] != HMAC_SCHEME:
        return None
    try:
        salt, expected = _unb64(parts[1]), _unb64(parts[2])
    except ValueError:
        return None
    if len(salt) != 16 or len(expected) != _DKLEN:
        return None
    return salt, expected


def parse_digest(digest: str | None) -> tuple[bytes, bytes] | None:
    """(salt, hash) of a digest with exactly citycard's parameters, else None."""
    if not digest or len(digest) > 128:
        return None
    parts = digest.split("$")
    if len(parts) != 6 or parts[:4] != ["scrypt", str(LOG_N), str(R), str(P)]:
        return None
    try:
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if not 16 <= len(salt) <= 32 or len(expected) != _DKLEN:
        return None
    return salt, expected


@functools.cache
def _dummy() -> tuple[bytes, bytes]:
    """Checked against when there is no card or no code, so that the time taken reveals
    nothing (made on first use: importing this module costs no scrypt)."""
    parsed = parse_digest(hash_code(new_revocation_code()))
    assert parsed is not None
    return parsed


def prepare() -> None:
    """Make the dummy digest now (the server calls this at start), not on the first check."""
    _dummy()


def check_code(code: str, stored: str | None, pepper: bytes | None = None) -> bool:
    """True when `code` matches `stored` (a scrypt digest, or with `pepper` an issuer-made
    keyed digest); always runs one scrypt and one HMAC, whatever the inputs."""
    canon = normalise_code(code)
    text = canon or "0" * CODE_LENGTH
    parsed = parse_digest(stored)
    salt, expected = parsed or _dummy()
    same = hmac.compare_digest(_scrypt(text, salt), expected) and parsed is not None
    keyed = parse_keyed_digest(stored) if pepper is not None else None
    k_salt, k_expected = keyed or (bytes(16), bytes(_DKLEN))
    k_same = hmac.compare_digest(_hmac(pepper or bytes(32), k_salt, text), k_expected)
    return (same or (k_same and keyed is not None)) and canon is not None


def new_staff_token() -> str:
    return STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_staff_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
