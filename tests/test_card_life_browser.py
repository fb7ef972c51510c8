"""A card's whole life in one Chromium (issue #12's quality bar), through a running reader
terminal: make a card at the web kiosk → the staff screen says VALID → renew it (same number;
the old card SUPERSEDED, the new one VALID) → the holder reports it lost on the issuer's /lost
page on a phone with the code from the receipt → the staff screen says REVOKED within 60 s →
a replacement at the kiosk is VALID with the same number, the lost card stays REVOKED.

Everything is real above the transport: the kiosk's job on simulated hardware (print profile:
file card printer and receipt file), the issuer API app under waitress over the same issuer
directory the kiosk issues from, and a terminal whose trust sync runs its own 15 s poll (no
sync is called by hand). The staff screen learns each card from its printed QR, typed into
`#scan-input` as a keyboard-wedge scanner does; the receipt code is read from the receipt's
ESC/POS bytes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.issuer.server import create_app
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.terminal_config import TerminalConfig
from hardware.local_issuer import IssuerAllocator
from printer.escpos_decode import decode

from .browser import ARTIFACTS, chromium, requires_chromium
from .terminal_fixtures import ServedApp, provision
from .test_desk_browser import _localhost
from .test_renewal_browser import (
    VIEWPORT,
    Served,
    _walk,
    fixture_served,  # noqa: F401 - the kiosk, as `served`
)

pytestmark = [requires_chromium, pytest.mark.timeout(300)]

SYNC_WITHIN = 60.0
"""Issue #12: a status change reaches a reader terminal within this many seconds."""
RECEIPT_CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b")


def _receipt_code(served: Served) -> str:
    """The one-time code printed on the last receipt (printer text, not a picture)."""
    text = decode((served.printer_dir / "receipt.escpos").read_bytes()).text
    [code] = RECEIPT_CODE.findall(text)
    return str(code)


def _scan(screen: Any, terminal: Terminal, qr: str) -> str:
    """Type `qr` and Enter into the staff screen's scanner box; the verdict the screen then
    shows. (Chromium never reports the body of the screen's /scan answer as loaded, as the
    script does not read it: the screen's own `data-seq` tells when it shows the scan.)"""
    assert screen.evaluate("document.activeElement.id") == "scan-input"
    with screen.expect_response("**/scan"):
        screen.keyboard.type(qr)
        screen.keyboard.press("Enter")
    seq = terminal.board.snapshot().seq  # the scan is on the board once it was answered
    screen.wait_for_function(
        "seq => Number(document.getElementById('verdict').dataset.seq) >= seq", arg=seq
    )
    return str(screen.get_attribute("#verdict", "data-verdict"))


def _scan_until(
    screen: Any, terminal: Terminal, qr: str, wanted: str, since: float | None = None
) -> float:
    """Scan `qr` every second until the staff screen says `wanted`; the seconds it took from
    `since` (default: now). Fails when it does not within SYNC_WITHIN."""
    started = time.monotonic() if since is None else since
    seen = []
    while time.monotonic() - started < SYNC_WITHIN:
        seen.append(_scan(screen, terminal, qr))
        if seen[-1] == wanted:
            return time.monotonic() - started
        time.sleep(1.0)
    raise AssertionError(f"the terminal never said {wanted} within {SYNC_WITHIN} s: {seen[-5:]}")


@pytest.fixture(name="issuer_api")
def fixture_issuer_api(served: Served) -> Iterator[ServedApp]:
    """The city's issuer API and holder pages over the kiosk's own issuer directory."""
    allocator = served.station.allocator
    assert isinstance(allocator, IssuerAllocator)
    app = create_app(allocator.issuer.dir)
    try:
        with ServedApp(app) as api:
            yield api
    finally:
        app.extensions["citycard"].issuer.close()


@pytest.fixture(name="terminal")
def fixture_terminal(served: Served, issuer_api: ServedApp, tmp_path: Path) -> Iterator[Terminal]:
    """The library's reader terminal, no card reader, its trust sync running on its own."""
    allocator = served.station.allocator
    assert isinstance(allocator, IssuerAllocator)
    store = provision(tmp_path / "terminal", allocator.issuer)
    terminal = Terminal.from_config(
        TerminalConfig(
            trust=store, api=issuer_api.url, venue="library", no_reader=True, display_seconds=600
        )
    )
    assert terminal.sync.interval == 15.0  # the real poll
    terminal.start()
    try:
        yield terminal
    finally:
        terminal.stop()


def test_make_renew_report_lost_and_replace_through_a_reader_terminal(
    served: Served, issuer_api: ServedApp, terminal: Terminal, tmp_path: Path
) -> None:
    walk_started = time.monotonic()
    with ServedApp(create_terminal_app(terminal)) as staff, chromium() as browser:
        kiosk = browser.new_page(viewport=VIEWPORT, locale="en-GB")
        screen = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        screen.goto(staff.url + "/")
        screen.wait_for_selector('body[data-live="on"]', timeout=10_000)

        # 1. A first card: VALID at the library.
        first = _walk(kiosk, served, tmp_path, "life-first", "first", "")
        _scan_until(screen, terminal, first, "VALID")
        number = screen.inner_text(".field-document_number")
        assert number.startswith("ZUR"), number

        # 2. Renewed at the kiosk with the old card's QR: the old card SUPERSEDED, the new
        # one VALID with the same number, once the terminal's own poll has the new lists.
        renewed = _walk(kiosk, served, tmp_path, "life-renewal", "renewal", first)
        code = _receipt_code(served)
        _scan_until(screen, terminal, first, "SUPERSEDED")
        _scan_until(screen, terminal, renewed, "VALID")
        assert screen.inner_text(".field-document_number") == number
        screen.screenshot(path=str(ARTIFACTS / "card-life-renewed-valid.png"), full_page=True)

        # 3. Lost: the holder revokes it on the issuer's page on a phone, with the receipt code.
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="en-GB"
        ).new_page()
        phone.goto(_localhost(issuer_api.url) + "/lost?lang=en")
        phone.fill("#doc", number)
        phone.fill("#code", code)
        phone.check("input[value=revoke]")
        with phone.expect_navigation():
            clicked = time.monotonic()
            phone.click("button[type=submit] >> nth=0")
        assert f"Card {number} is revoked." in phone.inner_text("main")
        phone.screenshot(path=str(ARTIFACTS / "card-life-lost-phone.png"), full_page=True)

        # 4. The staff screen says REVOKED within 60 s of the click.
        delay = _scan_until(screen, terminal, renewed, "REVOKED", since=clicked)
        print(f"lost-card report to REVOKED on the staff screen: {delay:.1f} s")
        assert delay < SYNC_WITHIN
        screen.screenshot(path=str(ARTIFACTS / "card-life-lost-revoked.png"), full_page=True)

        # 5. A replacement at the kiosk: VALID with the same number; the lost card stays
        # REVOKED and the first one SUPERSEDED.
        replaced = _walk(kiosk, served, tmp_path, "life-replacement", "replacement", number)
        _scan_until(screen, terminal, replaced, "VALID")
        assert screen.inner_text(".field-document_number") == number
        assert _scan(screen, terminal, renewed) == "REVOKED"
        assert _scan(screen, terminal, first) == "SUPERSEDED"
    print(f"whole walk: {time.monotonic() - walk_started:.0f} s")
