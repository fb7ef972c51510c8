"""The phone verification page and a status list dated in the future (Chromium via Playwright).

Security review, finding 1, on the page that verifies like the reference (docs/credential.md
section 4.7): a status list signed by the genuine status key with an `iat` 300 days ahead must
be refused, and must not make the genuine lists that follow look older than it, neither when
fetched nor when kept on the phone from before.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from api.issuer.service import Issuer
from cardio.credential import Holder, to_qr
from cardio.published import STATUS_DIR

from .browser import chromium, requires_chromium
from .terminal_fixtures import city_api

pytestmark = [requires_chromium]


def _verdict(page: Any, text: str) -> str:
    got = page.evaluate("([t]) => window.citycard.verifyText(t)", [text])
    return str(got["verdict"])


def test_phone_page_refuses_a_status_list_dated_in_the_future(
    tmp_path: Path, holder: Holder
) -> None:
    now = int(time.time())
    issuer = Issuer.init(tmp_path / "issuer", now=now - 120)
    card = issuer.issue(holder, now=now - 60)
    issuer.publish()
    qr = to_qr(card.print_cose)
    future_path = issuer.dir / "public" / STATUS_DIR / "1.cwt"
    with city_api(issuer) as server, chromium() as browser:
        page = browser.new_page()
        page.goto(server.url + "/verify/")
        page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
        assert _verdict(page, qr) == "VALID"

        issuer.publish_status(now=now + 300 * 86400)
        future = future_path.read_bytes()
        page.evaluate("window.citycard.refresh().then(() => true)")
        problems = page.evaluate("window.citycard.state.problems")
        assert any("in the future" in p for p in problems), problems

        issuer.set_status(card.status_index, "revoked")
        issuer.publish_status()
        page.evaluate("window.citycard.refresh().then(() => true)")
        assert _verdict(page, qr) == "REVOKED"

        # a phone that kept such a list from before: it never blocks the genuine one
        page.evaluate(
            "([id, b64]) => localStorage.setItem(id, b64)",
            ["citycard.verify.status.1", base64.b64encode(future).decode()],
        )
        page.reload()
        page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
        assert _verdict(page, qr) == "REVOKED"
