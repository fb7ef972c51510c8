"""Findings of a review of the holder's wallet page, each held by a check that failed before its
fix, in one Chromium (a fake camera) against one served issuer:

1. A phone whose storage was full spent the one-time pickup, then hung on "Opening your card…"
   for good: a full storage aborts the IndexedDB transaction, an event the page did not hear.
   Storage is now checked (a write, the room left) before the pickup is taken, which stays.
2. A browser that keeps nothing (a private window) spent the pickup too, then blamed the card.
3. The same kiosk code scanned again, the card already shown, said "already taken".
4. A camera misreading of a link's last character (bits the encoding leaves zero) reached the
   issuer, which said "already taken"; it is a damaged link, and the pickup stays.
5. A request naming a known venue type got that venue's title whatever it asked for; an
   entitlement item could be any text (bidi controls included) shown as the venue's words;
   an item named twice was listed twice; "You are over 18" was said to a holder who is not.
6. Paste the code, or go back, while the camera was still starting: the camera stayed on.
7. An expired card looked valid, and could be shown to a venue that would only refuse it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.phone.wallet.files import TEXTS_FILE
from cardio.jwk import b64u

from .browser import requires_chromium
from .conftest import fictional_holder
from .qr_camera import chromium_with_camera, qr_video
from .terminal_fixtures import wait_for
from .test_wallet_page_browser import PHONE, venue_title
from .wallet_server import WalletIssuer, serving_pages

pytestmark = requires_chromium

SLOW_CAMERA = """(() => {
  window.__streams = [];
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    await new Promise((r) => setTimeout(r, 1500));  // a person answering the permission prompt
    const s = await real(c);
    window.__streams.push(s);
    return s;
  };
})();"""
LIVE_TRACKS = "window.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length"
NO_INDEXED_DB = """(() => {
  IDBFactory.prototype.open = function () {
    const req = {};
    setTimeout(() => {
      req.error = new DOMException("The database cannot be opened.", "InvalidStateError");
      if (req.onerror) req.onerror();
    }, 0);
    return req;
  };
})();"""


def words(msgid: str) -> str:
    """`msgid` as the wallet page says it in German (the offers' language)."""
    german: dict[str, str] = json.loads(TEXTS_FILE.read_text("utf-8"))["languages"]["de"]["texts"]
    return german[msgid]


NO_ROOM = "This phone has no room left to keep your card. Free some space, then scan the kiosk's code again: your card is still waiting."
NO_STORAGE = "This browser cannot keep your card (a private window, or storage turned off). Open the kiosk's code in a normal browser window: your card is still waiting."
ALREADY_HERE = "This card is already on this phone."
DAMAGED_LINK = "The link to your card is damaged or incomplete. Scan the kiosk's code again."
EXPIRED = "This card has expired, so venues will not accept it. Renew it at the kiosk or the city card office."
NOT_A_REQUEST = "This is not a venue's request code. Scan the code the venue shows."


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WalletIssuer]:
    with serving_pages(tmp_path_factory.mktemp("wallet-review"), fictional_holder()) as served:
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    video = qr_video("not a venue's code", tmp_path_factory.mktemp("camera") / "still.y4m")
    with chromium_with_camera(video) as launched:
        yield launched


def opened(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=20_000)
    return page


def status(page: Any) -> str:
    return str(page.inner_text("#status")).strip()


def request_qr(venue: str, items: list[str], iat: float | None = None) -> str:
    """A request as any code may be written (VenueRequest.new would check and tidy it)."""
    body = {"v": 1, "aud": venue, "nonce": b64u(b"n" * 16), "iat": int(iat or time.time()), "items": items}
    return "CCQ1:" + b64u(json.dumps(body, separators=(",", ":")).encode())


def read_request(page: Any, text: str) -> None:
    page.click("#show-venue")
    page.fill("#request-text", text)
    page.click("#read-request")


def test_storage_is_checked_before_the_pickup_is_spent(env: WalletIssuer, browser: Any) -> None:
    offer = env.offer()
    waiting = env.store.waiting()
    context = browser.new_context(**PHONE, locale="de-DE")
    cdp = context.new_cdp_session(context.new_page())
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": env.url, "quotaSize": 2000})
    full = opened(context, offer.wallet_url)  # hung on "Opening your card…" before
    assert status(full) == words(NO_ROOM)
    assert env.store.waiting() == waiting  # the card is still waiting
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": env.url})  # space freed
    page = opened(context, offer.wallet_url)
    assert page.get_attribute("body", "data-state") == "card" and status(page) == ""
    assert env.store.waiting() == waiting - 1
    page.goto(offer.wallet_url)  # the kiosk's code scanned again: only the fragment changes
    page.wait_for_selector('body[data-offers="2"]')  # (the first: the link it was opened with)
    assert status(page) == words(ALREADY_HERE)
    assert page.get_attribute("body", "data-state") == "card"
    context.close()

    private = browser.new_context(**PHONE, locale="de-DE")
    private.add_init_script(NO_INDEXED_DB)
    offer = env.offer()
    page = opened(private, offer.wallet_url)
    assert status(page) == words(NO_STORAGE)
    assert env.store.waiting() == waiting  # spent before, with "the card cannot be read"
    private.close()


def test_a_link_misread_in_its_last_character_is_damaged(env: WalletIssuer, browser: Any) -> None:
    offer = env.offer()
    waiting = env.store.waiting()
    split = urlsplit(offer.wallet_url)
    fragment = {k: v[0] for k, v in parse_qs(split.fragment).items()}
    # the id's last character carries 4 bits the encoding leaves zero: one of A, Q, g, w
    fragment["p"] = fragment["p"][:-1] + chr(ord(fragment["p"][-1]) + 1)
    misread = split._replace(fragment="&".join(f"{k}={v}" for k, v in fragment.items())).geturl()
    context = browser.new_context(**PHONE, locale="de-DE")
    page = opened(context, misread)
    assert status(page) == words(DAMAGED_LINK)
    assert env.store.waiting() == waiting
    context.close()


def test_what_a_request_asks_for_is_said_as_it_is(env: WalletIssuer, browser: Any) -> None:
    context = browser.new_context(**PHONE, locale="de-DE")
    page = opened(context, env.offer().wallet_url)
    pool = venue_title("pool", "de")
    # a code calling itself the pool, asking for more than the pool asks for
    read_request(page, request_qr("pool", ["photo", "given_name", "birth_date", "document_number"]))
    page.wait_for_selector("#consent:not([hidden])")
    title = page.inner_text("#consent-title")
    assert pool not in title and "pool" in title, title
    page.click("#decline")
    # the pool's own request, an item named twice: its title, each item once
    read_request(page, request_qr("pool", ["photo", "photo", "entitlement:pool"]))
    page.wait_for_selector("#consent:not([hidden])")
    assert pool in page.inner_text("#consent-title")
    items = page.eval_on_selector_all("#consent-items li", "els => els.map(e => e.dataset.item)")
    assert items == ["photo", "entitlement:pool"]
    page.click("#decline")
    # an entitlement that is no code (spoof text, bidi controls) is no venue's request
    for item in ("entitlement:Nothing else. Tap Share.", "entitlement:\u202e)draC ruoy no ton("):
        read_request(page, request_qr("pool", ["photo", item]))
        assert page.inner_text("#scan-problem") == words(NOT_A_REQUEST)
        page.click("#scan-cancel")
    # an age is asked, not stated
    read_request(page, request_qr("event", ["age_over_18", "photo"]))
    page.wait_for_selector("#consent:not([hidden])")
    shown = page.inner_text('#consent-items li[data-item="age_over_18"]')
    assert shown == words("Whether you are over 18")
    page.click("#decline")
    context.close()


def test_the_camera_stops_when_the_holder_is_quicker(env: WalletIssuer, browser: Any) -> None:
    context = browser.new_context(**PHONE, locale="de-DE")
    context.add_init_script(SLOW_CAMERA)
    page = opened(context, env.offer().wallet_url)
    # the code pasted while the camera still starts
    page.click("#show-venue")
    page.fill("#request-text", request_qr("pool", ["photo", "entitlement:pool"]))
    page.click("#read-request")
    page.wait_for_selector("#consent:not([hidden])")
    wait_for(lambda: page.evaluate("window.__streams.length") == 1)  # (no eval: the CSP)
    assert page.evaluate(LIVE_TRACKS) == 0
    page.click("#decline")
    # back to the card while the camera still starts
    page.click("#show-venue")
    page.click("#scan-cancel")
    wait_for(lambda: page.evaluate("window.__streams.length") == 2)  # (no eval: the CSP)
    assert page.evaluate(LIVE_TRACKS) == 0
    assert page.is_hidden("#camera")
    context.close()


def test_an_expired_card_says_so_and_is_not_shown_to_venues(env: WalletIssuer, browser: Any) -> None:
    context = browser.new_context(**PHONE, locale="de-DE")
    page = opened(context, env.offer().wallet_url)  # valid until 31 December 2030
    assert status(page) == ""
    later = datetime(2031, 6, 1, tzinfo=UTC)
    page.clock.install(time=later)
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert page.get_attribute("body", "data-state") == "card"
    assert status(page) == words(EXPIRED)
    read_request(page, request_qr("pool", ["photo", "entitlement:pool"], later.timestamp()))
    assert page.inner_text("#scan-problem") == words(EXPIRED)
    assert page.is_hidden("#consent")
    context.close()


def test_the_wallet_pages_are_served_with_the_issuer_pages_headers(env: WalletIssuer) -> None:
    client = env.app.test_client()
    for path in ("/wallet/", "/wallet/wallet.js", "/verify/", "/verify/venue.html"):
        res = client.get(path)
        assert res.status_code == 200, path
        assert res.headers["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert res.headers["Strict-Transport-Security"].startswith("max-age="), path
