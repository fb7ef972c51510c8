"""Attendant approval: a PIN checked against a configured hash (never the PIN itself), and the
kiosk-wide lockout that makes guessing it slow.

The hash format is `pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX`; `hash_pin` makes one
(`python -m kiosk.web.attendant` asks for a PIN and prints its hash).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cardio.errors import CitycardError

SCHEME = "pbkdf2-sha256"
ITERATIONS = 200_000
FREE_ATTEMPTS = 5  # wrong PINs in a row on one kiosk before the PIN is refused for a while
FIRST_LOCK_SECONDS = 30.0  # then doubled with each further wrong PIN...
MAX_LOCK_SECONDS = 15 * 60.0  # ...up to this


class PinHashError(CitycardError, ValueError):
    """A configured PIN hash that cannot be used; the message says how to make one. A
    CitycardError, so that the command lines show it as their one-line error."""


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


@dataclass(frozen=True, slots=True)
class PinAttempt:
    accepted: bool
    wait: float  # seconds before the next PIN is checked; 0 when the PIN is not locked


class PinLockout:
    """Wrong attendant PINs on one kiosk, counted across all its sessions.

    A lock per session let anyone open fresh sessions for fresh guesses. Here the count belongs
    to the kiosk: after FREE_ATTEMPTS wrong PINs in a row no PIN is checked for
    FIRST_LOCK_SECONDS, and each further wrong PIN doubles the wait (up to MAX_LOCK_SECONDS).
    A right PIN resets the count. Thread-safe.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._failures = 0
        self._locked_until: float | None = None
        # Held across the check itself, so that PINs sent at once are counted one by one and
        # none slips past the lock while another is being hashed.
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Seconds until a PIN is checked again (0 when it is not locked)."""
        with self._lock:
            return self._wait_locked(self._clock())

    def _wait_locked(self, now: float) -> float:
        if self._locked_until is None or now >= self._locked_until:
            return 0.0
        return self._locked_until - now

    def attempt(self, check: Callable[[], bool]) -> PinAttempt:
        """Run `check` (is the PIN right?) unless the PIN is locked, and count the outcome."""
        with self._lock:
            now = self._clock()
            if wait := self._wait_locked(now):
                return PinAttempt(False, wait)  # not checked: guessing while locked gains nothing
            if check():
                self._failures, self._locked_until = 0, None
                return PinAttempt(True, 0.0)
            self._failures += 1
            extra = self._failures - FREE_ATTEMPTS
            if extra < 0:
                return PinAttempt(False, 0.0)
            delay = min(FIRST_LOCK_SECONDS * 2.0 ** min(extra, 32), MAX_LOCK_SECONDS)
            self._locked_until = now + delay
            return PinAttempt(False, delay)


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
