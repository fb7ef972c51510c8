"""The staff screen's own catalogues: complete in every kiosk language, marked for review, the
venue's language first and a staff member's choice after it, and venue profiles that name
programmes and languages.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from api.terminal import i18n
from api.terminal.catalogues import REFRESH_DUE, load_po, problems, template_catalog
from api.terminal.routes import LANGUAGE_COOKIE
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder, to_qr
from cardio.terminal_config import TerminalConfig
from cardio.venues import VenueError, load_venue
from cardio.verify import Verifier

from .terminal_fixtures import live_issuer, provision

PLACEHOLDER = re.compile(r"%\(\w+\)s")


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
