"""COSE_Sign1 and CWT against RFC 8392's and RFC 9052's published examples, and our own round
trips."""

from __future__ import annotations

import cbor2
import pytest

from cardio import cbor, cose
from cardio.errors import MalformedError
from cardio.keys import SoftwareSigner, from_cose_key, verify_es256

# RFC 8392 Appendix A.1: example CWT claims set.
RFC8392_CLAIMS = bytes.fromhex(
    "a70175636f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c"
    "696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b71"
)
# RFC 8392 Appendix A.2.3: ECDSA P-256 COSE key (with private d, kid and alg).
RFC8392_KEY = bytes.fromhex(
    "a72358206c1382765aec5358f117733d281c1c7bdc39884d04a45a1e6c67c858bc206c1922582060f7f1a7"
    "80d8a783bfb7a2dd6b2796e8128dbbcef9d3d168db9529971a36e7b9215820143329cce7868e416927599c"
    "f65a34f3ce2ffda55a7eca69ed8919a394d42f0f2001010202524173796d6d657472696345434453413235"
    "360326"
)
# RFC 8392 Appendix A.3: example signed CWT (COSE_Sign1, ES256).
RFC8392_SIGNED = bytes.fromhex(
    "d28443a10126a104524173796d6d657472696345434453413235365850a70175636f61703a2f2f61732e65"
    "78616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e636f"
    "6d041a5612aeb0051a5610d9f0061a5610d9f007420b7158405427c1ff28d23fbad1f29c4c7c6a555e601d"
    "6fa29f9179bc3d7438bacaca5acd08c8d4d4f96131680c429a01f85951ecee743a52b9b63632c57209120e"
    "1c9e30"
)
# RFC 9052 Appendix C.2.1: a single ECDSA signature (COSE_Sign1, ES256, kid '11'), its
# ToBe_Signed bytes, and the public half of key '11' (the cose-wg examples' P-256 key, C.7.1).
RFC9052_C21 = bytes.fromhex(
    "d28443a10126a10442313154546869732069732074686520636f6e74656e742e58408eb33e4ca31d1c465ab0"
    "5aac34cc6b23d58fef5c083106c4d25a91aef0b0117e2af9a291aa32e14ab834dc56ed2a223444547e01f11d"
    "3b0916e5a4c345cacb36"
)
RFC9052_C21_TBS = bytes.fromhex(
    "846a5369676e61747572653143a101264054546869732069732074686520636f6e74656e742e"
)
RFC9052_KEY_11 = {
    1: 2,
    -1: 1,
    -2: bytes.fromhex("bac5b11cad8f99f9c72b05cf4b9e26d244dc189f745228255a219a86d6a09eff"),
    -3: bytes.fromhex("20138bf82dc1b6d562be0fa54ab7804a3a64b6d72ccfed6b6fb6ed28bbfc117e"),
}


def _rfc_public_key():  # type: ignore[no-untyped-def]
    key = cbor2.loads(RFC8392_KEY)
    return from_cose_key({k: key[k] for k in (1, -1, -2, -3)})


def test_rfc8392_claims_decode_strictly() -> None:
    claims = cbor.loads_strict(RFC8392_CLAIMS)
    assert claims[1] == "coap://as.example.com"
    assert claims[4] == 1444064944 and claims[7] == bytes.fromhex("0b71")


def test_rfc8392_signature_verifies_with_our_sig_structure() -> None:
    tag = cbor2.loads(RFC8392_SIGNED)
    protected, _unprotected, payload, signature = tag.value
    assert tag.tag == cose.COSE_SIGN1_TAG and payload == RFC8392_CLAIMS
    key = _rfc_public_key()
    assert verify_es256(key, signature, cose.sig_structure(protected, payload))
    assert not verify_es256(key, signature, cose.sig_structure(protected, payload + b"\x00"))


def test_rfc8392_example_is_refused_by_our_strict_profile() -> None:
    # The RFC puts kid in the unprotected header; citycard refuses unprotected headers because
    # anyone could swap them without breaking the signature.
    with pytest.raises(MalformedError, match="unprotected"):
        cose.parse_sign1(RFC8392_SIGNED)


def test_rfc9052_c21_sig_structure_is_byte_for_byte_and_its_signature_verifies() -> None:
    tag = cbor2.loads(RFC9052_C21)
    protected, unprotected, payload, signature = tag.value
    assert tag.tag == cose.COSE_SIGN1_TAG and unprotected == {4: b"11"}
    assert payload == b"This is the content."
    assert cose.sig_structure(protected, payload) == RFC9052_C21_TBS
    key = from_cose_key(RFC9052_KEY_11)
    assert verify_es256(key, signature, RFC9052_C21_TBS)
    assert not verify_es256(key, signature, cose.sig_structure(protected, b"This is the content!"))
    with pytest.raises(MalformedError, match="unprotected"):  # kid outside the signature
        cose.parse_sign1(RFC9052_C21)


def test_sign_and_parse_round_trip() -> None:
    signer = SoftwareSigner.generate()
    data = cose.sign1(signer, b"payload", typ="application/example")
    msg = cose.parse_sign1(data)
    assert msg.kid == signer.kid and msg.payload == b"payload" and msg.typ == "application/example"
    assert msg.verify(signer.public_key)
    assert not msg.verify(SoftwareSigner.generate().public_key)


def test_signature_is_raw_r_s() -> None:
    signer = SoftwareSigner.generate()
    msg = cose.parse_sign1(cose.sign1(signer, b"x"))
    assert len(msg.signature) == 64


def _tampered(headers: dict[int, object], unprotected: dict[int, object] | None = None) -> bytes:
    signer = SoftwareSigner.generate()
    protected = cbor.dumps(headers)
    sig = signer.sign(cose.sig_structure(protected, b"p"))
    return cbor.dumps(cbor2.CBORTag(18, [protected, unprotected or {}, b"p", sig]))


@pytest.mark.parametrize(
    "data",
    [
        _tampered({1: -35, 4: b"k"}),  # ES384 is not ES256
        _tampered({4: b"k"}),  # no alg
        _tampered({1: "none", 4: b"k"}),  # alg "none"
        _tampered({1: -7}),  # no kid
        _tampered({1: -7, 4: b"k", 99: 1}),  # unknown protected header
        _tampered({4: b"k"}, {1: -7}),  # alg only in the unprotected header
        cbor.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),  # COSE_Mac0 tag
        cbor.dumps([b"\xa1\x01\x26", {}, b"p", b"\x00" * 64]),  # untagged
    ],
    # Named, not by their bytes: each signature is fresh, and pytest-xdist's workers must
    # collect the same test ids.
    ids=[
        "es384", "no-alg", "alg-none", "no-kid", "unknown-header", "alg-unprotected", "mac0",
        "untagged",
    ],
)
def test_structural_tampering_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedError):
        cose.parse_sign1(data)
