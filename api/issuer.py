"""A city issuer kept in one directory: keys, configuration, registry and published files.

    DIR/issuer.json     configuration and key inventory (no personal data)
    DIR/keys/           the file key store (development); or a PKCS#11 token named in issuer.json
    DIR/registry.json   document number -> status list, index, key, dates, status
    DIR/public/         what `publish` writes for readers (see cardio.published)

The registry never holds a name, a birth date or a photo: a card is known by its document
number and status index only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cardio.credential import (
    ChipBinding,
    Credential,
    Holder,
    Variant,
    expiry_timestamp,
    sign_credential,
)
from cardio.errors import CitycardError, KeyStoreError
from cardio.files import write_atomic
from cardio.keys import FileKeyStore, KeyStore, Signer, public_pem
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE
from cardio.statuslist import Status, StatusList, sign_token
from cardio.trustlist import KeyPurpose, KeyState, TrustedKey, TrustList, sign_trust_list

CONFIG_FILE = "issuer.json"
REGISTRY_FILE = "registry.json"
ROOT_LABEL = "root"
DEFAULT_KIOSK = "kiosk-1"
DEFAULT_STATUS_KEY = "status-1"
PIN_ENV = "CITYCARD_PKCS11_PIN"
STATUS_NAMES = {"valid": Status.VALID, "revoked": Status.INVALID, "suspended": Status.SUSPENDED}


class IssuerError(CitycardError):
    """Something the issuer cannot do; the message says what to do instead."""


@dataclass(frozen=True)
class Issued:
    """What issuing one card produced: both credentials and where its status lives."""

    credential: Credential
    chip_cose: bytes | None
    print_cose: bytes
    status_list: str
    status_index: int


def luhn_digit(digits: str) -> str:
    """Check digit so that a mistyped document number is caught at the desk."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return str((10 - total % 10) % 10)


class Issuer:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        path = self.dir / CONFIG_FILE
        try:
            self.config: dict[str, Any] = json.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise IssuerError(
                f"{self.dir} is not an issuer directory; create one with 'citycard-api init --dir {self.dir}'."
            ) from exc
        except (ValueError, OSError) as exc:
            raise IssuerError(f"{path} cannot be read ({exc}); restore it from backup.") from exc
        self._keystore: KeyStore | None = None

    # -- creation -------------------------------------------------------------------------------

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
    ) -> Issuer:
        directory = Path(directory)
        if (directory / CONFIG_FILE).exists():
            raise IssuerError(f"{directory} already holds an issuer; pick an empty directory.")
        directory.mkdir(parents=True, exist_ok=True)
        now = int(time.time()) if now is None else now
        config: dict[str, Any] = {
            "issuer": issuer_id,
            "base_url": base_url.rstrip("/"),
            "program": program,
            "doc_prefix": doc_prefix,
            "keystore": {"type": "pkcs11", **pkcs11} if pkcs11 else {"type": "file"},
            "status_list_size": 1 << 17,
            "status_bits": 2,
            "status_ttl": 3600,
            "default_validity_days": 730,
            "trust_list_version": 0,
            "published_trust_payload": None,
            "keys": [],
            "status_lists": ["1"],
        }
        write_atomic(directory / CONFIG_FILE, _json(config), 0o600)
        issuer = cls(directory)
        try:  # open the key store (PIN, module, token) before the directory counts as an issuer
            issuer.keystore.labels()
        except CitycardError:
            issuer.close()
            (directory / CONFIG_FILE).unlink()
            raise
        issuer._create_key(ROOT_LABEL, "root", now, years=20)
        issuer._create_key(DEFAULT_KIOSK, KeyPurpose.ISSUE.value, now, years=5)
        issuer._create_key(DEFAULT_STATUS_KEY, KeyPurpose.STATUS.value, now, years=5)
        write_atomic(directory / REGISTRY_FILE, _json({"next_document": 1, "cards": {}}), 0o600)
        issuer.publish(now)
        return issuer

    def _create_key(self, label: str, purpose: str, now: int, years: int) -> None:
        self.keystore.create(label)
        self.config["keys"].append(
            {
                "label": label,
                "purpose": purpose,
                "not_before": now - 300,
                "not_after": now + years * 365 * 86400,
                "state": KeyState.ACTIVE.value,
            }
        )
        self._save_config()

    # -- keys -----------------------------------------------------------------------------------

    @property
    def keystore(self) -> KeyStore:
        if self._keystore is None:
            ks = self.config.get("keystore", {"type": "file"})
            if ks.get("type") == "pkcs11":
                from cardio.keys_pkcs11 import Pkcs11KeyStore

                pin = os.environ.get(PIN_ENV)
                if not pin:
                    raise KeyStoreError(
                        f"Set {PIN_ENV} to the token's user PIN, then run the command again."
                    )
                self._keystore = Pkcs11KeyStore(ks["module"], ks["token"], pin)
            else:
                self._keystore = FileKeyStore(self.dir / "keys")
        return self._keystore

    def close(self) -> None:
        if self._keystore is not None:
            self._keystore.close()
            self._keystore = None

    def _key_entry(self, label: str) -> dict[str, Any]:
        for entry in self.config["keys"]:
            if entry["label"] == label:
                return dict(entry)
        raise IssuerError(
            f"There is no key labelled {label!r}; 'citycard-api trust show' lists them."
        )

    def set_key_state(self, label: str, state: KeyState) -> None:
        if label == ROOT_LABEL:
            raise IssuerError(
                "The root key cannot be withdrawn this way; rotate it with a new issuer."
            )
        for entry in self.config["keys"]:
            if entry["label"] == label:
                entry["state"] = state.value
                self._save_config()
                return
        self._key_entry(label)

    def trust_list_body(self, now: int) -> TrustList:
        """The trust list as it should be published now (version not yet assigned)."""
        keys = []
        for entry in self.config["keys"]:
            if entry["purpose"] == "root":
                continue
            signer = self.keystore.signer(entry["label"])
            keys.append(
                TrustedKey(
                    kid=signer.kid,
                    public_key=signer.public_key,
                    purpose=KeyPurpose(entry["purpose"]),
                    label=entry["label"],
                    not_before=entry["not_before"],
                    not_after=entry["not_after"],
                    state=KeyState(entry["state"]),
                )
            )
        uris = tuple(self.status_uri(i) for i in self.config["status_lists"])
        return TrustList(
            self.config["trust_list_version"], self.config["issuer"], now, tuple(keys), uris
        )

    def status_uri(self, list_id: str) -> str:
        return f"{self.config['base_url']}/status/{list_id}"

    # -- registry -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _registry(self) -> Iterator[dict[str, Any]]:
        """The registry under an exclusive lock; saved atomically when the block succeeds."""
        lock_path = self.dir / ".lock"
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.dir / REGISTRY_FILE
            registry = json.loads(path.read_text("utf-8"))
            yield registry
            write_atomic(path, _json(registry), 0o600)

    def _allocate(self, registry: dict[str, Any]) -> tuple[str, str, int]:
        """A new document number and a random free status index (herd privacy, per the draft)."""
        seq = registry["next_document"]
        registry["next_document"] = seq + 1
        digits = f"{seq:07d}"
        number = f"{self.config['doc_prefix']}{digits}{luhn_digit(digits)}"
        used = {(c["list"], c["idx"]) for c in registry["cards"].values()}
        size = self.config["status_list_size"]
        list_id = self.config["status_lists"][-1]
        if sum(1 for lst, _ in used if lst == list_id) >= size // 2:
            raise IssuerError(
                "The status list is half full; add a new status list and publish before issuing more."
            )
        while True:
            idx = secrets.randbelow(size)
            if (list_id, idx) not in used:
                return number, list_id, idx

    def issue(
        self,
        holder: Holder,
        expires: date | None = None,
        chip_binding: ChipBinding | None = None,
        kiosk_label: str = DEFAULT_KIOSK,
        now: int | None = None,
    ) -> Issued:
        """Allocate, then sign the print credential and (with a binding) the chip credential."""
        now = int(time.time()) if now is None else now
        entry = self._key_entry(kiosk_label)
        if entry["purpose"] != KeyPurpose.ISSUE.value or entry["state"] != KeyState.ACTIVE.value:
            raise IssuerError(
                f"The key {kiosk_label!r} is not an active kiosk key; use another kiosk key."
            )
        signer = self.keystore.signer(kiosk_label)
        if expires is None:
            today = datetime.fromtimestamp(now, UTC).date()
            expires = today + timedelta(days=self.config["default_validity_days"])
        with self._registry() as registry:
            number, list_id, idx = self._allocate(registry)
            base = Credential(
                issuer=self.config["issuer"],
                document_number=number,
                issued_at=now,
                expires_at=expiry_timestamp(expires),
                status_index=idx,
                status_uri=self.status_uri(list_id),
                holder=replace(holder, photo=None),
            )
            print_cose = sign_credential(signer, base)
            chip_cose = None
            if chip_binding is not None:
                chip = replace(base, holder=holder, variant=Variant.CHIP, binding=chip_binding)
                chip_cose = sign_credential(signer, chip)
            registry["cards"][number] = {
                "list": list_id,
                "idx": idx,
                "kid": signer.kid.hex(),
                "iat": now,
                "exp": base.expires_at,
                "status": "valid",
            }
        return Issued(base, chip_cose, print_cose, list_id, idx)

    def set_status(self, index: int, status: str, list_id: str | None = None) -> str:
        """Set the status of the card at `index`; returns its document number."""
        if status not in STATUS_NAMES:
            raise IssuerError("The status must be one of valid, revoked or suspended.")
        list_id = list_id or self.config["status_lists"][-1]
        with self._registry() as registry:
            for number, card in registry["cards"].items():
                if card["list"] == list_id and card["idx"] == index:
                    if card["status"] == "revoked" and status != "revoked":
                        raise IssuerError(
                            f"Card {number} is revoked and cannot be reinstated; issue a new card."
                        )
                    card["status"] = status
                    return str(number)
        raise IssuerError(f"No card uses index {index} of status list {list_id}; check the index.")

    def status_list(self, list_id: str) -> StatusList:
        lst = StatusList(self.config["status_list_size"], self.config["status_bits"])
        registry = json.loads((self.dir / REGISTRY_FILE).read_text("utf-8"))
        for card in registry["cards"].values():
            if card["list"] == list_id and card["status"] != "valid":
                lst.set(card["idx"], STATUS_NAMES[card["status"]])
        return lst

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, now: int | None = None) -> Path:
        """Write root key, trust list (a new version only when its content changed) and status lists."""
        now = int(time.time()) if now is None else now
        pub = self.dir / "public"
        body = self.trust_list_body(now)
        content = replace(body, version=0, issued_at=0).to_payload().hex()
        trust_path = pub / TRUST_LIST_FILE
        if content != self.config.get("published_trust_payload") or not trust_path.exists():
            self.config["trust_list_version"] += 1
            self.config["published_trust_payload"] = content
            self._save_config()
            tl = replace(body, version=self.config["trust_list_version"])
            write_atomic(trust_path, sign_trust_list(self.keystore.signer(ROOT_LABEL), tl))
        write_atomic(
            pub / ROOT_KEY_FILE, public_pem(self.keystore.signer(ROOT_LABEL).public_key).encode()
        )
        status_signer = self._active_signer(KeyPurpose.STATUS)
        for list_id in self.config["status_lists"]:
            token = sign_token(
                status_signer,
                self.status_list(list_id),
                uri=self.status_uri(list_id),
                iat=now,
                ttl=self.config["status_ttl"],
                exp=None,
            )
            write_atomic(pub / STATUS_DIR / f"{list_id}{STATUS_SUFFIX}", token)
        return pub

    def _active_signer(self, purpose: KeyPurpose) -> Signer:
        for entry in self.config["keys"]:
            if entry["purpose"] == purpose.value and entry["state"] == KeyState.ACTIVE.value:
                return self.keystore.signer(entry["label"])
        raise IssuerError(f"There is no active {purpose.value} key; create one before publishing.")

    def card_status(self, number: str) -> str:
        registry = json.loads((self.dir / REGISTRY_FILE).read_text("utf-8"))
        card = registry["cards"].get(number)
        if card is None:
            raise IssuerError(f"There is no card {number}.")
        return str(card["status"])

    def _save_config(self) -> None:
        write_atomic(self.dir / CONFIG_FILE, _json(self.config), 0o600)


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")
