"""Issue #13's walk in one Chromium with three screens: the kiosk, the holder's phone, the venue's.

A fictional resident enrols at the web kiosk (Zurich: chip written through pcscd into a virtual
card, file printers) whose station gets its numbers from a real issuer over HTTP, served as
`citycard-api serve` composes it (issuer API, phone and wallet pages). The holder's phone reads
the wallet QR from a screenshot of the kiosk's done page (zxing-cpp, as a camera), opens the
card, and the pickup is gone from the issuer. The venue's phone asks for pool entry; the holder
shares photo and pool entry only; the venue sees VALID with exactly those. Staff revoke the card
through the issuer's staff API; the same answer is then REVOKED. A second resident's offer, left
unpicked, is gone after 15 minutes (the issuer's pickup clock moved), and nothing of either
resident is in any file the issuer wrote.

The wallet page itself (key storage, tampered and replayed answers) is tested in
tests/test_wallet_page_browser.py; the pickup store's rules in tests/test_wallet_pickup.py.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardio.presentation import VenueRequest, verify_wallet
from cardio.published import load_verifier
from cardio.verdict import Verdict
from kiosk.programs import load_program
from kiosk.registry_options import RegistryOptions
from kiosk.simulate import simulated_station
from kiosk.web import KioskConfig, create_kiosk_app
from kiosk.web.adapters import EngineRules, PipelinePhotos, StationJobs, program_view
from kiosk.web.attendant import hash_pin
from kiosk.web.server import KioskServer
from tests.pcsc_fixtures import requires_pcscd

from .browser import ARTIFACTS, chromium, requires_chromium
from .test_renewal_browser import PIN, VIEWPORT, Served, _walk
from .test_wallet_page_browser import PHONE, answer_parts, answer_text, check, read_qr
from .test_wallet_page_browser import env as env  # a fixture: the issuer with the phone pages
from .test_wallet_pickup import issuer_files_holding, stored_rows
from .wallet_server import WalletIssuer, fragment

pytestmark = [pytest.mark.vpcd, requires_pcscd, requires_chromium, pytest.mark.timeout(300)]

PICKUP_TTL_PLUS = 15 * 60 + 1
FAMILY, GIVEN, BORN = "Beispiel-Musterfrau", "Mira", "1990-02-28"  # as test_renewal_browser types


@pytest.fixture(name="kiosk")
def fixture_kiosk(tmp_path: Path, env: WalletIssuer, pcscd_service: Any) -> Iterator[Served]:
    """The web kiosk on a simulated Zurich station that leaves its wallet offers with `env`."""
    credential = tmp_path / "kiosk-2.json"
    credential.write_text(env.kiosk.to_json(), "utf-8")
    registry = RegistryOptions(env.url, credential, env.dir / "keys")  # --api, as in production
    program = load_program("zurich")
    printer_dir = tmp_path / "printer"
    with simulated_station(
        tmp_path / "data", program, printer_dir=printer_dir, registry=registry
    ) as station:
        config = KioskConfig(
            program=program_view(program),
            rules=EngineRules(),
            photos=PipelinePhotos(),
            job=StationJobs(station),
            attendant_pin_hash=hash_pin(PIN, iterations=1000),
            sweep_interval=None,
        )
        server = KioskServer(create_kiosk_app(config), config, "127.0.0.1", 0).start()
        try:
            yield Served(server.url.rstrip("/"), station, printer_dir)
        finally:
            server.stop()


def offer_on_screen(screen: Any) -> tuple[str, str]:
    """(wallet URL, transaction code) as the done page shows them to the resident."""
    screen.wait_for_selector("#wallet-page-qr svg")
    wallet_url = read_qr(screen, "#wallet-page-qr")
    tx_code = screen.inner_text("#wallet-tx-code").strip()
    assert read_qr(screen, "#wallet-app-qr").startswith("openid-credential-offer://")
    return wallet_url, tx_code


def data_url_bytes(src: str) -> bytes:
    return base64.b64decode(src.split(";base64,", 1)[1])


def test_enrol_at_the_kiosk_then_show_pool_entry_from_the_phone(
    env: WalletIssuer, kiosk: Served, tmp_path: Path
) -> None:
    zurich = load_program("zurich")
    with chromium() as browser:
        screen = browser.new_context(viewport=VIEWPORT, locale="en-GB").new_page()
        phone = browser.new_context(**PHONE).new_page()
        venue = browser.new_context(**PHONE).new_page()

        # The kiosk: the whole enrolment, to the done page with the phone's codes.
        printed = _walk(screen, kiosk, tmp_path, "wallet", "first", "")
        wallet_url, tx_code = offer_on_screen(screen)
        screen.screenshot(path=str(ARTIFACTS / "wallet-kiosk-done.png"), full_page=True)
        assert wallet_url.startswith(f"{env.url}/wallet/#p=")
        assert tx_code.isdigit() and len(tx_code) == 6 and tx_code not in wallet_url
        pickup_id, _key = fragment(wallet_url)
        verifier, problems = load_verifier(env.dir)  # the city's files, as a reader has them
        assert problems == []
        printed_card = verifier.verify_qr(printed)  # the number printed on the card
        assert printed_card.verdict is Verdict.VALID and printed_card.claims is not None
        number = printed_card.claims["document_number"]

        # The holder's phone opens the QR's address (our page asks for no code: K is in it).
        phone.goto(wallet_url)
        phone.wait_for_selector("body[data-ready]", timeout=20_000)
        assert "#" not in phone.url
        assert env.request("GET", f"/wallet/pickups/{pickup_id}")[0] == 404  # picked up once
        assert stored_rows(env) == []
        assert phone.evaluate("document.documentElement.lang") == "en"  # the kiosk's language
        assert phone.inner_text("#name") == f"{GIVEN} {FAMILY}"
        assert phone.inner_text("#programme") == zurich.name("en")
        photo = phone.get_attribute("#photo", "src", timeout=5_000) or ""
        assert photo.startswith("data:image/jpeg;base64,")
        card_photo = data_url_bytes(photo)
        codes = phone.eval_on_selector_all(
            "#entitlements li", "els => els.map(e => e.dataset.code)"
        )
        assert codes == [e.code for e in zurich.entitlements]
        assert "City pools" in phone.inner_text("#entitlements")
        phone.screenshot(path=str(ARTIFACTS / "wallet-from-kiosk-card.png"), full_page=True)

        # The venue's phone asks for pool entry; the holder reads the request and agrees.
        venue.goto(env.url + "/verify/venue.html")
        venue.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
        venue.wait_for_selector("body[data-ready]")
        venue.select_option("#venue-type", "pool")
        venue.click("#new-request")
        request_text = read_qr(venue, "#request-qr img")
        request = VenueRequest.from_qr(request_text)
        assert request.items == ("photo", "entitlement:pool")
        phone.click("#show-venue")
        phone.fill("#request-text", request_text)
        phone.click("#read-request")
        phone.wait_for_selector("#consent:not([hidden])")
        items = phone.eval_on_selector_all(
            "#consent-items li", "els => els.map(e => e.dataset.item)"
        )
        assert items == ["photo", "entitlement:pool"]
        phone.click("#agree")
        phone.wait_for_selector("#answer-qr img")
        parts = answer_parts(phone)

        # The venue: VALID, the card's photo and pool entry, nothing else of the holder.
        assert check(venue, "\n".join(parts))[0] == "VALID"
        shown = venue.eval_on_selector_all(
            "#verdict [data-item]", "els => els.map(e => e.dataset.item)"
        )
        assert sorted(shown) == ["entitlement:pool", "expires", "photo"]
        assert (
            data_url_bytes(venue.get_attribute('#verdict img[data-item="photo"]', "src") or "")
            == card_photo
        )
        page_text = venue.inner_text("#verdict")
        for kept_back in (GIVEN, FAMILY, "1990", "February", number, "culture", "Theatre"):
            assert kept_back not in page_text
        venue.screenshot(path=str(ARTIFACTS / "wallet-from-kiosk-venue-valid.png"), full_page=True)
        reference = verify_wallet(verifier, answer_text(parts), request)
        assert reference.verdict is Verdict.VALID and reference.claims is not None
        assert set(reference.claims) == {
            "format",
            "issued",
            "expires",
            "photo_base64",
            "entitlements",
        }

        # Staff revoke the card by the number printed on it; the venue refreshes its lists.
        token = env.issuer.add_staff("desk-1")
        status, card = env.request(
            "POST",
            f"/api/v1/staff/cards/{number}/revoke",
            None,
            {"Authorization": f"Bearer {token}"},
        )
        assert (status, card["status"]) == (200, "revoked"), card
        venue.click("#refresh")
        venue.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
        assert check(venue, "\n".join(parts))[0] == "REVOKED"
        assert venue.locator("#verdict [data-item]").count() == 0

        # A second resident leaves the offer on the screen: gone from the issuer after 15 min.
        _walk(screen, kiosk, tmp_path, "wallet-unpicked", "first", "")
        second_url, _code = offer_on_screen(screen)
        assert len(stored_rows(env)) == 1
        env.clock.advance(PICKUP_TTL_PLUS)
        status, gone = env.request("GET", f"/wallet/pickups/{fragment(second_url)[0]}")
        assert (status, gone["code"]) == (404, "pickup_gone")
        assert stored_rows(env) == []

    # Zero retention: no name, birth date or photo of the residents in any file of the issuer.
    with sqlite3.connect(env.dir / "registry.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    windows = [card_photo[i : i + 32] for i in range(0, len(card_photo) - 32, 97)]
    needles = [FAMILY.encode(), GIVEN.encode(), BORN.encode(), b"19900228", *windows]
    assert issuer_files_holding(env, needles) == []
