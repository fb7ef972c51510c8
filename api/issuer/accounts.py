"""Who may call the issuer API: kiosk accounts (the kiosk's signing key in the trust list and
the public key of its API key), staff accounts (a hash of each bearer token; for the service
desk also a password digest and a role), and the nonces of signed kiosk requests (replay
protection). The SQL is in api.issuer.registry.

Every change is audited with who made it: `actor` is ("cli", None) from the command line, or
("staff", staff id) from the service desk."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec

from cardio import codes
from cardio.errors import KeyStoreError
from cardio.keys import check_label, fingerprint, load_public_pem, public_pem
from cardio.kiosk_auth import KioskCredential
from cardio.trustlist import KeyState

from . import passwords
from .errors import (
    AccountExistsError,
    AccountIdError,
    IssuerError,
    LastAdminError,
    PasswordCharacterError,
    PasswordRuleError,
    UnknownAccountError,
)
from .keys import ROOT_LABEL, IssuerKeys
from .registry import (
    ACTIVE,
    WITHDRAWN,
    KioskRecord,
    Registry,
    account_queries,
    desk_queries,
    queries,
)
from .registry.desk_schema import ADMIN_ROLE, STAFF_ROLE, DeskAccount

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Actor = tuple[str, str | None]


def now_ms() -> int:
    """Milliseconds: a desk session made before this instant no longer counts."""
    return time.time_ns() // 1_000_000

CLI: Actor = ("cli", None)


def check_account_id(account_id: str, what: str) -> None:
    """Kiosk and staff ids follow the key label rule (a kiosk's id labels its signing key),
    but the person typed an id, not a key label: the sentence names what they typed."""
    try:
        check_label(account_id)
    except KeyStoreError as exc:
        raise AccountIdError(
            f"The {what} {account_id!r} is not usable: use 1 to 63 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit.",
            account_id,
        ) from exc


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


@dataclass(frozen=True)
class StaffAccount:
    """A staff account as the desk sees it (never a token or a password digest)."""

    staff_id: str
    state: str
    role: str
    has_password: bool
    sessions_after: int

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    @property
    def admin(self) -> bool:
        return self.role == ADMIN_ROLE


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
        check_account_id(kiosk_id, "kiosk id")
        if (
            api_public_key is not None
            and signing_public_key is not None
            and public_pem(api_public_key) == public_pem(signing_public_key)
        ):  # one stolen key would then both call the API and sign cards (docs/api.md)
            raise IssuerError(
                "The API key and the signing key are the same key; a kiosk needs two separate "
                "key pairs: give each of --api-key and --signing-key its own."
            )
        if kiosk_id == ROOT_LABEL:
            raise IssuerError("'root' is the city root key's label; choose another kiosk id.")
        with self.registry().read() as s:
            if account_queries.kiosk(s, kiosk_id) is not None:
                raise AccountExistsError(
                    f"There is already a kiosk {kiosk_id!r}; revoke it or choose another id.",
                    kiosk_id,
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

    def revoke_kiosk(self, kiosk_id: str, now: int, actor: Actor = CLI) -> KioskAccount:
        """Cut a kiosk off: its account and its signing key are revoked, and the trust list
        that says so is published (cards it signed stop verifying: KEY_REVOKED). Also a
        retired kiosk found compromised later: its retired key becomes revoked."""
        with self.registry().write() as s:
            row = _kiosk_row(s, kiosk_id)
            account_queries.withdraw(row, now)
            label = row.key_label
            queries.audit(s, now, actor[0], "kiosk-revoke", actor[1], detail=kiosk_id)
        self.keys.set_state(label, KeyState.REVOKED)
        self.publish(now)
        account = self.kiosk(kiosk_id)
        assert account is not None
        return account

    def retire_kiosk(
        self, kiosk_id: str, now: int, actor: Actor = CLI
    ) -> tuple[KioskAccount, bool]:
        """Decommission a kiosk (hardware replaced, branch closed): its account is refused and
        its signing key retired, and the trust list that says so is published. Cards it signed
        before stay valid; a card dated after the key's end reads KEY_EXPIRED. That end is the
        retirement plus the kiosk clock skew the API allows (server.toml [kiosk] clock_skew):
        a kiosk whose clock runs fast stamps the cards it finished just before with a later
        `iat`, and they must not read KEY_EXPIRED. The margin costs nothing: the signer picks
        `iat`, so retire never stopped one who holds the key (that is `revoke_kiosk`).
        True when the account changed; a retired kiosk again is harmless (False, and the key's
        end stays the recorded retirement's), a revoked one is refused: it stays revoked."""
        from .server import load_config  # here: server imports this module (through service)

        skew = load_config(self.keys.config.dir).clock_skew  # a bad server.toml: before changing
        with self.registry().write() as s:
            row = _kiosk_row(s, kiosk_id)
            label = row.key_label
            if row.state == WITHDRAWN or self.keys.state(label) is KeyState.REVOKED:
                raise IssuerError(
                    f"Kiosk {kiosk_id!r} is revoked, and a revoked kiosk stays revoked (the cards "
                    "it signed read KEY_REVOKED); there is nothing to retire."
                )
            changed = row.state != account_queries.RETIRED
            if changed:
                account_queries.retire(row, now)
                queries.audit(s, now, actor[0], "kiosk-retire", actor[1], detail=kiosk_id)
            retired_at = row.updated_at  # this run's, or the recorded one
        # Also when the account was retired already: a retry after a crash between the
        # registry and issuer.json, or a host whose issuer.json was not copied, finishes the
        # key and the publication, with the end the first retirement gave it.
        self.keys.retire(label, retired_at + skew)
        self.publish(now)
        account = self.kiosk(kiosk_id)
        assert account is not None
        return account, changed

    def remember_nonce(self, kiosk_id: str, nonce: str, now: int, window: int) -> bool:
        """Record a signed request's nonce; False when it was seen within the window (a replay)."""
        return account_queries.remember_nonce(self.registry(), kiosk_id, nonce, now, window)

    # -- staff ----------------------------------------------------------------------------------

    def add_staff(self, staff_id: str, now: int, actor: Actor = CLI) -> str:
        """A staff account; returns its bearer token (shown once, stored only as a hash)."""
        check_account_id(staff_id, "staff id")
        token = codes.new_staff_token()
        with self.registry().write() as s:
            if account_queries.staff(s, staff_id) is not None:
                raise AccountExistsError(
                    f"There is already a staff account {staff_id!r}; "
                    "revoke it or choose another id.",
                    staff_id,
                )
            account_queries.add_staff(s, staff_id, codes.hash_staff_token(token), now)
            queries.audit(s, now, actor[0], "staff-add", actor[1] or staff_id, detail=staff_id)
        return token

    def revoke_staff(
        self, staff_id: str, now: int, actor: Actor = CLI, keep_an_admin: bool = True
    ) -> None:
        """Withdraw a staff account: its token, password and desk sessions stop working.
        With `keep_an_admin`, not the last active desk admin (LastAdminError); the command
        line's `staff revoke` passes False: cutting an account off must never wait, and on
        the host `citycard-api desk admin` makes a new admin at once."""
        with self.registry().write() as s:
            if keep_an_admin:
                _keep_an_admin(s, staff_id)
            row = account_queries.staff(s, staff_id)
            if row is None:
                raise UnknownAccountError(f"There is no staff account {staff_id!r}.", staff_id)
            account_queries.withdraw(row, now)
            desk = desk_queries.desk_account(s, staff_id)
            if desk is not None:
                desk.sessions_after, desk.updated_at = now_ms(), now
            queries.audit(s, now, actor[0], "staff-revoke", actor[1] or staff_id, detail=staff_id)

    def staff_for_token(self, token: str) -> str | None:
        """The active staff id whose token this is, or None."""
        with self.registry().read() as s:
            row = account_queries.staff_with_token_hash(s, codes.hash_staff_token(token))
            return row.staff_id if row is not None and row.state == ACTIVE else None

    # -- the service desk's logins -------------------------------------------------------------

    def staff_account(self, staff_id: str) -> StaffAccount | None:
        with self.registry().read() as s:
            row = account_queries.staff(s, staff_id)
            if row is None:
                return None
            desk = desk_queries.desk_account(s, staff_id)
            return _staff_account(row.staff_id, row.state, desk)

    def staff_accounts(self) -> list[StaffAccount]:
        with self.registry().read() as s:
            return [
                _staff_account(row.staff_id, row.state, desk)
                for row, desk in desk_queries.staff_accounts(s)
            ]

    def staff_for_password(self, staff_id: str, password: str) -> str | None:
        """The active staff id when `password` is its desk password, else None; one scrypt
        whatever the inputs (an unknown id takes as long as a wrong password)."""
        digest = None
        if 0 < len(staff_id) <= 64:
            with self.registry().read() as s:
                row = account_queries.staff(s, staff_id)
                desk = desk_queries.desk_account(s, staff_id)
                if row is not None and row.state == ACTIVE and desk is not None:
                    digest = desk.password_hash
        return staff_id if passwords.check_password(password, digest) and digest else None

    def set_password(self, staff_id: str, password: str, now: int, actor: Actor = CLI) -> None:
        """Set (or replace) a staff account's desk password; its open sessions end."""
        if passwords.has_control(password):
            raise PasswordCharacterError(
                "A password cannot hold control characters (such as NUL, a tab or a line "
                "break); choose another.",
                staff_id,
            )
        if not passwords.acceptable(password):
            raise PasswordRuleError(
                f"A password needs {passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters; "
                "a few unrelated words make a good one.",
                staff_id,
            )
        digest = passwords.hash_password(password)
        with self.registry().write() as s:
            row = account_queries.staff(s, staff_id)
            if row is None or row.state != ACTIVE:
                raise UnknownAccountError(
                    f"There is no active staff account {staff_id!r}.", staff_id
                )
            desk = desk_queries.ensure_desk_account(s, staff_id, now)
            desk.password_hash, desk.sessions_after, desk.updated_at = digest, now_ms(), now
            queries.audit(s, now, actor[0], "password-set", actor[1], detail=staff_id)

    def desk_admins(self) -> list[str]:
        """The ids of the active desk admins."""
        return [a.staff_id for a in self.staff_accounts() if a.active and a.admin]

    def end_sessions(self, staff_id: str, now: int) -> None:
        """Every open desk session of the account ends (logging out ends them all)."""
        with self.registry().write() as s:
            if account_queries.staff(s, staff_id) is None:
                return
            desk = desk_queries.ensure_desk_account(s, staff_id, now)
            desk.sessions_after, desk.updated_at = now_ms(), now

    def check_keeps_an_admin(self, staff_id: str) -> None:
        """Refuse (LastAdminError) when `staff_id` is the last active desk admin: the desk
        asks before its confirmation tick; revoke_staff and set_role check again."""
        with self.registry().read() as s:
            _keep_an_admin(s, staff_id)

    def set_role(self, staff_id: str, admin: bool, now: int, actor: Actor = CLI) -> None:
        """Make a staff account a desk admin (manages accounts) or plain desk staff; not the
        last active admin plain staff (LastAdminError), from the desk or the command line."""
        role = ADMIN_ROLE if admin else STAFF_ROLE
        with self.registry().write() as s:
            if not admin:
                _keep_an_admin(s, staff_id)
            row = account_queries.staff(s, staff_id)
            if row is None or row.state != ACTIVE:
                raise UnknownAccountError(
                    f"There is no active staff account {staff_id!r}.", staff_id
                )
            desk = desk_queries.ensure_desk_account(s, staff_id, now)
            desk.role, desk.updated_at = role, now
            queries.audit(s, now, actor[0], f"role-{role}", actor[1], detail=staff_id)


def _kiosk_row(session: Session, kiosk_id: str) -> KioskRecord:
    row = account_queries.kiosk(session, kiosk_id)
    if row is None:
        raise UnknownAccountError(
            f"There is no kiosk {kiosk_id!r}; 'citycard-api kiosk list' shows them.", kiosk_id
        )
    return row


def _keep_an_admin(session: Session, staff_id: str) -> None:
    """Refuse (LastAdminError) a change that takes away the last active desk admin: without
    one nobody can manage accounts until someone runs `citycard-api desk admin` on the host."""
    admins = desk_queries.active_admin_ids(session)  # locked: see active_admin_ids
    if admins == [staff_id]:
        raise LastAdminError(
            f"Staff account {staff_id!r} is the last desk admin; make another account an admin "
            "first (citycard-api desk admin STAFF_ID, or the desk's Accounts page).",
            staff_id,
        )


def _staff_account(staff_id: str, state: str, desk: DeskAccount | None) -> StaffAccount:
    if desk is None:
        return StaffAccount(staff_id, state, STAFF_ROLE, False, 0)
    return StaffAccount(
        staff_id, state, desk.role, desk.password_hash is not None, desk.sessions_after or 0
    )
