"""The verifier's key and certificate caches never answer for another key than the one given.

`cardio.jwk.p256_cached` and `from_jwk` cache loaded points by their bytes (and JWK texts),
`cardio.mdoc` caches a certificate's point by its DER bytes and COSE headers by their bytes:
a changed, revoked or swapped key must be seen as such on the very next verify.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.issuer.service import Issuer
from cardio import mdoc
from cardio.credential import Holder
from cardio.errors import MalformedError
from cardio.jwk import b64u, from_jwk, public_jwk
from cardio.keys import SoftwareSigner, point_bytes
from cardio.presentation import VenueRequest, present_mdoc, present_sdjwt
from cardio.presentation_errors import PresentationError, PresentationReason
from cardio.trustlist import KeyState
from cardio.verdict import Verdict

from .conftest import NOW
from .test_presentation import Wallet, pool_request


@pytest.fixture
def wallet(issuer: Issuer, holder: Holder) -> Wallet:
    return Wallet(issuer, holder)


def _answer(wallet: Wallet, fmt: str, request: VenueRequest) -> str | bytes:
    if fmt == "sd-jwt":
        return present_sdjwt(wallet.sd_jwt, request, wallet.device, NOW + 40)
    return present_mdoc(wallet.mdoc, request, wallet.device)


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_revoked_issuer_key_is_seen_on_the_next_verify(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    answer = _answer(wallet, fmt, request)
    assert wallet.check(answer, request).verdict is Verdict.VALID  # keys now cached
    wallet.issuer.set_key_state("kiosk-1", KeyState.REVOKED)
    wallet.issuer.publish(NOW + 10)
    assert wallet.check(answer, request).verdict is Verdict.KEY_REVOKED


def test_holder_key_cache_is_keyed_by_the_key_not_its_name() -> None:
    first, second = SoftwareSigner.generate(), SoftwareSigner.generate()
    for signer in (first, second, first):
        jwk = public_jwk(signer.public_key, kid="same-kid")
        assert point_bytes(from_jwk(jwk)) == point_bytes(signer.public_key)
    # a point off the curve is refused, though its x is a cached key's
    off_curve = dict(public_jwk(first.public_key), y=b64u(b"\x01" * 32))
    with pytest.raises(MalformedError):
        from_jwk(off_curve)


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_answer_signed_by_another_device_is_refused_after_a_good_one(
    wallet: Wallet, fmt: str
) -> None:
    request = pool_request()
    assert wallet.check(_answer(wallet, fmt, request), request).verdict is Verdict.VALID
    thief = SoftwareSigner.generate()
    if fmt == "sd-jwt":
        stolen: str | bytes = present_sdjwt(wallet.sd_jwt, request, thief, NOW + 40)
    else:
        stolen = present_mdoc(wallet.mdoc, request, thief)
    res = wallet.check(stolen, request)
    assert res.verdict is not Verdict.VALID
    assert res.reason is PresentationReason.BAD_KEY_BINDING


def _certificate(subject_key: ec.EllipticCurvePublicKey) -> bytes:
    """A throwaway certificate holding `subject_key` (only its point matters here)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test document signer")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(subject_key)
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.DER)


def _with_certificate(answer: bytes, der: bytes) -> bytes:
    obj = cbor2.loads(answer)
    obj["documents"][0]["issuerSigned"]["issuerAuth"][1][33] = der
    return cbor2.dumps(obj, canonical=True)


def test_certificate_cache_is_keyed_by_the_certificate(wallet: Wallet) -> None:
    request = pool_request()
    answer = _answer(wallet, "mdoc", request)
    assert isinstance(answer, bytes)
    right = _certificate(wallet.kiosk.public_key)
    wrong = _certificate(SoftwareSigner.generate().public_key)
    for der, verdict in ((right, Verdict.VALID), (wrong, Verdict.MALFORMED), (right, Verdict.VALID)):
        assert wallet.check(_with_certificate(answer, der), request).verdict is verdict
    unreadable = _with_certificate(answer, right[:-5])
    assert wallet.check(unreadable, request).verdict is Verdict.MALFORMED


def test_embedded_cbor_read_from_its_head_or_refused() -> None:
    for size in (0, 23, 24, 255, 256, 70_000):
        inner = b"\x01" * size
        assert mdoc._embedded(cbor2.dumps(cbor2.CBORTag(24, inner)), "MSO") == inner
    with pytest.raises(PresentationError):
        mdoc._embedded(cbor2.dumps(cbor2.CBORTag(25, b"\x01")), "MSO")
    truncated = cbor2.dumps(cbor2.CBORTag(24, b"\x01" * 300))[:-1]
    with pytest.raises(PresentationError):
        mdoc._embedded(truncated, "MSO")
