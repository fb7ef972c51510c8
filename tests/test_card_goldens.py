"""Every programme's card, front and back, for its sample resident: goldens, and what it says.

The card is drawn as the kiosk draws it (`kiosk.printing.card_design` from the programme's
profile, in its printed languages) for the fictional sample resident of
`programs/samples/<id>.json`, with a fixed document number, dates and QR text so nothing
random reaches the images.

Goldens are `tests/golden/cards/<id>-front.png` and `<id>-back.png`. A side whose mean
absolute difference from its golden exceeds `MAX_MEAN_ABS_DIFF` fails and is written next to
the golden as `<id>-<side>.actual.png`. To rewrite the goldens (after a layout change, or once
the catalogues translate the card's labels), run

    CITYCARD_UPDATE_GOLDENS=1 .venv/bin/python -m pytest -q tests/test_card_goldens.py

and look at every changed image before committing it.

The text test reads the layout's own text items (`RenderedCard.texts`), not the pixels: each
card carries its title and the disclaimer in every printed language, every printed language's
labels, languages by their names and never a bare code such as "en", and no label of a field
the programme does not collect.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from kiosk.i18n import shared_catalogues
from kiosk.printing import LANGUAGE_NAMES, PRINTED_ONLY_FIELDS, card_design, printed_values
from kiosk.programs import Program, Requirement, load_all
from printer.card_design import CardData, CardDesign
from printer.card_layout import RenderedCard, render_card

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "programs" / "samples"
GOLDEN = Path(__file__).parent / "golden" / "cards"
MAX_MEAN_ABS_DIFF = 1.5  # per channel, 0..255: anti-aliasing passes, a moved field fails
# A fixed, obviously fake QR text (not a credential), as in test_card_layout.
FAKE_QR = "CC1:" + "6BFOXN*TS0BI$ZDFRH%PQ 4FMVEJ$4ANBEO/6MD9BJ9/ZDCQ1F6ALT3A+HH9D:D" * 5
PROGRAMS: dict[str, Program] = load_all()
# The card's own labels (msgctxt "card") every card prints.
LABELS = ("Family name", "Given names", "Date of birth", "Document no.", "Issued", "Expires")
UNITS = {"height": " cm", "weight": " kg"}  # as the kiosk's form gives them


def sample_card(pid: str, design: CardDesign) -> CardData:
    program = PROGRAMS[pid]
    resident = json.loads((SAMPLES / f"{pid}.json").read_text("utf-8"))
    collected = (*program.fields.required, *program.fields.optional)
    extra = tuple(
        (code, str(resident[code]) + UNITS.get(code, ""))
        for code in collected
        if code in PRINTED_ONLY_FIELDS and resident.get(code)
    )
    photo = resident.get("photo")
    signature = resident.get("signature")
    return CardData(
        family_name=resident["family_name"],
        given_name=resident["given_name"],
        birth_date=date.fromisoformat(resident["birth_date"]),
        document_number="DEV00000018",
        issued=date(2026, 9, 21),
        expires=date(2030, 12, 31),
        qr_text=FAKE_QR,
        photo=(SAMPLES / photo).read_bytes() if photo else None,
        sex=resident.get("sex") if "sex" in design.fields else None,
        signature=(SAMPLES / signature).read_bytes()
        if signature and "signature" in design.fields
        else None,
        entitlements=tuple(e.code for e in program.entitlements),
        languages=tuple(resident.get("languages", ())),
        extra_fields=printed_values(extra),  # as kiosk.printing.render_card_images does
    )


@cache
def rendered(pid: str) -> tuple[CardDesign, CardData, RenderedCard]:
    design = card_design(PROGRAMS[pid], pid)
    data = sample_card(pid, design)
    return design, data, render_card(design, data)


def assert_matches_golden(img: Image.Image, name: str) -> None:
    golden = GOLDEN / f"{name}.png"
    actual = GOLDEN / f"{name}.actual.png"
    if os.environ.get("CITYCARD_UPDATE_GOLDENS") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        img.save(golden, optimize=True)
        actual.unlink(missing_ok=True)
        return
    assert golden.is_file(), f"no golden {golden}; run with CITYCARD_UPDATE_GOLDENS=1 and look at it"
    expected = Image.open(golden).convert("RGB")
    if expected.size != img.size:
        img.save(actual)
        raise AssertionError(f"{name}: size {img.size} != golden {expected.size}; see {actual}")
    diff = ImageStat.Stat(ImageChops.difference(expected, img.convert("RGB"))).mean
    mean = sum(diff) / len(diff)
    if mean > MAX_MEAN_ABS_DIFF:
        img.save(actual)
        raise AssertionError(f"{name}: mean abs difference {mean:.2f} > {MAX_MEAN_ABS_DIFF}; see {actual}")
    actual.unlink(missing_ok=True)


def test_every_programme_has_a_card_here() -> None:
    assert len(PROGRAMS) == 14


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_golden_front_and_back(pid: str) -> None:
    _, _, card = rendered(pid)
    assert_matches_golden(card.front, f"{pid}-front")
    assert_matches_golden(card.back, f"{pid}-back")


def _label(language: str, message: str) -> str:
    return shared_catalogues().get(language, ()).pgettext("card", message)


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_the_card_says_it_in_every_printed_language(pid: str) -> None:
    program = PROGRAMS[pid]
    spec = program.card.design
    _, data, card = rendered(pid)
    front, back = card.texts["front"], card.texts["back"]
    front_text, back_text = " | ".join(front), " | ".join(back)
    assert spec.languages, "a programme names the languages its card prints"
    for language in spec.languages:
        title = spec.display_name.get(language)
        assert title in front_text and title in back_text, (language, title)
        disclaimer = spec.disclaimer.get(language)
        # Before, only the first printed language's was printed: Zurich's card lacked "Not a
        # residence permit", New York's the Spanish line.
        assert disclaimer in front_text and disclaimer in back_text, (language, disclaimer)
        for message in LABELS:
            assert _label(language, message) in front_text, (language, message)
        for code in data.entitlements:
            entitlement = program.entitlement(code)
            assert entitlement is not None
            assert entitlement.names.get(language) in back_text, (language, code)
    assert "Resident card" not in front_text  # the programme's own name for its card


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_languages_are_named_never_coded(pid: str) -> None:
    _, data, card = rendered(pid)
    texts = (*card.texts["front"], *card.texts["back"])
    codes = {*data.languages, *PROGRAMS[pid].card.design.languages, *PROGRAMS[pid].languages}
    for text in texts:
        # "en", "en, es": a value made of language codes only (words such as Dutch "en" in a
        # sentence are not codes)
        parts = [p for p in re.split(r"\s*,\s*", text.strip()) if p]
        assert not (parts and set(parts) <= codes), (pid, text)
    for code in data.languages:
        assert any(LANGUAGE_NAMES[code] in t for t in card.texts["back"]), (pid, code)


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_no_field_the_programme_does_not_collect(pid: str) -> None:
    # Before, Paris printed "Sex –" though it never asks for it.
    program = PROGRAMS[pid]
    design, _, card = rendered(pid)
    sex_collected = program.fields.requirement("sex") in (Requirement.REQUIRED, Requirement.OPTIONAL)
    assert ("sex" in design.fields) == sex_collected
    if not sex_collected:
        sex = {_label(lang, "Sex") for lang in program.card.design.languages}
        assert not sex & set(card.texts["front"]), pid
        assert "–" not in card.texts["front"]


def test_the_words_take_the_printed_chinese_shapes() -> None:
    """San Francisco prints Traditional Chinese: the Han characters of its title, labels and
    disclaimer (姓, 證件號碼, 非居留許可) take the Traditional face, not the Simplified one a
    text alone would get; the same card without zh-Hant printed differs only in those shapes."""
    design, data, card = rendered("san-francisco")
    assert design.words_language == "zh-Hant"
    assert card_design(PROGRAMS["zurich"], "zurich").words_language is None
    simplified = render_card(dataclasses.replace(design, languages=("en", "es")), data)
    assert simplified.texts == card.texts
    for side in ("front", "back"):
        assert ImageChops.difference(getattr(card, side), getattr(simplified, side)).getbbox()


def test_a_language_without_a_kiosk_name_gets_babel_s() -> None:
    # Codes outside the kiosk's own list are named in themselves by CLDR (through Babel).
    assert LANGUAGE_NAMES["es"] == "Español"
    assert LANGUAGE_NAMES["gsw"] not in ("gsw", "")
    with pytest.raises(KeyError):
        LANGUAGE_NAMES["not-a-language"]
