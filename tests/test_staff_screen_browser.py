"""The staff screen in a real browser (Debian's Chromium driven by Playwright).

A card personalised through cardio.chip is tapped on the terminal's reader (a VirtualType4Card
presented in vpcd's slot, read through the real pcscd): the screen, open in Chromium, turns
VALID live over server-sent events without reloading. After the city revokes the card, the
staff press "Refresh lists now" (a trust sync) and the same card shows REVOKED. Screenshots
are kept under test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from api.issuer.service import Issuer
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder
from cardio.terminal_config import TerminalConfig
from tests.pcsc_fixtures import VpcdCards, requires_pcscd

from .browser import ARTIFACTS, chromium, requires_chromium
from .terminal_fixtures import (
    ServedApp,
    city_api,
    live_issuer,
    personalised_card,
    provision,
    wait_for,
)

pytestmark = [requires_pcscd, requires_chromium]
READER = "Virtual PCD 00 00"


@pytest.fixture
def live(tmp_path: Path) -> Issuer:
    return live_issuer(tmp_path / "issuer")


@pytest.fixture
def api(live: Issuer) -> Iterator[Any]:
    """The city API: the real issuer app when it is there (else the stand-in IssuerHttp)."""
    with city_api(live) as server:
        yield server


@contextmanager
def running(terminal: Terminal) -> Iterator[Terminal]:
    """The terminal's reader loop and sync, stopped however the test ends: a failed test left
    its loop holding the virtual reader, and the next test that taps a card failed too."""
    terminal.start()
    try:
        yield terminal
    finally:
        terminal.stop()


def test_tap_shows_valid_live_then_revoked_after_sync(
    tmp_path: Path, vpcd_cards: VpcdCards, live: Issuer, api: Any, holder: Holder
) -> None:
    card, issued = personalised_card(live, holder)
    store = provision(tmp_path / "terminal", live)
    terminal = Terminal.from_config(
        TerminalConfig(trust=store, api=api.url, venue="pool", reader=READER, display_seconds=60)
    )
    assert terminal.sync.sync_once().ok
    assert terminal.loop is not None
    terminal.loop.poll = 0.3
    app = create_terminal_app(terminal)
    with running(terminal), ServedApp(app) as served, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(served.url + "/")
        page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        page.wait_for_selector('#verdict[data-verdict="NONE"]')
        page.evaluate("window.__sameDocument = true")

        vcard = vpcd_cards.attach(0, card)  # the tap
        page.wait_for_selector('#verdict[data-verdict="VALID"]', timeout=15_000)
        assert page.evaluate("window.__sameDocument === true")  # live, not a reload
        assert page.inner_text("#verdict .big") == "VALID"
        # the style sheet applies under the strict Content-Security-Policy
        assert page.evaluate("getComputedStyle(document.querySelector('#verdict .big')).fontWeight") == "900"
        assert page.inner_text(".field-given_name") == holder.given_name
        body = page.inner_text("body")
        assert holder.family_name not in body and issued.credential.document_number not in body
        assert page.locator("img.photo").count() == 1
        assert page.evaluate("document.querySelector('img.photo').naturalWidth") > 0
        assert "Pool entry" in page.inner_text(".entitlements .held")
        page.screenshot(path=str(ARTIFACTS / "staff-screen-valid.png"), full_page=True)
        vpcd_cards.remove(vcard)

        live.set_status(issued.status_index, "revoked")
        live.publish()
        page.click("text=Refresh lists now")  # the staff's button: a trust sync, then the screen
        page.wait_for_selector('body[data-live="on"]', timeout=10_000)
        assert terminal.sync.last_success is not None
        assert time.time() - terminal.sync.last_success < 30
        page.evaluate("window.__sameDocument = true")

        vcard = vpcd_cards.attach(0, card)  # the same card again
        page.wait_for_selector('#verdict[data-verdict="REVOKED"]', timeout=15_000)
        assert page.evaluate("window.__sameDocument === true")
        assert page.inner_text("#verdict .big") == "NOT VALID"
        assert "revoked" in page.inner_text("#verdict .sentence")
        assert page.locator("img.photo").count() == 0
        assert holder.given_name not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "staff-screen-revoked.png"), full_page=True)
        vpcd_cards.remove(vcard)
        # the screen's script, style sheet, events and photo are all within its own policy
        assert not [m for m in console if "Content Security Policy" in m], console


def test_screen_without_javascript_refreshes_itself(
    tmp_path: Path, vpcd_cards: VpcdCards, live: Issuer, api: Any, holder: Holder
) -> None:
    card, _issued = personalised_card(live, holder)
    store = provision(tmp_path / "terminal", live)
    terminal = Terminal.from_config(
        TerminalConfig(trust=store, api=api.url, venue="library", reader=READER, display_seconds=60)
    )
    terminal.sync.sync_once()
    assert terminal.loop is not None
    terminal.loop.poll = 0.3
    with running(terminal), ServedApp(create_terminal_app(terminal)) as served, chromium() as browser:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(served.url + "/")
        # the panel is a frame that reloads itself; the page with the scanner box never does
        frame = page.frame_locator("#panel-frame")
        frame.locator('#verdict[data-verdict="NONE"]').wait_for(timeout=10_000)
        assert page.locator("#panel").is_hidden()
        vcard = vpcd_cards.attach(0, card)
        wait_for(lambda: terminal.board.snapshot().view is not None, timeout=15)
        frame.locator('#verdict[data-verdict="VALID"]').wait_for(timeout=10_000)
        assert frame.locator(".field-family_name").inner_text() == holder.family_name
        page.screenshot(path=str(ARTIFACTS / "staff-screen-no-javascript.png"), full_page=True)
        vpcd_cards.remove(vcard)
        context.close()
