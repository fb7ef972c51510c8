"""Findings of a review of the wallet trust files, each held by a test that failed before:

1. A revoked kiosk key got a fresh document-signer certificate in iaca.pem on every publish,
   and stayed in jwks.json (with a `state` member no JWK user reads): pymdoccbor and the
   sd-jwt package verified what it signed, while citycard's reader said KEY_REVOKED.
2. The IACA certificate ended with the last kiosk key's window: retiring the only key cut it
   to a day, and standard path validation refused cards valid for years.
3. One status list file that could not be read (a directory, no permission) stopped every
   verification with an error, instead of a warning about that list.
4. A document-signer certificate without the extended key usage raised cryptography's own
   ExtensionNotFound (a traceback in the demo, a 500 from the issuer), not a typed error.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from api.issuer.service import Issuer
from cardio.errors import TrustListError
from cardio.jwk import kid_text
from cardio.keys import SoftwareSigner, kid_for, point_bytes
from cardio.published import load_verifier
from cardio.wallet_trust import IACA_FILE, JWKS_FILE
from cardio.x509_iaca import check_document_signer, iaca_certificate, load_pem
from hardware.local_issuer import publish_trust


def _files(trust: Path) -> tuple[set[str], list[x509.Certificate]]:
    jwks = {k["kid"] for k in json.loads((trust / JWKS_FILE).read_text("utf-8"))["keys"]}
    return jwks, load_pem((trust / IACA_FILE).read_bytes())


def _kid_of(issuer: Issuer, kiosk_id: str) -> bytes:
    account = issuer.kiosk(kiosk_id)
    assert account is not None
    entry = next(k for k in issuer.trust_list_body(int(time.time())).keys if k.label == account.key_label)
    return entry.kid


def test_revoked_keys_leave_the_wallet_trust_files_and_the_iaca_outlives_a_retirement(
    tmp_path: Path,
) -> None:
    issuer = Issuer.init(tmp_path / "issuer")
    try:
        for kiosk_id in ("kiosk-2", "kiosk-3"):
            issuer.add_kiosk(kiosk_id)
        trust = tmp_path / "trust"
        publish_trust(issuer, trust)
        kid2, kid3 = kid_text(_kid_of(issuer, "kiosk-2")), kid_text(_kid_of(issuer, "kiosk-3"))
        jwks, certs = _files(trust)
        assert {kid2, kid3} <= jwks
        signed = {kid_text(kid_for(c.public_key())) for c in certs[1:]}  # type: ignore[arg-type]
        assert {kid2, kid3} <= signed

        issuer.revoke_kiosk("kiosk-2")
        publish_trust(issuer, trust)
        jwks, certs = _files(trust)
        signed = {kid_text(kid_for(c.public_key())) for c in certs[1:]}  # type: ignore[arg-type]
        assert kid2 not in jwks and kid2 not in signed
        assert kid3 in jwks and kid3 in signed

        # every kiosk key retired (or revoked): the IACA still runs for years
        for account in issuer.kiosks():
            if account.state == "active":
                issuer.retire_kiosk(account.kiosk_id)
        publish_trust(issuer, trust)
        _jwks, certs = _files(trust)
        years = (certs[0].not_valid_after_utc - datetime.datetime.now(datetime.UTC)).days / 365
        assert years > 19, years
    finally:
        issuer.close()


def test_one_unreadable_status_list_is_a_warning(tmp_path: Path) -> None:
    issuer = Issuer.init(tmp_path / "issuer")
    try:
        trust = tmp_path / "trust"
        publish_trust(issuer, trust)
        (trust / "status" / "9.cwt").mkdir()  # not a file: cannot be read
        verifier, problems = load_verifier(trust)
        assert verifier.trust is not None
        assert len(problems) == 1 and problems[0].startswith("9.cwt: "), problems
    finally:
        issuer.close()


def test_a_document_signer_without_its_key_usage_is_refused_by_sentence() -> None:
    root = SoftwareSigner.generate()
    now = int(time.time())
    iaca = iaca_certificate(root, "demo-issuer", now - 60, now + 86400)
    holder_of_cert = SoftwareSigner.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no usage")])
    start = datetime.datetime.fromtimestamp(now - 60, datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(iaca.subject)
        .public_key(holder_of_cert.public_key)
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(root._key, hashes.SHA256())
    )
    assert point_bytes(iaca.public_key()) == point_bytes(root.public_key)  # type: ignore[arg-type]
    with pytest.raises(TrustListError, match="not a document signer"):
        check_document_signer(cert, iaca, root.public_key)
