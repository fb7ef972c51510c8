"""Wallet pickups: the sealed packages kiosks leave for phones, and the rules that delete them.

A pickup lives at most `PICKUP_TTL` (15 minutes) and is taken once: by our wallet page (`take`,
which checks the page's proof that it holds the key, hands over the ciphertext and deletes the
row) or by a standard wallet through
OpenID4VCI (`redeem` checks the transaction code by opening the package, then `open_for_token`
and `deliver` serve the two credential requests; the row goes when both are fetched). Every
operation first deletes what has expired, so nothing outlives its 15 minutes by more than the
next request; `sweep` does the same for a caller with nothing else to do.

The store never holds a key: the wallet page's key is in the URL fragment, a standard wallet's
is in its pre-authorized code (half) and the kiosk's screen (the other half), then in its
access token. Opened packages are returned to the caller and never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cardio.errors import CitycardError, MalformedError
from cardio.jwk import b64u, b64u_decode
from cardio.wallet_package import (
    CONFIGURATIONS,
    MAX_CIPHERTEXT,
    NONCE_BYTES,
    PICKUP_TTL,
    TAG_BYTES,
    TX_CODE_LENGTH,
    PackageError,
    derive_key,
    is_pickup_id,
    is_pickup_proof,
    open_package,
    split_pre_authorized_code,
)

from .registry import Registry
from .registry import wallet_queries as q
from .registry.wallet_schema import WalletPickup

MAX_TX_CODE_FAILURES = 5


class PickupError(CitycardError):
    """A pickup request that cannot be served; `code` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


GONE = PickupError(
    "pickup_gone",
    "There is no card waiting here: it was already taken, or its 15 minutes are over. "
    "Ask at the kiosk or the city's office for a new offer.",
)
WRONG_PROOF = PickupError(
    "pickup_link_damaged",
    "The link's key does not fit this pickup: the link is damaged. The card is still waiting; "
    "scan the kiosk's code again.",
)


@dataclass(frozen=True)
class Uploaded:
    pickup_id: str
    expires_at: int


@dataclass(frozen=True)
class Taken:
    ciphertext: bytes
    expires_at: int


@dataclass(frozen=True)
class Redeemed:
    access_token: str
    expires_in: int


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _same_token(kept: str | None, token: str) -> bool:
    return kept is not None and hmac.compare_digest(kept, _token_hash(token))


class PickupStore:
    """Wallet pickups in the registry `registry()` opens; `clock` gives seconds since 1970."""

    def __init__(
        self, registry: Callable[[], Registry], clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = registry
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())

    def sweep(self) -> int:
        """Delete every expired pickup; how many went."""
        with self.registry().write() as s:
            return q.sweep(s, self._now())

    def upload(self, pickup_id: str, ciphertext: bytes, proof: str | None = None) -> Uploaded:
        """Keep `ciphertext` under `pickup_id` for PICKUP_TTL seconds; `proof`, the wallet
        page's proof that it holds the key, is kept as its SHA-256 (a kiosk that sends none
        leaves a pickup the page takes without one)."""
        if not is_pickup_id(pickup_id):
            raise PickupError("bad_request", "The pickup id must be 22 base64url characters.")
        if proof is not None and not is_pickup_proof(proof):
            raise PickupError("bad_request", "The proof must be 43 base64url characters.")
        if not NONCE_BYTES + TAG_BYTES < len(ciphertext) <= MAX_CIPHERTEXT:
            raise PickupError(
                "bad_request",
                f"The ciphertext must be a sealed package of at most {MAX_CIPHERTEXT} bytes.",
            )
        now = self._now()
        try:
            with self.registry().write() as s:
                q.sweep(s, now)
                proof_hash = None if proof is None else _token_hash(proof)
                q.add(s, pickup_id, ciphertext, now + PICKUP_TTL, proof_hash)
        except IntegrityError as exc:
            raise PickupError(
                "conflict", "This pickup id is taken; draw a new one and upload again."
            ) from exc
        return Uploaded(pickup_id, now + PICKUP_TTL)

    def take(self, pickup_id: str, proof: str | None = None) -> Taken:
        """The ciphertext for our wallet page, deleted in the same transaction. A pickup left
        with a proof is taken only with that proof: a link whose key was damaged is refused
        (`pickup_link_damaged`) and the pickup stays for the right one."""
        if not is_pickup_id(pickup_id):
            raise GONE
        now = self._now()
        taken: Taken | PickupError = GONE
        with self.registry().write() as s:  # errors raised after it: the sweep must commit
            q.sweep(s, now)
            row = q.live(s, pickup_id, now, lock=True)
            if row is None or row.token_hash is not None:  # a standard wallet has it
                pass
            elif row.proof_hash is not None and not _same_token(row.proof_hash, proof or ""):
                taken = WRONG_PROOF
            else:
                taken = Taken(bytes(row.sealed), row.expires_at)
                q.remove(s, row)
        if isinstance(taken, PickupError):
            raise taken
        return taken

    def redeem(self, pre_authorized_code: str, tx_code: str) -> tuple[Redeemed, dict[str, Any]]:
        """A standard wallet's token request: the access token, and the package it opens (in
        memory, for the caller to check). A wrong transaction code counts against the pickup;
        the fifth deletes it."""
        try:
            pickup_id, secret = split_pre_authorized_code(pre_authorized_code)
        except MalformedError as exc:
            raise PickupError("invalid_grant", str(exc)) from exc
        # spaces people type between the digits go; a code that is not six digits could never
        # be right, so it costs none of the five tries (a typo must not withdraw the offer)
        tx_code = "".join(tx_code.split())
        if not (len(tx_code) == TX_CODE_LENGTH and tx_code.isascii() and tx_code.isdigit()):
            raise PickupError(
                "invalid_request",
                f"The transaction code is the {TX_CODE_LENGTH} digits the kiosk shows; "
                "this try was not counted.",
            )
        now = self._now()
        invalid: PickupError | None = None
        token, expires_at = "", now
        package: dict[str, Any] = {}
        with self.registry().write() as s:
            q.sweep(s, now)
            row = q.live(s, pickup_id, now, lock=True)
            if row is None or row.token_hash is not None:
                invalid = PickupError(
                    "invalid_grant",
                    "This offer was already redeemed or has expired; ask for a new one at the kiosk.",
                )
            else:
                invalid, token, package = self._check_code(s, row, secret, tx_code)
                expires_at = row.expires_at
        # Outside the transaction, so that the sweep and the failure count are committed first.
        if invalid is not None:
            raise invalid
        return Redeemed(token, expires_at - now), package

    @staticmethod
    def _check_code(
        s: Session, row: WalletPickup, secret: bytes, tx_code: str
    ) -> tuple[PickupError | None, str, dict[str, Any]]:
        """Open the package with the code and tx code; count a failure (the fifth deletes)."""
        try:
            key = derive_key(row.pickup_id, secret, tx_code)
            package = open_package(bytes(row.sealed), key)
        except PackageError:
            row.failures += 1
            if row.failures >= MAX_TX_CODE_FAILURES:
                q.remove(s, row)
                message = "Too many wrong transaction codes: this offer is withdrawn."
            else:
                left = MAX_TX_CODE_FAILURES - row.failures
                message = f"The transaction code is wrong; {left} {'try' if left == 1 else 'tries'} left."
            return PickupError("invalid_grant", message), "", {}
        token = f"{row.pickup_id}.{b64u(key)}.{b64u(secrets.token_bytes(16))}"
        row.token_hash = _token_hash(token)
        return None, token, package

    def open_for_token(self, access_token: str) -> tuple[str, dict[str, Any]]:
        """(pickup id, package) for a credential request's access token."""
        denied = PickupError(
            "invalid_token", "The access token is unknown or expired; redeem the offer again."
        )
        parts = access_token.split(".")
        if len(parts) != 3 or not is_pickup_id(parts[0]):
            raise denied
        try:
            key = b64u_decode(parts[1], "access token")
        except MalformedError as exc:
            raise denied from exc
        now = self._now()
        ciphertext = None
        with self.registry().write() as s:
            q.sweep(s, now)
            row = q.live(s, parts[0], now)
            if row is not None and _same_token(row.token_hash, access_token):
                ciphertext = bytes(row.sealed)
        if ciphertext is None:
            raise denied
        try:
            return parts[0], open_package(ciphertext, key)
        except PackageError as exc:
            raise denied from exc

    def deliver(self, pickup_id: str, configuration: str) -> bool:
        """Note `configuration` fetched; once every configuration is, delete the pickup.
        True when it was deleted."""
        now = self._now()
        with self.registry().write() as s:
            row = q.live(s, pickup_id, now, lock=True)
            if row is None:
                return True
            done = set(filter(None, row.delivered.split(","))) | {configuration}
            if done >= set(CONFIGURATIONS):
                q.remove(s, row)
                return True
            row.delivered = ",".join(sorted(done))
            return False

    def withdraw(self, pickup_id: str) -> None:
        """Delete the pickup now (a package the issuer will not serve)."""
        with self.registry().write() as s:
            row = q.live(s, pickup_id, self._now(), lock=True)
            if row is not None:
                q.remove(s, row)

    def waiting(self) -> int:
        """How many pickups the registry holds (expired ones included until the next sweep)."""
        with self.registry().read() as s:
            return q.count(s)
