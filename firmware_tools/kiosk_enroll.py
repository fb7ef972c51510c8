"""Kiosk enrolment: the kiosk makes its keys, the city signs them into its trust list.

1. On the kiosk, `enroll` creates the credential-signing key (label = kiosk id) in a PKCS#11
   token or a file store, and an API key pair (`cardio.kiosk_auth.KioskCredential`, kept in the
   kiosk's state directory, mode 0600). It writes the **enrolment request**: a tagged
   COSE_Sign1 (ES256, typ "citycard-kiosk-enroll") signed by the new signing key itself (proof
   of possession) over the CBOR map
   `{"kiosk_id": tstr, "signing_key": SPKI PEM, "api_key": SPKI PEM, "created": uint}`.
2. At the city, `request-check` verifies that self-signature and writes the two PEM files for
   `citycard-api kiosk add KIOSK_ID --signing-key signing-key.pem --api-key api-key.pem`,
   printing both fingerprints to compare with the ones the kiosk showed.
3. Back on the kiosk, `install` takes what the city returns, its published root key and trust
   list: the root key is pinned only when its fingerprint matches the one the technician
   confirms, the trust list must verify under it and list this kiosk's signing key as an
   active issuing key; both are then written atomically to the state directory.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cardio import cbor
from cardio.apdu import ApduProcessor
from cardio.chip import CardProfile, bind, personalise, read_card
from cardio.connection import Connection
from cardio.cose import parse_sign1, sign1
from cardio.credential import Credential, Holder, Variant, decode_claims, sign_credential
from cardio.errors import (
    CardConnectionError,
    CitycardError,
    KeyStoreError,
    MalformedError,
    TrustListError,
)
from cardio.files import write_atomic
from cardio.keys import (
    FileKeyStore,
    KeyStore,
    check_label,
    fingerprint,
    kid_for,
    load_public_pem,
    public_pem,
)
from cardio.kiosk_auth import KioskCredential
from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE
from cardio.trustlist import KeyPurpose, KeyState, TrustList, parse_trust_list
from cardio.type4 import NdefApplication, credential_from_ndef
from cardio.verdict import Verdict
from cardio.verify import Verifier

REQUEST_TYP = "citycard-kiosk-enroll"
REQUEST_FILE = "enroll-request.cose"
CREDENTIAL_FILE = "kiosk-credential.json"


class EnrollError(CitycardError):
    """An enrolment step that cannot go on (the message says what to do)."""


@dataclass(frozen=True, slots=True)
class Request:
    kiosk_id: str
    signing_pem: str
    api_pem: str
    created: int

    @property
    def signing_fingerprint(self) -> str:
        return fingerprint(load_public_pem(self.signing_pem.encode()))

    @property
    def api_fingerprint(self) -> str:
        return fingerprint(load_public_pem(self.api_pem.encode()))


def enroll(store: KeyStore, kiosk_id: str, state: Path, now: int | None = None) -> Request:
    if (state / CREDENTIAL_FILE).exists():
        raise EnrollError(f"{state} already holds a kiosk credential; this kiosk is enrolled — use a fresh state directory to enrol again.")
    # Everything that can refuse comes before the key exists: a key without a recorded
    # credential would block every later run (the label is the kiosk id, not a choice).
    check_label(kiosk_id)
    _refuse_existing_key(store, kiosk_id, state)
    _check_writable(state)
    signer = store.create(kiosk_id)
    credential = KioskCredential.generate(kiosk_id)
    req = Request(kiosk_id, public_pem(signer.public_key), public_pem(credential.public_key), int(time.time()) if now is None else now)
    payload = cbor.dumps(
        {"kiosk_id": req.kiosk_id, "signing_key": req.signing_pem, "api_key": req.api_pem, "created": req.created}
    )
    write_atomic(state / CREDENTIAL_FILE, credential.to_json().encode("utf-8"), mode=0o600)
    write_atomic(state / REQUEST_FILE, sign1(signer, payload, typ=REQUEST_TYP))
    return req


def _refuse_existing_key(store: KeyStore, kiosk_id: str, state: Path) -> None:
    """Refuse, with the way out, when the store already has a key for this kiosk.

    The key is not reused: the store cannot tell a key left by a failed run from one the city
    already trusts (a kiosk enrolled with another state directory), and a re-enrolment after a
    suspected compromise must not carry the old key on unnoticed. Deleting it is left to a person.
    """
    if kiosk_id not in store.labels():
        return
    where = f"the file {store.path(kiosk_id)}" if isinstance(store, FileKeyStore) else "the token object with that label"
    raise EnrollError(
        f"The key store already holds a key labelled {kiosk_id!r}, but {state} holds no credential for it; "
        f"if this kiosk is enrolled, use its state directory, otherwise delete {where} on purpose and run enroll again."
    )


def _check_writable(state: Path) -> None:
    try:
        state.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state, prefix=".write-check."):
            pass
    except OSError as exc:
        raise EnrollError(
            f"Cannot write to the state directory {state} ({exc.strerror or exc}); no key was created — choose a directory you can write to and run enroll again."
        ) from exc


ASK_AGAIN = "ask the kiosk's technician for a new copy of its enroll-request.cose"


def read_request(data: bytes) -> Request:
    """Parse an enrolment request and check its proof of possession."""
    try:
        signed = parse_sign1(data, "enrolment request")
        typ = signed.typ
        obj: Any = cbor.loads_strict(signed.payload, "enrolment request") if typ == REQUEST_TYP else None
    except MalformedError as exc:  # not COSE, truncated in a copy, ...: the file, not the kiosk
        raise EnrollError(f"{str(exc).rstrip('.')}; {ASK_AGAIN}.") from exc
    if typ != REQUEST_TYP:
        raise EnrollError("The file is not a kiosk enrolment request; ask the technician for enroll-request.cose.")
    try:
        req = Request(str(obj["kiosk_id"]), str(obj["signing_key"]), str(obj["api_key"]), int(obj["created"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise EnrollError("The enrolment request lacks fields; run `kiosk enroll` on the kiosk again.") from exc
    try:
        key = load_public_pem(req.signing_pem.encode())
        load_public_pem(req.api_pem.encode())  # its fingerprint is shown next
    except KeyStoreError as exc:
        raise EnrollError(f"The enrolment request carries a key that is not a P-256 public key; {ASK_AGAIN}.") from exc
    if signed.kid != kid_for(key) or not signed.verify(key):
        raise EnrollError("The enrolment request is not signed by the key it carries; it was altered — run `kiosk enroll` again.")
    return req


ROOT_AND_LIST = "take root-key.pem and trust-list.cose from the same city publication and run install again"


def check_pinned_root(state: Path, offered: str) -> None:
    """Refuse a root key other than the one already pinned in `state` (before any prompt)."""
    pinned = state / ROOT_KEY_FILE
    try:
        current = fingerprint(load_public_pem(pinned.read_bytes()))
    except FileNotFoundError:
        return
    except KeyStoreError as exc:
        raise EnrollError(
            f"The pinned root key {pinned} is damaged; nothing was installed — check the city's root-key.pem, then remove {pinned} on purpose and run install again."
        ) from exc
    if current != offered:
        raise EnrollError(
            f"{state} already pins the city root key {current}, not the offered {offered}; nothing was installed — "
            f"if the city changed its root key, confirm the new fingerprint with the city, remove {pinned} on purpose and run install again."
        )


def install(state: Path, root_pem: bytes, trust_list: bytes, confirmed_fingerprint: str, now: int | None = None) -> TrustList:
    """Pin the root key (fingerprint confirmed) and install the trust list naming this kiosk."""
    credential = _credential(state)
    try:
        root = load_public_pem(root_pem)
    except KeyStoreError as exc:
        raise EnrollError("The root key file is not a PEM public key; use the root-key.pem the city published.") from exc
    actual = fingerprint(root)
    if confirmed_fingerprint.replace(":", "").replace(" ", "").upper() != actual:
        raise EnrollError(
            "The root key's fingerprint does not match the one you confirmed; do not install it — call the city and compare it again."
        )
    # a pin that any later install replaces would not be a pin
    check_pinned_root(state, actual)
    try:
        tl = parse_trust_list(trust_list, root)
    except TrustListError as exc:
        if isinstance(exc.__cause__, MalformedError):
            raise EnrollError("The trust list file is not a trust list (or is damaged); use the trust-list.cose the city published.") from exc
        raise EnrollError(f"The trust list is not signed by this root key; do not install it — {ROOT_AND_LIST}.") from exc
    request = _own_request(state)
    kid = kid_for(load_public_pem(request.signing_pem.encode()))
    entry = tl.by_kid.get(kid)
    if entry is None:
        raise EnrollError(
            f"The city's trust list (version {tl.version}) does not list kiosk {credential.kiosk_id}'s key {kid.hex()}; ask the city to run `citycard-api kiosk add` and publish."
        )
    when = int(time.time()) if now is None else now
    if entry.purpose != KeyPurpose.ISSUE or entry.state != KeyState.ACTIVE or not entry.covers(when):
        raise EnrollError(f"The trust list lists this kiosk's key as {entry.state.value} or not valid now; ask the city to check kiosk {credential.kiosk_id}.")
    write_atomic(state / ROOT_KEY_FILE, root_pem)
    write_atomic(state / TRUST_LIST_FILE, trust_list)
    return tl


ENROL_AGAIN = "enrol this kiosk again with `citycard-provision kiosk enroll` and a fresh --state"


def _own_request(state: Path) -> Request:
    path = state / REQUEST_FILE
    try:
        return read_request(path.read_bytes())
    except FileNotFoundError as exc:
        raise EnrollError(f"{path} is missing; {ENROL_AGAIN}.") from exc
    except EnrollError as exc:  # its sentences speak to the city; on the kiosk the cure is enrol again
        raise EnrollError(f"{path} is damaged; {ENROL_AGAIN}.") from exc


def _credential(state: Path) -> KioskCredential:
    path = state / CREDENTIAL_FILE
    try:
        return KioskCredential.from_json(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise EnrollError(f"{state} holds no kiosk credential; run `citycard-provision kiosk enroll` first.") from exc
    except (CitycardError, UnicodeDecodeError) as exc:  # cardio's sentence sends people to the city
        raise EnrollError(f"{path} is damaged; {ENROL_AGAIN}.") from exc


# -- self-test ------------------------------------------------------------------------------

SELF_TEST_STATUS_URI = "urn:citycard:self-test"
SELF_TEST_DOCUMENT = "TEST-0000"
PASSING = frozenset({Verdict.VALID, Verdict.STATUS_UNAVAILABLE})
SELF_TEST_HOLDER = Holder("test", "CARD", "TEST", date(2000, 1, 1))


def installed_trust_list(state: Path) -> TrustList:
    try:
        root = load_public_pem((state / ROOT_KEY_FILE).read_bytes())
        data = (state / TRUST_LIST_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise EnrollError(f"{state} has no installed trust list; run `citycard-provision kiosk install` first.") from exc
    except KeyStoreError as exc:
        raise EnrollError(f"The pinned root key in {state} is damaged; {REINSTALL}.") from exc
    try:
        return parse_trust_list(data, root)
    except TrustListError as exc:
        raise EnrollError(f"The installed trust list in {state} is damaged or does not match the pinned root key; {REINSTALL}.") from exc


REINSTALL = "run `citycard-provision kiosk install` again with the city's published root-key.pem and trust-list.cose"


def _check_blank(connection: Connection) -> None:
    """Refuse a card that carries any NDEF message other than an earlier self-test's.

    A card left unlocked (a personalisation stopped between write and lock) still carries a
    resident's credential; writing over it would destroy that card. Only the fictional
    TEST-0000 credential may be overwritten, so one test card serves every self-test.
    """
    app = NdefApplication(ApduProcessor(connection))
    try:
        app.select()
        message = app.read_ndef()
    except CardConnectionError:
        raise
    except CitycardError as exc:
        raise EnrollError(
            "This card's content cannot be read, so it is not known to be blank; nothing was written — put a blank test card on the writer."
        ) from exc
    if not message or _is_self_test(message):
        return
    raise EnrollError(
        "This card is not blank: it already holds data (perhaps a resident's credential); nothing was written — take it off the writer and use a blank test card."
    )


def _is_self_test(message: bytes) -> bool:
    try:
        claims = decode_claims(parse_sign1(credential_from_ndef(message), "credential").payload)
    except CitycardError:
        return False
    # only exactly what `self_test` writes: a city never issues under the self-test status URI
    test = SELF_TEST_HOLDER
    return (claims.document_number, claims.status_uri, claims.family_name, claims.given_name) == (
        SELF_TEST_DOCUMENT, SELF_TEST_STATUS_URI, test.family_name, test.given_name,
    )  # fmt: skip


def self_test(state: Path, store: KeyStore, connection: Connection, now: int | None = None) -> Verdict:
    """Personalise the blank test card on the writer (not locked) and verify it offline.

    The test credential is fictional (TEST / CARD, document TEST-0000, status list
    `urn:citycard:self-test`), signed by this kiosk's key and bound to the card's UID. Reading
    it back through `cardio.chip.read_card` with the installed trust list checks the writer,
    the key, the trust list and the binding; there is no status list for it, so
    STATUS_UNAVAILABLE counts as a pass as well as VALID.
    """
    kiosk_id = _credential(state).kiosk_id
    tl = installed_trust_list(state)
    signer = store.signer(kiosk_id)
    if signer.kid not in tl.by_kid:
        raise EnrollError(f"The installed trust list does not list this kiosk's key {signer.kid.hex()}; run `kiosk install` with the city's latest trust list.")
    _check_blank(connection)
    when = int(time.time()) if now is None else now
    holder = SELF_TEST_HOLDER
    cred = Credential(
        issuer=tl.issuer, document_number=SELF_TEST_DOCUMENT, issued_at=when - 60, expires_at=when + 86400,
        status_index=0, status_uri=SELF_TEST_STATUS_URI, holder=holder, variant=Variant.CHIP,
        binding=bind(connection, CardProfile.T4T),
    )  # fmt: skip
    personalise(connection, sign_credential(signer, cred), lock=False)
    read = read_card(connection, Verifier(tl), now=when)
    if read.result.verdict not in PASSING:
        raise EnrollError(
            f"The test card was written but does not verify ({read.result.message}); check that the installed trust list is the city's latest, then run the self-test again."
        )
    return read.result.verdict
