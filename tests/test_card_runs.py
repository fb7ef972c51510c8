"""The card draws every character with a font that has it (font runs, `printer.card_text`).

Noto's script fonts do not all carry digits, punctuation or Latin letters (Noto Sans Hebrew,
Ethiopic and Thai have no ASCII digits; Noto Sans Arabic no parentheses or Latin letters).
Before, the card drew a whole text with the font of its first non-Latin letter, so the
digits of a Hebrew address printed as empty boxes, while the details step's check
(`kiosk.card_glyphs.printable`) said the text was printable.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from kiosk.card_glyphs import printable
from printer.card_design import CardDesign
from printer.card_layout import render_card
from printer.card_text import card_faces, draw_fitted, fit_text
from printer.fonts import FontFace
from printer.raster import covers

from .test_card_layout import card_data

HEBREW = "רחוב אטלנטיק 123, דירה 4B, ברוקלין 11201"
MIXED = (
    HEBREW,
    "ጎዳና 12, ኒው ዮርክ 10001",  # Ethiopic: no digits, no comma
    "شقة ٤، ١٢٣ شارع الأطلسي (الطابق الثالث)",  # Arabic: no parentheses
    "ถนนสุขุมวิท 21, กรุงเทพฯ 10110",  # Thai: no ASCII digits
    "मकान 12, Main Street",  # Devanagari: no Latin letters
)

Drawn = list[tuple[str, FontFace, float]]
_PROBE_IMAGE = ("L", (96, 64))  # where printer.raster.covers draws a glyph to look at it


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Drawn]:
    """Every text the card draws, with the face it is drawn with and where it starts."""
    calls: Drawn = []
    real = ImageDraw.ImageDraw.text

    def recording(self: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, *args: object, **kwargs: object) -> None:
        font = kwargs.get("font")
        if (self.mode, self.im.size) != _PROBE_IMAGE and isinstance(font, ImageFont.FreeTypeFont):
            calls.append((text, FontFace(Path(str(font.path)), font.index), xy[0]))
        real(self, xy, text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    yield calls


def _uncovered(calls: Drawn) -> list[tuple[str, str]]:
    return [
        (ch, face.path.name) for text, face, _ in list(calls) for ch in text
        if not ch.isspace() and not covers(face, ch)
    ]


@pytest.mark.parametrize("address", MIXED)
def test_an_address_mixing_scripts_is_drawn_without_a_box(address: str, drawn: Drawn) -> None:
    design = CardDesign(
        display_name="Example City Card", primary="#1F4E79", secondary="#E3A21A",
        field_labels={"address": "Address"},
    )
    data = replace(
        card_data(signature=None, entitlements=(), languages=(), sex=None),
        extra_fields=(("address", address),),
    )
    card = render_card(design, data)
    assert address in card.texts["back"]
    assert _uncovered(drawn) == []
    # The details step's check asks the lookup that draws: it agrees with the card.
    assert printable(address)


def test_printable_says_no_exactly_when_the_card_would_draw_a_box(drawn: Drawn) -> None:
    for text in (*MIXED, "Ana 555 0100 😀", "Müller", "直樹", "Name / 姓名"):
        fitted = fit_text(text, 900, 200, max_size=24, min_size=24, max_lines=4)
        draw_fitted(ImageDraw.Draw(_canvas()), fitted, 0, 0, 900, (0, 0, 0))
        assert printable(text) == (_uncovered(drawn) == []), text
        drawn.clear()


def _canvas() -> Image.Image:
    return Image.new("RGB", (1000, 300), (255, 255, 255))


def test_digits_in_a_right_to_left_text_keep_their_order(drawn: Drawn) -> None:
    fitted = fit_text("שלום 12 עולם", 900, 60, max_size=30, min_size=30)
    assert fitted.lines == ["שלום 12 עולם"]
    draw_fitted(ImageDraw.Draw(_canvas()), fitted, 0, 0, 900, (0, 0, 0))
    pieces = [text.strip() for text, _, x in sorted(drawn, key=lambda c: c[2]) if text.strip()]
    assert pieces == ["עולם", "12", "שלום"]  # right to left, the number left to right
    assert all(x >= 0 for _, _, x in drawn) and max(x for _, _, x in drawn) <= 900
    drawn.clear()
    # "4B," then a Hebrew word: the comma is between a left-to-right and a right-to-left
    # letter, so it takes the paragraph's direction (bidi rule N2) and goes left of "4B",
    # as libraqm lays out the whole line in one font that has both (DejaVu Sans).
    fitted = fit_text("שלום 4B, עולם", 900, 60, max_size=30, min_size=30)
    draw_fitted(ImageDraw.Draw(_canvas()), fitted, 0, 0, 900, (0, 0, 0))
    pieces = [text.strip() for text, _, x in sorted(drawn, key=lambda c: c[2]) if text.strip()]
    assert pieces == ["עולם", ",", "4B", "שלום"]


def test_one_script_text_is_one_run_drawn_as_before(drawn: Drawn) -> None:
    for text in ("Apartment 12B, 1234 Grand Concourse", "شارع ١٢٣، القاهرة", "Олена 5"):
        fitted = fit_text(text, 900, 60, max_size=30, min_size=30)
        draw_fitted(ImageDraw.Draw(_canvas()), fitted, 0, 0, 900, (0, 0, 0))
        assert [t for t, _, _ in drawn] == [text]
        drawn.clear()


def test_han_characters_in_a_mixed_label_keep_the_languages_shapes(drawn: Drawn) -> None:
    fitted = fit_text("Name / 姓名", 900, 60, max_size=30, min_size=30, language="zh-Hant")
    draw_fitted(ImageDraw.Draw(_canvas()), fitted, 0, 0, 900, (0, 0, 0))
    faces = {text.strip(): face for text, face, _ in drawn if text.strip()}
    assert faces["姓名"].path.name.startswith("NotoSansCJK") and faces["姓名"].index == 3  # TC
    kana = fit_text("さくら 直樹", 900, 60, max_size=30, min_size=30, language="zh")
    assert kana.font.getname()[0] == "Noto Sans CJK JP"  # kana decide, as before


def test_the_card_asks_fonts_again_when_the_font_directories_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The faces are cached, but per CITYCARD_FONT_DIRS (searched first): fonts put there are
    the ones the card draws with and card_glyphs asks, as for receipts (printer.raster)."""
    text = "Sample Resident 12"
    monkeypatch.delenv("CITYCARD_FONT_DIRS", raising=False)
    before = {face.path for face in card_faces(text)}
    shutil.copy(next(iter(before)), tmp_path / "NotoSans-Regular.ttf")
    monkeypatch.setenv("CITYCARD_FONT_DIRS", str(tmp_path))
    assert {face.path for face in card_faces(text)} == {tmp_path / "NotoSans-Regular.ttf"}
