"""Which font draws a text (`printer.fonts`)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import pytest

from printer import raster
from printer.card_design import CardDesign
from printer.card_layout import render_card
from printer.card_text import fit_text
from printer.fonts import face_for, needs_shaping, script_of

from .test_card_layout import card_data


@pytest.mark.parametrize(
    ("text", "script"),
    [("Nº de documento", "latin"), ("1ª vez", "latin"), ("Łódź", "latin"), ("Олена", "cyrillic")],
)
def test_ordinal_indicators_are_latin(text: str, script: str) -> None:
    assert script_of(text) == script


# Accents with no precomposed letter stay combining marks after NFC: ọ + U+0300 in Yoruba,
# ɔ + U+0301 in Lingala, o + U+0332. Before, a mark named "COMBINING ..." made a "Combining"
# script and the card failed: "NotoSansCombining-Bold.ttf was not found".
COMBINING_NAMES = ("Adéwọ̀lé", "Ọ̀ṣun", "Mbɔ́ngɔ́", "Ɛ́léonɔ́re", "Jo̲hn", "ʻAkaka")


@pytest.mark.parametrize("name", COMBINING_NAMES)
def test_a_combining_mark_takes_its_base_letters_font(name: str) -> None:
    assert unicodedata.normalize("NFC", name) == name
    assert script_of(name) == "latin"
    assert face_for(name, bold=True).path.name == "NotoSans-Bold.ttf"
    assert not needs_shaping(name)


def test_names_with_combining_marks_are_laid_out_on_the_card_and_the_receipt() -> None:
    design = CardDesign(display_name="Example City Card", primary="#1F4E79", secondary="#E3A21A")
    for name in COMBINING_NAMES:
        data = replace(card_data(name, name), signature=None, entitlements=(), languages=())
        card = render_card(design, data, layout_only=True)
        assert name in card.texts["front"]
        assert raster.wrap(name, raster.TextStyle(24), 500, "yo") == [name]


def test_a_script_debian_ships_only_as_noto_serif_is_printed_with_it() -> None:
    # fonts-noto-core has Noto Serif Tibetan and no Noto Sans Tibetan.
    assert face_for("བཀྲ་ཤིས").path.name.startswith(("NotoSansTibetan", "NotoSerifTibetan"))
    assert face_for("ᓄᓇᕗᑦ").path.name.startswith("NotoSansCanadianAboriginal")


@pytest.mark.parametrize(
    ("language", "face"),
    [("ja", "JP"), ("zh-Hant", "TC"), ("zh-TW", "TC"), ("zh-HK", "HK"), ("ko", "KR"), ("zh-Hans", "SC"), (None, "SC")],
)
def test_han_characters_take_the_shapes_of_the_texts_language(language: str | None, face: str) -> None:
    # Before, every Han text got the Simplified Chinese face, whatever its language.
    fitted = fit_text("直樹", 600, 80, max_size=40, min_size=20, language=language)
    assert fitted.font.getname()[0] == f"Noto Sans CJK {face}"
    assert face_for("なおき直樹", language="zh").index == 0  # kana: Japanese, whatever the tag


def test_a_han_name_is_drawn_in_the_holders_language() -> None:
    design = CardDesign(
        display_name="Example City Card", primary="#1F4E79", secondary="#E3A21A",
        language_names={"ja": "日本語", "zh-Hans": "中文"},
    )
    fronts = [
        render_card(design, replace(card_data("直樹", "骨"), signature=None, entitlements=(), languages=(lang,))).front
        for lang in ("ja", "zh-Hans")
    ]
    assert fronts[0].tobytes() != fronts[1].tobytes()  # 直 and 骨 differ in Japanese
