"""The staff screen's QR input in a real browser (Debian's Chromium driven by Playwright), on a
terminal without a card reader: a keyboard-wedge scanner types the printed QR text and Enter
into the focused box, the camera button decodes a QR code filmed by a fake camera (jsQR, no
BarcodeDetector), and the verdict appears live. The pool's profile shows the photo and the
pool entitlement by name, never the birth date; a card of another city says so plainly; a
form posted from another web site is refused.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.issuer.service import Issuer
from api.terminal.server import create_terminal_app
from api.terminal.service import NO_READER, Terminal
from cardio.credential import Holder, to_qr
from cardio.terminal_config import TerminalConfig
from cardio.verdict import Verdict

from .browser import ARTIFACTS, chromium, requires_chromium
from .qr_camera import NO_BARCODE_DETECTOR, chromium_with_camera, qr_video
from .terminal_fixtures import ServedApp, city_api, live_issuer, provision

pytestmark = [requires_chromium]


@pytest.fixture
def live(tmp_path: Path) -> Issuer:
    return live_issuer(tmp_path / "issuer")


@pytest.fixture
def api(live: Issuer) -> Iterator[Any]:
    with city_api(live) as server:
        yield server


def _terminal(tmp_path: Path, live: Issuer, api_url: str, venue: str = "pool") -> Terminal:
    store = provision(tmp_path / "terminal", live)
    terminal = Terminal.from_config(
        TerminalConfig(trust=store, api=api_url, venue=venue, no_reader=True, display_seconds=120)
    )
    assert terminal.sync.sync_once().ok
    return terminal


def test_wedge_scanner_input_shows_the_verdict_live(
    tmp_path: Path, live: Issuer, api: Any, holder: Holder
) -> None:
    issued = live.issue(holder, now=int(time.time()) - 60)
    live.publish()
    other_city = Issuer.init(tmp_path / "other", now=int(time.time()) - 120)
    foreign = other_city.issue(holder, now=int(time.time()) - 60)
    terminal = _terminal(tmp_path, live, api.url)
    with ServedApp(create_terminal_app(terminal)) as served, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served.url + "/")
        page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        assert page.inner_text("#reader-status") == NO_READER
        # the scanner box has the focus without a click: a scanner just types
        assert page.evaluate("document.activeElement.id") == "scan-input"
        page.evaluate("window.__sameDocument = true")
        page.keyboard.type(to_qr(issued.print_cose) + "\n")
        page.wait_for_selector('#verdict[data-verdict="VALID"]', timeout=10_000)
        assert page.evaluate("window.__sameDocument === true")  # live, no reload
        assert page.input_value("#scan-input") == ""  # ready for the next card
        assert page.evaluate("document.activeElement.id") == "scan-input"
        assert page.inner_text(".field-given_name") == holder.given_name
        body = page.inner_text("body")
        # the pool sees the entitlement by its name, and no birth date, sex or family name
        assert "Pool entry" in page.inner_text(".entitlements .held")
        assert str(holder.birth_date) not in body and "Born" not in body and "Sex" not in body
        assert holder.family_name not in body
        page.screenshot(path=str(ARTIFACTS / "staff-screen-wedge-valid.png"), full_page=True)

        page.keyboard.type(to_qr(foreign.print_cose) + "\n")
        page.wait_for_selector('#verdict[data-verdict="UNKNOWN_KEY"]', timeout=10_000)
        assert page.inner_text("#verdict .sentence") == "Card of another city — not accepted here."
        assert page.inner_text("#verdict .code") == "CARD OF ANOTHER CITY"
        assert "trust list" not in page.inner_text("#verdict")
        assert holder.given_name not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "staff-screen-other-city.png"), full_page=True)
    assert Verdict.UNKNOWN_KEY.sentence == "Card of another city — not accepted here."


def test_scan_refuses_a_form_posted_by_another_site(
    tmp_path: Path, live: Issuer, api: Any, holder: Holder
) -> None:
    issued = live.issue(holder, now=int(time.time()) - 60)
    live.publish()
    terminal = _terminal(tmp_path, live, api.url)
    client = create_terminal_app(terminal).test_client()
    qr = to_qr(issued.print_cose)
    evil = client.post(
        "/scan", data={"qr": qr}, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    )
    assert evil.status_code == 403 and evil.get_json()["code"] == "cross_site"
    assert terminal.board.snapshot().view is None  # nothing reached the screen
    empty = client.post("/scan", data={"qr": "  "})  # the form: a stray Enter changes nothing
    assert empty.status_code == 303 and terminal.board.snapshot().view is None
    script = client.post("/scan", data={"qr": "  "}, headers={"Accept": "application/json"})
    assert script.status_code == 400 and "Scan the QR code" in script.get_json()["message"]
    ours = client.post("/scan", data={"qr": qr + "\r\n"}, headers={"Origin": "http://localhost"})
    assert ours.status_code == 303  # a form without script: back to the screen
    view = terminal.board.snapshot().view
    assert view is not None and view.verdict == "VALID"
    with ServedApp(create_terminal_app(terminal)) as served:
        req = urllib.request.Request(served.url + "/scan", data=b"qr=x", method="POST")
        req.add_header("Sec-Fetch-Site", "same-site")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        assert refused.value.code == 403


def test_camera_button_decodes_the_qr_without_barcode_detector(
    tmp_path: Path, live: Issuer, api: Any, holder: Holder
) -> None:
    issued = live.issue(holder, now=int(time.time()) - 60)
    live.publish()
    terminal = _terminal(tmp_path, live, api.url, venue="library")
    video = qr_video(to_qr(issued.print_cose), tmp_path / "card.y4m")
    with ServedApp(create_terminal_app(terminal)) as served, chromium_with_camera(video) as browser:
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=served.url)
        page = context.new_page()
        page.add_init_script(NO_BARCODE_DETECTOR)
        page.goto(served.url + "/")
        page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        assert page.evaluate("'BarcodeDetector' in window") is False
        page.click("#camera-button")
        page.wait_for_selector('#verdict[data-verdict="VALID"]', timeout=30_000)
        assert page.inner_text(".field-family_name") == holder.family_name  # the library's view
        assert "Library card" in page.inner_text(".entitlements .held")
        assert page.locator("#camera").is_hidden()  # the camera is off again
        context.close()
