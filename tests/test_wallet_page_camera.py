"""The wallet page reads a venue's request QR through the phone's camera (Chromium's fake
camera films the QR code; no BarcodeDetector, so the vendored jsQR decodes), and its answer
verifies with the reference verifier (cardio.presentation) against that very request. Once
opened, the page and the card work with the network gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from api.phone import blueprint as phone_blueprint
from api.phone.wallet import blueprint as wallet_blueprint
from cardio.credential import Holder
from cardio.presentation import venue_request, verify_wallet
from cardio.published import load_verifier
from cardio.venues import load_venue
from cardio.verdict import Verdict

from .browser import ARTIFACTS, requires_chromium
from .qr_camera import NO_BARCODE_DETECTOR, chromium_with_camera, qr_video
from .test_wallet_page_browser import PHONE, answer_parts, answer_text, venue_title
from .wallet_server import WalletIssuer


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    served = WalletIssuer(tmp_path, replace(holder, program="zurich", entitlements=("pool",)))
    served.app.register_blueprint(phone_blueprint())
    served.app.register_blueprint(wallet_blueprint())
    with served:
        yield served


@requires_chromium
def test_the_wallet_scans_the_request_with_the_camera_and_answers_only_it(
    env: WalletIssuer, tmp_path: Path
) -> None:
    request = venue_request(load_venue("event"), time.time())
    video = qr_video(request.to_qr(), tmp_path / "request.y4m")
    offer = env.offer()
    with chromium_with_camera(video) as browser:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.add_init_script(NO_BARCODE_DETECTOR)
        page.goto(offer.wallet_url)
        page.wait_for_selector("body[data-ready]", timeout=20_000)
        assert page.evaluate("'BarcodeDetector' in window") is False
        page.click("#show-venue")  # the camera opens and films the venue's code
        page.wait_for_selector("#consent:not([hidden])", timeout=30_000)
        assert page.input_value("#request-text") == request.to_qr()
        items = page.eval_on_selector_all(
            "#consent-items li", "els => els.map(e => e.dataset.item)"
        )
        assert items == ["age_over_18", "photo"]
        # the venue's title in the wallet's language (the holder's package says de)
        assert venue_title("event", "de") in page.inner_text("#consent-title")
        page.click("#agree")
        page.wait_for_selector("#answer-qr img")
        parts = answer_parts(page)
        page.screenshot(path=str(ARTIFACTS / "wallet-answer-event.png"), full_page=True)

        verifier, problems = load_verifier(env.dir)
        assert problems == []
        result = verify_wallet(verifier, answer_text(parts), request)
        assert result.verdict is Verdict.VALID, result.message
        assert result.claims is not None
        assert result.claims["age_over_18"] is True
        assert set(result.claims) == {
            "format", "issued", "expires", "age_over_18", "photo_base64", "entitlements"
        }  # fmt: skip
        assert result.claims["entitlements"] == []
        assert result.missing == ()

        # installed and offline: the page's own files from its worker, the card from IndexedDB
        page.click("#answer-done")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready]", timeout=20_000)
        assert page.inner_text("#name") == "Mira Beispiel-Musterfrau"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
