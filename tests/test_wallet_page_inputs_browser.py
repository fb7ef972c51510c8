"""The holder's wallet page against what a phone really meets: links cut short or garbled, a
kiosk link opened in a wallet tab already open, a double tap, a card kept in a damaged
record, long names, requests out of date or from a venue the page does not know, and the
page's words (entitlements and request items) in the holder's language.

Each page is held to three rules: the one-time pickup is never spent on a link the page can
tell is damaged; every problem ends in a sentence of the page's catalogue, never in an
uncaught exception or a page stuck on "Opening your card…"; and nothing scrolls sideways.
The residents are fictional.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.phone import PAGE_DIR
from api.phone.venue_requests import VENUES_FILE
from api.phone.wallet.files import TEXTS_FILE
from cardio.credential import ChipBinding, Holder
from cardio.jwk import b64u
from cardio.presentation import VenueRequest, venue_request
from cardio.venues import load_venue
from cardio.wallet_claims import ITEMS
from cardio.wallet_package import OfferSecrets, seal
from kiosk.wallet_offer import WalletOffer, make_offer, make_package, upload

from .browser import ARTIFACTS, chromium, requires_chromium
from .test_wallet_page_browser import PHONE
from .wallet_server import WalletIssuer, serving_pages, take_path

pytestmark = requires_chromium

DAMAGED_LINK = "The link to your card is damaged or incomplete. Scan the kiosk's code again."
UNREADABLE_PACKAGE = (
    "The card in this code cannot be read. Ask at the kiosk or the city card office for a new code."
)
INSECURE_PAGE = "This page works only when it is opened over https; open its https address."
NO_CARD = "No card on this phone yet. Scan the code the kiosk shows at the end of your enrolment."
STORED_BROKEN = (
    "The card kept on this phone cannot be read. Remove it, and ask at a kiosk or the city card "
    "office for a new one."
)
ANSWER_FAILED = "Your answer could not be made, so nothing was shared. Scan the venue's code again."
STALE_REQUEST = (
    "This code is too old or its time is wrong. Ask the venue to show a new code, and check "
    "that this phone's clock is right."
)
UNKNOWN_VENUE = "A venue that calls itself “{venue}” asks for:"
OTHER_DETAIL = "Another detail of your card: {item}"
ITEM_WORDS = {
    "photo": "Your photo",
    "given_name": "Your given name",
    "family_name": "Your family name",
    "birth_date": "Your date of birth",
    "sex": "Your sex",
    "languages": "Your languages",
    "program": "Your city card programme",
    "document_number": "Your card number",
    "age_over_18": "Whether you are over 18",
    "age_over_65": "Whether you are over 65",
    "resident_of": "Your city of residence",
}
ISOLATES = dict.fromkeys(map(ord, "\u2068\u2069"))  # around a venue's own name: removed here


def words(language: str) -> dict[str, str]:
    table: dict[str, str] = json.loads(TEXTS_FILE.read_text("utf-8"))["languages"][language][
        "texts"
    ]
    return table


def say(language: str, msgid: str, **values: str) -> str:
    text = words(language).get(msgid, msgid)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    with serving_pages(tmp_path, holder) as served:
        yield served


class Phone:
    """A phone's browser context and page, with every uncaught error and pickup request kept."""

    def __init__(self, browser: Any, locale: str = "de-DE") -> None:
        self.context = browser.new_context(**PHONE, locale=locale)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.pickups: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "request",
            lambda r: self.pickups.append(r.url) if "/wallet/pickups/" in r.url else None,
        )

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready]", timeout=20_000)
        return self.page

    def offers(self) -> int:
        return int(self.page.get_attribute("body", "data-offers") or "0")

    def open_in_place(self, url: str) -> Any:
        """`url` opened in the tab already showing the wallet (a new fragment, no reload)."""
        before = self.offers()
        self.page.goto(url)
        self.page.wait_for_selector(f'body[data-offers="{before + 1}"]', timeout=20_000)
        return self.page

    def status(self) -> str:
        return str(self.page.inner_text("#status")).strip()

    def close(self) -> None:
        self.context.close()


def offer_for(env: WalletIssuer, holder: Holder | None = None, language: str = "de") -> WalletOffer:
    """A kiosk's offer for `holder`'s card (a new card made now), or for env's card."""
    card = env.card_cose
    if holder is not None:
        uid = b"\x04" + os.urandom(6)
        issued = env.issuer.issue(holder, date(2030, 12, 31), ChipBinding(uid=uid))
        env.issuer.publish()
        assert issued.chip_cose is not None
        card = issued.chip_cose
    return make_offer(
        env.url, env.kiosk, env.issuer.keystore.signer("kiosk-1"), card,
        programme="Demo City Card", language=language,
    )  # fmt: skip


def request_text(venue: str, items: tuple[str, ...], at: float | None = None) -> str:
    return VenueRequest.new(venue, items, time.time() if at is None else at).to_qr()


def read_request(page: Any, text: str) -> None:
    page.click("#show-venue")
    page.fill("#request-text", text)
    page.click("#read-request")


def consent(page: Any, text: str) -> list[tuple[str, str]]:
    """(item, words) of each line of the consent list the request `text` brings up."""
    read_request(page, text)
    page.wait_for_selector("#consent:not([hidden])")
    found: list[list[str]] = page.eval_on_selector_all(
        "#consent-items li", "els => els.map(e => [e.dataset.item, e.textContent])"
    )
    return [(item, shown) for item, shown in found]


def garbled(url: str) -> dict[str, str]:
    """The kiosk's link damaged as a camera, a chat app or a careless copy damages it."""
    base, fragment = url.split("#", 1)
    p = fragment.split("&")[0][2:]
    k = fragment.split("k=", 1)[1]
    return {
        "last five characters lost": url[:-5],
        "key cut to nothing": f"{base}#p={p}&k=",
        "key left out": f"{base}#p={p}",
        "pickup id left out": f"{base}#k={k}",
        "pickup id cut short": f"{base}#p={p[:-1]}&k={k}",
        "a character not base64url": f"{base}#p={p}&k={k[:10]}*{k[11:]}",
        "a character too many": f"{base}#p={p}&k={k}A",
        "key twice": f"{base}#p={p}&k={k}&k={k}",
    }


def test_a_damaged_link_leaves_the_pickup_alone_and_says_so(
    env: WalletIssuer, browser: Any
) -> None:
    offer = offer_for(env)
    for what, url in garbled(offer.wallet_url).items():
        phone = Phone(browser)
        page = phone.open(url)
        assert phone.status() == say("de", DAMAGED_LINK), what
        assert phone.pickups == [], f"{what}: the pickup was fetched"
        assert page.get_attribute("body", "data-state") == "empty", what
        assert "#" not in page.url and "k=" not in page.url, what
        assert phone.errors == [], what
        phone.close()
    # a key with one character changed for another still looks whole: the issuer refuses the
    # page's proof of it (pickup_link_damaged) and the pickup stays
    base, fragment = offer.wallet_url.split("#", 1)
    k = fragment.split("k=")[1]
    phone = Phone(browser)
    page = phone.open(f"{base}#{fragment[: -len(k)]}{'B' if k[0] == 'A' else 'A'}{k[1:]}")
    assert phone.status() == say("de", DAMAGED_LINK)
    assert len(phone.pickups) == 1 and phone.errors == []
    assert page.get_attribute("body", "data-state") == "empty"
    phone.close()
    # the kiosk's own code still opens the card
    phone = Phone(browser)
    page = phone.open(offer.wallet_url)
    assert page.get_attribute("body", "data-state") == "card"
    assert page.inner_text("#name") == "Mira Beispiel-Musterfrau"
    assert page.title() == say("de", "City card") == "City Card"  # the title is translated too
    assert len(phone.pickups) == 1 and "proof=" in phone.pickups[0] and phone.errors == []
    phone.close()
    phone = Phone(browser, locale="ar")
    phone.open(offer_for(env, language="ar").wallet_url)
    assert phone.page.title() == say("ar", "City card") != "City card"
    phone.close()


def test_over_plain_http_the_pages_say_they_need_https_and_the_pickup_stays(
    env: WalletIssuer, browser: Any
) -> None:
    # Over http at any host but the phone itself the browser withholds WebCrypto. The pages
    # used to blame the link (wallet) or the network (verification page).
    host = "http://citycard.test"
    fetched: list[str] = []

    def proxy(route: Any) -> None:
        fetched.append(route.request.url)
        route.fulfill(response=route.fetch(url=route.request.url.replace(host, env.url, 1)))

    context = browser.new_context(**PHONE, locale="de-DE")
    context.route(host + "/**", proxy)
    page = context.new_page()
    offer = offer_for(env)
    page.goto(host + "/wallet/#" + offer.wallet_url.split("#", 1)[1])
    page.wait_for_selector("body[data-ready]", timeout=20_000)
    assert page.evaluate("window.isSecureContext") is False
    assert page.inner_text("#status").strip() == say("de", INSECURE_PAGE) != INSECURE_PAGE
    assert [u for u in fetched if "/wallet/pickups/" in u] == []
    assert env.request("GET", take_path(offer.wallet_url))[0] == 200  # it was still waiting
    page.goto(host + "/verify/?lang=de")
    page.wait_for_selector('#lists[data-state="error"]', timeout=20_000)
    assert page.inner_text("#lists").strip() == say("de", INSECURE_PAGE)
    context.close()


def test_a_kiosk_link_opened_in_the_wallet_tab_is_taken_and_its_key_cleared(
    env: WalletIssuer, browser: Any
) -> None:
    phone = Phone(browser)
    page = phone.open(env.url + "/wallet/")
    assert phone.status() == say("de", NO_CARD)
    assert page.get_attribute("body", "data-state") == "empty"
    first = offer_for(env)
    phone.open_in_place(first.wallet_url)
    assert "#" not in page.url and "k=" not in page.url
    assert page.get_attribute("body", "data-state") == "card"
    assert page.inner_text("#name") == "Mira Beispiel-Musterfrau"
    assert env.request("GET", "/wallet/pickups/" + first.wallet_url.split("p=")[1][:22])[0] == 404
    # a damaged second link: the card stays, the sentence says why nothing changed
    second = offer_for(env, replace(env.holder, given_name="Lio"))
    phone.open_in_place(second.wallet_url[:-5])
    assert phone.status() == say("de", DAMAGED_LINK)
    assert page.get_attribute("body", "data-state") == "card"
    assert page.inner_text("#name") == "Mira Beispiel-Musterfrau"
    assert "#" not in page.url
    # the whole link takes the new card in its place
    phone.open_in_place(second.wallet_url)
    assert page.inner_text("#name") == "Lio Beispiel-Musterfrau"
    assert "#" not in page.url
    assert phone.errors == []
    phone.close()


PART_CHANGES = """() => {
  window.__parts = [];
  new MutationObserver(() => window.__parts.push(
    Number(document.getElementById("answer-qr").getAttribute("data-part")))
  ).observe(document.getElementById("answer-qr"), { attributes: true, attributeFilter: ["data-part"] });
}"""


def test_a_double_tap_on_share_shows_one_answer_going_round_once(
    env: WalletIssuer, browser: Any
) -> None:
    phone = Phone(browser)
    page = phone.open(offer_for(env).wallet_url)
    read_request(page, request_text("pool", ("photo", "entitlement:pool")))
    page.wait_for_selector("#consent:not([hidden])")
    page.clock.install()  # the page's timers from here on run when the test says
    page.dblclick("#agree")
    page.wait_for_selector("#answer-qr img")
    count = int(page.get_attribute("#answer-qr", "data-count") or "0")
    assert count > 3  # the photo takes several parts
    page.evaluate(PART_CHANGES)
    page.clock.run_for(4600)  # two steps at 1.8 s, not four
    seen: list[int] = page.evaluate("window.__parts")
    assert len(seen) == 2, seen
    assert all(b == a % count + 1 for a, b in itertools.pairwise(seen)), seen
    page.click("#answer-done")
    page.clock.run_for(4000)  # a leaked round would fail here every 1.8 s
    assert phone.errors == []
    assert page.get_attribute("body", "data-state") == "card"
    # an answer the page cannot make ends in a sentence, and the next one works
    read_request(page, request_text("pool", ("photo", "entitlement:pool")))
    page.wait_for_selector("#consent:not([hidden])")
    page.evaluate(
        """() => {
          const P = window.citycardPresentation;
          P.__present = P.present;
          P.present = async () => { throw new Error("no key"); };
        }"""
    )
    page.click("#agree")
    page.wait_for_selector('body[data-state="card"]')
    assert phone.status() == say("de", ANSWER_FAILED)
    page.evaluate(
        "() => { window.citycardPresentation.present = window.citycardPresentation.__present; }"
    )
    read_request(page, request_text("pool", ("photo", "entitlement:pool")))
    page.wait_for_selector("#consent:not([hidden])")
    page.click("#agree")
    page.wait_for_selector("#answer-qr img")
    assert phone.errors == []
    phone.close()


def test_entitlements_are_named_in_the_holders_language(env: WalletIssuer, browser: Any) -> None:
    names = json.loads((PAGE_DIR / "names.json").read_text("utf-8"))["languages"]
    venues = {v["name"]: v for v in json.loads(VENUES_FILE.read_text("utf-8"))}
    phone = Phone(browser, locale="ar")
    page = phone.open(offer_for(env, language="ar").wallet_url)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    shown = page.eval_on_selector_all("#entitlements li", "els => els.map(e => e.textContent)")
    arabic = names["ar"]["entitlements"]["zurich"]
    assert shown == [arabic["pool"], arabic["culture-discount"]]
    assert "City pools" not in shown
    # a library asks for entitlements this Zurich card does not hold: the library's own words
    library = venue_request(load_venue("library")).to_qr()
    listed = dict(consent(page, library))
    labels = venues["library"]["languages"]["ar"]["labels"]
    missing = say("ar", "(not on your card)")
    assert listed["entitlement:library"] == labels["entitlement:library"] + " " + missing
    assert listed["entitlement:culture-discount"] == arabic["culture-discount"]  # held: the card's own words
    assert listed["photo"] == say("ar", "Your photo")
    page.screenshot(path=str(ARTIFACTS / "wallet-consent-ar-library.png"), full_page=True)
    assert phone.errors == []
    phone.close()


def test_every_item_a_request_can_name_is_put_in_plain_words(
    env: WalletIssuer, browser: Any
) -> None:
    assert set(ITEM_WORDS) == set(ITEMS)
    phone = Phone(browser)
    page = phone.open(offer_for(env).wallet_url)
    listed = consent(page, request_text("museum", ITEMS))
    assert [item for item, _ in listed] == list(ITEMS)
    other = say("de", OTHER_DETAIL, item="")
    for item, shown in listed:
        assert other not in shown, item
        assert shown.startswith(say("de", ITEM_WORDS[item])), (item, shown)
    assert phone.errors == []
    phone.close()


CORRUPT_STORED_CARD = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("citycard-wallet"); r.onsuccess = () => ok(r.result); r.onerror = ko; });
  await new Promise((ok) => {
    const tx = db.transaction("card", "readwrite"); const s = tx.objectStore("card");
    const q = s.get("card"); q.onsuccess = () => { const c = q.result; c.sd_jwt = "garbage"; s.put(c, "card"); };
    tx.oncomplete = ok; });
}"""
STORED_CARDS = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("citycard-wallet"); r.onsuccess = () => ok(r.result); r.onerror = ko; });
  return await new Promise((ok) => {
    const q = db.transaction("card").objectStore("card").count(); q.onsuccess = () => ok(q.result); });
}"""


def test_a_damaged_stored_card_is_said_and_can_be_removed(env: WalletIssuer, browser: Any) -> None:
    phone = Phone(browser)
    page = phone.open(offer_for(env).wallet_url)
    page.evaluate(CORRUPT_STORED_CARD)
    page.reload()
    page.wait_for_selector("body[data-ready]", timeout=10_000)
    assert phone.status() == say("de", STORED_BROKEN)
    assert page.get_attribute("body", "data-state") == "broken"
    assert page.inner_text("#remove-card") == say("de", "Remove the stored card")
    page.click("#remove-card")
    page.wait_for_selector('body[data-state="empty"]')
    assert phone.status() == say("de", NO_CARD)
    assert page.evaluate(STORED_CARDS) == 0
    phone.open_in_place(offer_for(env).wallet_url)  # a new kiosk link works
    assert page.inner_text("#name") == "Mira Beispiel-Musterfrau"
    assert phone.errors == []
    phone.close()


def test_a_package_the_page_could_not_read_is_not_kept(env: WalletIssuer, browser: Any) -> None:
    package = make_package(
        env.issuer.keystore.signer("kiosk-1"), env.card_cose, programme="Demo", language="de"
    )
    package["sd_jwt"] = "garbage"
    secrets = OfferSecrets.draw()
    upload(env.url, env.kiosk, secrets.pickup_id, seal(package, secrets.key()))
    phone = Phone(browser)
    page = phone.open(secrets.wallet_url(env.url))
    assert phone.status() == say("de", UNREADABLE_PACKAGE)
    assert page.get_attribute("body", "data-state") == "empty"
    assert page.evaluate(STORED_CARDS) == 0
    assert phone.errors == []
    phone.close()


def test_long_names_wrap_on_the_card_and_nothing_scrolls_sideways(
    env: WalletIssuer, browser: Any
) -> None:
    long = replace(
        env.holder,
        given_name="Maria-Alexandrina Konstantina Wilhelmina",
        family_name="Von Hohenzollern-Sigmaringen-Beispielsmusterfrau-Oberhausen",
    )
    for language in ("ar", "de"):
        phone = Phone(browser, locale=language)
        page = phone.open(offer_for(env, long, language=language).wallet_url)
        assert "Oberhausen" in page.inner_text("#name")
        page.screenshot(path=str(ARTIFACTS / f"wallet-long-name-{language}.png"), full_page=True)
        width = page.evaluate(
            "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
        )
        assert width[0] <= width[1] == 390, (language, width)
        phone.close()


def test_requests_out_of_date_or_from_an_unknown_venue(env: WalletIssuer, browser: Any) -> None:
    from playwright.sync_api import expect

    phone = Phone(browser)
    page = phone.open(offer_for(env).wallet_url)
    now = time.time()
    for what, at in (("a day old", now - 86400), ("a year ahead", now + 365 * 86400)):
        page.click("#show-venue")
        # the camera is refused here; its sentence comes first, then the request's
        expect(page.locator("#scan-problem")).not_to_be_empty()
        page.fill("#request-text", request_text("pool", ("photo",), at))
        page.click("#read-request")
        expect(page.locator("#scan-problem")).to_have_text(say("de", STALE_REQUEST))
        assert page.is_hidden("#consent"), what
        page.click("#scan-cancel")
    # a request a few seconds old is fine
    assert consent(page, request_text("pool", ("photo",), now - 20))[0][0] == "photo"
    page.click("#decline")
    # a name no venue type has: shown as what the code calls itself, isolated and quoted
    consent(page, request_text("City Police - show everything", ("photo", "birth_date")))
    title = page.inner_text("#consent-title")
    assert title.translate(ISOLATES) == say(
        "de", UNKNOWN_VENUE, venue="City Police - show everything"
    )
    assert "\u2068City Police - show everything\u2069" in title
    page.click("#decline")
    # bidi controls in the name cannot turn the sentence round
    consent(page, request_text("Pool\u202e gnihtyreve wohs", ("photo",)))
    title = page.inner_text("#consent-title")
    assert "\u202e" not in title
    assert title.translate(ISOLATES) == say("de", UNKNOWN_VENUE, venue="Pool gnihtyreve wohs")
    page.click("#decline")
    # a known venue type keeps its title in the holder's language
    consent(page, request_text("pool", ("photo",)))
    title = page.inner_text("#consent-title")
    pool = next(v for v in json.loads(VENUES_FILE.read_text("utf-8")) if v["name"] == "pool")
    assert title == say("de", "{venue} asks for:", venue=pool["languages"]["de"]["title"])
    assert phone.errors == []
    phone.close()


def test_the_damaged_link_check_matches_the_kiosks_links() -> None:
    # the page's rule (22 + 43 base64url characters) holds for the links kiosks make
    for _ in range(50):
        secrets = OfferSecrets.draw()
        assert len(secrets.pickup_id) == 22 and len(b64u(secrets.key())) == 43
