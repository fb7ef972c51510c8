"""Text on the card: fonts for any script, shrinking and wrapping into a box, drawing.

The font comes from `printer.fonts` (`face_for`); right-to-left and joining scripts are laid
out by libraqm (Pillow's RAQM layout) and right-aligned. `fit_text` shrinks a text down to a
minimum size, then wraps it onto more lines at no larger a size; it never overflows its box
(CardLayoutError instead).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from math import ceil
from pathlib import Path
from typing import Literal

from PIL import ImageDraw, ImageFont
from PIL import features as pil_features

from .card_design import CardLayoutError, Color, FieldTooLongError
from .fonts import face_for, needs_shaping
from .graphemes import clusters

__all__ = ["Align", "FittedText", "draw_fitted", "fit_text", "is_rtl"]

Align = Literal["left", "right", "auto"]


def _raqm() -> bool:
    return bool(pil_features.check("raqm"))


@lru_cache(maxsize=256)
def _font(path: Path, index: int, size: int, raqm: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size, index=index, layout_engine=engine)


def _font_for(
    text: str, size: int, bold: bool, language: str | None = None
) -> ImageFont.FreeTypeFont:
    raqm = _raqm()
    if not raqm and needs_shaping(text):
        raise CardLayoutError(
            "This name is in a right-to-left or joining script, which needs libraqm to print: "
            "install the Debian package libfribidi0 (Pillow's libraqm loads it) and try again."
        )
    face = face_for(text, bold, language)
    return _font(face.path, face.index, size, raqm)


def is_rtl(text: str) -> bool:
    """True when the first strongly directional character is right-to-left."""
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return True
        if bidi == "L":
            return False
    return False


@lru_cache(maxsize=1 << 15)
def _length(font: ImageFont.FreeTypeFont, text: str) -> float:
    """The advance of `text` in `font`, measured once per process: checking whether a card
    fits lays it out again and again with the same texts (a bisection over one field's
    length, two QR widths), and a shaped measurement costs ~40 µs."""
    return font.getlength(text)


_TOKEN = re.compile(r"(\s*)(\S+?-(?=\S)|\S+)")


def _split_long(token: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break a token wider than `width` between letters (grapheme clusters: never before a
    combining mark or an Indic vowel sign, nor after a virama)."""
    parts: list[str] = []
    current = ""
    for cluster in clusters(token):
        trial = current + cluster
        if current and _length(font, trial) > width:
            parts.append(current)
            current = cluster
        else:
            current = trial
    if current:
        parts.append(current)
    return parts


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for match in _TOKEN.finditer(text):
        space, token = match.group(1), match.group(2)
        pieces = [token] if _length(font, token) <= width else _split_long(token, font, width)
        for i, piece in enumerate(pieces):
            joiner = " " if (space and i == 0 and line) else ""
            trial = line + joiner + piece
            if not line or _length(font, trial) <= width:
                line = trial
            else:
                lines.append(line)
                line = piece
    if line:
        lines.append(line)
    return lines


# Line metrics (ascent + descent, per em) above which a font's line box comes from the ink:
# Noto Sans Arabic's are 2.1 em and Noto Serif Tibetan's 2.8 em (Noto Sans: 1.37 em), so an
# Arabic name fitted by them printed at two thirds of a Latin one's size.
_TALL_METRICS = 1.6
_LEAST_ASCENT, _LEAST_DESCENT = 1.07, 0.30  # Noto Sans's, per em: lines keep an even rhythm


@lru_cache(maxsize=1 << 14)
def _ink(font: ImageFont.FreeTypeFont, text: str) -> tuple[float, float]:
    """How far the text's ink reaches above and below its baseline."""
    _, top, _, bottom = font.getbbox(text, anchor="ls")
    return -top, bottom


def _line_box(font: ImageFont.FreeTypeFont, lines: list[str]) -> tuple[int, int]:
    """(ascent, descent) of a line: the font's own, or for a font with very tall line metrics
    what the lines' ink needs (never less than a Latin line's, never more than the font's)."""
    ascent, descent = font.getmetrics()
    size = font.size
    if ascent + descent <= _TALL_METRICS * size:
        return ascent, descent
    top = max([round(size * _LEAST_ASCENT), *(ceil(_ink(font, line)[0]) for line in lines)])
    bottom = max([round(size * _LEAST_DESCENT), *(ceil(_ink(font, line)[1]) for line in lines)])
    return min(ascent, top), min(descent, bottom)


@dataclass(frozen=True)
class FittedText:
    """Text broken into lines that fit a box, with the font that makes them fit; each line's
    baseline is `ascent` below its top."""

    lines: list[str]
    font: ImageFont.FreeTypeFont
    line_height: int
    ascent: int


def _fitted(lines: list[str], font: ImageFont.FreeTypeFont) -> FittedText:
    ascent, descent = _line_box(font, lines)
    return FittedText(lines, font, ascent + descent, ascent)


def _wrapped(
    text: str, sizes: range, bold: bool, width: int, height: int, max_lines: int,
    language: str | None = None,
) -> FittedText | None:
    """The text wrapped at the first of `sizes` whose lines fit the box, or None."""
    for size in sizes:
        font = _font_for(text, size, bold, language)
        lines = _wrap(text, font, width)
        fitted = _fitted(lines, font)
        if len(lines) <= max_lines and len(lines) * fitted.line_height <= height:
            return fitted
    return None


def fit_text(
    text: str,
    width: int,
    height: int,
    *,
    max_size: int,
    min_size: int,
    bold: bool = False,
    max_lines: int = 1,
    paragraph: bool = False,
    what: str = "text",
    field: str | None = None,
    wrap_min_size: int | None = None,
    language: str | None = None,
) -> FittedText:
    """Shrink to one line (down to min_size), then wrap at no larger a size; never overflow.

    Wrapped text shrinks down to `wrap_min_size` (default: two thirds of `min_size`). The
    text's `language`, when known, picks the CJK face (Japanese, Traditional Chinese, ...).
    A `paragraph` wraps first and shrinks only when the wrapped text does not fit the box.
    The returned `FittedText` carries the very font it was measured with: `draw_fitted` draws
    with it, so what was measured is what is drawn. A text that cannot fit raises
    `FieldTooLongError` when it is the resident's `field` (a field code), else CardLayoutError.
    """
    text = " ".join(text.split())
    if paragraph:
        sizes = range(max_size, min_size - 1, -1)
        wrapped = _wrapped(text, sizes, bold, width, height, max_lines, language)
        if wrapped is not None:
            return wrapped
        if field is not None:
            raise FieldTooLongError(field, what)
        raise CardLayoutError(
            f"The {what} is too long to print on the card; shorten it in the programme profile."
        )
    for size in range(max_size, min_size - 1, -1):
        font = _font_for(text, size, bold, language)
        if _length(font, text) <= width:
            fitted = _fitted([text], font)
            if fitted.line_height <= height:
                return fitted
    if max_lines > 1:
        least = wrap_min_size if wrap_min_size is not None else max(8, min_size * 2 // 3)
        smaller = range(min_size, least - 1, -1)
        wrapped = _wrapped(text, smaller, bold, width, height, max_lines, language)
        if wrapped is not None:
            return wrapped
    if field is not None:
        raise FieldTooLongError(field, what)
    raise CardLayoutError(
        f"The {what} is too long to print on the card even at the smallest size; shorten it."
    )


def draw_fitted(
    draw: ImageDraw.ImageDraw | None,
    fitted: FittedText,
    x: int,
    y: int,
    width: int,
    fill: Color,
    *,
    align: Align = "auto",
) -> int:
    """Draw the lines from (x, y); returns the y below the last line. With no `draw`, only
    where they end (a layout measured, not drawn)."""
    if draw is None:
        return y + len(fitted.lines) * fitted.line_height
    right = align == "right" or (align == "auto" and is_rtl(" ".join(fitted.lines)))
    for line in fitted.lines:
        baseline = y + fitted.ascent
        if right:
            draw.text((x + width, baseline), line, font=fitted.font, fill=fill, anchor="rs")
        else:
            draw.text((x, baseline), line, font=fitted.font, fill=fill, anchor="ls")
        y += fitted.line_height
    return y
