"""The kiosk's twelve gettext catalogues: complete, in step with the code, placeholders intact."""

from __future__ import annotations

import re
from datetime import date

import pytest

from kiosk import rules
from kiosk.programs import load_program
from kiosk.web.catalogues import load_po, problems
from kiosk.web.i18n import BY_CODE, LANGUAGES, Catalogues
from kiosk.web.rules_text import RuleTexts
from kiosk.web.validation import scripts_in

PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")
CODES = [lang.code for lang in LANGUAGES]
# Latin words that may stand in any script's sentence.
LATIN_OK = {"JPEG", "PNG", "X", "PIN", "PIN'i", "MB"}


def test_twelve_languages_arabic_and_farsi_right_to_left() -> None:
    assert CODES == ["en", "fr", "de", "it", "es", "pt", "ar", "fa", "ti", "uk", "tr", "zh"]
    assert {lang.code for lang in LANGUAGES if lang.rtl} == {"ar", "fa"}
    assert BY_CODE["ar"].dir == "rtl" and BY_CODE["en"].dir == "ltr"


def test_catalogues_are_complete_and_in_step_with_the_code() -> None:
    """Every message of the templates, the Python code and the rules engine is in every
    catalogue, translated, not fuzzy, and no catalogue holds a message the code dropped."""
    assert problems() == []


@pytest.mark.parametrize("code", CODES)
def test_placeholders_survive_translation(code: str) -> None:
    for message in load_po(code):
        if not message.id:
            continue
        assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(
            PLACEHOLDER.findall(str(message.id))
        ), (code, message.id, message.string)


@pytest.mark.parametrize("code", [c for c in CODES if c != "en"])
def test_catalogue_is_really_translated(code: str) -> None:
    messages = [m for m in load_po(code) if m.id]
    same = [m.id for m in messages if m.string == m.id and len(str(m.id)) > 12]
    assert len(same) <= 3, (code, same)


@pytest.mark.parametrize("code", CODES)
def test_no_word_mixes_alphabets(code: str) -> None:
    """The same rule as for names: one word, one script (catches a Latin 'e' in Cyrillic)."""
    for message in load_po(code):
        if not message.id:
            continue
        for word in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", PLACEHOLDER.sub(" ", str(message.string))):
            scripts = scripts_in(word)
            assert len(scripts) <= 1 or scripts <= {"HAN", "HIRAGANA", "KATAKANA"}, (code, word)


@pytest.mark.parametrize("code", ["ar", "fa", "ti", "uk", "zh"])
def test_non_latin_catalogues_hold_no_stray_latin(code: str) -> None:
    for message in load_po(code):
        if not message.id:
            continue  # the header
        for word in re.findall(r"[A-Za-z][A-Za-z']*", PLACEHOLDER.sub(" ", str(message.string))):
            assert word in LATIN_OK, (code, message.id, word)


def test_catalogues_compile_and_translate() -> None:
    catalogues = Catalogues()
    assert catalogues.gettext("ar", "It is not a residence permit.") == "هي ليست تصريح إقامة."
    assert catalogues.gettext("de", "Continue") == "Weiter"
    assert catalogues.gettext("ti", "Continue") != "Continue"


@pytest.mark.parametrize("code", CODES)
def test_rules_engine_reasons_in_every_language(code: str) -> None:
    program = load_program("new-york")
    decision = rules.decide(
        program, rules.Application(birth_date=date(2014, 1, 1), documents=("passport",)), date(2026, 9, 21)
    )
    texts = RuleTexts(Catalogues())
    rendered = [texts.render(reason, code, program) for reason in decision.reasons]
    assert all(rendered) and not any("{" in text for text in rendered), rendered
    needs_guardian = next(r for r in decision.reasons if r.id == "age.needs_guardian")
    text = texts.render(needs_guardian, code, program)
    assert "14" in text or "١٤" in text
    if code != "en":
        assert text != rules.reason_text(needs_guardian, "en", program)
