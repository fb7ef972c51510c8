"""A city issuer kept in one directory: keys, configuration, registry and published files.

    DIR/issuer.json       configuration and key inventory (no personal data)
    DIR/keys/             the file key store (development); or a PKCS#11 token named in issuer.json
    DIR/registry.sqlite   the registry (api.issuer.registry): document number -> status list, index,
                          key, dates, status; kiosk and staff accounts; audit trail. Or a
                          PostgreSQL database named by CITYCARD_DATABASE_URL / DIR/server.toml.
    DIR/server.toml       optional settings of `citycard-api serve` (api.issuer.server)
    DIR/public/           what `publish` writes for readers (see cardio.published)

The registry never holds a name, a birth date or a photo: a card is known by its document
number and status index only.

Cards reach the registry two ways: `issue` (the development path of `citycard-api issue`:
allocate and sign here, with a kiosk key in this directory's key store) and the kiosk API
(`allocate` a number and index for a kiosk that signs with its own key, then `report_issued` or
`void`). Changes to configuration and the published files happen under an exclusive lock on
DIR/.lock, after re-reading issuer.json, so that the CLI and a running server never undo each
other's changes.
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

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cardio import codes
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
from cardio.keys import (
    FileKeyStore,
    KeyStore,
    Signer,
    check_label,
    fingerprint,
    kid_for,
    load_public_pem,
    public_pem,
)
from cardio.kiosk_auth import KioskCredential
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE
from cardio.statuslist import Status, StatusList, sign_token
from cardio.trustlist import KeyPurpose, KeyState, TrustedKey, TrustList, sign_trust_list

from .registry import (
    ACTIVE,
    ALLOCATED,
    DOCUMENT_COUNTER,
    ISSUED,
    REVOKED,
    SUSPENDED,
    VALID,
    VOIDED,
    WITHDRAWN,
    Card,
    Kiosk,
    KioskNonce,
    Registry,
    Staff,
    StatusListRow,
)

CONFIG_FILE = "issuer.json"
LOCK_FILE = ".lock"
ROOT_LABEL = "root"
DEFAULT_KIOSK = "kiosk-1"
DEFAULT_STATUS_KEY = "status-1"
PIN_ENV = "CITYCARD_PKCS11_PIN"
STATUS_NAMES = {VALID: Status.VALID, REVOKED: Status.INVALID, SUSPENDED: Status.SUSPENDED}
KIOSK_KEY_YEARS = 5
_ALLOCATION_ATTEMPTS = 5


class IssuerError(CitycardError):
    """Something the issuer cannot do; the message says what to do instead."""


class UnknownCardError(IssuerError):
    """No card with that document number (for the caller asking)."""


class CardStateError(IssuerError):
    """The card's status or lifecycle does not allow the change asked for."""


@dataclass(frozen=True)
class Issued:
    """What issuing one card produced: both credentials and where its status lives."""

    credential: Credential
    chip_cose: bytes | None
    print_cose: bytes
    status_list: str
    status_index: int


@dataclass(frozen=True)
class Allocation:
    """A document number and status slot handed to a kiosk, with the receipt's one-time code.

    `revocation_code` is fresh on every response (the registry keeps only its hash): a kiosk
    that repeats a request prints the code from the last response it received.
    """

    document_number: str
    status_list: str
    status_uri: str
    status_index: int
    kid: str
    request_id: str
    revocation_code: str
    replayed: bool


@dataclass(frozen=True)
class CardInfo:
    """What the registry knows about a card (never anything personal)."""

    document_number: str
    status_list: str
    status_index: int
    kid: str
    iat: int | None
    exp: int | None
    status: str
    state: str

    @classmethod
    def of(cls, card: Card) -> CardInfo:
        return cls(
            card.document_number,
            card.status_list,
            card.status_index,
            card.kid,
            card.iat,
            card.exp,
            card.status,
            card.state,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "document_number": self.document_number,
            "status_list": self.status_list,
            "status_index": self.status_index,
            "kid": self.kid,
            "issued_at": self.iat,
            "expires_at": self.exp,
            "status": self.status,
            "state": self.state,
        }


@dataclass(frozen=True)
class KioskAccount:
    kiosk_id: str
    key_label: str
    kid: str
    auth_public_key: ec.EllipticCurvePublicKey
    auth_key_fingerprint: str
    state: str


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
    def __init__(self, directory: Path, database_url: str | None = None) -> None:
        self.dir = Path(directory)
        self._database_url = database_url
        self.config: dict[str, Any] = self._read_config()
        self._config_stamp = self._stamp()
        self._keystore: KeyStore | None = None
        self._registry: Registry | None = None

    def _read_config(self) -> dict[str, Any]:
        path = self.dir / CONFIG_FILE
        try:
            config: dict[str, Any] = json.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise IssuerError(
                f"{self.dir} is not an issuer directory; create one with 'citycard-api init --dir {self.dir}'."
            ) from exc
        except (ValueError, OSError) as exc:
            raise IssuerError(f"{path} cannot be read ({exc}); restore it from backup.") from exc
        return config

    def _stamp(self) -> tuple[int, int, int]:
        try:
            st = (self.dir / CONFIG_FILE).stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh_config(self) -> None:
        """Re-read issuer.json if another process (the CLI, a server) replaced it."""
        stamp = self._stamp()
        if stamp != self._config_stamp:
            self.config = self._read_config()
            self._config_stamp = stamp

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the configuration and published files, with a fresh configuration."""
        with open(self.dir / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.refresh_config()
            yield

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
        database_url: str | None = None,
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
        issuer = cls(directory, database_url)
        try:  # open the key store (PIN, module, token) and the registry before it counts
            issuer.keystore.labels()
            with issuer.registry.read() as s:
                if s.scalar(select(func.count()).select_from(Card)):
                    raise IssuerError(
                        f"The registry database {issuer.registry.display_url} already holds cards; give a new, empty database."
                    )
        except CitycardError:
            issuer.close()
            (directory / CONFIG_FILE).unlink()
            raise
        issuer._create_key(ROOT_LABEL, "root", now, years=20)
        issuer._create_key(DEFAULT_KIOSK, KeyPurpose.ISSUE.value, now, years=KIOSK_KEY_YEARS)
        issuer._create_key(DEFAULT_STATUS_KEY, KeyPurpose.STATUS.value, now, years=5)
        issuer.publish(now)
        return issuer

    def _create_key(
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
        self.config["keys"].append(entry)
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

    @property
    def registry(self) -> Registry:
        """The registry database, opened (and its tables created) on first use."""
        if self._registry is None:
            registry = Registry.for_directory(self.dir, self._database_url)
            try:
                registry.create_schema()
                now = int(time.time())
                with registry.write() as s:
                    registry.ensure_counter(s, DOCUMENT_COUNTER)
                    for list_id in self.config["status_lists"]:
                        registry.ensure_status_list(
                            s,
                            list_id,
                            self.config["status_list_size"],
                            self.config["status_bits"],
                            now,
                        )
                registry.import_legacy_json(
                    self.dir, self.config["status_list_size"], self.config["status_bits"], now
                )
            except BaseException:
                registry.close()
                raise
            self._registry = registry
        return self._registry

    def close(self) -> None:
        if self._keystore is not None:
            self._keystore.close()
            self._keystore = None
        if self._registry is not None:
            self._registry.close()
            self._registry = None

    def _key_entry(self, label: str) -> dict[str, Any]:
        for entry in self.config["keys"]:
            if entry["label"] == label:
                return dict(entry)
        raise IssuerError(
            f"There is no key labelled {label!r}; 'citycard-api trust show' lists them."
        )

    def _public_key(self, entry: dict[str, Any]) -> ec.EllipticCurvePublicKey:
        if "public_key" in entry:
            return load_public_pem(entry["public_key"].encode("ascii"))
        return self.keystore.signer(entry["label"]).public_key

    def key_state(self, label: str) -> KeyState:
        return KeyState(self._key_entry(label)["state"])

    def set_key_state(self, label: str, state: KeyState) -> None:
        if label == ROOT_LABEL:
            raise IssuerError(
                "The root key cannot be withdrawn this way; rotate it with a new issuer."
            )
        with self._locked():
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
            public = self._public_key(entry)
            keys.append(
                TrustedKey(
                    kid=kid_for(public),
                    public_key=public,
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

    def _allocate(self, s: Session) -> tuple[str, str, int]:
        """A new document number and a random free status index (herd privacy, per the draft)."""
        seq = self.registry.next_value(s, DOCUMENT_COUNTER)
        digits = f"{seq:07d}"
        number = f"{self.config['doc_prefix']}{digits}{luhn_digit(digits)}"
        list_id = self.config["status_lists"][-1]
        row = s.get(StatusListRow, list_id)
        if row is None:
            raise IssuerError(f"The registry has no status list {list_id!r}; publish first.")
        used = s.scalar(select(func.count()).select_from(Card).where(Card.status_list == list_id))
        if (used or 0) >= row.size // 2:
            raise IssuerError(
                "The status list is half full; add a new status list and publish before issuing more."
            )
        while True:
            idx = secrets.randbelow(row.size)
            taken = s.scalar(
                select(Card.document_number).where(
                    Card.status_list == list_id, Card.status_index == idx
                )
            )
            if taken is None:
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
        with self.registry.write() as s:
            number, list_id, idx = self._allocate(s)
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
            s.add(
                Card(
                    document_number=number,
                    status_list=list_id,
                    status_index=idx,
                    kid=signer.kid.hex(),
                    iat=now,
                    exp=base.expires_at,
                    status=VALID,
                    state=ISSUED,
                    created_at=now,
                    updated_at=now,
                )
            )
            Registry.audit(s, now, "cli", "issue", document_number=number, detail=kiosk_label)
        return Issued(base, chip_cose, print_cose, list_id, idx)

    def set_status(self, index: int, status: str, list_id: str | None = None) -> str:
        """Set the status of the card at `index`; returns its document number."""
        if status not in STATUS_NAMES:
            raise IssuerError("The status must be one of valid, revoked or suspended.")
        list_id = list_id or self.config["status_lists"][-1]
        with self.registry.write() as s:
            card = s.scalars(
                select(Card).where(Card.status_list == list_id, Card.status_index == index)
            ).first()
            if card is None:
                raise IssuerError(
                    f"No card uses index {index} of status list {list_id}; check the index."
                )
            self._change_status(s, card, status, "cli", None)
            return card.document_number

    def _change_status(
        self, s: Session, card: Card, status: str, actor_type: str, actor_id: str | None
    ) -> bool:
        """Apply a status change to `card`; True when something changed."""
        if card.status == status:
            return False
        if card.status == REVOKED:
            raise CardStateError(
                f"Card {card.document_number} is revoked and cannot be reinstated; issue a new card."
            )
        now = int(time.time())
        card.status = status
        card.updated_at = now
        if status == REVOKED:
            card.revocation_code_hash = None
        Registry.audit(
            s,
            now,
            actor_type,
            "status",
            actor_id,
            document_number=card.document_number,
            detail=status,
        )
        return True

    def status_list(self, list_id: str) -> StatusList:
        with self.registry.read() as s:
            row = s.get(StatusListRow, list_id)
            if row is None:
                raise IssuerError(f"There is no status list {list_id!r}.")
            lst = StatusList(row.size, row.bits)
            for idx, status in s.execute(
                select(Card.status_index, Card.status).where(
                    Card.status_list == list_id, Card.status != VALID
                )
            ):
                lst.set(idx, STATUS_NAMES[status])
        return lst

    def card_status(self, number: str) -> str:
        return self.card(number).status

    def card(self, number: str) -> CardInfo:
        with self.registry.read() as s:
            card = s.get(Card, number)
            if card is None:
                raise UnknownCardError(f"There is no card {number}.")
            return CardInfo.of(card)

    # -- the kiosk API --------------------------------------------------------------------------

    def allocate(self, kiosk_id: str, request_id: str, now: int | None = None) -> Allocation:
        """A document number and status slot for a kiosk; the same request id gets the same one."""
        now = int(time.time()) if now is None else now
        code = codes.new_revocation_code()
        code_hash = codes.hash_code(code)  # before the transaction: scrypt takes ~40 ms
        for attempt in range(_ALLOCATION_ATTEMPTS):
            try:
                return self._allocate_once(kiosk_id, request_id, code, code_hash, now)
            except IntegrityError:  # a concurrent allocation took the slot or the request id
                if attempt == _ALLOCATION_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _allocate_once(
        self, kiosk_id: str, request_id: str, code: str, code_hash: str, now: int
    ) -> Allocation:
        with self.registry.write() as s:
            kiosk = s.get(Kiosk, kiosk_id)
            if kiosk is None or kiosk.state != ACTIVE:
                raise CardStateError(f"The kiosk {kiosk_id!r} may not allocate cards.")
            card = s.scalars(
                select(Card).where(Card.kiosk_id == kiosk_id, Card.request_id == request_id)
            ).first()
            replayed = card is not None
            if card is not None:
                if card.state != ALLOCATED:
                    raise CardStateError(
                        f"Request {request_id} was already used for card {card.document_number}, which is {card.state}; allocate with a new request id."
                    )
                card.revocation_code_hash = code_hash
                card.updated_at = now
                action = "allocate-repeat"
            else:
                number, list_id, idx = self._allocate(s)
                card = Card(
                    document_number=number,
                    status_list=list_id,
                    status_index=idx,
                    kid=kiosk.kid,
                    status=VALID,
                    state=ALLOCATED,
                    kiosk_id=kiosk_id,
                    request_id=request_id,
                    revocation_code_hash=code_hash,
                    created_at=now,
                    updated_at=now,
                )
                s.add(card)
                action = "allocate"
            Registry.audit(s, now, "kiosk", action, kiosk_id, card.document_number)
            return Allocation(
                document_number=card.document_number,
                status_list=card.status_list,
                status_uri=self.status_uri(card.status_list),
                status_index=card.status_index,
                kid=card.kid,
                request_id=request_id,
                revocation_code=code,
                replayed=replayed,
            )

    def _kiosk_card(self, s: Session, kiosk_id: str, number: str) -> Card:
        card = s.get(Card, number)
        if card is None or card.kiosk_id != kiosk_id:
            raise UnknownCardError(
                f"This kiosk has not allocated a card {number}; check the document number."
            )
        return card

    def report_issued(
        self,
        kiosk_id: str,
        number: str,
        issued_at: int,
        expires_at: int,
        code_hash: str | None = None,
        now: int | None = None,
    ) -> CardInfo:
        """The kiosk signed and delivered the card: record its times (idempotent), and the
        digest of the revocation code it printed when it made its own (cardio.codes)."""
        now = int(time.time()) if now is None else now
        if not 0 <= issued_at < expires_at < 2**40:
            raise IssuerError("expires_at must be after issued_at, both in unix seconds.")
        _check_digest(code_hash)
        with self.registry.write() as s:
            card = self._kiosk_card(s, kiosk_id, number)
            if card.state == ISSUED and (card.iat, card.exp) == (issued_at, expires_at):
                if code_hash is not None and card.status != REVOKED:
                    card.revocation_code_hash, card.updated_at = code_hash, now
                return CardInfo.of(card)
            if card.state != ALLOCATED:
                raise CardStateError(
                    f"Card {number} is already {card.state}; it cannot be reported issued again."
                )
            card.state, card.iat, card.exp, card.updated_at = ISSUED, issued_at, expires_at, now
            if code_hash is not None:
                card.revocation_code_hash = code_hash
            Registry.audit(s, now, "kiosk", "issued", kiosk_id, number)
            return CardInfo.of(card)

    def replace_code_hash(
        self, kiosk_id: str, number: str, code_hash: str, now: int | None = None
    ) -> CardInfo:
        """A new revocation code for a card (its receipt was printed again): only the new
        digest counts from now on."""
        now = int(time.time()) if now is None else now
        _check_digest(code_hash)
        with self.registry.write() as s:
            card = self._kiosk_card(s, kiosk_id, number)
            if card.state == VOIDED or card.status == REVOKED:
                raise CardStateError(
                    f"Card {number} is {card.state} and {card.status}; it needs no code."
                )
            card.revocation_code_hash, card.updated_at = code_hash, now
            Registry.audit(s, now, "kiosk", "new-code", kiosk_id, number)
            return CardInfo.of(card)

    def void(self, kiosk_id: str, number: str, now: int | None = None) -> tuple[CardInfo, bool]:
        """A card the kiosk could not finish: mark it INVALID for good. True when it changed."""
        now = int(time.time()) if now is None else now
        with self.registry.write() as s:
            card = self._kiosk_card(s, kiosk_id, number)
            if card.state == VOIDED:
                return CardInfo.of(card), False
            card.state, card.status, card.updated_at = VOIDED, REVOKED, now
            card.revocation_code_hash = None
            Registry.audit(s, now, "kiosk", "void", kiosk_id, number)
            return CardInfo.of(card), True

    # -- revocation -----------------------------------------------------------------------------

    def set_card_status(
        self, number: str, status: str, actor_type: str, actor_id: str | None
    ) -> tuple[CardInfo, bool]:
        """Revoke, suspend or reinstate (valid) by document number; True when it changed."""
        if status not in STATUS_NAMES:
            raise IssuerError("The status must be one of valid, revoked or suspended.")
        with self.registry.write() as s:
            card = s.get(Card, number)
            if card is None:
                raise UnknownCardError(f"There is no card {number}; check the document number.")
            if card.state == VOIDED and status != REVOKED:
                raise CardStateError(f"Card {number} was voided and cannot be reinstated.")
            changed = self._change_status(s, card, status, actor_type, actor_id)
            return CardInfo.of(card), changed

    def self_revoke(self, number: str, code: str, now: int | None = None) -> CardInfo | None:
        """Revoke with the receipt's one-time code; None (and no hint why) when it does not match.

        The time taken does not depend on whether the number exists: one scrypt either way.
        """
        now = int(time.time()) if now is None else now
        with self.registry.read() as s:
            card = s.get(Card, number)
            stored = (
                card.revocation_code_hash if card is not None and card.state == ISSUED else None
            )
        if not codes.check_code(code, stored) or stored is None:
            return None
        with self.registry.write() as s:
            # Compare-and-set on the hash: a code works once, even under concurrent attempts.
            done = s.execute(
                update(Card)
                .where(Card.document_number == number, Card.revocation_code_hash == stored)
                .values(status=REVOKED, revocation_code_hash=None, updated_at=now)
                .returning(Card.document_number)
            ).first()
            if done is None:
                return None
            Registry.audit(s, now, "holder", "self-revoke", None, number, REVOKED)
            card = s.get(Card, number)
            assert card is not None
            return CardInfo.of(card)

    # -- kiosk and staff accounts ---------------------------------------------------------------

    def add_kiosk(
        self,
        kiosk_id: str,
        api_public_key: ec.EllipticCurvePublicKey | None = None,
        signing_public_key: ec.EllipticCurvePublicKey | None = None,
        now: int | None = None,
    ) -> tuple[KioskAccount, KioskCredential | None]:
        """Register a kiosk: its signing key joins the trust list (published) and its API key
        is recorded. Without `api_public_key` a key pair is made here and returned once, as the
        kiosk credential; without `signing_public_key` the signing key is made in this issuer's
        key store (development), or an existing kiosk key with that label is used."""
        now = int(time.time()) if now is None else now
        check_label(kiosk_id)
        if kiosk_id == ROOT_LABEL:
            raise IssuerError("'root' is the city root key's label; choose another kiosk id.")
        with self.registry.read() as s:
            if s.get(Kiosk, kiosk_id) is not None:
                raise IssuerError(
                    f"There is already a kiosk {kiosk_id!r}; revoke it or choose another id."
                )
        credential = None
        if api_public_key is None:
            credential = KioskCredential.generate(kiosk_id)
            api_public_key = credential.public_key
        with self._locked():
            existing = next((e for e in self.config["keys"] if e["label"] == kiosk_id), None)
            if existing is None:
                self._create_key(
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
            kid = kid_for(self._public_key(self._key_entry(kiosk_id))).hex()
        account = KioskAccount(
            kiosk_id, kiosk_id, kid, api_public_key, fingerprint(api_public_key), ACTIVE
        )
        with self.registry.write() as s:
            s.add(
                Kiosk(
                    kiosk_id=kiosk_id,
                    key_label=kiosk_id,
                    kid=kid,
                    auth_public_key=public_pem(api_public_key),
                    auth_key_fingerprint=account.auth_key_fingerprint,
                    state=ACTIVE,
                    created_at=now,
                    updated_at=now,
                )
            )
            Registry.audit(s, now, "cli", "kiosk-add", kiosk_id, detail=kid)
        self.publish(now)
        return account, credential

    def kiosk(self, kiosk_id: str) -> KioskAccount | None:
        with self.registry.read() as s:
            row = s.get(Kiosk, kiosk_id)
            if row is None:
                return None
            return KioskAccount(
                row.kiosk_id,
                row.key_label,
                row.kid,
                load_public_pem(row.auth_public_key.encode("ascii")),
                row.auth_key_fingerprint,
                row.state,
            )

    def kiosks(self) -> list[KioskAccount]:
        with self.registry.read() as s:
            ids = list(s.scalars(select(Kiosk.kiosk_id).order_by(Kiosk.kiosk_id)))
        return [k for k in (self.kiosk(i) for i in ids) if k is not None]

    def revoke_kiosk(self, kiosk_id: str, now: int | None = None) -> KioskAccount:
        """Cut a kiosk off: its account and its signing key are revoked, and the trust list
        that says so is published (cards it signed stop verifying: KEY_REVOKED)."""
        now = int(time.time()) if now is None else now
        with self.registry.write() as s:
            row = s.get(Kiosk, kiosk_id)
            if row is None:
                raise IssuerError(
                    f"There is no kiosk {kiosk_id!r}; 'citycard-api kiosk list' shows them."
                )
            row.state, row.updated_at = WITHDRAWN, now
            label = row.key_label
            Registry.audit(s, now, "cli", "kiosk-revoke", kiosk_id, detail=row.kid)
        self.set_key_state(label, KeyState.REVOKED)
        self.publish(now)
        account = self.kiosk(kiosk_id)
        assert account is not None
        return account

    def add_staff(self, staff_id: str, now: int | None = None) -> str:
        """A staff account; returns its bearer token (shown once, stored only as a hash)."""
        now = int(time.time()) if now is None else now
        check_label(staff_id)
        token = codes.new_staff_token()
        with self.registry.write() as s:
            if s.get(Staff, staff_id) is not None:
                raise IssuerError(
                    f"There is already a staff account {staff_id!r}; revoke it or choose another id."
                )
            s.add(
                Staff(
                    staff_id=staff_id,
                    token_hash=codes.hash_staff_token(token),
                    state=ACTIVE,
                    created_at=now,
                    updated_at=now,
                )
            )
            Registry.audit(s, now, "cli", "staff-add", staff_id)
        return token

    def revoke_staff(self, staff_id: str, now: int | None = None) -> None:
        now = int(time.time()) if now is None else now
        with self.registry.write() as s:
            row = s.get(Staff, staff_id)
            if row is None:
                raise IssuerError(f"There is no staff account {staff_id!r}.")
            row.state, row.updated_at = WITHDRAWN, now
            Registry.audit(s, now, "cli", "staff-revoke", staff_id)

    def staff_for_token(self, token: str) -> str | None:
        """The active staff id whose token this is, or None."""
        with self.registry.read() as s:
            row = s.scalars(
                select(Staff).where(Staff.token_hash == codes.hash_staff_token(token))
            ).first()
            return row.staff_id if row is not None and row.state == ACTIVE else None

    def remember_nonce(self, kiosk_id: str, nonce: str, now: int, window: int) -> bool:
        """Record a signed request's nonce; False when it was seen within the window (a replay)."""
        try:
            with self.registry.write() as s:
                if secrets.randbelow(64) == 0:  # now and then, forget nonces past the window
                    s.execute(delete(KioskNonce).where(KioskNonce.seen_at < now - 2 * window))
                s.add(KioskNonce(kiosk_id=kiosk_id, nonce=nonce, seen_at=now))
        except IntegrityError:
            return False
        return True

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, now: int | None = None) -> Path:
        """Write root key, trust list (a new version only when its content changed) and status lists."""
        now = int(time.time()) if now is None else now
        pub = self.dir / "public"
        with self._locked():
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
                pub / ROOT_KEY_FILE,
                public_pem(self.keystore.signer(ROOT_LABEL).public_key).encode(),
            )
            self._publish_status(self.config["status_lists"], now)
        return pub

    def publish_status(self, list_ids: list[str] | None = None, now: int | None = None) -> None:
        """Sign and write status list tokens again (all lists, or those named)."""
        now = int(time.time()) if now is None else now
        with self._locked():
            self._publish_status(list_ids or self.config["status_lists"], now)

    def _publish_status(self, list_ids: list[str], now: int) -> None:
        status_signer = self._active_signer(KeyPurpose.STATUS)
        for list_id in list_ids:
            token = sign_token(
                status_signer,
                self.status_list(list_id),
                uri=self.status_uri(list_id),
                iat=now,
                ttl=self.config["status_ttl"],
                exp=None,
            )
            write_atomic(self.dir / "public" / STATUS_DIR / f"{list_id}{STATUS_SUFFIX}", token)

    def _active_signer(self, purpose: KeyPurpose) -> Signer:
        for entry in self.config["keys"]:
            if entry["purpose"] == purpose.value and entry["state"] == KeyState.ACTIVE.value:
                return self.keystore.signer(entry["label"])
        raise IssuerError(f"There is no active {purpose.value} key; create one before publishing.")

    def _save_config(self) -> None:
        write_atomic(self.dir / CONFIG_FILE, _json(self.config), 0o600)
        self._config_stamp = self._stamp()


def _check_digest(code_hash: str | None) -> None:
    if code_hash is not None and codes.parse_digest(code_hash) is None:
        raise IssuerError(
            f"The revocation code hash must be 'scrypt${codes.LOG_N}${codes.R}${codes.P}$<salt>$<hash>' as printer.receipt makes it."
        )


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")
