"""A card's life at the web kiosk, in Debian's Chromium (Playwright): make a card → renew it
(its printed QR typed by a keyboard-wedge scanner) → the old card SUPERSEDED, the new one VALID
with the same number → replace it as lost → the renewed card REVOKED, the replacement VALID with
the same number. The real job on simulated hardware (print profile: file card printer) and the
in-process issuer; the QR codes are read back from the printed card images."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from cardio.chip import CardProfile
from cardio.published import load_verifier
from cardio.verdict import Verdict
from kiosk.demo_application import load_known_program
from kiosk.job import Station
from kiosk.simulate import simulated_station
from kiosk.web import KioskConfig, create_kiosk_app
from kiosk.web.adapters import EngineRules, PipelinePhotos, StationJobs, program_view
from kiosk.web.attendant import hash_pin
from kiosk.web.server import KioskServer

from .browser import ARTIFACTS, chromium, requires_chromium
from .test_kiosk_browser import draw_signature, portrait_file

pytestmark = [requires_chromium, pytest.mark.timeout(300)]
PIN = "2468"
VIEWPORT = {"width": 1080, "height": 1920}


@dataclass
class Served:
    url: str
    station: Station
    printer_dir: Path


@pytest.fixture(name="served")
def fixture_served(tmp_path: Path) -> Iterator[Served]:
    program = load_known_program("zurich", CardProfile.PRINT)
    printer_dir = tmp_path / "printer"
    with simulated_station(tmp_path / "data", program, printer_dir=printer_dir) as station:
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


def _click(page: Any, label: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=label, exact=True).click()


def _walk(page: Any, served: Served, tmp_path: Path, name: str, kind: str, old: str) -> str:
    """One visit to the kiosk; the printed card's QR text."""
    page.goto(served.url + "/")
    _click(page, "English")
    assert page.url.endswith("/about")
    if kind == "first":
        page.screenshot(path=str(ARTIFACTS / "renewal-about.png"), full_page=True)
        _click(page, "I understand. Continue")
    else:
        _click(page, "Renew my card" if kind == "renewal" else "Replace a lost card")
        assert page.url.endswith("/old-card")
        page.screenshot(path=str(ARTIFACTS / f"renewal-{name}-old-card.png"), full_page=True)
        field = "#qr" if kind == "renewal" else "#document_number"
        assert page.evaluate("document.activeElement.id") == field[1:]  # ready for the scanner
        with page.expect_navigation():
            page.keyboard.type(old)  # a keyboard-wedge scanner: the text, then Enter
            page.keyboard.press("Enter")
    assert page.url.endswith("/details"), page.inner_text("main")
    page.fill("#family_name", "Beispiel-Musterfrau")
    page.fill("#given_name", "Mira")
    page.fill("#birth_day", "28")
    page.fill("#birth_month", "2")
    page.fill("#birth_year", "1990")
    page.get_by_label("X (another gender)").check()
    _click(page, "Continue")
    page.locator('input[value="passport"]').check()
    page.locator('input[value="bill"]').check()
    _click(page, "Continue")
    page.set_input_files("#photo", str(portrait_file(tmp_path)))
    _click(page, "Send the photo")
    _click(page, "Use this photo")
    draw_signature(page)
    _click(page, "Continue")
    page.fill("#pin", PIN)
    _click(page, "Approve")
    assert page.url.endswith("/fee")
    fee = page.inner_text("main")
    assert ("Your card is free." in fee) is (kind == "first"), fee
    _click(page, "Continue")
    with page.expect_navigation():
        page.get_by_role("button", name="Make my card").click()
    page.wait_for_url("**/done", timeout=90_000)
    page.screenshot(path=str(ARTIFACTS / f"renewal-{name}-done.png"), full_page=True)
    done = page.inner_text("main")
    if kind == "renewal":
        assert "Your old card is no longer valid: the new card replaces it." in done
    if kind == "replacement":
        assert "Your lost card has been cancelled: nobody can use it any more." in done
    found = [
        r
        for r in zxingcpp.read_barcodes(Image.open(served.printer_dir / "card-back.png"))
        if r.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert len(found) == 1
    return str(found[0].text)


def _verdicts(served: Served, tmp_path: Path, *qr: str) -> list[tuple[Verdict, str | None]]:
    """What a venue's reader with the city's files, fetched now, says of each QR text."""
    trust = tmp_path / "trust"
    served.station.allocator.fetch_published(trust, [])  # type: ignore[attr-defined]
    verifier, problems = load_verifier(trust)
    assert problems == []
    out = []
    for text in qr:
        res = verifier.verify_qr(text)
        claims = res.claims or {}
        out.append((res.verdict, claims.get("document_number")))
    return out


def test_make_renew_and_replace_a_card_at_the_web_kiosk(served: Served, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT, locale="en-GB")
        first = _walk(page, served, tmp_path, "first", "first", "")
        [(verdict, number)] = _verdicts(served, tmp_path, first)
        assert verdict is Verdict.VALID and number

        renewed = _walk(page, served, tmp_path, "renewal", "renewal", first)
        assert _verdicts(served, tmp_path, first, renewed) == [
            (Verdict.SUPERSEDED, None),
            (Verdict.VALID, number),
        ]

        # The superseded card cannot be renewed again: a sentence, and the visit stays put.
        page.goto(served.url + "/")
        _click(page, "English")
        _click(page, "Renew my card")
        with page.expect_navigation():
            page.keyboard.type(first)
            page.keyboard.press("Enter")
        assert page.url.endswith("/old-card")
        assert "already been replaced by a newer card" in page.inner_text("#errors")
        _click(page, "Stop and delete my data")

        replaced = _walk(page, served, tmp_path, "replacement", "replacement", str(number))
        assert _verdicts(served, tmp_path, first, renewed, replaced) == [
            (Verdict.SUPERSEDED, None),
            (Verdict.REVOKED, None),
            (Verdict.VALID, number),
        ]
