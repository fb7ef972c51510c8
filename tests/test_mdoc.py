"""mdoc (ISO/IEC 18013-5) and the IACA certificates: our IssuerSigned and DeviceResponse read
by `pymdoccbor` (an implementation we did not write), the certificate profile, and strict
parsing."""

from __future__ import annotations

import contextlib
import time
from datetime import date

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st
from pymdoccbor.mdoc.verifier import MdocCbor

from cardio import mdoc
from cardio.credential import ChipBinding, Credential, Holder, Variant
from cardio.errors import TrustListError
from cardio.keys import SoftwareSigner
from cardio.presentation import VenueRequest, present_mdoc
from cardio.presentation_errors import PresentationError
from cardio.x509_iaca import (
    MDL_DS_EKU,
    check_document_signer,
    document_signer_certificate,
    iaca_certificate,
    load_pem,
    to_pem,
)

from .conftest import synthetic_photo


def _credential(now: int) -> Credential:
    holder = Holder(
        program="demo", family_name="Beispiel-Musterfrau", given_name="Mira",
        birth_date=date(1990, 1, 1), entitlements=("pool",), photo=synthetic_photo(),
    )  # fmt: skip
    return Credential("demo-issuer", "DEMO-0002", now, now + 86400 * 365, 3,
                      "https://city.example/status/1", holder, Variant.CHIP,
                      ChipBinding(uid=bytes.fromhex("04A1B2C3")))  # fmt: skip


class Pki:
    def __init__(self) -> None:
        now = int(time.time())  # pymdoccbor checks the certificate against the real clock
        self.now = now
        self.root, self.kiosk = SoftwareSigner.generate(), SoftwareSigner.generate()
        self.iaca = iaca_certificate(self.root, "demo-issuer", now - 60, now + 86400 * 3650,
                                     country="CH")  # fmt: skip
        self.ds = document_signer_certificate(
            self.root, self.iaca, self.kiosk.public_key, "kiosk-1", now - 60, now + 86400 * 1000
        )


def test_iaca_profile() -> None:
    pki = Pki()
    assert pki.iaca.subject == pki.iaca.issuer
    basic = pki.iaca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    assert pki.iaca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    pki.iaca.verify_directly_issued_by(pki.iaca)  # self-signed by the root key, via a Signer
    eku = pki.ds.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert MDL_DS_EKU in eku
    assert pki.ds.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    check_document_signer(pki.ds, pki.iaca, pki.root.public_key)
    with pytest.raises(TrustListError):
        check_document_signer(pki.ds, pki.iaca, SoftwareSigner.generate().public_key)
    assert load_pem(to_pem([pki.iaca, pki.ds])) == [pki.iaca, pki.ds]


def test_issuer_signed_read_by_pymdoccbor() -> None:
    pki = Pki()
    device = SoftwareSigner.generate()
    ds_der = pki.ds.public_bytes(encoding=_der())
    issued = mdoc.issue_mdoc(pki.kiosk, _credential(pki.now), device.public_key, x5chain=[ds_der])
    # pymdoccbor reads documents of a DeviceResponse: wrap the IssuerSigned as a wallet would
    response = cbor2.dumps({"version": "1.0", "status": 0, "documents": [
        {"docType": mdoc.DOCTYPE, "issuerSigned": cbor2.loads(issued)}]})  # fmt: skip
    reader = MdocCbor()
    reader.loads(response)
    assert reader.verify(trusted_root_certs=[pki.iaca]) is True
    claims = reader.disclosure_map[mdoc.NAMESPACE]
    assert claims["family_name"] == "Beispiel-Musterfrau"
    assert claims["entitlement_pool"] is True and claims["age_over_18"] is True


def test_device_response_read_by_pymdoccbor_holds_only_what_was_asked() -> None:
    pki = Pki()
    device = SoftwareSigner.generate()
    ds_der = pki.ds.public_bytes(encoding=_der())
    issued = mdoc.issue_mdoc(pki.kiosk, _credential(pki.now), device.public_key, x5chain=[ds_der])
    request = VenueRequest.new("event", ("age_over_18", "photo"), pki.now)
    reader = MdocCbor()
    reader.loads(present_mdoc(issued, request, device))
    assert reader.verify(trusted_root_certs=[pki.iaca]) is True
    assert set(reader.disclosure_map[mdoc.NAMESPACE]) == {"age_over_18", "photo"}
    # a root that did not sign the document signer: pymdoccbor refuses too
    stranger = iaca_certificate(SoftwareSigner.generate(), "other", pki.now - 60, pki.now + 999)
    other = MdocCbor()
    other.loads(present_mdoc(issued, request, device))
    assert other.verify(trusted_root_certs=[stranger]) is False


def test_mso_carries_status_device_key_and_validity() -> None:
    pki = Pki()
    device = SoftwareSigner.generate()
    issued = cbor2.loads(mdoc.issue_mdoc(pki.kiosk, _credential(pki.now), device.public_key))
    mso = cbor2.loads(cbor2.loads(issued["issuerAuth"][2]).value)
    assert mso["docType"] == mdoc.DOCTYPE and mso["digestAlgorithm"] == "SHA-256"
    assert mso["status"] == {"status_list": {"idx": 3, "uri": "https://city.example/status/1"}}
    assert set(mso["validityInfo"]) == {"signed", "validFrom", "validUntil"}
    assert mso["deviceKeyInfo"]["deviceKey"][-2] == device.public_key.public_numbers().x.to_bytes(32, "big")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_issuer_signed_parser_gives_typed_errors(data: bytes) -> None:
    with contextlib.suppress(PresentationError):
        mdoc.IssuerSigned.parse(data)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.binary(max_size=8)
                    | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(
                        st.sampled_from(["nameSpaces", "issuerAuth", "documents", "version",
                                         mdoc.NAMESPACE, "x"]), c, max_size=4)))  # fmt: skip
def test_device_response_reader_gives_typed_errors(value: object) -> None:
    with contextlib.suppress(PresentationError):
        mdoc.read_device_response(cbor2.dumps(value), lambda _kid: SoftwareSigner.generate().public_key)


def _der() -> Encoding:
    return Encoding.DER
