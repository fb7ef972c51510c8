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

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cardio import cbor
from cardio.chip import CardProfile, bind, personalise, read_card
from cardio.connection import Connection
from cardio.cose import parse_sign1, sign1
from cardio.credential import Credential, Holder, Variant, sign_credential
from cardio.errors import CitycardError, KeyStoreError, MalformedError
from cardio.files import write_atomic
from cardio.keys import KeyStore, fingerprint, kid_for, load_public_pem, public_pem
from cardio.kiosk_auth import KioskCredential
from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE
from cardio.trustlist import KeyPurpose, KeyState, TrustList, parse_trust_list
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
    signer = store.create(kiosk_id)
    credential = KioskCredential.generate(kiosk_id)
    req = Request(kiosk_id, public_pem(signer.public_key), public_pem(credential.public_key), int(time.time()) if now is None else now)
    payload = cbor.dumps(
        {"kiosk_id": req.kiosk_id, "signing_key": req.signing_pem, "api_key": req.api_pem, "created": req.created}
    )
    write_atomic(state / CREDENTIAL_FILE, credential.to_json().encode("utf-8"), mode=0o600)
    write_atomic(state / REQUEST_FILE, sign1(signer, payload, typ=REQUEST_TYP))
    return req


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


def install(state: Path, root_pem: bytes, trust_list: bytes, confirmed_fingerprint: str, now: int | None = None) -> TrustList:
    """Pin the root key (fingerprint confirmed) and install the trust list naming this kiosk."""
    credential = _credential(state)
    root = load_public_pem(root_pem)
    actual = fingerprint(root)
    if confirmed_fingerprint.replace(":", "").replace(" ", "").upper() != actual:
        raise EnrollError(
            "The root key's fingerprint does not match the one you confirmed; do not install it — call the city and compare it again."
        )
    tl = parse_trust_list(trust_list, root)
    request = read_request((state / REQUEST_FILE).read_bytes())
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


def _credential(state: Path) -> KioskCredential:
    try:
        return KioskCredential.from_json((state / CREDENTIAL_FILE).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise EnrollError(f"{state} holds no kiosk credential; run `citycard-provision kiosk enroll` first.") from exc


# -- self-test ------------------------------------------------------------------------------

SELF_TEST_STATUS_URI = "urn:citycard:self-test"
SELF_TEST_DOCUMENT = "TEST-0000"
PASSING = frozenset({Verdict.VALID, Verdict.STATUS_UNAVAILABLE})


def installed_trust_list(state: Path) -> TrustList:
    try:
        root = load_public_pem((state / ROOT_KEY_FILE).read_bytes())
        data = (state / TRUST_LIST_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise EnrollError(f"{state} has no installed trust list; run `citycard-provision kiosk install` first.") from exc
    return parse_trust_list(data, root)


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
    when = int(time.time()) if now is None else now
    holder = Holder("test", "CARD", "TEST", date(2000, 1, 1))
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
