"""The service desk and the lost-card page in a real browser (Debian's Chromium through
Playwright), against the real issuer app under waitress: staff log in with the staff token,
look a card up and suspend it; a holder revokes a card with the receipt code. The pages'
stylesheet applies under their strict policy and nothing is blocked. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from api.issuer.server import create_app
from api.issuer.service import Issuer
from cardio.credential import Holder
from tests.terminal_fixtures import ServedApp

from .browser import ARTIFACTS, chromium, requires_chromium

pytestmark = [requires_chromium]
# An obviously fictional resident.
HOLDER = Holder("demo", "Fictional-Browserperson", "Quade", date(1979, 5, 6), "X")


def _localhost(url: str) -> str:
    # Chromium keeps Secure cookies from http://localhost (a secure context), as from HTTPS.
    return url.replace("127.0.0.1", "localhost")


def test_staff_log_in_look_up_and_suspend(tmp_path: Path) -> None:
    issuer = Issuer.init(tmp_path / "issuer")
    token = issuer.add_staff("desk-7")
    number = str(issuer.issue(HOLDER).credential.document_number)
    issuer.publish()
    app = create_app(issuer.dir)
    try:
        with ServedApp(app) as served, chromium() as browser:
            base = _localhost(served.url)
            page = browser.new_page(viewport={"width": 1024, "height": 800})
            problems: list[str] = []
            # A policy violation shows on the console (the favicon's 404 does too: not ours).
            page.on(
                "console",
                lambda message: problems.append(message.text)
                if "Refused" in message.text or "Policy" in message.text
                else None,
            )
            page.goto(base + "/desk/")
            assert page.url == base + "/desk/login"  # anonymous: to the login page
            page.fill("#token", token)
            page.click("form:has(#token) button[type=submit]")
            page.wait_for_url(base + "/desk/")
            assert "desk-7" in page.inner_text("header")
            page.fill("#number", number)
            page.click("text=Look up")
            page.wait_for_selector("#card-status")
            assert page.inner_text("#card-status") == "valid"
            # The stylesheet applies: allowed by its hash under the page's policy.
            assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
            page.click("button:text-is('Suspend')")
            page.wait_for_selector("text=The card is suspended")
            assert page.inner_text("#card-status") == "suspended"
            assert "Suspended" in page.inner_text("table:last-of-type")
            page.screenshot(path=str(ARTIFACTS / "desk-suspended.png"), full_page=True)
            assert issuer.card(number).status == "suspended"
            assert problems == [], problems  # no policy violation, nothing blocked
    finally:
        app.extensions["citycard"].issuer.close()
        issuer.close()


def test_a_holder_revokes_on_the_lost_page(tmp_path: Path) -> None:
    issuer = Issuer.init(tmp_path / "issuer")
    issuer.add_kiosk("kiosk-2")
    allocation = issuer.allocate("kiosk-2", "req-browser-1")
    issuer.report_issued("kiosk-2", allocation.document_number, 1_790_000_000, 1_850_000_000)
    number, code = allocation.document_number, allocation.revocation_code
    app = create_app(issuer.dir)
    try:
        with ServedApp(app) as served, chromium() as browser:
            base = _localhost(served.url)
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(f"{base}/lost?doc={number}&lang=es")
            assert page.input_value("#doc") == number
            page.fill("#code", code)
            page.check("input[value=revoke]")
            page.click("button[type=submit] >> nth=0")
            page.wait_for_selector(f"text=La tarjeta {number} está revocada.")
            page.screenshot(path=str(ARTIFACTS / "lost-revoked.png"), full_page=True)
            assert issuer.card(number).status == "revoked"
    finally:
        app.extensions["citycard"].issuer.close()
        issuer.close()
