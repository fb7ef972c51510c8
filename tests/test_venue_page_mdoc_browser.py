"""The venue page checks an mdoc answer (CCM1:) offline, as the reader terminal does.

An mdoc is issued for a card the issuer made (the kiosk key, as `/oid4vci/credential` issues
it), the holder's key answers the venue page's pool request with a DeviceResponse, and the
page, in Chromium against the lists it loaded from the served issuer, must give the verdict
and typed reason that `cardio.presentation.verify_wallet` gives, for the genuine answer and
for each forgery: a changed or added element, a replay, another venue, another phone's
signature, a broken or unknown issuer signature, bytes that are not an answer, a revoked card.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest

from cardio import base45, cose, mdoc
from cardio.credential import Credential, Holder
from cardio.keys import SoftwareSigner
from cardio.presentation import (
    MDOC_PREFIX,
    VenueRequest,
    present_mdoc,
    response_qr,
    split_qr,
    verify_wallet,
)
from cardio.published import load_verifier
from cardio.verdict import Verdict

from .browser import ARTIFACTS, chromium, requires_chromium
from .test_wallet_page_browser import PHONE, check
from .wallet_server import WalletIssuer, serving_pages


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    with serving_pages(tmp_path, holder, wallet=False) as served:
        yield served


def opened(text: str) -> tuple[list[Any], dict[str, Any]]:
    """An mdoc answer's QR text as (its envelope [aud, nonce, iat, bytes], the response)."""
    envelope = cbor2.loads(zlib.decompress(base45.decode(text[len(MDOC_PREFIX) :])))
    return envelope, cbor2.loads(envelope[3])


def sealed(envelope: list[Any], response: dict[str, Any] | None = None) -> str:
    """The QR text of an envelope, with `response` (re-encoded) in place of its bytes."""
    if response is not None:
        envelope = [*envelope[:3], cbor2.dumps(response, canonical=True)]
    return MDOC_PREFIX + base45.encode(zlib.compress(cbor2.dumps(envelope), 9))


def issuer_signed(response: dict[str, Any]) -> dict[str, Any]:
    signed: dict[str, Any] = response["documents"][0]["issuerSigned"]
    return signed


def with_element(text: str, element: cbor2.CBORTag) -> str:
    envelope, response = opened(text)
    issuer_signed(response)["nameSpaces"][mdoc.NAMESPACE].append(element)
    return sealed(envelope, response)


def changed_entitlement(text: str) -> str:
    """The pool element renamed to another entitlement, its digest id and salt kept."""
    envelope, response = opened(text)
    items = issuer_signed(response)["nameSpaces"][mdoc.NAMESPACE]
    for i, raw in enumerate(items):
        item = cbor2.loads(raw.value)
        if item["elementIdentifier"] == "entitlement_pool":
            item["elementIdentifier"] = "entitlement_culture-discount"
            items[i] = mdoc.tag24(item)
    return sealed(envelope, response)


def broken_issuer_signature(text: str) -> str:
    envelope, response = opened(text)
    auth = issuer_signed(response)["issuerAuth"]
    auth[3] = bytes([auth[3][0] ^ 1]) + auth[3][1:]
    return sealed(envelope, response)


def edited(text: str, edit: Callable[[dict[str, Any]], object]) -> str:
    envelope, response = opened(text)
    edit(response)
    return sealed(envelope, response)


def es384_device_signature(response: dict[str, Any]) -> None:
    """A device signature that could never verify: a failed binding, outranked by status."""
    auth = response["documents"][0]["deviceSigned"]["deviceAuth"]
    auth["deviceSignature"][0] = cbor2.dumps({1: -35})


# Members outside every signature, read all the same (tests/test_presentation_review_fixes.py).
REPORTS_AN_ERROR: list[Callable[[dict[str, Any]], object]] = [
    lambda r: r.__setitem__("status", 10),
    lambda r: r.__setitem__("status", False),
    lambda r: r["documents"][0].__setitem__("errors", {mdoc.NAMESPACE: {"family_name": 1}}),
    lambda r: r["documents"][0]["deviceSigned"]["deviceAuth"].__setitem__(
        "deviceMac", [b"", {}, None, b""]
    ),
]


def claimed(text: str, request: VenueRequest) -> str:
    """The envelope rewritten to name `request` (the device signed another one)."""
    envelope, _response = opened(text)
    return sealed([request.venue, request.nonce, request.issued_at, envelope[3]])


@requires_chromium
def test_venue_page_checks_mdoc_answers_as_the_reader_does(env: WalletIssuer) -> None:
    card = Credential.from_payload(cose.parse_sign1(env.card_cose).payload)
    kiosk = env.issuer.keystore.signer("kiosk-1")
    device = SoftwareSigner.generate()
    issued = mdoc.issue_mdoc(kiosk, card, device.public_key)
    stranger = SoftwareSigner.generate()  # a key no trust list names
    foreign = mdoc.issue_mdoc(stranger, card, device.public_key)
    element = {cbor2.loads(t.value)["elementIdentifier"]: t
               for t in mdoc.IssuerSigned.parse(issued).items.values()}  # fmt: skip
    with chromium() as browser:
        venue = browser.new_context(**PHONE).new_page()
        venue.goto(env.url + "/verify/venue.html")
        venue.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
        venue.wait_for_selector("body[data-ready]")
        venue.select_option("#venue-type", "pool")
        venue.click("#new-request")
        request = VenueRequest.from_qr(venue.evaluate("window.citycardVenue.state.request.qr"))
        assert request.items == ("photo", "entitlement:pool")
        verifier, problems = load_verifier(env.dir)
        assert problems == []

        def same(text: str, req: VenueRequest = request) -> tuple[str, str]:
            """The page's (verdict, reason), held equal to the reference's."""
            result = verify_wallet(verifier, text, req)
            got = check(venue, text)
            reason = result.reason.value if result.reason is not None else ""
            assert got == (result.verdict.name, reason), text[:40]
            return got

        def answer(
            req: VenueRequest, signed: bytes = issued, holder: SoftwareSigner = device
        ) -> str:
            return response_qr(present_mdoc(signed, req, holder), req)

        genuine = answer(request)
        parts = split_qr(genuine)
        assert len(parts) > 1  # the photo: several codes, as the holder's phone shows them
        assert same("\n".join(reversed(parts))) == ("VALID", "")
        shown = venue.eval_on_selector_all(
            "#verdict [data-item]", "els => els.map(e => e.getAttribute('data-item'))"
        )
        assert sorted(shown) == ["entitlement:pool", "expires", "photo"]
        assert venue.evaluate("window.citycardVenue.state.result.claims.format") == "mdoc"
        venue.screenshot(path=str(ARTIFACTS / "venue-mdoc-valid.png"), full_page=True)

        other_venue = VenueRequest("library", request.nonce, request.issued_at, request.items)
        forgeries: dict[str, tuple[str, Callable[[], str]]] = {
            "unsigned_disclosure": ("BAD_SIGNATURE", lambda: changed_entitlement(genuine)),
            "unrequested_disclosure": ("MALFORMED", lambda: with_element(genuine, element["given_name"])),
            "repeated_disclosure": ("BAD_SIGNATURE", lambda: with_element(genuine, element["photo"])),
            "bad_issuer_signature": ("BAD_SIGNATURE", lambda: broken_issuer_signature(genuine)),
            "unknown_key": ("UNKNOWN_KEY", lambda: answer(request, foreign)),
            "bad_key_binding": ("CLONE_SUSPECTED", lambda: answer(request, issued, stranger)),
            "wrong_audience": ("CLONE_SUSPECTED", lambda: answer(other_venue)),
            "malformed": ("MALFORMED", lambda: MDOC_PREFIX + base45.encode(zlib.compress(b"\xa1"))),
        }  # fmt: skip
        for reason, (verdict, make) in forgeries.items():
            assert same(make(), request) == (verdict, reason)
        for edit in REPORTS_AN_ERROR:
            assert same(edited(genuine, edit)) == ("MALFORMED", "malformed")
        assert same(edited(genuine, es384_device_signature)) == ("CLONE_SUSPECTED", "bad_key_binding")
        # an answer to another request, its envelope rewritten to name this one: not bound
        elsewhere = answer(VenueRequest.new("pool", request.items))
        assert same(claimed(elsewhere, request)) == ("CLONE_SUSPECTED", "bad_key_binding")
        # a new request at the venue: the answer to the old one is a replay
        venue.click("#new-request")
        fresh = VenueRequest.from_qr(venue.evaluate("window.citycardVenue.state.request.qr"))
        assert same(genuine, fresh) == ("CLONE_SUSPECTED", "wrong_nonce")
        # the pool answer without the photo is VALID too, and says what was not shared
        no_photo = present_mdoc(issued, VenueRequest("pool", fresh.nonce, fresh.issued_at,
                                                     ("entitlement:pool",)), device)  # fmt: skip
        assert same(response_qr(no_photo, fresh), fresh) == ("VALID", "")
        assert venue.evaluate("window.citycardVenue.state.result.missing") == ["photo"]

        # revoked and published: the same answer is REVOKED once the lists are refreshed
        env.issuer.set_status(card.status_index, "revoked")
        env.issuer.publish(int(time.time()))
        verifier, _problems = load_verifier(env.dir)
        venue.click("#refresh")
        venue.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
        assert same(response_qr(no_photo, fresh), fresh)[0] == Verdict.REVOKED.name
        broken = edited(response_qr(no_photo, fresh), es384_device_signature)
        assert same(broken, fresh) == (Verdict.REVOKED.name, "")
        assert venue.locator("#verdict [data-item]").count() == 0
