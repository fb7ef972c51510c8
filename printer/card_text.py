"""Text on the card: fonts for any script, shrinking and wrapping into a box, drawing.

Each character is drawn with a font that has it: the faces come from `printer.raster`'s font
runs (`char_faces`, as for receipts): a letter takes its script's Noto font (else Noto Sans,
else Noto CJK), digits, spaces and punctuation the face of a neighbouring letter when it has
them, else Noto Sans. Noto Sans Hebrew, Ethiopic and Thai have no ASCII digits and Noto Sans
Arabic no parentheses or Latin letters, so a Hebrew address with a house number is drawn in
runs: each run shaped by libraqm (Pillow's RAQM layout) in its own direction, the runs put in
visual order by the bidi rule (`printer.raster.visual_runs`) in the text's direction (its
first strong letter), measured as the sum of the runs' advances, and right-aligned when the
text is right to left. A text that one face draws whole (a text in one script, an Arabic
address with its digits) is one run, measured and drawn as one string as before. Han
characters take the shapes of the text's `language` (`printer.fonts.cjk_index`); kana or
hangul in the text make them Japanese or Korean.

`fit_text` shrinks a text down to a minimum size, then wraps it onto more lines at no larger
a size; it never overflows its box (CardLayoutError instead). `card_faces` is the lookup that
draws, for `kiosk.card_glyphs` to ask.
"""

from __future__ import annotations

import os
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
from .fonts import FontFace, face_for, needs_shaping, script_of
from .graphemes import clusters
from .raster import char_faces, runs_of, visual_runs

__all__ = ["Align", "FittedText", "card_faces", "draw_fitted", "fit_text", "is_rtl"]

Align = Literal["left", "right", "auto"]
# A piece of a line drawn with one face: its text, face and raqm direction ("rtl", "ltr", or
# None: no raqm, left to right only).
Piece = tuple[str, FontFace, str | None]


def _raqm() -> bool:
    return bool(pil_features.check("raqm"))


@lru_cache(maxsize=256)
def _font(path: Path, index: int, size: int, raqm: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size, index=index, layout_engine=engine)


def _at(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    return _font(face.path, face.index, size, _raqm())


def is_rtl(text: str) -> bool:
    """True when the first strongly directional character is right-to-left."""
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return True
        if bidi == "L":
            return False
    return False


def _han_language(text: str, language: str | None) -> str:
    """Whose Han shapes: kana or hangul in the text decide, else the text's language."""
    return {"japanese": "ja", "korean": "ko"}.get(script_of(text), language or "")


def _font_dirs() -> str:
    """Part of the caches' keys: fonts found under other directories differ (a test's fonts)."""
    return os.environ.get("CITYCARD_FONT_DIRS", "")


@lru_cache(maxsize=4096)
def _faces(text: str, bold: bool, language: str | None, dirs: str) -> tuple[FontFace, ...]:
    return tuple(char_faces(text, _han_language(text, language), bold))


def card_faces(text: str, bold: bool = False, language: str | None = None) -> tuple[FontFace, ...]:
    """The face that draws each character of `text` on the card (whitespace runs taken as one
    space, as `fit_text` takes them); FontNotFoundError for a letter no installed font has."""
    return _faces(" ".join(text.split()), bold, language, _font_dirs())


@lru_cache(maxsize=1 << 15)
def _length(font: ImageFont.FreeTypeFont, text: str, direction: str | None = None) -> float:
    """The advance of `text` in `font`, measured once per process: checking whether a card
    fits lays it out again and again with the same texts (a bisection over one field's
    length, two QR widths), and a shaped measurement costs ~40 µs."""
    if direction is None:
        return font.getlength(text)
    return font.getlength(text, direction=direction)


@lru_cache(maxsize=1 << 14)
def _pieces(
    text: str, bold: bool, language: str | None, a: int, b: int, dirs: str
) -> tuple[Piece, ...]:
    """Line text[a:b] of a text drawn in several faces, as pieces in visual order (left to
    right). The faces are the whole text's: a digit keeps the face its neighbours gave it."""
    runs = runs_of(text[a:b], _faces(text, bold, language, dirs)[a:b])
    raqm = _raqm()
    return tuple(
        (run.text, run.face, ("rtl" if rtl else "ltr") if raqm else None)
        for run, rtl in visual_runs(runs, is_rtl(text))
    )


class _Text:
    """A text to fit: the face of each character, and widths of its lines (spans of it)."""

    def __init__(self, text: str, bold: bool, language: str | None) -> None:
        if not _raqm() and needs_shaping(text):
            raise CardLayoutError(
                "This name is in a right-to-left or joining script, which needs libraqm to "
                "print: install the Debian package libfribidi0 (Pillow's libraqm loads it) and "
                "try again."
            )
        self.text, self.bold, self.language = text, bold, language
        self.raqm = _raqm()
        self._sized: dict[int, ImageFont.FreeTypeFont] = {}
        faces = _faces(text, bold, language, _font_dirs()) if text else (face_for("a", bold),)
        # One face for the whole text: drawn and measured as one string (raqm orders it).
        self.single = faces.count(faces[0]) == len(faces)
        # The text's own face (its first letter's): the size and name a caller reads.
        self.face = next(
            (f for f, ch in zip(faces, text, strict=False) if unicodedata.category(ch)[0] == "L"),
            faces[0],
        )

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        font = self._sized.get(size)
        if font is None:  # asked for every trial line of a wrap: kept at hand
            font = self._sized[size] = _font(self.face.path, self.face.index, size, self.raqm)
        return font

    def pieces(self, a: int, b: int) -> tuple[Piece, ...] | None:
        """None for a text drawn in one face."""
        if self.single:
            return None
        return _pieces(self.text, self.bold, self.language, a, b, _font_dirs())

    def width(self, size: int, a: int, b: int) -> float:
        if self.single:
            return _length(self.font(size), self.text[a:b])
        return sum(
            _length(_font(face.path, face.index, size, self.raqm), text, d)
            for text, face, d in _pieces(self.text, self.bold, self.language, a, b, _font_dirs())
        )


_TOKEN = re.compile(r"(\s*)(\S+?-(?=\S)|\S+)")
Span = tuple[int, int]


def _split_long(t: _Text, size: int, a: int, b: int, width: int) -> list[Span]:
    """Break a token wider than `width` between letters (grapheme clusters: never before a
    combining mark or an Indic vowel sign, nor after a virama)."""
    parts: list[Span] = []
    start = end = a
    for cluster in clusters(t.text[a:b]):
        if end > start and t.width(size, start, end + len(cluster)) > width:
            parts.append((start, end))
            start = end
        end += len(cluster)
    if end > start:
        parts.append((start, end))
    return parts


def _wrap(t: _Text, size: int, width: int) -> list[Span]:
    """Lines as spans of the text (it has single spaces: a line ends before one)."""
    lines: list[Span] = []
    line: Span | None = None
    for match in _TOKEN.finditer(t.text):
        a, b = match.span(2)
        pieces = [(a, b)] if t.width(size, a, b) <= width else _split_long(t, size, a, b, width)
        for start, end in pieces:
            if line is None:
                line = (start, end)
            elif t.width(size, line[0], end) <= width:
                line = (line[0], end)
            else:
                lines.append(line)
                line = (start, end)
    if line is not None:
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
    baseline is `ascent` below its top. `font` is the text's own face (its first letter's) at
    the fitted size; a line of a text drawn in several faces has its `pieces` (visual order),
    a line drawn in `font` alone None. `widths`: each line's advance."""

    lines: list[str]
    font: ImageFont.FreeTypeFont
    line_height: int
    ascent: int
    pieces: tuple[tuple[Piece, ...] | None, ...] = ()
    widths: tuple[float, ...] = ()


def _fitted(t: _Text, size: int, spans: list[Span]) -> FittedText:
    font = t.font(size)
    lines = [t.text[a:b] for a, b in spans]
    pieces = tuple(t.pieces(a, b) for a, b in spans)
    widths = tuple(t.width(size, a, b) for a, b in spans)
    if t.single:
        ascent, descent = _line_box(font, lines)
    else:
        # Each face's line box over its pieces; the line takes the largest of them.
        by_face: dict[FontFace, list[str]] = {}
        for line in pieces:
            for text, face, _ in line or ():
                by_face.setdefault(face, []).append(text)
        boxes = [_line_box(_at(face, size), texts) for face, texts in by_face.items()]
        ascent, descent = max(box[0] for box in boxes), max(box[1] for box in boxes)
    return FittedText(lines, font, ascent + descent, ascent, pieces, widths)


def _wrapped(
    t: _Text, sizes: range, width: int, height: int, max_lines: int
) -> FittedText | None:
    """The text wrapped at the first of `sizes` whose lines fit the box, or None."""
    for size in sizes:
        spans = _wrap(t, size, width)
        if len(spans) > max_lines:
            continue
        fitted = _fitted(t, size, spans)
        if len(spans) * fitted.line_height <= height:
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
    t = _Text(text, bold, language)
    if paragraph:
        sizes = range(max_size, min_size - 1, -1)
        wrapped = _wrapped(t, sizes, width, height, max_lines)
        if wrapped is not None:
            return wrapped
        if field is not None:
            raise FieldTooLongError(field, what)
        raise CardLayoutError(
            f"The {what} is too long to print on the card; shorten it in the programme profile."
        )
    for size in range(max_size, min_size - 1, -1):
        if t.width(size, 0, len(text)) <= width:
            fitted = _fitted(t, size, [(0, len(text))])
            if fitted.line_height <= height:
                return fitted
    if max_lines > 1:
        least = wrap_min_size if wrap_min_size is not None else max(8, min_size * 2 // 3)
        smaller = range(min_size, least - 1, -1)
        wrapped = _wrapped(t, smaller, width, height, max_lines)
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
    size = fitted.font.size
    for i, line in enumerate(fitted.lines):
        baseline = y + fitted.ascent
        pieces = fitted.pieces[i] if fitted.pieces else None
        if pieces is not None:
            px: float = x + width - fitted.widths[i] if right else x
            for text, face, direction in pieces:
                font = _at(face, int(size))
                args = {} if direction is None else {"direction": direction}
                draw.text((px, baseline), text, font=font, fill=fill, anchor="ls", **args)  # type: ignore[arg-type]
                px += _length(font, text, direction)
        elif right:
            draw.text((x + width, baseline), line, font=fitted.font, fill=fill, anchor="rs")
        else:
            draw.text((x, baseline), line, font=fitted.font, fill=fill, anchor="ls")
        y += fitted.line_height
    return y
