"""Every kiosk language, every page, in a real browser: nothing left in English, no dead end.

One kiosk (New York: the programme that asks the most — address, eye colour, height,
signature, a fee — and offers the most languages) on one server, one Chromium; each kiosk
language walks the whole enrolment with the real personalisation job on simulated hardware,
from the language choice to "take your card", plus the refusal on the details page.

On every page the visible text is checked against the English catalogue: a sentence the
language translates must not show in English. For languages not written in Latin letters, a
Latin word that is not the resident's own data, the programme's name or an allowed token
(PIN, JPEG) is a text that missed the catalogues altogether.

`CITYCARD_TEST_LANGUAGES=ar,ti` walks only those languages (when working on one catalogue).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from kiosk.i18n import LANGUAGES, Catalogues
from kiosk.job import NOTICE_KINDS
from kiosk.web.catalogues import load_po
from kiosk.web.context import state_of
from kiosk.web.ports import StationNotice
from tests.pcsc_fixtures import requires_pcscd

from .browser import ARTIFACTS, chromium, requires_chromium
from .test_kiosk_browser import PIN, VIEWPORT, draw_signature, portrait_file, serve  # noqa: F401

pytestmark = [pytest.mark.vpcd, requires_pcscd, requires_chromium, pytest.mark.timeout(1200)]

FAMILY, GIVEN = "Example-Fictional", "Robin"
PROGRESS_EVENTS = "**/progress/events"
ADDRESS = "Apt 4, 100 Sample Street, Bronx, NY 10451"
TOO_LONG = "W" * 201  # longer than any programme lets an address be (200 characters)
PROGRAMME_WORDS = {"IDNYC", "New", "York", "NYC", "Bronx", "NY"}
ALLOWED_LATIN = {"PIN", "JPEG", "PNG", "MB", "X", "ID", "QR", "cm", "kg", "OK"}
LATIN_SCRIPT = {
    "en", "fr", "de", "it", "es", "pt", "tr", "pl", "ro", "nl", "ca", "ht", "vi", "tl", "sq",
    "so", "wo", "ff",
}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]*\}")


def _english_sentences() -> dict[tuple[str | None, str], list[str]]:
    """(msgctxt, msgid) -> the literal pieces of its English text long enough to spot."""
    found: dict[tuple[str | None, str], list[str]] = {}
    for message in load_po("en"):
        if not message.id or isinstance(message.id, tuple):
            continue
        pieces = [p.strip() for p in PLACEHOLDER.split(str(message.string or message.id))]
        long = [p for p in pieces if len(p) >= 14 and " " in p]
        if long:
            found[(message.context, str(message.id))] = long
    return found


ENGLISH = _english_sentences()


def _untranslated(code: str, text: str, catalogues: Catalogues) -> list[str]:
    """English sentences on the page that the language's catalogue translates differently."""
    translations = catalogues.get(code)
    left = []
    for (context, msgid), pieces in ENGLISH.items():
        translated = (
            translations.pgettext(context, msgid) if context else translations.gettext(msgid)
        )
        if translated == msgid:
            continue  # the same words in this language (a name, a number format)
        left.extend(p for p in pieces if p in text and p not in translated)
    return left


def _stray_latin(text: str) -> list[str]:
    own = {*FAMILY.split("-"), GIVEN, *re.findall(r"[A-Za-z]+", ADDRESS), TOO_LONG}
    return [
        w
        for w in re.findall(r"[A-Za-z][A-Za-z'’]*", text)
        if w not in own | PROGRAMME_WORDS | ALLOWED_LATIN and len(w) > 1
    ]


# The visible text in the page's language: a language's own name (the language menu, a
# preferred-language choice) is marked with its `lang` and stays in its own script.
VISIBLE_TEXT_IN_PAGE_LANGUAGE = """() => {
  const pageLang = document.documentElement.lang;
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest('script, style, template')) continue;
    const marked = el.closest('[lang]');
    if (marked && marked.lang !== pageLang) continue;
    const style = getComputedStyle(el);
    if (el.offsetParent === null && style.position !== 'fixed') continue;
    if (style.visibility === 'hidden') continue;
    out.push(walker.currentNode.textContent);
  }
  return out.join('\\n');
}"""


class Checker:
    def __init__(self, page: Any, code: str, direction: str, catalogues: Catalogues) -> None:
        self.page, self.code, self.direction, self.catalogues = page, code, direction, catalogues
        self.problems: list[str] = []
        self.step = "start"

    def check(self, step: str) -> None:
        self.step = step
        page = self.page
        if page.evaluate("document.documentElement.lang") != self.code:
            self.problems.append(f"{step}: lang is {page.evaluate('document.documentElement.lang')}")
        if page.evaluate("document.documentElement.dir") != self.direction:
            self.problems.append(f"{step}: dir is not {self.direction}")
        text = page.evaluate(VISIBLE_TEXT_IN_PAGE_LANGUAGE)
        for piece in _untranslated(self.code, text, self.catalogues):
            self.problems.append(f"{step}: English left: {piece!r}")
        if self.code not in LATIN_SCRIPT:
            stray = _stray_latin(text)
            if stray:
                self.problems.append(f"{step}: Latin words {sorted(set(stray))}")
        ways = page.locator("main button:visible, main a.button:visible, main a.back:visible")
        if step not in ("progress",) and ways.count() == 0:
            self.problems.append(f"{step}: no button or link: a dead end")

    def submit(self, step: str) -> None:
        self.check(step)
        with self.page.expect_navigation():
            self.page.locator("main form button.primary:visible").first.click()


def _walk(walk: Checker, url: str, photo: Path) -> list[str]:
    page, code = walk.page, walk.code
    page.goto(url + "/")
    with page.expect_navigation():
        page.locator(f'button[name="lang"][value="{code}"]').click()
    walk.submit("about")

    # A name too long for the card first: the refusal is in the language too.
    page.fill("#family_name", FAMILY)
    page.fill("#given_name", GIVEN)
    page.fill("#birth_day", "14")
    page.fill("#birth_month", "3")
    page.fill("#birth_year", "1987")
    page.locator('input[name="eye_colour"][value="brown"]').check()
    page.fill("#height", "172")
    page.fill("#address", TOO_LONG)
    walk.submit("details")
    if not page.locator("#errors").is_visible():
        # the walk cannot go on from another page: say so now, not after every step times out
        walk.problems.append("details: a too long address was not refused")
        return walk.problems
    walk.check("details-refused")
    page.fill("#address", ADDRESS)
    walk.submit("details-again")

    page.locator('input[name="document"]').first.check()
    page.locator('input[name="document"]').nth(1).check()
    walk.submit("documents")
    if page.url.endswith("/documents"):
        for box in page.locator('input[name="document"]').all():
            box.check()
        walk.submit("documents-all")
    page.set_input_files("#photo", str(photo))
    walk.submit("photo")
    walk.submit("photo-preview")
    draw_signature(page)
    walk.submit("signature")
    shown = page.locator("#station-notices li").count()
    if shown != len(EVERY_NOTICE):
        walk.problems.append(f"attendant: {shown} notices for the attendant, not {len(EVERY_NOTICE)}")
    page.fill("#pin", PIN)
    walk.submit("attendant")
    if page.url.endswith("/fee"):
        walk.submit("fee")
    walk.check("review")
    # The progress page moves on to /done by itself once its event stream says the card is
    # made: hold the stream until the page is checked (a fast job destroyed the page under
    # the check, seen in "ja").
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route(PROGRESS_EVENTS, hold)
    with page.expect_navigation():
        page.locator("main form button.primary:visible").last.click()
    walk.check("progress")
    for route in held:
        route.continue_()
    page.unroute(PROGRESS_EVENTS, hold)
    page.wait_for_url("**/done", timeout=60_000)
    walk.check("done")
    page.screenshot(path=str(ARTIFACTS / f"kiosk-language-{code}-done.png"))
    return walk.problems


# What a restart's recovery and the registry can leave for the attendant (kiosk.web.notices):
# every kind, so that the attendant page shows each sentence in every language.
EVERY_NOTICE = [
    *(StationNotice(kind, "NY00000018") for kind in NOTICE_KINDS),
    *(StationNotice(kind, None) for kind in ("pending", "interrupted")),
    StationNotice("kept", "NY00000019", torn_receipt=True),
]


def test_every_kiosk_language_walks_the_whole_enrolment(serve: Any, tmp_path: Path) -> None:  # noqa: F811
    served = serve("new-york")
    notices = state_of(served.app).config.job.notices  # type: ignore[attr-defined]
    catalogues = Catalogues()
    photo = portrait_file(tmp_path)
    problems: dict[str, list[str]] = {}
    with chromium() as browser:
        only = [c for c in os.environ.get("CITYCARD_TEST_LANGUAGES", "").split(",") if c]
        for language in [lang for lang in LANGUAGES if not only or lang.code in only]:
            context = browser.new_context(viewport=VIEWPORT, locale=language.code)
            walk = Checker(context.new_page(), language.code, language.dir, catalogues)
            notices.post(EVERY_NOTICE)  # the previous walk's approval cleared them
            try:
                found = _walk(walk, served.url, photo)
            except Exception as exc:  # a step that could not go on is a dead end: report it
                first = str(exc).splitlines()[0]
                found = [*walk.problems, f"stopped after {walk.step}: {type(exc).__name__}: {first}"]
                walk.page.screenshot(path=str(ARTIFACTS / f"kiosk-language-{language.code}-stopped.png"))
            finally:
                context.close()
            if found:
                problems[language.code] = found
    assert not problems, "\n".join(f"{code}: {p}" for code, ps in problems.items() for p in ps)
