"""The staff screen's own catalogues: complete in every kiosk language, marked for review, the
venue's language first and a staff member's choice after it, and venue profiles that name
programmes and languages.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import g

from api.terminal import i18n
from api.terminal.catalogues import load_po, problems, template_catalog
from api.terminal.routes import LANGUAGE_COOKIE
from api.terminal.screen_text import LIST_SEPARATOR, gettext, pgettext, sentence
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder, to_qr
from cardio.presentation import NOT_BOUND, NOT_SHARED, VenueRequest, present_sdjwt, response_qr
from cardio.presentation_errors import PresentationReason
from cardio.published import STATUS_DIR
from cardio.sentences import FilledSentence
from cardio.terminal_config import TerminalConfig
from cardio.venues import ITEM_LABELS, VenueError, load_venue
from cardio.verify import REFRESH_DUE, Verifier

from .terminal_fixtures import live_issuer, provision, wallet_card

PLACEHOLDER = re.compile(r"%\(\w+\)s")
SAME_AS_ENGLISH = {", ", "no"}
"""Messages some languages write as English does (a list's comma; "no" in Italian, Spanish,
Catalan)."""


def test_every_catalogue_is_complete_and_marked_for_review() -> None:
    assert problems() == []
    expected = {(m.id, m.context) for m in template_catalog() if m.id}
    for lang in i18n.LANGUAGES:
        catalog = load_po(lang.code)
        for message in catalog:
            if not message.id:
                continue
            assert (message.id, message.context) in expected
            assert isinstance(message.string, str) and message.string.strip(), message.id
            assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
                PLACEHOLDER.findall(str(message.id))
            ), (lang.code, message.id)
            if lang.code == "en":
                assert message.string == message.id
            else:
                assert "needs native review" in message.user_comments, (lang.code, message.id)
                if message.id not in SAME_AS_ENGLISH:
                    assert message.string != message.id, (lang.code, message.id)


def test_a_missing_or_empty_translation_is_reported(tmp_path: Path) -> None:
    source = i18n.po_path("fr").read_text("utf-8")
    target = i18n.po_path("fr", tmp_path)
    target.parent.mkdir(parents=True)
    target.write_text(source.replace('msgstr "VALABLE"', 'msgstr ""'), "utf-8")
    assert any("not translated 'VALID'" in p for p in problems(["fr"], tmp_path))
    cut = source.split('msgid "EXPIRED"')[0] + source.split('msgid "EXPIRED"')[1].split("\n\n", 1)[1]
    target.write_text(cut, "utf-8")
    assert any("no entry for 'EXPIRED'" in p for p in problems(["fr"], tmp_path))
    assert any("missing" in p for p in problems(["de"], tmp_path))


def test_language_tags_fall_back_to_a_screen_language() -> None:
    assert i18n.language_for("pt-BR") == "pt"
    assert i18n.language_for("ZH-tw") == "zh-Hant" and i18n.language_for("zh-Hant") == "zh-Hant"
    assert i18n.language_for("zh-CN") == "zh"
    assert i18n.language_for("xx") is None and i18n.language_for(None) is None
    assert i18n.translations("de").gettext("VALID") == "GÜLTIG"
    assert i18n.translations("de").pgettext("verdict", "This card is valid.") == "Diese Karte ist gültig."


def test_the_refresh_warning_is_the_verifiers(tmp_path: Path, holder: Holder) -> None:
    issuer = live_issuer(tmp_path / "issuer")
    issued = issuer.issue(holder, now=int(time.time()) - 60)
    issuer.publish()
    from cardio.published import load_verifier

    verifier, _ = load_verifier(issuer.dir)
    assert isinstance(verifier, Verifier)
    later = time.time() + int(issuer.config["status_ttl"]) + 60
    assert REFRESH_DUE in verifier.verify_qr(to_qr(issued.print_cose), later).warnings


def test_venue_language_first_then_the_staff_choice(tmp_path: Path) -> None:
    issuer = live_issuer(tmp_path / "issuer")
    venue = tmp_path / "zurich-pool.toml"
    venue.write_text(
        (Path(__file__).resolve().parent.parent / "venues" / "pool.toml")
        .read_text("utf-8")
        .replace('language = "en"', 'language = "de-CH"')
    )
    store = provision(tmp_path / "terminal", issuer)
    terminal = Terminal.from_config(TerminalConfig(trust=store, venue=str(venue), no_reader=True))
    client = create_terminal_app(terminal).test_client()
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="de"' in page and "Karte auf das Lesegerät legen" in page
    assert "Städtisches Bad" in page  # the venue's own title, translated
    switched = client.get("/?lang=ar")
    assert switched.headers["Set-Cookie"].startswith(f"{LANGUAGE_COOKIE}=ar")
    text = switched.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in text and "ضع البطاقة على القارئ" in text
    assert '<html lang="ar"' in client.get("/").get_data(as_text=True)  # the choice is kept
    events = client.get("/events?lang=fr")
    stream = iter(events.response)
    chunks = [next(stream), next(stream)]  # the retry hint, then the first screen
    screen = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chunks).decode()
    assert "event: screen" in screen and "Posez la carte sur le lecteur" in screen
    events.close()
    # an unknown tag changes nothing: the staff member's earlier choice stays
    assert '<html lang="ar"' in client.get("/?lang=xx-unknown").get_data(as_text=True)


def test_venue_profiles_name_programmes_and_refuse_bad_keys(tmp_path: Path) -> None:
    museum = load_venue("museum")
    assert museum.language == "en"
    assert museum.programme_name("demo") == "Demo city card"  # the venue's own name
    assert museum.programme_name("zurich") == "Züri City Card"
    assert museum.programme_name("bern") == "Bern City Card"
    assert load_venue("pool").programme_name("nantes") != "nantes"  # from the programme profile
    assert load_venue("pool").programme_name("no-such-programme") == "no-such-programme"
    bad = tmp_path / "bad.toml"
    for text, match in (
        ('name = "x"\nlanguage = "not a tag"\n', "language tag"),
        ('name = "x"\nlanguage = 3\n', "language tag"),
        ('name = "x"\n[programmes]\nzurich = ""\n', "programme ids"),
        ('name = "x"\nprogrammes = ["zurich"]\n', "programme ids"),
    ):
        bad.write_text(text)
        with pytest.raises(VenueError, match=match):
            load_venue(bad)


# -- warnings and reader statuses with details filled in ----------------------------------------


def test_english_ages_of_the_trust_sync_are_the_screens() -> None:
    from api.terminal.screen_text import ago as screen_ago
    from cardio.sentences import ago as sync_ago

    for seconds in (0, 59, 119, 120, 7199, 7200, 172_799, 172_800, 10 * 86400):
        assert sync_ago(seconds) == screen_ago(seconds)


def test_reader_templates_match_what_the_card_stack_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each template of api.terminal.reader_text recognises the sentence cardio really makes."""
    import errno

    from api.terminal.reader_text import READER_SENTENCES, reader_sentence, unexpected
    from cardio import nfc_backend, pcsc
    from cardio.errors import ReaderNotFoundError

    made: list[str] = [
        pcsc.NOT_RUNNING,
        str(pcsc._not_found("ACR122", [])),
        str(pcsc._not_found("ACR122", ["Virtual PCD 00 00", "Virtual PCD 00 01"])),
        str(nfc_backend._not_found("tty:USB0:pn532", "/dev/ttyUSB0 does not exist")),
        str(nfc_backend._open_error("usb:001:004", OSError(errno.EACCES, "Permission denied"))),
        str(nfc_backend._open_error("usb:001:004", OSError(errno.EBUSY, "Device or resource busy"))),
    ]
    monkeypatch.setattr(pcsc, "_readers", lambda context: [])
    with pytest.raises(ReaderNotFoundError) as none_attached:
        pcsc._wait_and_connect(0, None, 0.0)
    made.append(str(none_attached.value))
    # raised deep in a card wait: the sentence as nfc_backend writes it
    source = Path(nfc_backend.__file__).read_text("utf-8")
    assert 'f"The NFC reader at {path} stopped answering ({type(exc).__name__}: {exc}); "' in source
    assert '"check the cable, unplug and plug it in again, and retry."' in source
    made.append("The NFC reader at usb: stopped answering (OSError: [Errno 19] No such device); check the cable, unplug and plug it in again, and retry.")
    templates = set()
    for text in made:
        found = reader_sentence(text)
        assert isinstance(found, FilledSentence), text
        assert found == text
        templates.add(found.template)
    assert templates == set(READER_SENTENCES)
    assert reader_sentence("A driver's own words.") == "A driver's own words."
    assert unexpected(ZeroDivisionError()) == "The reader failed unexpectedly (ZeroDivisionError); retrying."


class _NoReader:
    """A PC/SC backend whose reader is not attached (the named one is missing)."""

    description = "PC/SC reader 'ACR122'"

    def wait_card(self, timeout: float) -> Any:
        from cardio import pcsc

        time.sleep(0.01)
        raise pcsc._not_found("ACR122", ["Virtual PCD 00 00"])

    def wait_removed(self, conn: Any, timeout: float) -> bool:
        return True


def test_warnings_and_reader_status_are_translated_in_every_language(tmp_path: Path) -> None:
    """Was: "The revocation list ... is too old to trust ... (Revocation list 1 is 8 days old.)",
    "The reader has no revocation list 1; ..." and "No card reader matches 'ACR122'; ..." stayed
    English on every screen: made with the details filled in, no catalogue held them."""
    from api.terminal.reader_loop import ReaderLoop
    from cardio.trust_sync import NO_STATUS_LIST, STALE_STATUS_LIST

    from .terminal_fixtures import wait_for

    issuer = live_issuer(tmp_path / "issuer")
    issuer.publish()
    stale = provision(tmp_path / "stale", issuer)
    missing = provision(tmp_path / "missing", issuer)
    for store in (stale, missing):
        for name in ("trust-list.cose", f"{STATUS_DIR}/1.cwt"):
            (store / name).parent.mkdir(parents=True, exist_ok=True)
            (store / name).write_bytes((issuer.dir / "public" / name).read_bytes())
    (missing / STATUS_DIR / "1.cwt").unlink()
    later = time.time() + 8 * 86400
    cases = (
        (stale, lambda: later, STALE_STATUS_LIST),
        (missing, time.time, NO_STATUS_LIST),
    )
    fragments = {  # English pieces of the templates and of the reader's sentence
        f.strip()
        for template in (STALE_STATUS_LIST, NO_STATUS_LIST)
        for f in PLACEHOLDER.split(template)
        if len(f.strip()) > 3
    } | {"No card reader matches", "the attached readers are", "Pass one of these names"}
    left: list[str] = []
    for store, clock, template in cases:
        terminal = Terminal.from_config(TerminalConfig(trust=store, venue="pool", no_reader=True, clock=clock))
        (warning,) = terminal.sync.warnings()
        assert isinstance(warning, FilledSentence) and warning.template == template
        loop = ReaderLoop(_NoReader(), terminal.on_card, terminal.board.set_reader_status, terminal.on_problem, retry=0.05)
        loop.start()
        try:
            wait_for(lambda t=terminal: not t.board.snapshot().reader_ok)
        finally:
            loop.stop()
        app = create_terminal_app(terminal)
        client = app.test_client()
        status = terminal.board.snapshot().reader_status
        for lang in i18n.LANGUAGES:
            text = html.unescape(client.get(f"/?lang={lang.code}").get_data(as_text=True))
            with app.test_request_context():
                g.terminal_language = lang.code
                shown = (sentence(warning, "warning"), sentence(status))
            for expected in shown:  # the whole translated sentence, details filled in
                if expected not in text:
                    left.append(f"{lang.code}: {expected!r} is not on the screen")
            if lang.code == "en":
                assert shown == (warning, status)
                continue
            assert shown[0] != warning and shown[1] != status, lang.code
            assert "1" in shown[0] and "'Virtual PCD 00 00'" in shown[1], lang.code
            for fragment in fragments:
                if fragment in text:
                    left.append(f"{lang.code}: {fragment!r}")
    assert not left, "\n".join(left)


# -- a phone wallet's answer on the staff screen ------------------------------------------------

_WARNINGS_LIST = re.compile(r'<ul class="warnings">(.*?)</ul>', re.S)
_VERDICT_SENTENCE = re.compile(r'<p class="sentence">(.*?)</p>', re.S)


def test_wallet_warnings_and_refusals_are_translated_in_every_language(
    tmp_path: Path, holder: Holder
) -> None:
    """Was: "Signature and claims genuine; the holder's key binding was not checked ..." (an
    answer without a request), "The holder did not share: photo, given_name, age_over_18,
    entitlement:pool." (with the request's item codes) and a refused answer's sentence ("The
    answer was made for another request ...") stayed English on every screen."""
    issuer = live_issuer(tmp_path / "issuer")
    now = int(time.time())
    sd_jwt, device = wallet_card(issuer, holder, now)
    store = provision(tmp_path / "terminal", issuer)
    for name in ("trust-list.cose", f"{STATUS_DIR}/1.cwt"):
        (store / name).parent.mkdir(parents=True, exist_ok=True)
        (store / name).write_bytes((issuer.dir / "public" / name).read_bytes())
    terminal = Terminal.from_config(TerminalConfig(trust=store, venue="pool", no_reader=True))
    app = create_terminal_app(terminal)
    client = app.test_client()

    # asked for five items, answered (to the same request) with one: four not shared, one of
    # each kind of word (the photo, a claim's label, a derived item, the venue's entitlement)
    request = VenueRequest.new("pool", ("age_over_65",), now)
    asked = replace(
        request, items=("age_over_65", "photo", "given_name", "age_over_18", "entitlement:pool")
    )
    answer = response_qr(present_sdjwt(sd_jwt, request, device, now))
    replayed = PresentationReason.WRONG_NONCE.sentence
    codes = ("given_name", "age_over_18", "entitlement:pool")
    english = (
        NOT_BOUND,
        "key binding was not checked",
        "The holder did not share",
        replayed,
        "made for another request",
    )
    left: list[str] = []
    for case in ("not bound", "not shared", "replayed"):
        if case == "not bound":
            view = terminal.verify_qr(sd_jwt)
            assert view.valid and NOT_BOUND in view.warnings, view
        elif case == "not shared":
            view = terminal.verify_qr(answer, asked.to_qr())
            assert view.valid, view
            (missing,) = view.warnings  # the JSON API's and the CLI's English, with codes
            assert missing == (
                "The holder did not share: photo, given_name, age_over_18, entitlement:pool."
            )
            assert isinstance(missing, FilledSentence) and missing.template == NOT_SHARED
        else:
            other = VenueRequest.new("pool", ("age_over_65",), now)
            view = terminal.verify_qr(answer, other.to_qr())
            assert view.verdict == "CLONE_SUSPECTED" and view.message == replayed, view
        for lang in i18n.LANGUAGES:
            page = html.unescape(client.get(f"/?lang={lang.code}").get_data(as_text=True))
            warnings = "".join(_WARNINGS_LIST.findall(page))
            said = "".join(_VERDICT_SENTENCE.findall(page))
            with app.test_request_context():
                g.terminal_language = lang.code
                if case == "not bound":
                    expected = [sentence(NOT_BOUND, "warning")]
                    where = warnings
                elif case == "not shared":
                    labels = [  # as the screen labels them elsewhere, joined as it joins them
                        pgettext("field", ITEM_LABELS["photo"]),
                        pgettext("field", ITEM_LABELS["given_name"]),
                        pgettext("field", ITEM_LABELS["age_over_18"]),
                        pgettext("venue", "Pool entry"),
                    ]
                    items = gettext(LIST_SEPARATOR).join(labels)
                    expected = [*labels, pgettext("warning", NOT_SHARED, items=items)]
                    where = warnings
                    left.extend(f"{lang.code}: code {c!r}" for c in codes if c in warnings)
                else:
                    expected = [sentence(replayed, "verdict")]
                    where = said
            for text in expected:
                if text not in where:
                    left.append(f"{lang.code} ({case}): {text!r} is not on the screen")
            if lang.code != "en":
                left.extend(f"{lang.code} ({case}): {e!r}" for e in english if e in page)
    assert not left, "\n".join(left)
