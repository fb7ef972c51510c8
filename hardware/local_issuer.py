"""An issuer in this process, standing in for the city's issuer API: demos, tests, `--simulate`.

A kiosk in production gets document numbers and status slots from the city's issuer API over
signed HTTP (kiosk.http_allocator). A development kiosk (`citycard-kiosk demo`, `serve
--simulate`) runs a whole `api.issuer.Issuer` under DATA_DIR/issuer instead; this module fits it
to the kiosk's `Allocator` interface. It lives among the simulators because no production
kiosk may import the issuer.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from api.issuer import Issuer
from api.issuer.cards import SlotAllocation
from api.issuer.errors import CardStateError, UnknownCardError
from api.issuer.keys import ROOT_LABEL
from cardio.errors import CitycardError
from cardio.files import write_atomic
from cardio.keys import fingerprint
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, TRUST_LIST_FILE
from cardio.wallet_trust import write_wallet_trust
from kiosk.allocator import (
    Allocation,
    AllocationError,
    KioskKeySigner,
    Successor,
    SuccessorRefusedError,
)

KIOSK_ID = "kiosk-1"
"""The kiosk account a local issuer registers for the development kiosk."""


def open_issuer(issuer_dir: Path, program_id: str) -> Issuer:
    """The development issuer under `issuer_dir` for `program_id`, created on first use."""
    if (issuer_dir / "issuer.json").exists():
        return Issuer(issuer_dir)
    prefix = "".join(c for c in program_id.upper() if c.isalnum())[:3] or "DEV"
    return Issuer.init(issuer_dir, issuer_id=f"{program_id}-demo", program=program_id,
                       doc_prefix=prefix)  # fmt: skip


def register_demo_kiosk(issuer_dir: Path, served_root: str, credential_file: Path) -> str | None:
    """Register a kiosk account for a demo that reaches the issuer under `issuer_dir` over its
    API (`citycard-kiosk demo --api URL` with no --kiosk-credential), as `citycard-api kiosk add`
    would, and write its credential to `credential_file` (mode 0600). Returns the new kiosk id,
    or None when `issuer_dir` holds no issuer or not the one whose root key the API serves
    (`served_root`, its SHA-256 fingerprint). Its signing key goes to `issuer_dir`/keys."""
    if not (issuer_dir / "issuer.json").is_file():
        return None
    issuer = Issuer(issuer_dir)
    try:
        if fingerprint(issuer.keystore.signer(ROOT_LABEL).public_key) != served_root:
            return None
        kiosk_id = f"demo-{secrets.token_hex(3)}"  # a fresh id: an old demo's may be revoked
        _account, credential = issuer.add_kiosk(kiosk_id)
        assert credential is not None  # no API key was given, so one was made for it
        credential_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(credential_file, (credential.to_json() + "\n").encode("ascii"), 0o600)
    finally:
        issuer.close()
    return kiosk_id


def publish_trust(issuer: Issuer, trust_dir: Path) -> None:
    """Publish, then copy the published files to `trust_dir` (what a venue's reader holds)."""
    public = issuer.publish()
    shutil.rmtree(trust_dir, ignore_errors=True)
    (trust_dir / STATUS_DIR).mkdir(parents=True)
    for name in (ROOT_KEY_FILE, TRUST_LIST_FILE):
        shutil.copy2(public / name, trust_dir / name)
    for status in sorted((public / STATUS_DIR).iterdir()):
        shutil.copy2(status, trust_dir / STATUS_DIR / status.name)
    write_wallet_trust(trust_dir, issuer.keystore.signer(ROOT_LABEL))  # jwks.json, iaca.pem


def _allocation(got: SlotAllocation) -> Allocation:
    """The issuer's slot as the kiosk's `Allocation`."""
    return Allocation(
        request_id=got.request_id,
        document_number=got.document_number,
        status_list=got.status_list,
        status_uri=got.status_uri,
        status_index=got.status_index,
        kid=got.kid,
        revocation_code=got.revocation_code,
        replayed=got.replayed,
    )


class IssuerAllocator:
    """A kiosk `Allocator` over an `Issuer` in this process."""

    def __init__(self, issuer: Issuer, kiosk_id: str) -> None:
        self.issuer = issuer
        self.kiosk_id = kiosk_id

    @classmethod
    def ensure_kiosk(cls, issuer: Issuer, kiosk_id: str = KIOSK_ID) -> IssuerAllocator:
        """The allocator for `kiosk_id`, registering the kiosk (with the issuer's own key of
        that label as its signing key) when it is not known yet."""
        if issuer.kiosk(kiosk_id) is None:
            issuer.add_kiosk(kiosk_id)  # the API credential it returns is not needed in-process
        return cls(issuer, kiosk_id)

    def kiosk_signer(self) -> KioskKeySigner:
        """The kiosk's signer: its key in the issuer's key store (development only)."""
        return KioskKeySigner(
            self.issuer.keystore.signer(self.kiosk_id), str(self.issuer.config["issuer"])
        )

    def allocate(self, request_id: str) -> Allocation:
        try:
            got = self.issuer.allocate(self.kiosk_id, request_id, int(time.time()))
        except CitycardError as exc:
            raise AllocationError(str(exc)) from exc
        return _allocation(got)

    def fetch_published(self, directory: Path, status_lists: list[str]) -> None:
        """Publish, then copy the published files into `directory` (kiosk.renewal.PublishedFilesSource)."""
        publish_trust(self.issuer, directory)

    def allocate_successor(self, request_id: str, successor: Successor) -> Allocation:
        """A renewal's or replacement's slot; a replaced card's revocation is published now
        (what the API route does)."""
        try:
            got, revoked = self.issuer.cards.allocate_successor(
                self.kiosk_id,
                request_id,
                successor.document_number,
                successor.kind,
                int(time.time()),
            )
            if revoked is not None:
                self.issuer.publish_status([revoked.status_list])
        except (UnknownCardError, CardStateError) as exc:
            raise SuccessorRefusedError(str(exc)) from exc
        except CitycardError as exc:
            raise AllocationError(str(exc)) from exc
        return _allocation(got)

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        try:
            card = self.issuer.report_issued(self.kiosk_id, document_number, issued_at, expires_at)
            if card.generation > 0:  # a renewal superseded the card before it: publish that
                earlier = self.issuer.cards.history(document_number)[:-1]
                self.issuer.publish_status(sorted({c.status_list for c in earlier}))
        except CitycardError as exc:
            raise _refusal(exc) from exc

    def replace_revocation_code(self, document_number: str, code_hash: str) -> None:
        try:
            self.issuer.replace_code_hash(self.kiosk_id, document_number, code_hash)
        except CitycardError as exc:
            raise _refusal(exc) from exc

    def void(self, document_number: str) -> None:
        try:
            card, changed = self.issuer.void(self.kiosk_id, document_number)
            if changed:  # what the API route does: readers learn of it at the next sync
                self.issuer.publish_status([card.status_list])
        except CitycardError as exc:
            raise AllocationError(str(exc)) from exc


def _refusal(exc: CitycardError) -> AllocationError:
    """The issuer's refusal as the API would answer it: 404 for a card that is not this
    kiosk's, 409 for one whose state refuses it (kiosk.allocator.card_refused)."""
    status = (
        404 if isinstance(exc, UnknownCardError) else 409 if isinstance(exc, CardStateError) else 0
    )
    return AllocationError(str(exc), status, str(exc))
