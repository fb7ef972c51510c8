"""Wallet presentations verified offline: SD-JWT VC and mdoc, requests, replays and tampering."""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.issuer.service import Issuer
from cardio import cose, jws, mdoc, sdjwt
from cardio.credential import ChipBinding, Credential, Holder
from cardio.errors import MalformedError
from cardio.jwk import b64u, b64u_decode
from cardio.keys import SoftwareSigner
from cardio.presentation import (
    MDOC_PREFIX,
    NOT_BOUND,
    REQUEST_WINDOW,
    SDJWT_PREFIX,
    PresentationResult,
    VenueRequest,
    answer_lines,
    is_wallet_data,
    join_qr,
    present_mdoc,
    present_sdjwt,
    request_items,
    response_qr,
    split_qr,
    venue_request,
    verify_wallet,
)
from cardio.presentation_errors import PresentationReason
from cardio.published import load_verifier
from cardio.sdjwt_vc import issue_vc
from cardio.venues import load_venue
from cardio.verdict import Verdict
from cardio.verify import EXPIRY_GRACE, Verifier

from .conftest import NOW, synthetic_photo

POOL = ("photo", "entitlement:pool")


class Wallet:
    """An issued card's wallet credentials, the holder's key, and a venue's verifier."""

    def __init__(self, issuer: Issuer, holder: Holder) -> None:
        holder = replace(holder, photo=synthetic_photo())
        self.issuer = issuer
        self.issued = issuer.issue(
            holder, date(2030, 12, 31), ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6")), now=NOW
        )
        issuer.publish(NOW)
        self.kiosk = issuer.keystore.signer("kiosk-1")
        self.device = SoftwareSigner.generate()
        assert self.issued.chip_cose is not None  # the chip's claims, photo included
        cred = Credential.from_payload(cose.parse_sign1(self.issued.chip_cose).payload)
        self.cred = cred
        self.sd_jwt = issue_vc(self.kiosk, cred, self.device.public_key).compact()
        self.mdoc = mdoc.issue_mdoc(self.kiosk, cred, self.device.public_key)

    def verifier(self) -> Verifier:
        verifier, problems = load_verifier(self.issuer.dir, now=NOW)
        assert problems == []
        return verifier

    def check(
        self, data: str | bytes, request: VenueRequest | None = None, now: float = NOW + 60
    ) -> PresentationResult:
        return verify_wallet(self.verifier(), data, request, now)


@pytest.fixture
def wallet(issuer: Issuer, holder: Holder) -> Wallet:
    return Wallet(issuer, holder)


def pool_request(now: float = NOW + 30) -> VenueRequest:
    return VenueRequest.new("pool", POOL, now)


# -- issued credentials ---------------------------------------------------------------------


def test_issued_sd_jwt_verifies_with_every_claim_and_a_warning(wallet: Wallet) -> None:
    res = wallet.check(wallet.sd_jwt)
    assert res.verdict is Verdict.VALID, res
    assert res.warnings[0] == NOT_BOUND
    assert res.claims is not None
    assert res.claims["family_name"] == "Beispiel-Musterfrau"
    assert res.claims["entitlements"] == ["library", "pool"]
    assert res.claims["age_over_18"] is True and res.claims["age_over_65"] is False
    assert res.claims["resident_of"] == "demo"
    assert base64.b64decode(res.claims["photo_base64"]) == wallet.cred.holder.photo


def test_issued_mdoc_verifies_with_every_element(wallet: Wallet) -> None:
    res = wallet.check(wallet.mdoc)
    assert res.verdict is Verdict.VALID, res
    assert res.claims is not None
    assert res.claims["birth_date"] == "1990-01-01"
    assert res.claims["entitlements"] == ["library", "pool"]
    assert res.claims["document_number"] == wallet.cred.document_number


def test_sd_jwt_carries_no_claim_the_chip_does_not(wallet: Wallet) -> None:
    sd = sdjwt.SdJwt.parse(wallet.sd_jwt)
    payload = jws.parse(sd.jwt).payload
    assert set(payload) == {"iss", "iat", "exp", "vct", "status", "cnf", "_sd_alg", "_sd",
                            "entitlements"}  # fmt: skip
    names = {d.name for d in sd.disclosures}
    assert names == {
        "family_name", "given_name", "birth_date", "sex", "photo", "languages", "program",
        "document_number", "age_over_18", "age_over_65", "resident_of", None,
    }  # fmt: skip
    for banned in ("nationality", "birthplace", "residence", "address"):
        assert banned not in wallet.sd_jwt and banned.encode() not in wallet.mdoc


# -- presentations --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_pool_presentation_shows_only_photo_and_entitlement(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    answer = _present(wallet, fmt, request)
    res = wallet.check(answer, request)
    assert res.verdict is Verdict.VALID, res
    assert res.warnings == ()
    assert res.claims is not None
    assert set(res.claims) == {"format", "issued", "expires", "photo_base64", "entitlements"}
    assert res.claims["entitlements"] == ["pool"]
    text = answer if isinstance(answer, str) else answer.decode("latin-1")
    assert "Musterfrau" not in text and "1990" not in text and "library" not in text


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_presentation_qr_round_trip(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    qr = response_qr(_present(wallet, fmt, request), request)
    assert qr.startswith(SDJWT_PREFIX if fmt == "sd-jwt" else MDOC_PREFIX)
    assert wallet.check(qr, request).verdict is Verdict.VALID


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_presentation_as_several_small_qr_codes(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    text = response_qr(_present(wallet, fmt, request), request)
    parts = split_qr(text)
    assert len(parts) > 1 and all(len(p) <= 600 for p in parts)  # version 15 at level M each
    assert join_qr(list(reversed(parts))) == text
    assert wallet.check("\n".join(parts), request).verdict is Verdict.VALID
    with pytest.raises(MalformedError, match="missing"):
        join_qr(parts[1:])
    # a part scanned twice is taken once (the venue page's camera and paste box agree)...
    assert join_qr([*parts, parts[0]]) == text
    # ...but another text under the same number is not
    with pytest.raises(MalformedError, match="do not belong to one answer"):
        join_qr([*parts, parts[0][:-1] + ("A" if parts[0][-1] != "A" else "B")])
    # pasted: white space before the codes, blank lines, line endings of every kind
    pasted = "\n  \r\n" + "\r\n\n".join("\t" + p for p in parts) + "  \t\n"
    assert wallet.check(pasted, request).verdict is Verdict.VALID


def test_answer_lines_keeps_the_spaces_base45_may_end_a_part_with() -> None:
    """base45 has the space: a part cut at one keeps it, but nothing else after a code's text,
    and no space at all after the text that ends a whole answer (base45 never ends in one)."""
    assert answer_lines("  CCP1:1/2:AB  \t\r\n\nCCP1:2/2:CD  \n") == ["CCP1:1/2:AB  ", "CCP1:2/2:CD"]
    assert answer_lines("\u3000CCS1:XYZ \n") == ["CCS1:XYZ"]
    assert answer_lines("CCM1:XYZ\r") == ["CCM1:XYZ"]
    assert answer_lines(" \n\t\r\n") == []


def test_a_truncated_card_or_answer_cannot_be_read_and_is_never_called_a_copy(wallet: Wallet) -> None:
    """Cut short, the text ends in half a disclosure, which the SD-JWT grammar reads as its
    KB-JWT: that was CLONE_SUSPECTED ("it may be a copy") for a file that was only cut."""
    request = pool_request()
    answer = present_sdjwt(wallet.sd_jwt, request, wallet.device)
    for text, asked in ((wallet.sd_jwt, None), (answer, request)):
        cuts = sorted({*range(len(text) // 2, len(text) - 1, 97), len(text) - 2})
        for cut in cuts:
            if text[cut - 1] == "~":
                continue  # a whole SD-JWT without its tail: another case, tested elsewhere
            result = wallet.check(text[:cut], asked)
            assert result.verdict is Verdict.MALFORMED, (cut, result.verdict, result.reason)


@pytest.mark.parametrize(
    "head", ["\u00b2/1", "1/\u00b2", "1/" + "9" * 5000, "0/1", "2/1", "1/-1", "+1/1", "1/1 "]
)
def test_a_part_with_odd_numbers_is_not_part_of_an_answer(wallet: Wallet, head: str) -> None:
    """str.isdigit took "²", which int() refuses, and int() refuses 5000 digits: both raised
    ValueError past the verifier (a traceback for `citycard-reader verify --qr`)."""
    with pytest.raises(MalformedError):
        join_qr([f"CCP1:{head}:ABC"])
    result = wallet.check(f"CCP1:{head}:ABC", pool_request())
    assert result.verdict is Verdict.MALFORMED


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_replay_with_another_nonce_is_never_valid(wallet: Wallet, fmt: str) -> None:
    first = pool_request()
    answer = _present(wallet, fmt, first)
    second = pool_request()
    if fmt == "mdoc":  # the QR names the request it answers
        res = wallet.check(response_qr(answer, first), second)
        assert res.reason is PresentationReason.WRONG_NONCE
        res = wallet.check(answer, second)  # bare: the device signature is over another nonce
        assert res.reason is PresentationReason.BAD_KEY_BINDING
    else:
        res = wallet.check(answer, second)
        assert res.reason is PresentationReason.WRONG_NONCE
    assert res.verdict is Verdict.CLONE_SUSPECTED


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_answer_for_another_venue_or_too_late(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    answer = _present(wallet, fmt, request)
    other = VenueRequest("library", request.nonce, request.issued_at, request.items)
    res = wallet.check(response_qr(answer, request), other)
    assert res.reason is PresentationReason.WRONG_AUDIENCE
    late = wallet.check(answer, request, now=request.issued_at + REQUEST_WINDOW + 1)
    assert late.reason is PresentationReason.OUTSIDE_TIME_WINDOW
    assert late.verdict is Verdict.CLONE_SUSPECTED


def test_sd_jwt_added_disclosure_is_never_valid(wallet: Wallet) -> None:
    request = pool_request()
    answer = present_sdjwt(wallet.sd_jwt, request, wallet.device, NOW + 40)
    issued = sdjwt.SdJwt.parse(wallet.sd_jwt)
    birth = next(d for d in issued.disclosures if d.name == "birth_date")
    jwt, rest = answer.split("~", 1)
    added = f"{jwt}~{birth.encoded}~{rest}"  # a genuine disclosure slipped in after binding
    res = wallet.check(added, request)
    assert res.reason is PresentationReason.DISCLOSURES_CHANGED
    forged = sdjwt.Disclosure.new("family_name", "Someone-Else")
    res = wallet.check(f"{jwt}~{forged.encoded}~{rest}", request)
    assert res.reason is PresentationReason.UNSIGNED_DISCLOSURE
    assert res.verdict is Verdict.BAD_SIGNATURE


def test_sd_jwt_tampered_disclosure_is_never_valid(wallet: Wallet) -> None:
    request = VenueRequest.new("event", ("age_over_18", "photo"), NOW + 30)
    answer = present_sdjwt(wallet.sd_jwt, request, wallet.device, NOW + 40)
    parts = answer.split("~")
    for i, part in enumerate(parts[1:-1], 1):
        salt, name, value = json.loads(b64u_decode(part))
        if name == "age_over_18":
            parts[i] = b64u(json.dumps([salt, name, not value]).encode())
    res = wallet.check("~".join(parts), request)
    assert res.reason is PresentationReason.UNSIGNED_DISCLOSURE
    assert res.verdict is not Verdict.VALID


def test_mdoc_tampered_or_added_element_is_never_valid(wallet: Wallet) -> None:
    import cbor2

    request = pool_request()
    answer = cbor2.loads(present_mdoc(wallet.mdoc, request, wallet.device))
    full = cbor2.loads(wallet.mdoc)["nameSpaces"][mdoc.NAMESPACE]
    items = answer["documents"][0]["issuerSigned"]["nameSpaces"][mdoc.NAMESPACE]
    added = [*items, next(i for i in full if b"birth_date" in i.value)]
    answer["documents"][0]["issuerSigned"]["nameSpaces"][mdoc.NAMESPACE] = added
    res = wallet.check(cbor2.dumps(answer), request)
    assert res.reason is PresentationReason.UNREQUESTED_DISCLOSURE
    element = cbor2.loads(items[0].value)
    element["elementValue"] = b"another face"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(element))
    answer["documents"][0]["issuerSigned"]["nameSpaces"][mdoc.NAMESPACE] = items
    res = wallet.check(cbor2.dumps(answer), request)
    assert res.reason is PresentationReason.UNSIGNED_DISCLOSURE
    assert res.verdict is Verdict.BAD_SIGNATURE


def test_presentation_without_key_binding_is_a_copy(wallet: Wallet) -> None:
    request = pool_request()
    answer = present_sdjwt(wallet.sd_jwt, request, wallet.device, NOW + 40)
    bare = answer[: answer.rindex("~") + 1]
    res = wallet.check(bare, request)
    assert res.reason is PresentationReason.NO_KEY_BINDING
    assert wallet.check(wallet.mdoc, request).reason is PresentationReason.NO_KEY_BINDING
    other = SoftwareSigner.generate()  # someone else's phone
    stolen = present_sdjwt(wallet.sd_jwt, request, other, NOW + 40)
    assert wallet.check(stolen, request).reason is PresentationReason.BAD_KEY_BINDING


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_revoked_card_presentation_is_revoked(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    answer = _present(wallet, fmt, request)
    cred = wallet.cred
    wallet.issuer.set_status(cred.status_index, "revoked")
    wallet.issuer.publish(NOW + 10)
    res = wallet.check(answer, request)
    assert res.verdict is Verdict.REVOKED
    assert res.claims is None


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_suspended_as_for_the_chip(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    answer = _present(wallet, fmt, request)
    wallet.issuer.set_status(wallet.cred.status_index, "suspended")
    wallet.issuer.publish(NOW + 10)
    assert wallet.check(answer, request).verdict is Verdict.SUSPENDED


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_unknown_key_and_expired(wallet: Wallet, fmt: str) -> None:
    request = pool_request()
    stranger = SoftwareSigner.generate()
    cred = wallet.cred
    if fmt == "sd-jwt":
        forged: str | bytes = present_sdjwt(
            issue_vc(stranger, cred, wallet.device.public_key).compact(), request, wallet.device,
            NOW + 40,
        )  # fmt: skip
    else:
        forged = present_mdoc(mdoc.issue_mdoc(stranger, cred, wallet.device.public_key), request,
                              wallet.device)  # fmt: skip
    assert wallet.check(forged, request).verdict is Verdict.UNKNOWN_KEY
    issued = wallet.sd_jwt if fmt == "sd-jwt" else wallet.mdoc
    assert wallet.check(issued, now=cred.expires_at + EXPIRY_GRACE).verdict is Verdict.EXPIRED


def test_missing_item_is_said(wallet: Wallet) -> None:
    request = VenueRequest.new("pool", ("photo", "entitlement:museum"), NOW + 30)
    res = wallet.check(present_sdjwt(wallet.sd_jwt, request, wallet.device, NOW + 40), request)
    assert res.verdict is Verdict.VALID
    assert res.missing == ("entitlement:museum",)


def test_venue_requests_from_profiles() -> None:
    assert request_items(load_venue("pool")) == ("photo", "entitlement:pool")  # its `request`
    assert request_items(load_venue("event")) == ("age_over_18", "photo")
    # no `request`: what it shows, and every code of each entitlement line (a holder whose
    # card carries culture-free is asked for it, not only for the line's first code)
    assert request_items(load_venue("museum")) == (
        "photo", "given_name", "family_name", "program", "entitlement:museum",
        "entitlement:culture-free", "entitlement:culture-discount", "entitlement:culture",
        "entitlement:culture-offers",
    )  # fmt: skip
    for name in ("library", "museum", "pool", "event"):
        request = venue_request(load_venue(name), NOW)
        again = VenueRequest.from_qr(request.to_qr())
        assert again == request
        # one phone-scannable QR: the request is base64url (byte mode), and 412 bytes is what
        # a version 15 QR holds at level M (the page draws it at M), the size of one response
        # part (QR_CHARS)
        assert len(request.to_qr()) <= 412, name


def test_is_wallet_data(wallet: Wallet) -> None:
    assert is_wallet_data(wallet.sd_jwt.encode())
    assert is_wallet_data(wallet.mdoc)
    assert wallet.issued.chip_cose is not None
    assert not is_wallet_data(wallet.issued.chip_cose)


# -- hostile input --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode()))
def test_hostile_bytes_get_a_typed_verdict(data: bytes) -> None:
    verifier = _shared_verifier()
    res = verify_wallet(verifier, data, None, NOW)
    assert res.verdict is not Verdict.VALID
    assert res.reason is not None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~",
               max_size=300))  # fmt: skip
def test_hostile_sd_jwt_text(text: str) -> None:
    res = verify_wallet(_shared_verifier(), "ey" + text, pool_request(), NOW)
    assert res.verdict is not Verdict.VALID
    assert isinstance(res.reason, PresentationReason)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_request_parser_gives_typed_errors(text: str) -> None:
    with contextlib.suppress(MalformedError):
        VenueRequest.from_qr("CCQ1:" + text)
    with contextlib.suppress(MalformedError):
        VenueRequest.from_qr(text)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "aud", "nonce", "iat", "items", "x"]),
                       st.none() | st.integers() | st.text(max_size=30)
                       | st.lists(st.text(max_size=20), max_size=3), max_size=6))  # fmt: skip
def test_request_parser_gives_typed_errors_for_json(body: dict[str, object]) -> None:
    with contextlib.suppress(MalformedError):
        VenueRequest.from_qr("CCQ1:" + b64u(json.dumps(body).encode()))


_VERIFIER: list[Verifier] = []


def _shared_verifier() -> Verifier:
    if not _VERIFIER:
        import tempfile

        issuer = Issuer.init(Path(tempfile.mkdtemp()) / "issuer", now=NOW)
        issuer.publish(NOW)
        _VERIFIER.append(load_verifier(issuer.dir, now=NOW)[0])
    return _VERIFIER[0]


def _present(wallet: Wallet, fmt: str, request: VenueRequest) -> str | bytes:
    if fmt == "sd-jwt":
        return present_sdjwt(wallet.sd_jwt, request, wallet.device, request.issued_at + 5)
    return present_mdoc(wallet.mdoc, request, wallet.device)


def test_wallet_files_without_chip_or_certificates(wallet: Wallet, tmp_path: Path) -> None:
    """A card without a chip, whose trust files came from an issuer API (no iaca.pem, no
    jwks.json): the wallet credentials carry the print credential's claims, and jwks.json is
    derived from the trust list."""
    import shutil

    from kiosk.wallet_files import write_wallet_files

    shutil.copytree(wallet.issuer.dir / "public", tmp_path / "trust")
    assert not (tmp_path / "trust" / "jwks.json").exists()
    out = write_wallet_files(tmp_path, wallet.kiosk, wallet.issued.print_cose)
    assert out == tmp_path / "wallet"
    jwks = json.loads((tmp_path / "trust" / "jwks.json").read_text("utf-8"))
    assert [k["kid"] for k in jwks["keys"]] == [wallet.kiosk.kid.hex()]
    res = wallet.check((out / "card.sd-jwt").read_text("ascii"))
    assert res.verdict is Verdict.VALID and res.claims is not None
    assert "photo_base64" not in res.claims and res.claims["given_name"] == "Mira"
    assert wallet.check((out / "card.mdoc").read_bytes()).verdict is Verdict.VALID
    assert write_wallet_files(tmp_path, wallet.kiosk, None) is None
