"""Wallet pickups: the sealed packages kiosks leave for phones, and the rules that delete them.

A pickup lives at most `PICKUP_TTL` (15 minutes) and is taken once: by our wallet page (`take`,
which checks the page's proof that it holds the key, hands over the ciphertext and deletes the
row) or by a standard wallet through
OpenID4VCI (`redeem` checks the transaction code by opening the package, then `open_for_token`
and `deliver` serve the two credential requests, each configuration once; the row goes when
both are fetched). Every operation first deletes what has expired; `sweep` does the same for
the publisher's thread (api.issuer.publishing), so that a pickup nobody asks for again goes
within seconds of its 15 minutes too.

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


ALREADY_DELIVERED = PickupError(
    "credential_request_denied",
    "This offer's card was already issued to a wallet in that format; an offer gives each "
    "format once. Ask at the kiosk or the city's office for a new offer.",
)
TOKEN_DENIED = PickupError(
    "invalid_token", "The access token is unknown or expired; redeem the offer again."
)
ALREADY_REDEEMED = PickupError(
    "invalid_grant",
    "This offer was already redeemed or has expired; ask for a new one at the kiosk.",
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
                f"The ciphertext must be a sealed package of more than {NONCE_BYTES + TAG_BYTES} "
                f"and at most {MAX_CIPHERTEXT} bytes.",
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

    def redeem(
        self,
        pre_authorized_code: str,
        tx_code: str,
        check: Callable[[dict[str, Any]], object],
    ) -> Redeemed:
        """A standard wallet's token request: the access token. A wrong transaction code counts
        against the pickup; the fifth deletes it. `check` sees the opened package (in memory)
        before the token is granted: its PickupError withdraws the pickup; any other failure
        (a registry outage) grants nothing and spends nothing, so the wallet may try again."""
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
        invalid: PickupError | None = ALREADY_REDEEMED
        key, package = b"", dict[str, Any]()
        with self.registry().write() as s:
            q.sweep(s, now)
            row = q.live(s, pickup_id, now, lock=True)
            if row is not None and row.token_hash is None:
                invalid, key, package = self._open_with_code(s, row, secret, tx_code)
        # Outside the transaction, so that the sweep and the failure count are committed first.
        if invalid is not None:
            raise invalid
        try:
            check(package)
        except PickupError:
            self.withdraw(pickup_id)
            raise
        finally:
            del package  # nothing of it outlives the request
        # Granted in a transaction of its own, once: of two wallets with the right codes at
        # once, the second finds the token taken.
        token = f"{pickup_id}.{b64u(key)}.{b64u(secrets.token_bytes(16))}"
        now = self._now()
        with self.registry().write() as s:
            row = q.live(s, pickup_id, now, lock=True)
            if row is None or row.token_hash is not None:
                raise ALREADY_REDEEMED
            row.token_hash = _token_hash(token)
            expires_at = row.expires_at
        return Redeemed(token, expires_at - now)

    @staticmethod
    def _open_with_code(
        s: Session, row: WalletPickup, secret: bytes, tx_code: str
    ) -> tuple[PickupError | None, bytes, dict[str, Any]]:
        """Open the package with the code and tx code; count a failure (the fifth deletes)."""
        try:
            key = derive_key(row.pickup_id, secret, tx_code)
            return None, key, open_package(bytes(row.sealed), key)
        except PackageError:
            row.failures += 1
            if row.failures >= MAX_TX_CODE_FAILURES:
                q.remove(s, row)
                message = "Too many wrong transaction codes: this offer is withdrawn."
            else:
                left = MAX_TX_CODE_FAILURES - row.failures
                message = f"The transaction code is wrong; {left} {'try' if left == 1 else 'tries'} left."
            return PickupError("invalid_grant", message), b"", {}

    def open_for_token(self, access_token: str, configuration: str) -> tuple[str, dict[str, Any]]:
        """(pickup id, package) for a credential request's access token; refused for a
        configuration the token already fetched (one token is not a copier of the card)."""
        denied = TOKEN_DENIED
        parts = access_token.split(".")
        if len(parts) != 3 or not is_pickup_id(parts[0]):
            raise denied
        try:
            key = b64u_decode(parts[1], "access token")
        except MalformedError as exc:
            raise denied from exc
        now = self._now()
        ciphertext, refusal = None, denied
        with self.registry().write() as s:  # refusals raised after it: the sweep must commit
            q.sweep(s, now)
            row = q.live(s, parts[0], now)
            if row is not None and _same_token(row.token_hash, access_token):
                if configuration in row.delivered.split(","):
                    refusal = ALREADY_DELIVERED
                else:
                    ciphertext = bytes(row.sealed)
        if ciphertext is None:
            raise refusal
        try:
            return parts[0], open_package(ciphertext, key)
        except PackageError as exc:
            raise denied from exc

    def deliver(self, pickup_id: str, configuration: str) -> bool:
        """Note `configuration` fetched; once every configuration is, delete the pickup.
        True when it was deleted. The gate of a credential's handing over: a configuration
        fetched meanwhile by a request beside this one (ALREADY_DELIVERED), or a pickup gone
        meanwhile (TOKEN_DENIED), hands nothing over."""
        now = self._now()
        with self.registry().write() as s:
            row = q.live(s, pickup_id, now, lock=True)
            if row is None:
                raise TOKEN_DENIED
            delivered = set(filter(None, row.delivered.split(",")))
            if configuration in delivered:
                raise ALREADY_DELIVERED
            done = delivered | {configuration}
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
