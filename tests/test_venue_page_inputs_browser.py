"""What the phone pages make of what a person gives them, beyond a genuine code: the venue
page's paste box (parts repeated, missing or mixed, whitespace around the codes), a code of the
wrong kind or none on either page (pasted or in front of the camera), a camera that cannot
start, lists that cannot be loaded, and an address under the pages that is no page.

The pages never show a browser's or parser's own words (English, technical) inside their
sentences, and never a verdict for something that is not a code to check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from api.phone import PAGE_DIR, catalogue
from api.phone import blueprint as phone_blueprint
from cardio import cose, mdoc
from cardio.credential import Credential, Holder, to_qr
from cardio.keys import SoftwareSigner
from cardio.presentation import (
    PART_PREFIX,
    VenueRequest,
    join_qr,
    present_mdoc,
    response_qr,
    split_qr,
    verify_wallet,
)
from cardio.published import load_verifier
from cardio.verdict import Verdict

from .browser import ARGS, ARTIFACTS, CHROMIUM, chromium, requires_chromium
from .qr_camera import NO_BARCODE_DETECTOR, chromium_with_camera, qr_video
from .test_wallet_page_browser import PHONE
from .wallet_server import WalletIssuer, serving_pages

TEXTS = json.loads((PAGE_DIR / "texts.json").read_text("utf-8"))["languages"]
MISSING = "Some parts of the answer are missing; scan every code the phone shows."
MIXED = "The scanned parts do not belong to one answer; scan them again."
NOT_A_PART = "A scanned code is not part of a citycard answer (CCP1:)."
CARD_CODE = (
    "This is the QR code printed on a city resident card, not a phone's answer; "
    "check it on the card check page."
)
ANSWER_CODE = (
    "This is a phone wallet's answer, not the QR code printed on a card; "
    "check it on the venue page that showed the request."
)
REQUEST_CODE = (
    "This is a venue's request code for a phone wallet: the holder's phone scans it "
    "and answers with codes of its own."
)
OTHER_CODE = "This QR code is not one of the city resident card's codes."
NO_CAMERA = "No camera was found on this phone; paste the code's text instead."
NOT_ALLOWED = (
    "This page may not use the camera; allow the camera for this site in the browser's "
    "settings, or paste the code's text instead."
)
INSECURE = (
    "The camera works only when this page is opened over https; open its https address, "
    "or paste the code's text instead."
)
BUSY = (
    "The camera is busy or cannot start; close other apps that use it and try again, "
    "or paste the code's text instead."
)
CAMERA_OTHER = "The camera cannot be used here; paste the code's text instead."
STOPPED = "The camera has stopped; tap “{button}” to scan again."
UNREACHABLE = (
    "The city API cannot be reached; check the phone's connection, then refresh the lists."
)
NOT_CITYCARD = "The city API sent data that is not in the form citycard uses."
NOT_FOUND = "There is no page at this address."
PAGE_LINKS = ("Check a city resident card", "Ask for a phone card")


def de(msgid: str) -> str:
    text: str = TEXTS["de"]["texts"][msgid]
    assert text != msgid
    return text


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    with serving_pages(tmp_path, holder, wallet=False) as served:
        yield served


def venue_page(browser: Any, url: str, lang: str = "en") -> Any:
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{url}/verify/venue.html?lang={lang}")
    page.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
    page.wait_for_selector("body[data-ready]")
    return page


def check(venue: Any, text: str) -> tuple[str, str, str]:
    """(verdict, reason, sentence) of the venue page for the pasted `text`."""
    venue.fill("#answer", text)
    venue.evaluate(
        "() => { const b = document.getElementById('verdict'); b.setAttribute('data-verdict', '');"
        " b.removeAttribute('data-notice'); }"
    )
    venue.click("#check-answer")
    venue.wait_for_selector('#verdict:not([data-verdict=""]), #verdict[data-notice]')
    box = venue.locator("#verdict")
    return (
        box.get_attribute("data-verdict") or "",
        box.get_attribute("data-reason") or "",
        venue.inner_text("#verdict .sentence"),
    )


def notice(page: Any, box: str) -> tuple[str | None, str, list[str]]:
    """(the notice's kind, its text, the links it holds) of the box `box`, never a verdict."""
    assert page.get_attribute(box, "data-verdict") == ""
    assert page.locator(f"{box} .big, {box} .code").count() == 0
    links = page.eval_on_selector_all(f"{box} a", "as => as.map((a) => a.href)")
    return page.get_attribute(box, "data-notice"), page.inner_text(box), links


def pool_answer(env: WalletIssuer, venue: Any) -> tuple[VenueRequest, str]:
    """The venue's pool request and an mdoc answer to it (photo: several parts)."""
    card = Credential.from_payload(cose.parse_sign1(env.card_cose).payload)
    device = SoftwareSigner.generate()
    issued = mdoc.issue_mdoc(env.issuer.keystore.signer("kiosk-1"), card, device.public_key)
    venue.select_option("#venue-type", "pool")
    venue.click("#new-request")
    request = VenueRequest.from_qr(venue.evaluate("window.citycardVenue.state.request.qr"))
    genuine = response_qr(present_mdoc(issued, request, device), request)
    assert len(split_qr(genuine)) >= 3
    return request, genuine


@requires_chromium
def test_the_venue_paste_box_takes_parts_as_the_camera_does(env: WalletIssuer) -> None:
    verifier, problems = load_verifier(env.dir)
    assert problems == []
    with chromium() as browser:
        venue = venue_page(browser, env.url)
        request, genuine = pool_answer(env, venue)
        parts = split_qr(genuine)
        assert check(venue, "\n".join(parts))[0] == "VALID"

        # a part scanned twice: taken once, as the camera's collector does
        assert check(venue, "\n".join([*parts, parts[1], parts[0]]))[:2] == ("VALID", "")
        # and so does the reader terminal (cardio.presentation.join_qr)
        assert join_qr([*parts, parts[1]]) == genuine
        # another text under a part's number: refused, with what to do
        changed = parts[1][:-3] + ("AAA" if not parts[1].endswith("AAA") else "BBB")
        assert check(venue, "\n".join([*parts, changed])) == ("MALFORMED", "malformed", MIXED)
        # a part missing: the venue learns that, not "cannot be read"
        assert check(venue, "\n".join(parts[:-1])) == ("MALFORMED", "malformed", MISSING)
        assert verify_wallet(verifier, "\n".join(parts[:-1]), request).verdict == Verdict.MALFORMED
        assert check(venue, "\n".join([*parts, "hello"])) == ("MALFORMED", "malformed", NOT_A_PART)
        # parts of two answers (another count); a number as cardio reads none (a leading zero)
        other = split_qr(genuine, 300)
        assert check(venue, "\n".join([parts[0], other[1]]))[2] == MIXED
        zero = [p.replace(PART_PREFIX + "1/", PART_PREFIX + "01/", 1) for p in parts]
        assert check(venue, "\n".join(zero))[2] == NOT_A_PART
        # any other refusal keeps its reason's sentence, never a parser's English
        assert check(venue, parts[0].split(":", 2)[2].join(["CCM1:", ""]))[2] == (
            "The phone's answer cannot be read; ask the holder to show it again or use the card."
        )

        # in German: the detail in German, nothing English
        venue.select_option("#language", "de")
        assert check(venue, "\n".join(parts[:-1]))[2] == de(MISSING)
        venue.screenshot(path=str(ARTIFACTS / "venue-parts-missing-de.png"), full_page=True)


@requires_chromium
def test_the_venue_paste_box_drops_whitespace_no_code_holds(env: WalletIssuer) -> None:
    with chromium() as browser:
        venue = venue_page(browser, env.url)
        _request, genuine = pool_answer(env, venue)
        parts = split_qr(genuine)
        # a line break or spaces before, line endings, tabs and blank lines after
        assert check(venue, "\n" + genuine)[:2] == ("VALID", "")
        assert check(venue, "\n  " + genuine + " \r\n\t")[:2] == ("VALID", "")
        padded = "\r\n".join(f"\t {p}\t" for p in reversed(parts)) + "\r\n\r\n \n"
        assert check(venue, " \n" + padded)[:2] == ("VALID", "")
        assert check(venue, "\u00a0" + "\n\n".join(parts) + "\u3000")[:2] == ("VALID", "")
        # the space is base45's: spaces right after a part's text that ends inside the answer
        # are data and stay (a paste that lost them is another answer)
        chars = next(
            c for c in range(120, 600) if any(p.endswith(" ") for p in split_qr(genuine, c)[:-1])
        )
        spaced = split_qr(genuine, chars)
        assert check(venue, "\n".join(f"{p}\t" for p in spaced))[:2] == ("VALID", "")
        cut = [p.rstrip(" ") for p in spaced]
        assert check(venue, "\n".join(cut))[0] == "MALFORMED"
        # whitespace inside a code is not taken out
        assert check(venue, genuine[:40] + "\n" + genuine[40:])[0] == "MALFORMED"


@requires_chromium
def test_each_page_says_what_a_code_of_another_kind_is(env: WalletIssuer) -> None:
    card_qr = to_qr(env.issued.print_cose)
    request_qr = VenueRequest.new("pool", ("photo",)).to_qr()
    answer = "\n".join(["CCP1:1/2:ABC", "CCP1:2/2:DEF"])
    with chromium() as browser:
        venue = venue_page(browser, env.url)
        # before any request is shown: the card's code and nothing given are told all the same
        for text, kind, words in [
            (card_qr, "card", CARD_CODE),
            ("\n" + card_qr + "\n", "card", CARD_CODE),
            ("", "empty", "Scan the code (or codes) the holder's phone shows, or paste their text."),
            (" \n\t ", "empty", "Scan the code (or codes) the holder's phone shows, or paste their text."),
            (request_qr, "request", REQUEST_CODE),
        ]:  # fmt: skip
            venue.fill("#answer", text)
            venue.click("#check-answer")
            venue.wait_for_selector(f'#verdict[data-notice="{kind}"]')
            _kind, shown, links = notice(venue, "#verdict")
            assert shown.startswith(words) and "NOT VALID" not in shown, kind
            if kind == "card":
                assert links == [env.url + "/verify/?lang=en"]
                assert venue.inner_text("#verdict a") == "Check a city resident card"
            else:
                assert links == []
        venue.screenshot(path=str(ARTIFACTS / "venue-card-code.png"), full_page=True)
        venue.select_option("#language", "de")  # the notice is written again in German
        assert venue.inner_text("#verdict .sentence") == de(REQUEST_CODE)
        venue.select_option("#venue-type", "pool")
        venue.click("#new-request")
        assert venue.get_attribute("#verdict", "data-notice") is None
        assert check(venue, card_qr)[2] == de(CARD_CODE)
        assert venue.get_attribute("#verdict a", "href") == env.url + "/verify/?lang=de"

        page = browser.new_context(**PHONE).new_page()
        page.goto(env.url + "/verify/?lang=en")
        page.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)

        def told(text: str) -> tuple[str | None, str, list[str]]:
            page.evaluate("document.getElementById('result').removeAttribute('data-notice')")
            page.fill("#qr", text)
            page.click("#check")
            page.wait_for_selector("#result[data-notice]")
            return notice(page, "#result")

        kind, shown, links = told(answer)
        assert kind == "answer" and shown.startswith(ANSWER_CODE)
        assert links == [env.url + "/verify/venue.html?lang=en"]
        assert page.inner_text("#result a") == "Ask for a phone card"
        for text in ("CCS1:ABC", "CCM1:ABC", "  " + answer + "\n"):
            assert told(text)[0] == "answer"
        kind, shown, links = told(request_qr)
        assert kind == "request" and shown.startswith(REQUEST_CODE) and links == []
        for empty in ("", "\n", "   "):
            kind, shown, _links = told(empty)
            assert kind == "empty"
            assert shown == "Scan the QR code printed on the card, or paste its text."
        page.screenshot(path=str(ARTIFACTS / "phone-page-wallet-answer.png"), full_page=True)

        # the card's own code keeps its rule (docs/credential.md 1.2): one line ending of the
        # input layer goes, any other whitespace makes it MALFORMED
        def verdict(text: str) -> str:
            page.evaluate("document.getElementById('result').setAttribute('data-verdict', '')")
            page.fill("#qr", text)
            page.click("#check")
            page.wait_for_selector('#result:not([data-verdict=""])')
            assert page.get_attribute("#result", "data-notice") is None
            return str(page.get_attribute("#result", "data-verdict"))

        assert verdict(card_qr + "\r\n") == "VALID"
        assert verdict(" " + card_qr) == "MALFORMED"
        assert verdict("\n" + card_qr) == "MALFORMED"
        assert verdict(card_qr + "\n\n") == "MALFORMED"
        assert told("hello")[0] == "other"


def _camera_page(browser: Any, url: str) -> Any:
    context = browser.new_context(**PHONE)
    context.add_init_script(NO_BARCODE_DETECTOR)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
    return page


@requires_chromium
def test_the_venue_camera_says_it_sees_the_cards_code_and_when_it_stops(
    env: WalletIssuer, tmp_path: Path
) -> None:
    video = qr_video(to_qr(env.issued.print_cose), tmp_path / "card.y4m")
    with chromium_with_camera(video) as browser:
        venue = _camera_page(browser, env.url + "/verify/venue.html?lang=de")
        venue.wait_for_selector("body[data-ready]")
        venue.click("#scan-answer")
        venue.wait_for_selector("#scan-progress a", timeout=30_000)
        assert venue.inner_text("#scan-progress .sentence") == de(CARD_CODE)
        assert venue.get_attribute("#scan-progress a", "href") == env.url + "/verify/?lang=de"
        assert venue.get_attribute("#verdict", "data-verdict") == ""  # no verdict on it
        venue.screenshot(path=str(ARTIFACTS / "venue-camera-card-code.png"), full_page=True)

        # the loop gives up after a while (two minutes): it then says so, and how to start again
        venue.clock.install()
        venue.reload()
        venue.wait_for_selector("body[data-ready]")
        venue.click("#scan-answer")
        venue.wait_for_selector("#scan-progress a", timeout=30_000)
        venue.clock.fast_forward(130_000)  # past the two minutes at once: no frame read between
        stopped = de(STOPPED).replace("{button}", de("Scan with camera"))
        venue.wait_for_function(
            "(t) => document.querySelector('#scan-progress').innerText.includes(t)", arg=stopped
        )
        assert venue.locator("#answer-camera").is_hidden()


@requires_chromium
def test_the_card_page_camera_says_what_other_codes_are(env: WalletIssuer, tmp_path: Path) -> None:
    request_qr = VenueRequest.new("pool", ("photo",)).to_qr()
    video = qr_video(request_qr, tmp_path / "request.y4m")
    with chromium_with_camera(video) as browser:
        page = _camera_page(browser, env.url + "/verify/?lang=en")
        page.click("#scan")
        page.wait_for_selector("#scan-hint .sentence", timeout=30_000)
        assert page.inner_text("#scan-hint .sentence") == REQUEST_CODE
        assert page.get_attribute("#result", "data-verdict") == ""
        page.select_option("#language", "de")
        assert page.inner_text("#scan-hint .sentence") == de(REQUEST_CODE)
    video = qr_video(f"{PART_PREFIX}1/3:ABCDEF", tmp_path / "part.y4m")
    with chromium_with_camera(video) as browser:
        page = _camera_page(browser, env.url + "/verify/?lang=en")
        page.click("#scan")
        page.wait_for_selector("#scan-hint a", timeout=30_000)
        assert page.inner_text("#scan-hint .sentence") == ANSWER_CODE
        assert page.get_attribute("#scan-hint a", "href") == env.url + "/verify/venue.html?lang=en"
    video = qr_video("https://example.org/", tmp_path / "other.y4m")
    with chromium_with_camera(video) as browser:
        page = _camera_page(browser, env.url + "/verify/?lang=en")
        page.click("#scan")
        page.wait_for_selector("#scan-hint .sentence", timeout=30_000)
        assert page.inner_text("#scan-hint .sentence") == OTHER_CODE


def _browser(pw: Any, *extra: str) -> Any:
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*ARGS, *extra])


@requires_chromium
def test_a_camera_that_cannot_start_is_told_in_words_not_the_browsers(env: WalletIssuer) -> None:
    from playwright.sync_api import sync_playwright

    def camera_words(page: Any, button: str, box: str) -> str:
        page.click(button)
        page.wait_for_selector(f"{box} .sentence", timeout=20_000)
        return str(page.inner_text(f"{box} .sentence"))

    pages = [
        ("/verify/", "#scan", "#scan-hint"),
        ("/verify/venue.html", "#scan-answer", "#scan-progress"),
    ]
    with sync_playwright() as pw:
        browser = _browser(pw)  # no camera on this machine
        try:
            for path, button, box in pages:
                # allowed, but there is none: NotFoundError "Requested device not found"
                context = browser.new_context(**PHONE)
                context.grant_permissions(["camera"])
                page = context.new_page()
                console: list[str] = []
                page.on("console", lambda m, seen=console: seen.append(m.text))
                page.goto(f"{env.url}{path}?lang=de")
                page.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
                said = camera_words(page, button, box)
                assert said == de(NO_CAMERA), said
                assert "device" not in said and "(" not in said
                assert any("NotFoundError" in c or "not found" in c for c in console), console
                context.close()
                # refused by the person (headless Chromium refuses when nobody is asked)
                page = browser.new_context(**PHONE).new_page()
                page.goto(f"{env.url}{path}?lang=en")
                page.wait_for_selector('#lists[data-state="ready"]', timeout=20_000)
                assert camera_words(page, button, box) in (NOT_ALLOWED, NO_CAMERA)
                # the other errors a camera gives, as the page words them
                words = page.evaluate(
                    """() => ['NotAllowedError', 'NotFoundError', 'NotReadableError',
                               'OverconstrainedError', 'SomethingElse']
                      .map((n) => window.citycard.cameraProblem(new DOMException('raw words', n)))"""
                )
                assert words == [NOT_ALLOWED, NO_CAMERA, BUSY, NO_CAMERA, CAMERA_OTHER]
        finally:
            browser.close()
        # over plain http at a name that is not this machine's: no camera API at all
        browser = _browser(pw, "--host-resolver-rules=MAP venue.test 127.0.0.1")
        try:
            insecure = env.url.replace("127.0.0.1", "venue.test")
            for path, button, box in pages:
                page = browser.new_context(**PHONE).new_page()
                page.goto(f"{insecure}{path}?lang=de")
                page.wait_for_selector(f"{button}:not([hidden])", timeout=20_000)
                assert page.evaluate("window.isSecureContext") is False
                assert camera_words(page, button, box) == de(INSECURE)
        finally:
            browser.close()


@requires_chromium
def test_lists_that_cannot_be_loaded_are_told_without_the_browsers_words(
    env: WalletIssuer,
) -> None:
    with chromium() as browser:
        context = browser.new_context(service_workers="block")
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.route("**/.well-known/citycard/trust-list", lambda route: route.abort())
        page.goto(env.url + "/verify/?lang=de")
        page.wait_for_selector('#lists[data-state="error"]', timeout=20_000)
        shown = page.inner_text("#lists")
        assert de(UNREACHABLE) in shown, shown
        assert "Failed to fetch" not in shown and "(" not in shown
        assert any("Failed to fetch" in c for c in console), console
        page.unroute("**/.well-known/citycard/trust-list")
        page.route(
            "**/.well-known/citycard/trust-list",
            lambda route: route.fulfill(status=200, body=b"\xa1\x01\x02"),
        )
        page.click("#refresh")
        page.wait_for_function(
            "(t) => document.querySelector('#lists').innerText.includes(t)", arg=de(NOT_CITYCARD)
        )
        shown = page.inner_text("#lists")
        assert de(UNREACHABLE) not in shown and "COSE" not in shown and "(" not in shown, shown


# -- an address under the pages that is no page ------------------------------------------------

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(name="client")
def fixture_client(tmp_path: Path) -> Any:
    issuer = Issuer.init(tmp_path / "issuer", now=int(time.time()))
    app = create_app(load_config(issuer.dir), issuer=issuer, pages=[phone_blueprint()])
    return app.test_client()


@pytest.mark.parametrize(
    "path", ["/verify/x", "/verify/venue.html/x", "/verify/a/b", "/verify/.env"]
)
def test_a_mistyped_address_gets_a_page_in_the_page_language(client: Any, path: str) -> None:
    res = client.get(path, headers={**HTML, "Accept-Language": "de-CH, en;q=0.5"})
    assert res.status_code == 404 and res.mimetype == "text/html"
    body = res.get_data(as_text=True)
    assert NOT_FOUND in catalogue.extract()  # a msgid of the pages: in every phone.po
    words = catalogue.read_po(catalogue.po_path("de", "phone"))
    assert '<html lang="de" dir="ltr">' in body
    assert f"<h1>{words[NOT_FOUND]}</h1>" in body and "openapi" not in body
    assert f'<a href="/verify/?lang=de">{words[PAGE_LINKS[0]]}</a>' in body
    assert f'<a href="/verify/venue.html?lang=de">{words[PAGE_LINKS[1]]}</a>' in body
    assert "default-src 'self'" in res.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in res.headers["Content-Security-Policy"]
    assert "<script" not in body and "style=" not in body and "<style" not in body
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"] == "no-referrer"
    assert res.headers["Cache-Control"] == "no-store"
    arabic = client.get(path + "?lang=ar", headers=HTML).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "/verify/venue.html?lang=ar" in arabic
    english = client.get(path, headers={**HTML, "Accept-Language": "sw"}).get_data(as_text=True)
    assert f"<h1>{NOT_FOUND}</h1>" in english and "?lang=en" in english
    hostile = client.get(path + '?lang="><script>', headers=HTML).get_data(as_text=True)
    assert "<script" not in hostile and '<html lang="en"' in hostile


@pytest.mark.parametrize("path", ["/verify/x", "/verify/missing.js", "/nope", "/api/v1/nope"])
def test_scripts_and_the_api_keep_their_json_404(client: Any, path: str) -> None:
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        res = client.get(path, headers=headers)
        assert res.status_code == 404 and res.is_json, (path, headers)
        assert res.json["code"] == "not_found"
    if not path.startswith("/verify/"):  # the API's own paths: JSON to a browser too
        assert client.get(path, headers=HTML).is_json


@requires_chromium
def test_the_not_found_page_in_a_browser(env: WalletIssuer) -> None:
    with chromium() as browser:
        context = browser.new_context(locale="de-DE")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        res = page.goto(env.url + "/verify/venue.html/x")
        assert res is not None and res.status == 404
        assert page.inner_text("h1") == de(NOT_FOUND)
        assert page.evaluate("getComputedStyle(document.querySelector('header')).color") == (
            "rgb(255, 255, 255)"
        )  # venue.css, allowed by the policy
        assert [e for e in errors if "Content Security Policy" in e] == []
        page.click(f"text={de('Ask for a phone card')}")
        page.wait_for_selector("body[data-ready]", timeout=20_000)
        assert page.url == env.url + "/verify/venue.html?lang=de"
