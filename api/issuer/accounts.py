"""Who may call the issuer API: kiosk accounts (the kiosk's signing key in the trust list and
the public key of its API key), staff accounts (a hash of each bearer token), and the nonces of
signed kiosk requests (replay protection). The SQL is in api.issuer.registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from cardio import codes
from cardio.keys import check_label, fingerprint, load_public_pem, public_pem
from cardio.kiosk_auth import KioskCredential
from cardio.trustlist import KeyState

from .errors import IssuerError
from .keys import ROOT_LABEL, IssuerKeys
from .registry import ACTIVE, KioskRecord, Registry, account_queries, queries


@dataclass(frozen=True)
class KioskAccount:
    kiosk_id: str
    key_label: str
    kid: str
    auth_public_key: ec.EllipticCurvePublicKey
    auth_key_fingerprint: str
    state: str

    @classmethod
    def of(cls, row: KioskRecord) -> KioskAccount:
        return cls(
            row.kiosk_id,
            row.key_label,
            row.kid,
            load_public_pem(row.auth_public_key.encode("ascii")),
            row.auth_key_fingerprint,
            row.state,
        )


class Accounts:
    """Kiosk and staff accounts on the registry `registry()` opens. A kiosk's signing key
    lives in `keys`; `publish` tells readers when it joins or leaves the trust list."""

    def __init__(
        self,
        keys: IssuerKeys,
        registry: Callable[[], Registry],
        publish: Callable[[int], object],
    ) -> None:
        self.keys = keys
        self.registry = registry
        self.publish = publish

    # -- kiosks ---------------------------------------------------------------------------------

    def add_kiosk(
        self,
        kiosk_id: str,
        api_public_key: ec.EllipticCurvePublicKey | None,
        signing_public_key: ec.EllipticCurvePublicKey | None,
        now: int,
    ) -> tuple[KioskAccount, KioskCredential | None]:
        """Register a kiosk: its signing key joins the trust list (published) and its API key
        is recorded. Without `api_public_key` a key pair is made here and returned once, as the
        kiosk credential; without `signing_public_key` the signing key is made in this issuer's
        key store (development), or an existing kiosk key with that label is used."""
        check_label(kiosk_id)
        if kiosk_id == ROOT_LABEL:
            raise IssuerError("'root' is the city root key's label; choose another kiosk id.")
        with self.registry().read() as s:
            if account_queries.kiosk(s, kiosk_id) is not None:
                raise IssuerError(
                    f"There is already a kiosk {kiosk_id!r}; revoke it or choose another id."
                )
        credential = None
        if api_public_key is None:
            credential = KioskCredential.generate(kiosk_id)
            api_public_key = credential.public_key
        kid = self.keys.ensure_kiosk_key(kiosk_id, signing_public_key, now)
        account = KioskAccount(
            kiosk_id, kiosk_id, kid, api_public_key, fingerprint(api_public_key), ACTIVE
        )
        with self.registry().write() as s:
            account_queries.add_kiosk(
                s,
                kiosk_id,
                key_label=kiosk_id,
                kid=kid,
                auth_public_key=public_pem(api_public_key),
                auth_key_fingerprint=account.auth_key_fingerprint,
                now=now,
            )
            queries.audit(s, now, "cli", "kiosk-add", kiosk_id, detail=kid)
        self.publish(now)
        return account, credential

    def kiosk(self, kiosk_id: str) -> KioskAccount | None:
        with self.registry().read() as s:
            row = account_queries.kiosk(s, kiosk_id)
            return None if row is None else KioskAccount.of(row)

    def kiosks(self) -> list[KioskAccount]:
        with self.registry().read() as s:
            ids = account_queries.kiosk_ids(s)
        return [k for k in (self.kiosk(i) for i in ids) if k is not None]

    def revoke_kiosk(self, kiosk_id: str, now: int) -> KioskAccount:
        """Cut a kiosk off: its account and its signing key are revoked, and the trust list
        that says so is published (cards it signed stop verifying: KEY_REVOKED)."""
        with self.registry().write() as s:
            row = account_queries.kiosk(s, kiosk_id)
            if row is None:
                raise IssuerError(
                    f"There is no kiosk {kiosk_id!r}; 'citycard-api kiosk list' shows them."
                )
            account_queries.withdraw(row, now)
            label = row.key_label
            queries.audit(s, now, "cli", "kiosk-revoke", kiosk_id, detail=row.kid)
        self.keys.set_state(label, KeyState.REVOKED)
        self.publish(now)
        account = self.kiosk(kiosk_id)
        assert account is not None
        return account

    def remember_nonce(self, kiosk_id: str, nonce: str, now: int, window: int) -> bool:
        """Record a signed request's nonce; False when it was seen within the window (a replay)."""
        return account_queries.remember_nonce(self.registry(), kiosk_id, nonce, now, window)

    # -- staff ----------------------------------------------------------------------------------

    def add_staff(self, staff_id: str, now: int) -> str:
        """A staff account; returns its bearer token (shown once, stored only as a hash)."""
        check_label(staff_id)
        token = codes.new_staff_token()
        with self.registry().write() as s:
            if account_queries.staff(s, staff_id) is not None:
                raise IssuerError(
                    f"There is already a staff account {staff_id!r}; revoke it or choose another id."
                )
            account_queries.add_staff(s, staff_id, codes.hash_staff_token(token), now)
            queries.audit(s, now, "cli", "staff-add", staff_id)
        return token

    def revoke_staff(self, staff_id: str, now: int) -> None:
        with self.registry().write() as s:
            row = account_queries.staff(s, staff_id)
            if row is None:
                raise IssuerError(f"There is no staff account {staff_id!r}.")
            account_queries.withdraw(row, now)
            queries.audit(s, now, "cli", "staff-revoke", staff_id)

    def staff_for_token(self, token: str) -> str | None:
        """The active staff id whose token this is, or None."""
        with self.registry().read() as s:
            row = account_queries.staff_with_token_hash(s, codes.hash_staff_token(token))
            return row.staff_id if row is not None and row.state == ACTIVE else None
