"""Findings of a review of the venue's wallet verifier, each held by a test that failed before.

1. An mdoc answer whose device signature could never verify (its payload attached, another
   algorithm) was refused as a copy before the card's status was looked at: a revoked card
   read CLONE_SUSPECTED instead of REVOKED, and a check without a request failed a binding it
   does not check. Now it is a binding that fails, ranked as the SD-JWT's is.
2. Bytes behind a genuine answer were ignored: after a DeviceResponse, an issued mdoc, a QR's
   compressed stream or the CBOR inside it.
3. A DeviceResponse's members outside the signatures were never read: status 10 ("general
   error"), a document's `errors`, a `deviceMac` beside the signature all read VALID.
4. A certificate in x5chain with a key type cryptography does not know escaped as
   UnsupportedAlgorithm, caught only by the last-resort handler (logged as unexpected).
5. A file holding a wallet's answer behind a UTF-8 byte order mark was MALFORMED (a printed
   QR's text file was already read with one).
6. A venue request with `"v": true` was read as version 1.
7. An entitlement item of a request could be any text (found reviewing the wallet page).
"""

from __future__ import annotations

import datetime
import json
import logging
import zlib
from collections.abc import Callable
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from api.issuer.service import Issuer
from api.terminal.inputs import bytes_verdict
from cardio import base45, mdoc
from cardio.credential import Holder
from cardio.errors import MalformedError
from cardio.jwk import b64u, b64u_decode
from cardio.presentation import (
    MDOC_PREFIX,
    SDJWT_PREFIX,
    VenueRequest,
    present_mdoc,
    present_sdjwt,
    response_qr,
)
from cardio.presentation_errors import PresentationError, PresentationReason
from cardio.verdict import Verdict

from .conftest import NOW
from .test_presentation import Wallet, pool_request


@pytest.fixture
def wallet(issuer: Issuer, holder: Holder) -> Wallet:
    return Wallet(issuer, holder)


def edited(answer: bytes, edit: Callable[[dict[str, Any]], object]) -> bytes:
    response = cbor2.loads(answer)
    edit(response)
    return cbor2.dumps(response)


def edited_answer(wallet: Wallet, request: VenueRequest, edit: Callable[[dict[str, Any]], object]) -> bytes:
    """The mdoc answer to `request`, its DeviceResponse changed by `edit`."""
    return edited(present_mdoc(wallet.mdoc, request, wallet.device), edit)


def device_signature(response: dict[str, Any]) -> list[Any]:
    sig: list[Any] = response["documents"][0]["deviceSigned"]["deviceAuth"]["deviceSignature"]
    return sig


def attach_payload(response: dict[str, Any]) -> None:
    device_signature(response)[2] = b"x"


def es384_header(response: dict[str, Any]) -> None:
    device_signature(response)[0] = cbor2.dumps({1: -35})


@pytest.mark.parametrize("edit", [attach_payload, es384_header], ids=["payload", "es384"])
def test_a_device_signature_that_cannot_verify_is_a_failed_binding(
    wallet: Wallet, edit: Callable[[dict[str, Any]], None]
) -> None:
    request = pool_request()
    answer = edited_answer(wallet, request, edit)
    res = wallet.check(answer, request)
    assert (res.verdict, res.reason) == (Verdict.CLONE_SUSPECTED, PresentationReason.BAD_KEY_BINDING)
    # checked without a request, the binding is not looked at (the warning says so)
    res = wallet.check(answer)
    assert res.verdict is Verdict.VALID and res.warnings, res
    # and the card's status outranks the binding, as for an SD-JWT
    wallet.issuer.set_status(wallet.cred.status_index, "revoked")
    wallet.issuer.publish(NOW + 10)
    assert wallet.check(answer, request).verdict is Verdict.REVOKED
    assert wallet.check(answer).verdict is Verdict.REVOKED


def test_bytes_behind_an_answer_are_refused(wallet: Wallet) -> None:
    request = pool_request()
    answer = present_mdoc(wallet.mdoc, request, wallet.device)
    assert wallet.check(answer, request).verdict is Verdict.VALID
    sd = present_sdjwt(wallet.sd_jwt, request, wallet.device, request.issued_at + 5)
    stream = zlib.compress(sd.encode("ascii"), 9)
    assert wallet.check(SDJWT_PREFIX + base45.encode(stream), request).verdict is Verdict.VALID
    envelope = cbor2.loads(zlib.decompress(base45.decode(response_qr(answer, request)[5:])))
    hostile = [
        answer + b"\x00garbage",
        wallet.mdoc + b"\xffjunk",
        SDJWT_PREFIX + base45.encode(stream + b"garbage"),
        SDJWT_PREFIX + base45.encode(stream + stream),
        MDOC_PREFIX + base45.encode(zlib.compress(cbor2.dumps(envelope) + b"\x00junk", 9)),
    ]
    for data in hostile:
        res = wallet.check(data, request if data is not hostile[1] else None)
        assert (res.verdict, res.reason) == (Verdict.MALFORMED, PresentationReason.MALFORMED), data[:40]


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.__setitem__("status", 10),
        lambda r: r.__setitem__("status", b"\x00"),
        lambda r: r.__setitem__("status", False),
        lambda r: r.__setitem__("documentErrors", [{mdoc.DOCTYPE: 0}]),
        lambda r: r["documents"][0].__setitem__("errors", {mdoc.NAMESPACE: {"family_name": 1}}),
        lambda r: r["documents"][0]["deviceSigned"]["deviceAuth"].__setitem__(
            "deviceMac", [b"", {}, None, b""]
        ),
    ],
    ids=["status-10", "status-bytes", "status-false", "document-errors", "errors", "device-mac"],
)
def test_a_device_response_that_reports_an_error_is_not_read(
    wallet: Wallet, edit: Callable[[dict[str, Any]], None]
) -> None:
    request = pool_request()
    res = wallet.check(edited_answer(wallet, request, edit), request)
    # (a response of four members is not taken for an mdoc at all: WRONG_FORMAT)
    assert res.verdict is Verdict.MALFORMED and res.reason is not None


def _certificate_of_unknown_key_type() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Document Signer")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    der = bytearray(cert.public_bytes(Encoding.DER))
    ec_public_key = bytes.fromhex("06072a8648ce3d0201")  # OID 1.2.840.10045.2.1
    at = der.find(ec_public_key)
    assert at > 0
    der[at + 2 + 4] = 0x45  # 1.2.837.10045.2.1: no key type cryptography knows
    return bytes(der)


def test_a_certificate_of_an_unknown_key_type_is_malformed(
    wallet: Wallet, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = _certificate_of_unknown_key_type()
    with pytest.raises(PresentationError) as refused:
        mdoc._cert_point(unknown)
    assert refused.value.reason is PresentationReason.MALFORMED
    issued = mdoc.issue_mdoc(wallet.kiosk, wallet.cred, wallet.device.public_key, x5chain=[unknown])
    request = pool_request()
    with caplog.at_level(logging.WARNING):
        res = wallet.check(present_mdoc(issued, request, wallet.device), request)
    assert res.verdict is Verdict.MALFORMED
    assert "unexpectedly" not in caplog.text


def test_a_wallet_answer_file_may_start_with_a_byte_order_mark(wallet: Wallet) -> None:
    request = pool_request()
    verifier = wallet.verifier()
    answers = [
        response_qr(present_sdjwt(wallet.sd_jwt, request, wallet.device, request.issued_at + 5)),
        response_qr(present_mdoc(wallet.mdoc, request, wallet.device), request),
    ]
    for text in answers:
        for data in (text.encode("ascii"), b"\xef\xbb\xbf" + text.encode("ascii") + b"\r\n"):
            res = bytes_verdict(verifier, data, request.to_qr(), NOW + 60)
            assert res.verdict is Verdict.VALID, (data[:8], res)
    # a mark before CBOR is no text's: refused, as before
    answer = present_mdoc(wallet.mdoc, request, wallet.device)
    res = bytes_verdict(verifier, b"\xef\xbb\xbf" + answer, request.to_qr(), NOW + 60)
    assert res.verdict is Verdict.MALFORMED


def test_a_request_of_version_true_is_not_version_one() -> None:
    good = VenueRequest.new("pool", ("photo",), NOW)
    body = b64u_decode(good.to_qr()[5:])
    assert b'"v":1' in body
    forged = good.to_qr()[:5] + b64u(body.replace(b'"v":1', b'"v":true', 1))
    with pytest.raises(MalformedError, match="names no venue"):
        VenueRequest.from_qr(forged)
    assert VenueRequest.from_qr(good.to_qr()) == good


@pytest.mark.parametrize(
    "item", ["entitlement:Nothing else. Tap Share.", "entitlement:\u202e)draC ruoy no ton(", "entitlement:Pool"]
)
def test_a_requested_entitlement_is_a_code(item: str) -> None:
    """Any 1 to 32 characters were taken after `entitlement:`: text no card can hold, which a
    wallet shows the holder as the venue's words (found reviewing the wallet page)."""
    good = VenueRequest.new("pool", ("photo", "entitlement:pool"), NOW)
    body = b64u_decode(good.to_qr()[5:]).replace(b'"entitlement:pool"', json.dumps(item, ensure_ascii=False).encode())
    with pytest.raises(MalformedError, match=r"cannot disclose|not something"):
        VenueRequest.from_qr(good.to_qr()[:5] + b64u(body))
