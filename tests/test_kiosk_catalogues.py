"""The kiosk's gettext catalogues, one per kiosk language: complete, in step with the code, placeholders intact."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import astuple
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from kiosk import rules
from kiosk.i18n import BY_CODE, LANGUAGES, Catalogues
from kiosk.i18n_rules import MESSAGES
from kiosk.languages import best_available
from kiosk.printing import paper_card_text, receipt_about, receipt_text
from kiosk.programs import load_all, load_program
from kiosk.web.catalogues import KEYWORDS, load_po, problems
from kiosk.web.rules_text import RuleTexts
from kiosk.web.validation import scripts_in

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
CODES = [lang.code for lang in LANGUAGES]
# Latin words that may stand in any script's sentence.
LATIN_OK = {"JPEG", "PNG", "X", "PIN", "PIN'i", "MB"}
# Catalogues written in another script than Latin: a Latin word there missed translation.
NON_LATIN = [
    "ar", "fa", "ti", "uk", "zh", "zh-Hant", "ko", "ja", "ru", "el", "bn", "hi", "ne", "pa",
    "ur", "ta", "ps", "he", "yi", "sr", "am",
]


def test_every_programme_language_has_a_catalogue_and_right_to_left_is_marked() -> None:
    assert CODES[:12] == ["en", "fr", "de", "it", "es", "pt", "ar", "fa", "ti", "uk", "tr", "zh"]
    assert {lang.code for lang in LANGUAGES if lang.rtl} == {"ar", "fa", "ur", "ps", "he", "yi"}
    assert "zh-Hant" in CODES  # Traditional Chinese is its own catalogue, not Simplified
    # A programme offers only languages the kiosk has a complete catalogue for (a sign
    # language is served at the office, not on a screen: see programs/new-york.toml).
    for program in load_all().values():
        for tag in program.languages:
            assert best_available(tag, CODES) in (tag, tag.split("-")[0]), (program.id, tag)
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
        if message.pluralizable:  # every form (as many as the language has) keeps them all
            wanted = sorted(PLACEHOLDER.findall(message.id[1]))
            for form in message.string:
                assert sorted(PLACEHOLDER.findall(form)) == wanted, (code, message.id, form)
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


@pytest.mark.parametrize("code", NON_LATIN)
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


# --- the code's texts are all in the catalogues; Python holds message ids only ---------------

ROOT = Path(__file__).resolve().parent.parent
TEXT_FREE_PACKAGES = ("kiosk", "printer")  # Python here holds message ids, never sentences


def _printing_messages() -> list[tuple[str | None, str]]:
    """(msgctxt, msgid) of every text kiosk/printing.py prints, as Babel extracts them."""
    found = extract_from_file("python", ROOT / "kiosk" / "printing.py", KEYWORDS)
    return [(context, message) for _, message, _, context in found if isinstance(message, str)]


def _code_messages() -> list[tuple[str | None, str]]:
    """(msgctxt, msgid) of every text of the rules engine, the receipt and the paper card."""
    return [*((i, m) for i, m in MESSAGES.items()), *_printing_messages()]


def test_printed_texts_are_extracted() -> None:
    """Every word receipt_text and paper_card_text give is a msgid the extraction sees."""
    extracted = {message for _, message in _printing_messages()}
    english = [*astuple(receipt_text("en")), *astuple(paper_card_text("en"))]
    assert set(english) <= extracted, set(english) - extracted
    assert {c for c, _ in _printing_messages()} == {"receipt", "paper card", "card"}


@pytest.mark.parametrize("code", CODES)
def test_every_text_the_code_uses_is_in_the_catalogue(code: str) -> None:
    catalogue = load_po(code)
    for context, msgid in _code_messages():
        message = catalogue.get(msgid, context=context)
        assert message is not None, (code, context, msgid)
        assert message.string and not message.fuzzy, (code, context, msgid)


@pytest.mark.parametrize("code", CODES)
def test_receipt_and_paper_card_speak_every_kiosk_language(code: str) -> None:
    receipt, card = receipt_text(code), paper_card_text(code)
    assert all(astuple(receipt)) and all(astuple(card)) and receipt_about(code)
    if code != "en":
        assert receipt.title != receipt_text("en").title  # its own catalogue, not English
        assert card.title != paper_card_text("en").title
    assert receipt_text(f"{code}-XX") == receipt  # regional tags: the base language


def _python_files() -> list[Path]:
    return sorted(p for package in TEXT_FREE_PACKAGES for p in (ROOT / package).rglob("*.py"))


def _language_keyed_dicts(tree: ast.AST) -> Iterator[int]:
    """Line numbers of dicts (literals or dict(...) calls) keyed by two or more kiosk languages."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            keys = [k.arg for k in node.keywords]
        else:
            continue
        tags = [k for k in keys if isinstance(k, str) and re.split(r"[-_]", k)[0] in BY_CODE]
        if len(tags) >= 2:
            yield node.lineno


def test_no_python_module_holds_sentences_per_language() -> None:
    """kiosk/ and printer/ hold no dict of texts per language, and no translated sentence."""
    translated: set[str] = set()
    for code in CODES:
        if code != "en":
            translated |= {
                str(m.string) for m in load_po(code) if m.id and m.string != m.id and len(str(m.string)) > 3
            }
    for path in _python_files():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        where = path.relative_to(ROOT)
        assert list(_language_keyed_dicts(tree)) == [], f"{where}: texts per language belong in the catalogues"
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in translated, f"{where}:{node.lineno}: {node.value!r}"


def test_the_checks_catch_texts_per_language() -> None:
    """The scan above finds the shapes it forbids (the dicts this project once had)."""
    samples = [
        'TEXTS = {"en": ReceiptText(title="Receipt"), "fr": ReceiptText(title="Reçu")}',
        'TRANSLATIONS = dict(en=MESSAGES, de=_DE, ar=_AR)',
        'LABELS = {"pt-BR": "Cartão", "zh-Hant": "卡"}',
    ]
    for sample in samples:
        assert list(_language_keyed_dicts(ast.parse(sample))) == [1], sample
    assert list(_language_keyed_dicts(ast.parse('FIELDS = {"sex": "sex", "photo": "photo"}'))) == []
