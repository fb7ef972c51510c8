"""The holder's wallet page and the venue page, end to end in one Chromium with two phones.

A card is made by the issuer's kiosk key and left for the phone exactly as a kiosk leaves it
(`kiosk.wallet_offer.make_offer`: sealed package, `POST /wallet/pickups`); the holder's phone
opens the wallet URL, the venue's phone asks for pool entry, the holder agrees, the venue
checks the answer offline. QR codes travel between the two phones as pictures: each is
screenshotted and decoded with zxing-cpp, and what it says is typed into the other phone.
"""

from __future__ import annotations

import io
import json
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.phone.venue_requests import VENUES_FILE
from api.phone.wallet.files import TEXTS_FILE
from cardio import base45, cose
from cardio.credential import Credential, Holder
from cardio.presentation import SDJWT_PREFIX, VenueRequest, join_qr, response_qr, verify_wallet
from cardio.published import load_verifier
from cardio.sdjwt import Disclosure, SdJwt
from cardio.verdict import Verdict

from .browser import ARTIFACTS, chromium, requires_chromium
from .wallet_server import WalletIssuer, fragment, serving_pages

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def venue_title(venue: str, language: str) -> str:
    """A venue type's title as venues.json gives it in `language` (the terminal's catalogue's)."""
    found = next(v for v in json.loads(VENUES_FILE.read_text("utf-8")) if v["name"] == venue)
    return str(found["languages"][language]["title"])


def read_qr(page: Any, selector: str) -> str:
    """The text of the QR code drawn in `selector`, read from a screenshot as a camera would."""
    import zxingcpp
    from PIL import Image

    # Two screenshots in a row that agree: a code caught while the page swaps parts is no read.
    shot = page.locator(selector).screenshot()
    for _ in range(10):
        again = page.locator(selector).screenshot()
        if again == shot:
            break
        shot = again
    # QR codes only: with every format on, zxing once also "found" a 1D code ('D487B') in the
    # modules of a valid answer part, and the one-code check failed a clean-clone run
    found = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(shot)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert len(found) == 1, (
        f"expected one QR code in {selector}, found {[f.text[:40] for f in found]}"
    )
    return str(found[0].text)


def answer_parts(page: Any) -> list[str]:
    """Every QR code of the wallet's answer, stepping through them with Next."""
    box = page.locator("#answer-qr")
    count = int(box.get_attribute("data-count") or "0")
    if count > 1:
        page.click("#answer-next")  # a tap stops the automatic round and shows the next one
    parts: dict[str, str] = {}
    for _ in range(count):
        number = box.get_attribute("data-part") or ""
        parts[number] = read_qr(page, "#answer-qr img")
        if count > 1:
            page.click("#answer-next")
            page.wait_for_selector(f'#answer-qr:not([data-part="{number}"])')  # (CSP: no eval)
    assert len(parts) == count
    return [parts[str(i)] for i in range(1, count + 1)]


def answer_text(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else join_qr(parts)


def tampered(parts: list[str]) -> str:
    """The answer with its entitlement disclosure changed to another entitlement (same salt)."""
    text = answer_text(parts)
    sd = SdJwt.parse(zlib.decompress(base45.decode(text[len(SDJWT_PREFIX) :])).decode("ascii"))
    swapped = tuple(
        Disclosure.new(None, "culture-discount", d.salt) if d.name is None else d
        for d in sd.disclosures
    )
    assert swapped != sd.disclosures
    return response_qr(SdJwt(sd.jwt, swapped, sd.kb_jwt).compact())


def added(parts: list[str], extra: Disclosure) -> str:
    """The answer with one more disclosure the issuer signed but the holder did not share."""
    text = answer_text(parts)
    sd = SdJwt.parse(zlib.decompress(base45.decode(text[len(SDJWT_PREFIX) :])).decode("ascii"))
    return response_qr(SdJwt(sd.jwt, (*sd.disclosures, extra), sd.kb_jwt).compact())


def cut_short(parts: list[str]) -> str:
    """The answer cut inside its last disclosure (no KB-JWT left): what the grammar then reads
    as the KB-JWT is half a disclosure."""
    text = answer_text(parts)
    sd = SdJwt.parse(zlib.decompress(base45.decode(text[len(SDJWT_PREFIX) :])).decode("ascii"))
    return response_qr(sd.without_key_binding()[:-10])


STORED_SD_JWT = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("citycard-wallet"); r.onsuccess = () => ok(r.result); r.onerror = ko; });
  return await new Promise((ok) => {
    const q = db.transaction("card").objectStore("card").get("card"); q.onsuccess = () => ok(q.result.sd_jwt); });
}"""


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    with serving_pages(tmp_path, holder) as served:
        yield served


def check(venue: Any, text: str) -> tuple[str, str]:
    venue.fill("#answer", text)
    venue.evaluate("document.getElementById('verdict').setAttribute('data-verdict', '')")
    venue.click("#check-answer")
    venue.wait_for_selector('#verdict:not([data-verdict=""])')
    box = venue.locator("#verdict")
    return box.get_attribute("data-verdict") or "", box.get_attribute("data-reason") or ""


@requires_chromium
def test_holder_shows_pool_entry_to_a_venue_which_sees_only_that(env: WalletIssuer) -> None:
    offer = env.offer()
    pickup_id, _key = fragment(offer.wallet_url)
    texts = json.loads(TEXTS_FILE.read_text("utf-8"))["languages"]["de"]["texts"]
    card = Credential.from_payload(cose.parse_sign1(env.card_cose).payload)
    with chromium() as browser:
        phone = browser.new_context(**PHONE)
        venue_phone = browser.new_context(**PHONE)
        wallet = phone.new_page()
        wallet.goto(offer.wallet_url)
        wallet.wait_for_selector("body[data-ready]", timeout=20_000)
        # the key in the fragment is gone from the address bar, the ciphertext from the issuer
        assert "#" not in wallet.url and "k=" not in wallet.url
        assert env.request("GET", f"/wallet/pickups/{pickup_id}")[0] == 404
        # the card, in the holder's language (the package says de)
        assert wallet.evaluate("document.documentElement.lang") == "de"
        assert wallet.inner_text("#name") == "Mira Beispiel-Musterfrau"
        assert wallet.inner_text("#show-venue") == texts["Show to a venue"]
        assert wallet.get_attribute("#photo", "src", timeout=5_000).startswith(
            "data:image/jpeg;base64,"
        )
        codes = wallet.eval_on_selector_all(
            "#entitlements li", "els => els.map(e => e.dataset.code)"
        )
        assert codes == ["pool", "culture-discount"]
        # by the programme's own names in the holder's language, not by code
        assert wallet.inner_text("#entitlements").split("\n") == [
            "Badi-Eintritt",
            "Ermässigung Kultur",
        ]
        assert wallet.inner_text("#programme") == "Demo City Card"  # as the kiosk printed it
        # the holder key: in IndexedDB as a private, non-extractable CryptoKey; no JWK anywhere
        stored = wallet.evaluate(
            """async () => {
              const db = await new Promise((ok, ko) => {
                const r = indexedDB.open("citycard-wallet"); r.onsuccess = () => ok(r.result); r.onerror = ko; });
              const card = await new Promise((ok) => {
                const q = db.transaction("card").objectStore("card").get("card"); q.onsuccess = () => ok(q.result); });
              let exported = true;
              try { await crypto.subtle.exportKey("jwk", card.key); } catch (e) { exported = false; }
              return { keys: Object.keys(card).sort(), type: card.key.type,
                       extractable: card.key.extractable, exported,
                       jwkInStorage: JSON.stringify(localStorage).includes('"d"') };
            }"""
        )
        assert stored == {
            # taken: the SHA-256 of the pickup id (the same code scanned again is recognised)
            "keys": ["display", "key", "mdoc", "sd_jwt", "taken"], "type": "private",
            "extractable": False, "exported": False, "jwkInStorage": False,
        }  # fmt: skip
        wallet.screenshot(path=str(ARTIFACTS / "wallet-card.png"), full_page=True)

        # the venue's phone asks for pool entry
        venue = venue_phone.new_page()
        venue.goto(env.url + "/verify/venue.html")
        venue.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
        venue.wait_for_selector("body[data-ready]")
        venue.select_option("#venue-type", "pool")
        venue.click("#new-request")
        request_text = read_qr(venue, "#request-qr img")
        request = VenueRequest.from_qr(request_text)
        assert request.venue == "pool" and request.items == ("photo", "entitlement:pool")

        # the holder reads it, sees the list in plain words, agrees
        wallet.click("#show-venue")
        wallet.fill("#request-text", request_text)
        wallet.click("#read-request")
        wallet.wait_for_selector("#consent:not([hidden])")
        items = wallet.eval_on_selector_all(
            "#consent-items li", "els => els.map(e => e.dataset.item)"
        )
        assert items == ["photo", "entitlement:pool"]
        assert texts["Your photo"] in wallet.inner_text("#consent-items")
        # the venue's title in the holder's language, not the English one
        assert venue_title("pool", "de") in wallet.inner_text("#consent-title")
        assert "City Pool" not in wallet.inner_text("#consent-title")
        assert "Badi-Eintritt" in wallet.inner_text("#consent-items")
        wallet.screenshot(path=str(ARTIFACTS / "wallet-consent.png"), full_page=True)
        wallet.click("#agree")
        wallet.wait_for_selector("#answer-qr img")
        wallet.screenshot(path=str(ARTIFACTS / "wallet-answer.png"), full_page=True)
        parts = answer_parts(wallet)

        # the venue: VALID, and exactly the photo and pool entry
        verdict, _reason = check(venue, "\n".join(parts))
        assert verdict == "VALID"
        shown = set(
            venue.eval_on_selector_all(
                "#verdict [data-item]", "els => els.map(e => e.dataset.item)"
            )
        )
        assert shown == {"photo", "entitlement:pool", "expires"}
        page_text = venue.inner_text("#verdict")
        for kept_back in ("Mira", "Beispiel", "1990", "culture", "Kultur", "Zurich", "Züri"):
            assert kept_back not in page_text
        venue.screenshot(path=str(ARTIFACTS / "venue-valid.png"), full_page=True)
        # the reference verifier agrees with the page
        verifier, problems = load_verifier(env.dir)
        assert problems == []
        reference = verify_wallet(verifier, answer_text(parts), request)
        assert reference.verdict is Verdict.VALID
        assert reference.claims is not None
        assert set(reference.claims) == {
            "format",
            "issued",
            "expires",
            "photo_base64",
            "entitlements",
        }
        assert reference.claims["entitlements"] == ["pool"]

        # a disclosure changed after the holder signed: refused, typed
        assert check(venue, tampered(parts)) == ("BAD_SIGNATURE", "unsigned_disclosure")
        # a disclosure of the stored credential added after the holder signed: refused
        issued = SdJwt.parse(wallet.evaluate(STORED_SD_JWT))
        name = next(d for d in issued.disclosures if d.name == "given_name")
        assert check(venue, added(parts, name)) == ("BAD_SIGNATURE", "disclosures_changed")
        # cut short: it cannot be read (it was "a copy": half a disclosure read as the KB-JWT)
        assert check(venue, cut_short(parts)) == ("MALFORMED", "malformed")
        assert verify_wallet(verifier, cut_short(parts), request).verdict is Verdict.MALFORMED
        # the same answer to a new request (another nonce): a replay
        venue.click("#new-request")
        assert check(venue, "\n".join(parts)) == ("CLONE_SUSPECTED", "wrong_nonce")

        # revoked and published: the same presentation is REVOKED once the lists are refreshed
        env.issuer.set_status(card.status_index, "revoked")
        env.issuer.publish(int(time.time()))
        venue.click("#refresh")
        venue.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
        assert check(venue, "\n".join(parts))[0] == "REVOKED"
        assert venue.locator("#verdict [data-item]").count() == 0
        venue.screenshot(path=str(ARTIFACTS / "venue-revoked.png"), full_page=True)
