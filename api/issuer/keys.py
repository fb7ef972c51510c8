"""The issuer's keys: the key store (files or a PKCS#11 token) and the key inventory in
issuer.json (label, purpose, validity, state; the public key of a key held elsewhere)."""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from cardio.errors import KeyStoreError
from cardio.keys import FileKeyStore, KeyStore, Signer, kid_for, load_public_pem, public_pem
from cardio.trustlist import KeyPurpose, KeyState

from .config import IssuerConfig
from .errors import IssuerError, permission_fix

ROOT_LABEL = "root"
DEFAULT_KIOSK = "kiosk-1"
DEFAULT_STATUS_KEY = "status-1"
PIN_ENV = "CITYCARD_PKCS11_PIN"
KIOSK_KEY_YEARS = 5


class UnknownKeyError(IssuerError):
    """This host's issuer.json has no key with that label (on a host of several: one whose
    issuer.json was not copied after a key or kiosk was added on another)."""


class IssuerKeys:
    """The key store, opened on first use, and the key entries of the configuration."""

    def __init__(self, config: IssuerConfig) -> None:
        self.config = config
        self._keystore: KeyStore | None = None

    @property
    def keystore(self) -> KeyStore:
        if self._keystore is None:
            ks = self.config.data.get("keystore", {"type": "file"})
            if ks.get("type") == "pkcs11":
                from cardio.keys_pkcs11 import Pkcs11KeyStore

                pin = os.environ.get(PIN_ENV)
                if not pin:
                    raise KeyStoreError(
                        f"Set {PIN_ENV} to the token's user PIN, then run the command again."
                    )
                self._keystore = Pkcs11KeyStore(ks["module"], ks["token"], pin)
            else:
                self._keystore = FileKeyStore(self.config.dir / "keys")
        return self._keystore

    def check_files(self) -> None:
        """Refuse now (IssuerError) a key file of an active key this process may not read
        (a file key store; a PKCS#11 token is checked when it is opened)."""
        if self.config.data.get("keystore", {}).get("type") == "pkcs11":
            return
        store = self.keystore
        assert isinstance(store, FileKeyStore)
        for entry in self.config.data["keys"]:
            if "public_key" in entry or entry["state"] != KeyState.ACTIVE.value:
                continue
            path = store.path(entry["label"])
            try:
                with open(path, "rb"):
                    pass
            except PermissionError as exc:
                raise IssuerError(
                    f"The key file {path} cannot be read ({exc.strerror}); {permission_fix(path)}"
                ) from exc
            except FileNotFoundError:
                pass  # said when the key is used: "There is no key labelled ..."

    def close(self) -> None:
        if self._keystore is not None:
            self._keystore.close()
            self._keystore = None

    def create_first_keys(self, now: int) -> None:
        """A new issuer's keys: the city root, one kiosk key and one status list key."""
        self.create(ROOT_LABEL, "root", now, years=20)
        self.create(DEFAULT_KIOSK, KeyPurpose.ISSUE.value, now, years=KIOSK_KEY_YEARS)
        self.create(DEFAULT_STATUS_KEY, KeyPurpose.STATUS.value, now, years=5)

    def create(
        self,
        label: str,
        purpose: str,
        now: int,
        years: int,
        public_key: ec.EllipticCurvePublicKey | None = None,
    ) -> None:
        """A new key entry; with `public_key`, a key held elsewhere (a kiosk's own HSM)."""
        entry: dict[str, Any] = {
            "label": label,
            "purpose": purpose,
            "not_before": now - 300,
            "not_after": now + years * 365 * 86400,
            "state": KeyState.ACTIVE.value,
        }
        if public_key is None:
            self.keystore.create(label)
        else:
            entry["public_key"] = public_pem(public_key)
        self.config.data["keys"].append(entry)
        self.config.save()

    def entry(self, label: str) -> dict[str, Any]:
        for entry in self.config.data["keys"]:
            if entry["label"] == label:
                return dict(entry)
        raise UnknownKeyError(
            f"There is no key labelled {label!r}; 'citycard-api trust show' lists them."
        )

    def public_key(self, entry: dict[str, Any]) -> ec.EllipticCurvePublicKey:
        if "public_key" in entry:
            return load_public_pem(entry["public_key"].encode("ascii"))
        return self.keystore.signer(entry["label"]).public_key

    def state(self, label: str) -> KeyState:
        return KeyState(self.entry(label)["state"])

    def set_state(self, label: str, state: KeyState) -> None:
        if label == ROOT_LABEL:
            raise IssuerError(
                "The root key cannot be withdrawn this way; rotate it with a new issuer."
            )
        with self.config.locked():
            for entry in self.config.data["keys"]:
                if entry["label"] == label:
                    entry["state"] = state.value
                    self.config.save()
                    return
        self.entry(label)

    def retire(self, label: str, end: int) -> bool:
        """Kiosk key `label` signs nothing new: state `retired` and `not_after` at `end` (or
        earlier, as it was), so readers keep accepting what it signed before and read a card
        dated later KEY_EXPIRED. A key retired already keeps its end, whatever `end` is (a
        retry, another host's clock): False. A revoked key stays revoked (IssuerError)."""
        with self.config.locked():
            for entry in self.config.data["keys"]:
                if entry["label"] != label:
                    continue
                if entry["purpose"] != KeyPurpose.ISSUE.value:
                    raise IssuerError(
                        f"The key {label!r} is not a kiosk key; only kiosk keys can be retired."
                    )
                if entry["state"] == KeyState.REVOKED.value:
                    raise IssuerError(
                        f"The key {label!r} is revoked, and a revoked key stays revoked; the cards "
                        "it signed already read KEY_REVOKED."
                    )
                if entry["state"] == KeyState.RETIRED.value:
                    return False
                # Never before its start: readers refuse a trust list with an impossible
                # window (a host whose clock is behind the one that made the key).
                end = max(entry["not_before"], min(entry["not_after"], end))
                entry["state"], entry["not_after"] = KeyState.RETIRED.value, end
                self.config.save()
                return True
        self.entry(label)  # UnknownKeyError, saying where to look
        return False

    def issuing_signer(self, label: str) -> Signer:
        """The signer of kiosk key `label`, which must be an active issuing key."""
        entry = self.entry(label)
        if entry["purpose"] != KeyPurpose.ISSUE.value or entry["state"] != KeyState.ACTIVE.value:
            raise IssuerError(f"The key {label!r} is not an active kiosk key; use another kiosk key.")
        return self.keystore.signer(label)

    def active_signer(self, purpose: KeyPurpose) -> Signer:
        for entry in self.config.data["keys"]:
            if entry["purpose"] == purpose.value and entry["state"] == KeyState.ACTIVE.value:
                return self.keystore.signer(entry["label"])
        raise IssuerError(f"There is no active {purpose.value} key; create one before publishing.")

    def root_signer(self) -> Signer:
        return self.keystore.signer(ROOT_LABEL)

    def ensure_kiosk_key(
        self, kiosk_id: str, signing_public_key: ec.EllipticCurvePublicKey | None, now: int
    ) -> str:
        """The kid (hex) of kiosk `kiosk_id`'s signing key: a new entry (the given public key,
        or a key made in this key store), or an existing active kiosk key with that label."""
        with self.config.locked():
            existing = next((e for e in self.config.data["keys"] if e["label"] == kiosk_id), None)
            if existing is None:
                self.create(
                    kiosk_id, KeyPurpose.ISSUE.value, now, KIOSK_KEY_YEARS, signing_public_key
                )
            elif (
                signing_public_key is not None
                or existing["purpose"] != KeyPurpose.ISSUE.value
                or existing["state"] != KeyState.ACTIVE.value
            ):
                raise IssuerError(
                    f"There is already a key labelled {kiosk_id!r} that this kiosk cannot use; choose another id."
                )
            return kid_for(self.public_key(self.entry(kiosk_id))).hex()
