"""Attendant approval: a PIN checked against a configured hash (never the PIN itself).

The hash format is `pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX`; `hash_pin` makes one
(`python -m kiosk.web.attendant` asks for a PIN and prints its hash).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "pbkdf2-sha256"
ITERATIONS = 200_000
MAX_ATTEMPTS = 5  # wrong PINs in one session before the attendant step locks
LOCK_SECONDS = 60.0


class PinHashError(ValueError):
    """A configured PIN hash that cannot be used; the message says how to make one."""


def hash_pin(pin: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def check_pin_hash(pin_hash: str) -> None:
    """Raise PinHashError unless `pin_hash` is a hash that `hash_pin` could have made."""
    parts = pin_hash.split("$")
    try:
        ok = (
            len(parts) == 4
            and parts[0] == SCHEME
            and int(parts[1]) >= 1000
            and len(bytes.fromhex(parts[2])) >= 8
            and len(bytes.fromhex(parts[3])) == 32
        )
    except ValueError:
        ok = False
    if not ok:
        raise PinHashError(
            "The attendant PIN hash must look like pbkdf2-sha256$ITERATIONS$SALT$HASH; "
            "make one with: python -m kiosk.web.attendant"
        )


def verify_pin(pin: str, pin_hash: str) -> bool:
    check_pin_hash(pin_hash)
    _scheme, iterations, salt_hex, digest_hex = pin_hash.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iterations))
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


def main() -> None:  # pragma: no cover - interactive helper
    import getpass

    pin = getpass.getpass("Attendant PIN: ")
    if not pin.isdigit() or len(pin) < 4:
        raise SystemExit("Use at least 4 digits.")
    if getpass.getpass("Again: ") != pin:
        raise SystemExit("The two PINs differ.")
    print(hash_pin(pin))


if __name__ == "__main__":  # pragma: no cover
    main()
