"""The phone verification page and the venue page in every language citycard offers, rendered in
Debian's Chromium: the verification page idle, with a valid card, a revoked card and a card of
another city, and the venue page idle. No English text of the pages' catalogue (`phone.po`) may
be left on them, neither a whole message nor one of its words (data shown as it is — names,
numbers, dates, the issuer, the venue profiles' own names — and the product name citycard are
allowed; the language list names every language in itself and is left out).

A language whose catalogue is incomplete fails here, as it would ship English.
`CITYCARD_TEST_LANGUAGES=de,fr` walks only those languages (when working on one catalogue).
Also: the language the pages choose (?lang=, then the browser's languages by the fallback rule
of cardio.languages), and the catalogue tool's extract and check.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from api.issuer.service import Issuer
from api.phone import catalogue, names
from api.phone.wallet import files
from cardio.credential import Holder, to_qr
from cardio.languages import LANGUAGES, Language
from cardio.venues import programme_texts

from .browser import ARTIFACTS, chromium, requires_chromium
from .terminal_fixtures import city_api, live_issuer

PLACEHOLDER = re.compile(r"\{\w+\}")
WORD = re.compile(r"[A-Za-z]{3,}")
ALLOWED = {"citycard"}
# Everything a person reads: the text, and the attributes a browser shows or speaks. Left out:
# the language list, the holder's own data (dd), values shown as they are ([data-value]), the
# venue profiles' own names of their venue types, and what only a browser without JavaScript shows.
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('#language, dd, [data-value], #venue-type, noscript, script')
    .forEach((e) => e.remove());
  const attrs = [...document.querySelectorAll('[placeholder],[title],[alt],[aria-label]')]
    .filter((e) => e.id !== 'language')
    .map((e) => [e.getAttribute('placeholder'), e.getAttribute('title'), e.getAttribute('alt'),
                 e.getAttribute('aria-label')].filter(Boolean).join(' '));
  return [document.title, copy.textContent, ...attrs].join('\\n');
}"""


def _languages() -> list[Language]:
    only = [c for c in os.environ.get("CITYCARD_TEST_LANGUAGES", "").split(",") if c]
    return [lang for lang in LANGUAGES if not only or lang.code in only]


def _english() -> tuple[list[str], set[str]]:
    """The catalogue's English messages (split at placeholders) and their words."""
    fragments: list[str] = []
    for msgid in catalogue.extract():
        fragments += [f.strip() for f in PLACEHOLDER.split(msgid) if len(f.strip()) > 3]
    words = {w.lower() for f in fragments for w in WORD.findall(f)}
    return fragments, words


def _translations(code: str) -> list[str]:
    path = catalogue.po_path(code, catalogue.PHONE.name)
    return list(catalogue.read_po(path).values()) if path.is_file() else []


def _english_left(code: str, state: str, text: str) -> list[str]:
    fragments, english_words = _english()
    own = _translations(code)
    own_words = {w.lower() for s in own for w in WORD.findall(s)}
    left: list[str] = []
    for fragment in fragments:  # whole words: Italian VALIDA is not VALID
        pattern = rf"(?<!\w){re.escape(fragment)}(?!\w)"
        if re.search(pattern, text) and not any(re.search(pattern, s) for s in own):
            left.append(f"{code} {state}: {fragment!r}")
    for word in WORD.findall(text):
        lower = word.lower()
        if lower in english_words and lower not in own_words and lower not in ALLOWED:
            left.append(f"{code} {state}: word {word!r}")
    return left


def _check(page: Any, qr: str) -> str:
    page.evaluate("document.getElementById('result').setAttribute('data-verdict', '')")
    page.fill("#qr", qr)
    page.click("#check")
    page.wait_for_selector('#result:not([data-verdict=""])', timeout=10_000)
    return str(page.get_attribute("#result", "data-verdict"))


def _notice(page: Any, box: str, button: str, result: str, text: str) -> str:
    page.evaluate(f"document.querySelector('{result}').removeAttribute('data-notice')")
    page.fill(box, text)
    page.click(button)
    page.wait_for_selector(f"{result}[data-notice]", timeout=10_000)
    return str(page.get_attribute(result, "data-notice"))


@requires_chromium
def test_phone_pages_in_every_language_have_no_english_left(tmp_path: Path, holder: Holder) -> None:
    live = live_issuer(tmp_path / "issuer")
    now = int(time.time())
    valid = live.issue(holder, now=now - 60)
    revoked = live.issue(holder, now=now - 60)
    live.set_status(revoked.status_index, "revoked")
    live.publish()
    foreign = Issuer.init(tmp_path / "other", now=now - 120).issue(holder, now=now - 60)
    cards = [
        ("VALID", to_qr(valid.print_cose)),
        ("REVOKED", to_qr(revoked.print_cose)),
        ("UNKNOWN_KEY", to_qr(foreign.print_cose)),
    ]
    left: list[str] = []
    with city_api(live) as api, chromium() as browser:
        page = browser.new_page(viewport={"width": 420, "height": 900})
        for lang in _languages():
            page.goto(f"{api.url}/verify/?lang={lang.code}")
            page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
            assert page.get_attribute("html", "lang") == lang.code
            assert page.get_attribute("html", "dir") == lang.dir
            texts = [("idle", page.evaluate(VISIBLE_TEXT))]
            for state, qr in cards:
                assert _check(page, qr) == state, lang.code
                texts.append((state, page.evaluate(VISIBLE_TEXT)))
                if state == "VALID" and lang.code in ("ar", "de"):
                    page.screenshot(
                        path=str(ARTIFACTS / f"phone-page-{lang.code}.png"), full_page=True
                    )
            # no code, or another kind of code: words and a link, no verdict
            for kind, text in (("empty", ""), ("answer", "CCP1:1/2:AB")):
                assert _notice(page, "#qr", "#check", "#result", text) == kind, lang.code
                texts.append((f"notice {kind}", page.evaluate(VISIBLE_TEXT)))
            page.goto(f"{api.url}/verify/venue.html?lang={lang.code}")
            page.wait_for_selector('body[data-ready="1"]', timeout=10_000)
            page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
            assert page.get_attribute("html", "dir") == lang.dir
            texts.append(("venue idle", page.evaluate(VISIBLE_TEXT)))
            assert _notice(page, "#answer", "#check-answer", "#verdict", cards[0][1]) == "card"
            texts.append(("venue card code", page.evaluate(VISIBLE_TEXT)))
            if lang.code == "en":
                assert "Check a city resident card" in texts[0][1]
                assert "NOT VALID" in texts[2][1]
                continue
            for state, text in texts:
                left += _english_left(lang.code, state, text)
    assert not left, "\n".join(sorted(set(left)))


@requires_chromium
def test_the_pages_choose_the_language_asked_for_or_the_browsers(tmp_path: Path) -> None:
    live = live_issuer(tmp_path / "issuer")
    live.publish()
    cases = [  # (browser locale, ?lang=, the language shown)
        ("zh-TW", None, "zh-Hant"),  # Traditional, never Simplified
        ("zh-HK", None, "zh-Hant"),
        ("zh-CN", None, "zh"),
        ("de-CH", None, "de"),
        ("pt-BR", None, "pt"),
        ("sw-KE", None, "en"),  # no catalogue: English
        ("de-DE", "ar", "ar"),  # ?lang= before the browser's
    ]
    with city_api(live) as api, chromium() as browser:
        for locale, asked, shown in cases:
            context = browser.new_context(locale=locale)
            page = context.new_page()
            page.goto(f"{api.url}/verify/" + (f"?lang={asked}" if asked else ""))
            page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
            assert page.get_attribute("html", "lang") == shown, locale
            assert page.input_value("#language") == shown
            context.close()
        page = browser.new_page()
        page.goto(f"{api.url}/verify/venue.html?lang=en")
        page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
        names = page.eval_on_selector_all(
            "#language option", "(os) => os.map((o) => o.textContent)"
        )
        assert names == [lang.name for lang in LANGUAGES]  # each in itself, the kiosk's order
        page.select_option("#language", "ar")  # chosen on the page: the words change at once
        assert page.get_attribute("html", "dir") == "rtl"
        assert "lang=ar" in page.url
        assert page.inner_text("h1") == catalogue.read_po(catalogue.po_path("ar", "phone")).get(
            "Ask for a phone card", "Ask for a phone card"
        )


# -- names shown in the page's language (names.json, venues.json) -----------------------------


def _kiosk_entitlement_names(programme: str) -> dict[str, dict[str, str]]:
    """{code: {tag: name}}: the kiosk's own rule (the city's words, else its catalogue)."""
    from kiosk.profile_texts import ENTITLEMENT, complete
    from kiosk.programs import load_all

    return {
        e.code: complete(e.names, ENTITLEMENT).as_dict() for e in load_all()[programme].entitlements
    }


def _terminal_venue_words(code: str) -> dict[str, str]:
    """The reader terminal's translations of venue titles and labels (msgctxt "venue")."""
    from babel.messages.pofile import read_po

    path = Path(catalogue.__file__).parent.parent / "terminal" / "translations"
    with (path / code / "LC_MESSAGES" / "terminal.po").open("rb") as f:
        return {
            m.id: m.string
            for m in read_po(f)
            if m.context == "venue" and isinstance(m.id, str) and isinstance(m.string, str)
        }


def test_names_json_names_entitlements_as_the_kiosk_does() -> None:
    """Every entitlement name of names.json in every language is the one the kiosk shows (the
    page falls back to English name by name); a programme's name is the profile's own."""
    from kiosk.programs import load_all

    shown = json.loads(names.render())["languages"]
    english = shown["en"]
    for programme in load_all():
        kiosk = _kiosk_entitlement_names(programme)
        own_names = programme_texts(programme)
        assert own_names is not None
        for lang in LANGUAGES:
            here = shown.get(lang.code, {})
            for code, wording in kiosk.items():
                name = here.get("entitlements", {}).get(programme, {}).get(code)
                name = name or english["entitlements"][programme][code]
                assert name == wording.get(lang.code, wording["en"]), (programme, lang.code, code)
            title = here.get("programmes", {}).get(programme) or english["programmes"][programme]
            assert title == own_names.names.get(lang.code, own_names.names["en"])


@requires_chromium
def test_the_pages_show_programme_entitlement_and_venue_names_in_their_language(
    tmp_path: Path, holder: Holder
) -> None:
    live = live_issuer(tmp_path / "issuer")
    zurich = Holder(
        program="zurich",
        family_name=holder.family_name,
        given_name=holder.given_name,
        birth_date=holder.birth_date,
        sex="X",
        entitlements=("pool", "culture-discount"),
    )
    qr = to_qr(live.issue(zurich, now=int(time.time()) - 60).print_cose)
    live.publish()
    kiosk = _kiosk_entitlement_names("zurich")
    with city_api(live) as api, chromium() as browser:
        page = browser.new_page()
        for code in ("de", "ar", "zh", "zh-Hant"):
            page.goto(f"{api.url}/verify/?lang={code}")
            page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
            assert _check(page, qr) == "VALID", code
            shown = page.inner_text('dd[data-claim="entitlements"]')
            for entitlement in zurich.entitlements:
                assert kiosk[entitlement][code] in shown, (code, shown)
                assert kiosk[entitlement]["en"] not in shown, (code, shown)
            # a proper name: the city's own in German, its English elsewhere
            programme = "Züri City Card" if code == "de" else "Zurich City Card"
            assert page.inner_text('dd[data-claim="program"]') == programme, code

        words = _terminal_venue_words("de")
        page.goto(f"{api.url}/verify/venue.html?lang=de")
        page.wait_for_selector('body[data-ready="1"]', timeout=10_000)
        titles = page.eval_on_selector_all(
            "#venue-type option", "(os) => os.map((o) => o.textContent)"
        )
        assert words["City Library"] in titles and "City Library" not in titles
        page.select_option("#venue-type", "library")
        page.click("#new-request")
        request = page.inner_text("#request-words")
        assert words["City Library"] in request, request
        assert words["Library card: borrow books and media"] in request, request
        assert "borrow books" not in request
        page.select_option("#language", "ar")  # chosen on the page: the names change at once
        arabic = _terminal_venue_words("ar")
        assert arabic["City Library"] in page.inner_text("#request-words")
        assert arabic["City Library"] in page.inner_text("#venue-type")


# -- the catalogue tool ------------------------------------------------------------------------


def _po(path: Path, entries: list[tuple[str, str]], fuzzy: tuple[str, ...] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ['msgid ""', 'msgstr ""', '"Language: xx\\n"']
    for msgid, msgstr in entries:
        lines += ["", *(["#, fuzzy"] if msgid in fuzzy else []), f'msgid "{msgid}"']
        lines.append(f'msgstr "{msgstr}"')
    path.write_text("\n".join(lines) + "\n", "utf-8")


def test_check_fails_on_a_message_left_untranslated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "TRANSLATIONS_DIR", tmp_path)
    msgids = ["Check", "Refresh lists", "Code {n}", "Scan"]
    _po(tmp_path / "en/LC_MESSAGES/phone.po", [(m, m) for m in msgids])
    german = [("Check", "Prüfen"), ("Refresh lists", ""), ("Code {n}", "Code {m}"), ("Scan", "S")]
    _po(tmp_path / "de/LC_MESSAGES/phone.po", german, fuzzy=("Scan",))
    found = catalogue.problems(msgids, languages=["en", "de"])
    assert found == [
        "de: untranslated: 'Refresh lists'",
        "de: placeholders differ: 'Code {n}'",
        "de: fuzzy: 'Scan'",
    ]
    assert catalogue.problems([*msgids, "New text"], languages=["en"]) == [
        "en: not in the catalogue: 'New text'"
    ]
    assert catalogue.problems(["Check"], languages=["de", "fr"]) == [
        f"{tmp_path / 'fr/LC_MESSAGES/phone.po'}: missing"
    ]
    _po(tmp_path / "de/LC_MESSAGES/phone.po", [("Check", "Prüfen")])
    assert catalogue.problems(["Check"], languages=["en", "de"]) == []


def test_extract_finds_the_msgids_of_script_and_page(tmp_path: Path) -> None:
    js = tmp_path / "page.js"
    js.write_text(
        'const A = N_("Say \\"hi\\"");\nel.textContent = t("{n} codes", { n });\n'
        'box.append(tn("Of {who}", { who }));\nconst code = "NOT A MSGID";\n',
        "utf-8",
    )
    html = tmp_path / "page.html"
    html.write_text(
        '<title data-t="Title">Title</title><textarea data-t-placeholder="Paste &amp; go">'
        '<button data-t="{n} codes">x</button>',
        "utf-8",
    )
    assert catalogue.extract([js, html]) == [
        'Say "hi"',
        "{n} codes",
        "Of {who}",
        "Title",
        "Paste & go",
    ]


def test_the_english_catalogue_is_the_pages_texts_and_texts_json_is_in_step() -> None:
    msgids = catalogue.extract()
    english = catalogue.read_po(catalogue.po_path("en", "phone"))
    assert list(english) == msgids  # exactly what the pages use, nothing they dropped
    assert all(english[k] == k for k in english)
    for code in [lang.code for lang in LANGUAGES]:
        path = catalogue.po_path(code, "phone")
        assert [e.msgid for e in catalogue.read_entries(path)] == msgids, code  # `update` ran
        if code != "en":
            assert catalogue.REVIEW_NOTE in path.read_text("utf-8"), code
    rendered = files.render()[files.PHONE_TEXTS_FILE]
    assert files.PHONE_TEXTS_FILE.read_text("utf-8") == rendered, (
        "run python -m api.phone.wallet.files"
    )
    shown = json.loads(rendered)
    assert shown["order"] == [lang.code for lang in LANGUAGES]
    assert (
        shown["languages"]["ar"]["dir"] == "rtl" and shown["languages"]["ar"]["name"] == "العربية"
    )
    assert '"./texts.json"' in (catalogue.STATIC_DIR / "sw.js").read_text("utf-8")  # offline too


@pytest.mark.parametrize("code", [lang.code for lang in _languages()])
def test_every_language_translates_every_text_of_the_pages(code: str) -> None:
    found = catalogue.problems(catalogue.extract(), languages=[code])
    assert not found, "\n".join(found)
