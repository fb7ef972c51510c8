"""SD-JWT: RFC 9901's own vectors, strict parsing, and our SD-JWT VCs checked by the OpenWallet
Foundation's `sd-jwt` package (an implementation we did not write)."""

from __future__ import annotations

import contextlib
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from cardio import jws, sdjwt
from cardio.credential import ChipBinding, Credential, Holder, Variant
from cardio.errors import MalformedError
from cardio.jwk import (
    b64u,
    b64u_decode,
    from_jwk,
    kid_text,
    private_jwk,
    public_jwk,
    signer_from_jwk,
    thumbprint,
)
from cardio.keys import SoftwareSigner
from cardio.presentation import VenueRequest, present_sdjwt
from cardio.presentation_errors import PresentationError, PresentationReason
from cardio.sdjwt_vc import issue_vc

from .conftest import NOW, synthetic_photo

# RFC 9901 section 4.2.3 (an object member) and 4.2.4 (an array element).
RFC_FAMILY_NAME = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
RFC_FAMILY_NAME_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
RFC_ARRAY_FR = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
RFC_ARRAY_FR_DIGEST = "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"


def test_rfc9901_disclosure_vectors() -> None:
    member = sdjwt.Disclosure.parse(RFC_FAMILY_NAME)
    assert (member.salt, member.name, member.value) == (
        "_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius",
    )  # fmt: skip
    assert member.digest == RFC_FAMILY_NAME_DIGEST
    element = sdjwt.Disclosure.parse(RFC_ARRAY_FR)
    assert (element.salt, element.name, element.value) == ("lklxF5jMYlGTPUovMNIvCA", None, "FR")
    assert element.digest == RFC_ARRAY_FR_DIGEST


def _credential() -> Credential:
    holder = Holder(
        program="demo", family_name="Beispiel-Musterfrau", given_name="Mira",
        birth_date=date(1990, 1, 1), sex="X", entitlements=("library", "pool"),
        languages=("de",), photo=synthetic_photo(),
    )  # fmt: skip
    return Credential("demo-issuer", "DEMO-0001", NOW, NOW + 86400 * 365, 7,
                      "https://city.example/status/1", holder, Variant.CHIP,
                      ChipBinding(uid=bytes.fromhex("04A1B2C3")))  # fmt: skip


def test_sd_jwt_vc_verified_by_the_openwallet_sd_jwt_package() -> None:
    kiosk, device = SoftwareSigner.generate(), SoftwareSigner.generate()
    issued = issue_vc(kiosk, _credential(), device.public_key).compact()
    request = VenueRequest.new("pool", ("photo", "entitlement:pool"), NOW)
    answer = present_sdjwt(issued, request, device, NOW + 5)
    issuer_jwk = JWK.from_json(json.dumps(public_jwk(kiosk.public_key)))
    seen: list[dict[str, object]] = []

    def issuer_key(_iss: str, header: dict[str, object]) -> JWK:
        seen.append(header)
        return issuer_jwk

    verifier = SDJWTVerifier(answer, issuer_key, expected_aud="pool", expected_nonce=request.nonce)
    payload = verifier.get_verified_payload()
    assert seen[0]["kid"] == kid_text(kiosk.kid) and seen[0]["typ"] == "dc+sd-jwt"
    assert payload["entitlements"] == ["pool"]
    assert "photo" in payload and "family_name" not in payload and "birth_date" not in payload
    assert payload["vct"] == "urn:citycard:resident-card:1"
    assert payload["status"] == {"status_list": {"idx": 7, "uri": "https://city.example/status/1"}}
    # and the whole issued credential, every disclosure, without key binding
    full = SDJWTVerifier(issued, issuer_key).get_verified_payload()
    assert full["family_name"] == "Beispiel-Musterfrau" and full["age_over_18"] is True


def test_openwallet_package_refuses_our_presentation_for_another_nonce() -> None:
    kiosk, device = SoftwareSigner.generate(), SoftwareSigner.generate()
    issued = issue_vc(kiosk, _credential(), device.public_key).compact()
    request = VenueRequest.new("pool", ("photo",), NOW)
    answer = present_sdjwt(issued, request, device, NOW + 5)
    issuer_jwk = JWK.from_json(json.dumps(public_jwk(kiosk.public_key)))
    with pytest.raises(ValueError, match="nonce"):
        SDJWTVerifier(answer, lambda _i, _h: issuer_jwk, expected_aud="pool", expected_nonce="x")


def test_jwk_round_trips_and_thumbprint() -> None:
    signer = SoftwareSigner.generate()
    jwk = private_jwk(signer)
    assert jwk["kid"] == thumbprint(signer.public_key)
    again = signer_from_jwk(jwk)
    assert again.kid == signer.kid
    with pytest.raises(MalformedError):
        from_jwk(jwk)  # a public key slot must not carry a private part
    # RFC 7638's thumbprint agrees with jwcrypto's
    assert JWK.from_json(json.dumps(public_jwk(signer.public_key))).thumbprint() == jwk["kid"]


@settings(max_examples=300, deadline=None)
@given(x=st.one_of(st.text(alphabet="AQgw-_+/= \n", max_size=46), st.none(), st.integers()))
def test_jwk_coordinates_refused_as_b64u_decode_refuses(x: object) -> None:
    """from_jwk reads x and y by the fast path; a text it refuses is refused with the message
    of cardio.jwk.b64u_decode, and one it accepts is the same bytes."""
    good = public_jwk(SoftwareSigner.generate().public_key)
    try:
        want: bytes | str = b64u_decode(x, "JWK x")
    except MalformedError as exc:
        want = str(exc)
    try:
        from_jwk({**good, "x": x})
        got: str | None = None
    except MalformedError as exc:
        got = str(exc)
    if isinstance(want, str):
        assert got == want
    else:  # decoded: refused for its length or as a point, or accepted as the key itself
        assert got in (
            None,
            "The JWK coordinates are not 32 bytes each.",
            "The public key is not a point on P-256.",
        )


def test_jws_refuses_duplicate_members_and_alg_none() -> None:
    head = b64u(b'{"alg":"ES256","alg":"none"}')
    with pytest.raises(MalformedError):
        jws.parse(f"{head}.{b64u(b'{}')}.{b64u(bytes(64))}")
    head = b64u(b'{"alg":"none"}')
    with pytest.raises(MalformedError):
        jws.parse(f"{head}.{b64u(b'{}')}.")


def test_disclosure_cannot_reveal_a_reserved_name() -> None:
    with pytest.raises(MalformedError):
        sdjwt.Disclosure.parse(b64u(b'["salt","_sd",["x"]]'))


def test_digest_named_twice_is_refused() -> None:
    kiosk = SoftwareSigner.generate()
    d = sdjwt.Disclosure.new("given_name", "Mira")
    token = jws.sign(kiosk, {}, {"_sd": [d.digest], "nested": {"_sd": [d.digest]}})
    with pytest.raises(PresentationError) as err:
        sdjwt.verify(sdjwt.SdJwt(token, (d,)), lambda _h, _p: kiosk.public_key)
    assert err.value.reason is PresentationReason.MALFORMED


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_disclosure_parser_gives_typed_errors(text: str) -> None:
    with contextlib.suppress(MalformedError):
        sdjwt.Disclosure.parse(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
                        max_size=60), max_size=6))  # fmt: skip
def test_sd_jwt_parser_gives_typed_errors(parts: list[str]) -> None:
    with contextlib.suppress(MalformedError, PresentationError):
        sd = sdjwt.SdJwt.parse("~".join(parts))
        sdjwt.verify(sd, lambda _h, _p: SoftwareSigner.generate().public_key)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c,
                                                                        max_size=4)))  # fmt: skip
def test_json_reader_takes_what_json_writes(value: object) -> None:
    assert jws.loads_json(jws.json_bytes(value)) == value
