"""A city issuer kept in one directory: keys, configuration, registry and published files.

    DIR/issuer.json       configuration and key inventory (no personal data; api.issuer.config)
    DIR/keys/             the file key store (development); or a PKCS#11 token named in issuer.json
    DIR/registry.sqlite   the registry (api.issuer.registry): document number -> status list, index,
                          key, dates, status; kiosk and staff accounts; audit trail. Or a
                          PostgreSQL database named by CITYCARD_DATABASE_URL / DIR/server.toml.
                          Only `init` starts one: a missing or empty registry is refused, as
                          a new one would give out document numbers already on cards.
    DIR/server.toml       optional settings of `citycard-api serve` (api.issuer.server)
    DIR/public/           what `publish` writes for readers (see cardio.published)

The registry never holds a name, a birth date or a photo: a card is known by its document
number and status index only.

`Issuer` is the one object the CLI, the API routes, the kiosk's local issuer, the tests and the
benchmarks hold. It only composes the parts, each with one job:

    api.issuer.keys       the key store and key inventory
    api.issuer.publisher  the signed trust list and status lists, kept in the registry and DIR/public
    api.issuer.cards      document numbers, status slots, a card's lifecycle and status
    api.issuer.accounts   kiosk and staff accounts, kiosk request nonces
    api.issuer.registry   the SQL under the last two
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from cardio.credential import ChipBinding, Holder
from cardio.errors import CitycardError
from cardio.keys import KeyStore
from cardio.kiosk_auth import KioskCredential
from cardio.statuslist import StatusList
from cardio.trustlist import KeyState, TrustList

from .accounts import Accounts, KioskAccount
from .cards import STATUS_NAMES, CardInfo, CardRegistry, Issued, SlotAllocation, luhn_digit
from .config import CONFIG_FILE, IssuerConfig, initial_config
from .errors import CardStateError, IssuerError, UnknownCardError
from .keys import DEFAULT_KIOSK, DEFAULT_STATUS_KEY, PIN_ENV, ROOT_LABEL, IssuerKeys
from .publisher import Publisher
from .registry import Registry

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_KIOSK",
    "DEFAULT_STATUS_KEY",
    "PIN_ENV",
    "ROOT_LABEL",
    "STATUS_NAMES",
    "CardInfo",
    "CardStateError",
    "Issued",
    "Issuer",
    "IssuerError",
    "KioskAccount",
    "SlotAllocation",
    "UnknownCardError",
    "luhn_digit",
]


def _clock() -> int:
    return int(time.time())


def _now(now: int | None) -> int:
    return _clock() if now is None else now


class Issuer:
    """The issuer in `directory`: its parts share one configuration, one key store (opened on
    first use) and one registry (opened, and migrated, on first use)."""

    def __init__(self, directory: Path, database_url: str | None = None) -> None:
        self.dir = Path(directory)
        self._database_url = database_url
        self._config = IssuerConfig(self.dir)
        self._registry: Registry | None = None
        self._new_registry = False  # only Issuer.init may start a registry (Registry.open)
        self.keys = IssuerKeys(self._config)
        self.cards = CardRegistry(self._config, self.keys, lambda: self.registry, _clock)
        self.publisher = Publisher(self._config, self.keys, lambda: self.registry)
        self.accounts = Accounts(self.keys, lambda: self.registry, self.publish)
        self._closers: list[Callable[[], None]] = []

    @classmethod
    def init(
        cls,
        directory: Path,
        issuer_id: str = "demo-city",
        base_url: str = "https://cc.example",
        program: str = "demo",
        doc_prefix: str = "DEV",
        pkcs11: dict[str, str] | None = None,
        now: int | None = None,
        database_url: str | None = None,
    ) -> Issuer:
        directory = Path(directory)
        IssuerConfig.create(
            directory, initial_config(issuer_id, base_url, program, doc_prefix, pkcs11)
        )
        now = _now(now)
        issuer = cls(directory, database_url)
        issuer._new_registry = True
        try:  # open the key store (PIN, module, token) and the registry before it counts
            issuer.keystore.labels()
            if issuer.cards.holds_cards():
                raise IssuerError(
                    f"The registry database {issuer.registry.display_url} already holds cards; give a new, empty database."
                )
        except CitycardError:
            issuer.close()
            issuer._config.remove()
            raise
        finally:
            issuer._new_registry = False
        issuer.keys.create_first_keys(now)
        issuer.publish(now)
        return issuer

    # -- what the parts share -------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """issuer.json as last read (a change is saved with `_save_config`)."""
        return self._config.data

    def refresh_config(self) -> None:
        """Re-read issuer.json if another process (the CLI, a server) replaced it."""
        self._config.refresh()

    def _save_config(self) -> None:
        self._config.save()

    @property
    def keystore(self) -> KeyStore:
        return self.keys.keystore

    @property
    def registry(self) -> Registry:
        """The registry database, opened (and its schema migrated) on first use."""
        if self._registry is None:
            data = self._config.data
            self._registry = Registry.open(
                self.dir,
                self._database_url,
                data["status_lists"],
                data["status_list_size"],
                data["status_bits"],
                _clock(),
                create=self._new_registry,
            )
        return self._registry

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` first when the issuer closes (a server's publisher thread)."""
        self._closers.append(closer)

    def close(self) -> None:
        closers, self._closers = self._closers, []
        for closer in closers:
            closer()
        self.keys.close()
        if self._registry is not None:
            self._registry.close()
            self._registry = None

    # -- keys and publication -------------------------------------------------------------------

    def _create_key(
        self,
        label: str,
        purpose: str,
        now: int,
        years: int,
        public_key: ec.EllipticCurvePublicKey | None = None,
    ) -> None:
        self.keys.create(label, purpose, now, years, public_key)

    def key_state(self, label: str) -> KeyState:
        return self.keys.state(label)

    def key_end(self, label: str) -> int:
        """The key's `not_after` (unix seconds): a retired kiosk key's end."""
        return int(self.keys.entry(label)["not_after"])

    def set_key_state(self, label: str, state: KeyState) -> None:
        self.keys.set_state(label, state)

    def trust_list_body(self, now: int) -> TrustList:
        return self.publisher.trust_list_body(now)

    def status_uri(self, list_id: str) -> str:
        return self._config.status_uri(list_id)

    def publish(self, now: int | None = None) -> Path:
        return self.publisher.publish(_now(now))

    def publish_status(self, list_ids: list[str] | None = None, now: int | None = None) -> None:
        self.publisher.publish_status(list_ids, _now(now))

    # -- cards ----------------------------------------------------------------------------------

    def issue(
        self,
        holder: Holder,
        expires: date | None = None,
        chip_binding: ChipBinding | None = None,
        kiosk_label: str = DEFAULT_KIOSK,
        now: int | None = None,
    ) -> Issued:
        return self.cards.issue(holder, expires, chip_binding, kiosk_label, _now(now))

    def set_status(self, index: int, status: str, list_id: str | None = None) -> str:
        return self.cards.set_status(index, status, list_id)

    def status_list(self, list_id: str) -> StatusList:
        return self.cards.status_list(list_id)

    def card_status(self, number: str) -> str:
        return self.cards.card(number).status

    def card(self, number: str) -> CardInfo:
        return self.cards.card(number)

    def allocate(self, kiosk_id: str, request_id: str, now: int | None = None) -> SlotAllocation:
        return self.cards.allocate(kiosk_id, request_id, _now(now))

    def report_issued(
        self,
        kiosk_id: str,
        number: str,
        issued_at: int,
        expires_at: int,
        code_hash: str | None = None,
        now: int | None = None,
    ) -> CardInfo:
        return self.cards.report_issued(
            kiosk_id, number, issued_at, expires_at, code_hash, _now(now)
        )

    def replace_code_hash(
        self, kiosk_id: str, number: str, code_hash: str, now: int | None = None
    ) -> CardInfo:
        return self.cards.replace_code_hash(kiosk_id, number, code_hash, _now(now))

    def void(
        self, kiosk_id: str, number: str, now: int | None = None, unfinished_only: bool = False
    ) -> tuple[CardInfo, bool]:
        return self.cards.void(kiosk_id, number, _now(now), unfinished_only)

    def set_card_status(
        self, number: str, status: str, actor_type: str, actor_id: str | None
    ) -> tuple[CardInfo, bool]:
        return self.cards.set_card_status(number, status, actor_type, actor_id)

    def self_revoke(self, number: str, code: str, now: int | None = None) -> CardInfo | None:
        return self.cards.self_revoke(number, code, _now(now))

    # -- kiosk and staff accounts ---------------------------------------------------------------

    def add_kiosk(
        self,
        kiosk_id: str,
        api_public_key: ec.EllipticCurvePublicKey | None = None,
        signing_public_key: ec.EllipticCurvePublicKey | None = None,
        now: int | None = None,
    ) -> tuple[KioskAccount, KioskCredential | None]:
        return self.accounts.add_kiosk(kiosk_id, api_public_key, signing_public_key, _now(now))

    def kiosk(self, kiosk_id: str) -> KioskAccount | None:
        return self.accounts.kiosk(kiosk_id)

    def kiosks(self) -> list[KioskAccount]:
        return self.accounts.kiosks()

    def revoke_kiosk(self, kiosk_id: str, now: int | None = None) -> KioskAccount:
        return self.accounts.revoke_kiosk(kiosk_id, _now(now))

    def retire_kiosk(self, kiosk_id: str, now: int | None = None) -> tuple[KioskAccount, bool]:
        return self.accounts.retire_kiosk(kiosk_id, _now(now))

    def add_staff(self, staff_id: str, now: int | None = None) -> str:
        return self.accounts.add_staff(staff_id, _now(now))

    def revoke_staff(
        self, staff_id: str, now: int | None = None, keep_an_admin: bool = True
    ) -> None:
        self.accounts.revoke_staff(staff_id, _now(now), keep_an_admin=keep_an_admin)

    def staff_for_token(self, token: str) -> str | None:
        return self.accounts.staff_for_token(token)

    def remember_nonce(self, kiosk_id: str, nonce: str, now: int, window: int) -> bool:
        return self.accounts.remember_nonce(kiosk_id, nonce, now, window)
