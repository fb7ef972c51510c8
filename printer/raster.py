"""Text in any script drawn to a 1-bit raster for a thermal printer.

Scripts that a receipt printer's code pages cannot print (Arabic, Farsi, Tigrinya, Chinese,
Ukrainian without CP1251, ...) are drawn here with the Noto fonts that `printer.fonts` finds
and printed as an image.

Shaping and direction: Pillow lays text out with libraqm (HarfBuzz shaping, FriBiDi
bidi), which Pillow's wheels carry and which needs the Debian package libfribidi0. Noto's
script fonts do not all carry Latin letters or digits (Noto Sans Ethiopic has no digits, Noto
Sans Arabic no Latin letters), so a line is cut into *font runs* (each run one font that has
all its glyphs; digits, spaces and punctuation stay with a neighbouring run whose font has
them), each run is shaped by raqm in its own direction, and the runs are put in visual order
by the Unicode bidi reordering rule (L2) on run levels: the paragraph direction comes from the
language (Arabic, Farsi, Hebrew, Urdu... are right-to-left) and right-to-left paragraphs are
right-aligned.

Without libraqm, right-to-left or joining text raises `ShapingUnavailableError` instead of
printing letters unjoined and backwards.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from cardio.errors import CitycardError

from .fonts import FontFace, FontNotFoundError, cjk_index, face_for, needs_shaping, script_of
from .graphemes import clusters

__all__ = [
    "Align",
    "Run",
    "ShapingUnavailableError",
    "TextStyle",
    "char_faces",
    "covers",
    "draw_paragraphs",
    "font_runs",
    "has_raqm",
    "is_rtl_language",
    "runs_of",
    "threshold",
    "visual_runs",
    "wrap",
]

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ckb", "sd", "ug", "yi", "dv", "prs"})
_RTL_BIDI = frozenset({"R", "AL"})
_NO_LINE_START = frozenset("，。、：；！？）」』】〕〉》’”・ー…,.:;!?)]}%")
_NO_LINE_END = frozenset("（「『【〔〈《‘“([{")
# Scripts a line may break between any two letters of. Not Korean: it separates words with
# spaces, and breaking inside one ("알려 주세 / 요") is a spelling mistake.
_WIDE_SCRIPTS = frozenset({"han", "japanese"})
_PROBE = "\U0010fffd"  # a private-use code point no Noto font has: it shows the .notdef glyph


LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_ISOLATES: dict[str, bool | None] = {LRI: False, RLI: True, FSI: None}
_ISOLATE_CHARS = LRI + RLI + FSI + PDI
# Bidi classes split off a run's edges to be placed by the run reordering. CS (a comma, a full
# stop) is there too: at a run's edge it is between no two numbers, so it is a neutral, and
# after "4B" in a Hebrew address it goes left of "4B", not inside its left-to-right shaping.
_EDGE_BIDI = frozenset({"WS", "ON", "CS", "LRI", "RLI", "FSI", "PDI"})


class ShapingUnavailableError(CitycardError):
    """Right-to-left or joining text, but Pillow has no libraqm to shape it."""


class Align(Enum):
    """Where a line sits: START is left in left-to-right languages and right in RTL ones."""

    START = "start"
    CENTER = "center"
    END = "end"


@dataclass(frozen=True)
class TextStyle:
    """A size (in printer dots, 203 dpi) and weight of drawn text."""

    size: int
    bold: bool = False
    space_after: int = 6  # dots after the paragraph


def has_raqm() -> bool:
    """True when Pillow can lay text out with libraqm (bidi + shaping)."""
    return bool(features.check("raqm"))


def is_rtl_language(language: str) -> bool:
    """True for a language written right to left (by its primary subtag)."""
    return language.replace("_", "-").split("-")[0].lower() in RTL_LANGUAGES


def _cjk_face(face: FontFace, language: str) -> FontFace:
    """The Noto Sans CJK face that matches the language (SC, TC, HK, JP or KR)."""
    if not face.path.name.startswith("NotoSansCJK"):
        return face
    return FontFace(face.path, cjk_index("han", language))


@lru_cache(maxsize=256)
def _font(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if has_raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size, index=index, layout_engine=engine)


def font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    """A cached Pillow font for a face at a size in dots."""
    return _font(face.path, face.index, size)


def _glyph_image(face: FontFace, ch: str) -> bytes:
    f = font(face, 32)
    img = Image.new("L", (96, 64), 0)
    ImageDraw.Draw(img).text((8, 8), ch, font=f, fill=255)
    return img.tobytes()


@lru_cache(maxsize=64)
def _notdef(face: FontFace) -> bytes:
    return _glyph_image(face, _PROBE)


@lru_cache(maxsize=8192)
def covers(face: FontFace, ch: str) -> bool:
    """True when the font has a glyph for `ch` (it does not draw the .notdef box)."""
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return True
    return _glyph_image(face, ch) != _notdef(face)


@dataclass(frozen=True)
class Run:
    """A piece of a line drawn with one font in one direction (logical order inside)."""

    text: str
    face: FontFace
    rtl: bool | None  # None: only neutral characters (digits, spaces, punctuation)


class _Faces:
    """Picks fonts for characters: the script's Noto font, then Noto Sans, then Noto CJK."""

    def __init__(self, language: str, bold: bool) -> None:
        self.language = language
        self.bold = bold
        self.latin = face_for("a", bold)
        self._cjk: FontFace | None = None

    def cjk(self) -> FontFace | None:
        if self._cjk is None:
            try:
                self._cjk = _cjk_face(face_for("中", self.bold), self.language)
            except FontNotFoundError:
                return None
        return self._cjk

    def for_letter(self, ch: str) -> FontFace:
        return _letter_face(ch, self.language, self.bold, os.environ.get("CITYCARD_FONT_DIRS", ""))

    def for_neutral(self, ch: str, before: FontFace | None, after: FontFace | None) -> FontFace:
        for face in (before, after, self.latin, self.cjk()):
            if face is not None and covers(face, ch):
                return face
        return self.latin  # draws the .notdef box: visible, never silently dropped


@lru_cache(maxsize=8192)
def _letter_face(ch: str, language: str, bold: bool, font_dirs: str) -> FontFace:
    """The face that draws letter `ch`: its script's font, else Noto Sans, else Noto CJK."""
    del font_dirs  # part of the cache key only: fonts found under other directories differ
    try:
        face: FontFace | None = face_for(ch, bold)
    except FontNotFoundError:
        face = None
    if face is not None:
        face = _cjk_face(face, language)
        if covers(face, ch):
            return face
    latin = face_for("a", bold)
    fallbacks: list[FontFace] = [latin]
    with contextlib.suppress(FontNotFoundError):
        fallbacks.append(_cjk_face(face_for("中", bold), language))
    for fallback in fallbacks:
        if covers(fallback, ch):
            return fallback
    if face is None:
        face_for(ch, bold)  # raise the lookup error: it names the Debian package to install
    return face or latin


def _direction(text: str) -> bool | None:
    rtl = ltr = False
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in _RTL_BIDI:
            rtl = True
        elif bidi == "L":
            ltr = True
    if rtl:
        return True
    return False if ltr else None


def char_faces(text: str, language: str, bold: bool = False) -> list[FontFace]:
    """The face that draws each character of `text` (a letter: its script's font when that has
    it, else Noto Sans, else Noto CJK; digits, spaces and punctuation: the face of the letter
    before them, else after them, when it has them, else Noto Sans). `language` picks the Han
    shapes of Noto CJK (`printer.fonts.cjk_index`)."""
    faces = _Faces(language, bold)
    assigned: list[FontFace | None] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            assigned.append(faces.for_letter(ch))
        elif cat[0] == "M" and assigned and assigned[-1] is not None:
            assigned.append(assigned[-1])  # a combining mark stays with its base letter
        else:
            assigned.append(None)
    # Neutral characters join the run before them, else the one after, if its font has them.
    following: list[FontFace | None] = []  # the face of the next letter after each character
    upcoming: FontFace | None = None
    for face in reversed(assigned):
        following.append(upcoming)
        upcoming = face if face is not None else upcoming
    following.reverse()
    resolved: list[FontFace] = []
    for ch, face, after in zip(text, assigned, following, strict=True):
        if face is None:
            face = faces.for_neutral(ch, resolved[-1] if resolved else None, after)
        resolved.append(face)
    return resolved


def font_runs(text: str, language: str, bold: bool = False) -> list[Run]:
    """Cut a line (logical order) into runs that each have one font covering all glyphs."""
    return runs_of(text, char_faces(text, language, bold))


def runs_of(text: str, faces: Sequence[FontFace]) -> list[Run]:
    """A line (logical order) with a face for each character (`char_faces`, or a slice of
    the faces of the text it was wrapped from) cut into runs of one face and one direction."""
    # Directional isolates (LRI/RLI/FSI ... PDI) around a value (a phone number, a URL) make
    # it one unit in their direction, as the bidi algorithm's isolates do.
    forced: list[bool | None] = []
    stack: list[bool | None] = []
    for ch in text:
        if ch == PDI:
            if stack:
                stack.pop()
            forced.append(stack[-1] if stack else None)
            continue
        forced.append(stack[-1] if stack else None)
        if ch in _ISOLATES:
            stack.append(_ISOLATES[ch] if ch != FSI else _first_strong(text, len(forced)))
    runs: list[Run] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or (faces[i], forced[i]) != (faces[start], forced[start]):
            for run in _split_edges(text[start:i], faces[start]):
                direction = forced[start]
                if direction is not None and run.text.strip(_ISOLATE_CHARS):
                    run = Run(run.text, run.face, direction)
                runs.append(run)
            start = i
    return runs


def _first_strong(text: str, start: int) -> bool:
    for ch in text[start:]:
        if ch == PDI:
            break
        bidi = unicodedata.bidirectional(ch)
        if bidi in _RTL_BIDI:
            return True
        if bidi == "L":
            return False
    return False


def _split_edges(piece: str, face: FontFace) -> list[Run]:
    """A run with its leading and trailing neutrals (spaces, dashes, quotes) split off.

    Such neutrals between runs of opposite directions take the paragraph's direction (bidi
    rule N2), so they must be placed by the run reordering, not inside a neighbour's shaping.
    """
    lead = 0
    while lead < len(piece) and unicodedata.bidirectional(piece[lead]) in _EDGE_BIDI:
        lead += 1
    if lead == len(piece):
        return [Run(piece, face, None)]
    end = len(piece)
    while unicodedata.bidirectional(piece[end - 1]) in _EDGE_BIDI:
        end -= 1
    parts = [piece[:lead], piece[lead:end], piece[end:]]
    return [Run(part, face, _direction(part)) for part in parts if part]


def visual_runs(runs: Sequence[Run], rtl_paragraph: bool) -> list[tuple[Run, bool]]:
    """Runs in left-to-right drawing order, each with the direction raqm shapes it in.

    Levels follow the bidi algorithm at run granularity: a right-to-left run is at level 1, a
    left-to-right run at 0 (LTR paragraph) or 2 (RTL paragraph); a run of neutrals takes the
    direction of its neighbours when they agree, else the paragraph's. Rule L2 then reverses
    every maximal sequence at or above each level, from the highest level down to 1.
    """
    dirs: list[bool] = []
    for i, run in enumerate(runs):
        if run.rtl is not None:
            dirs.append(run.rtl)
            continue
        prev = next((r.rtl for r in reversed(runs[:i]) if r.rtl is not None), rtl_paragraph)
        nxt = next((r.rtl for r in runs[i + 1 :] if r.rtl is not None), rtl_paragraph)
        dirs.append(prev if prev == nxt else rtl_paragraph)
    levels = [1 if d else (2 if rtl_paragraph else 0) for d in dirs]
    order = list(range(len(runs)))
    for level in range(max(levels, default=0), 0, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] >= level:
                j = i
                while j < len(order) and levels[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return [(runs[k], dirs[k]) for k in order]


def _layout_args(run: Run, rtl: bool, language: str, faces_latin: FontFace) -> dict[str, str]:
    if not has_raqm():
        return {}
    args = {"direction": "rtl" if rtl else "ltr"}
    if run.face != faces_latin:
        args["language"] = language.split("-")[0]
    return args


class _Line:
    """One laid-out line: its runs in visual order, width and vertical metrics."""

    def __init__(
        self, text: str, style: TextStyle, language: str, rtl_paragraph: bool, ink: bool = True
    ) -> None:
        runs = font_runs(text, language, style.bold)
        if not has_raqm() and any(needs_shaping(r.text) for r in runs):
            raise ShapingUnavailableError(
                f"Text in {script_of(text).title()} needs Pillow with libraqm to be printed: "
                "install the Debian package libfribidi0 (apt-get install libfribidi0), then "
                "print again."
            )
        latin = face_for("a", style.bold)
        self.pieces: list[tuple[str, ImageFont.FreeTypeFont, dict[str, str], float]] = []
        self.ascent = self.descent = 0
        for run, rtl in visual_runs(runs, rtl_paragraph):
            f = font(run.face, style.size)
            args = _layout_args(run, rtl, language, latin)
            width = f.getlength(run.text, **args)  # type: ignore[arg-type]
            self.pieces.append((run.text, f, args, width))
            if ink and run.text.strip():
                _, top, _, bottom = f.getbbox(run.text, anchor="ls", **args)  # type: ignore[arg-type]
                self.ascent = max(self.ascent, -int(top))
                self.descent = max(self.descent, int(bottom))
        # Ink extent, but never tighter than a Latin line: lines keep an even rhythm.
        self.ascent = max(self.ascent, round(style.size * 1.0)) + round(style.size * 0.15)
        self.descent = max(self.descent, round(style.size * 0.3)) + round(style.size * 0.15)
        self.width = sum(p[3] for p in self.pieces)

    @property
    def height(self) -> int:
        return self.ascent + self.descent

    def draw(self, draw: ImageDraw.ImageDraw, x: float, top: int) -> None:
        baseline = top + self.ascent
        for text, f, args, width in self.pieces:
            draw.text((x, baseline), text, font=f, fill=0, anchor="ls", **args)  # type: ignore[arg-type]
            x += width


def _is_wide(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "L" and script_of(ch) in _WIDE_SCRIPTS


def _units(text: str) -> list[str]:
    """Break units: words with their trailing spaces, and single Chinese or Japanese characters.

    A line may break after a space and before or after a CJK character, never before closing
    punctuation (。，) nor after opening punctuation (「（).
    """
    units: list[str] = []
    current = ""
    prev = ""
    for cluster in clusters(text):  # a variation selector stays with its Han character
        ch = cluster[0]
        if current:
            boundary = (prev.isspace() and not ch.isspace()) or (
                not ch.isspace() and (_is_wide(ch) or _is_wide(prev))
            )
            if boundary and ch not in _NO_LINE_START and prev not in _NO_LINE_END:
                units.append(current)
                current = ""
        current += cluster
        prev = ch
    if current:
        units.append(current)
    return units


def _width(text: str, style: TextStyle, language: str, rtl: bool) -> float:
    return _Line(text, style, language, rtl, ink=False).width


def _fits(text: str, style: TextStyle, width: int, language: str, rtl: bool) -> bool:
    return _width(text, style, language, rtl) <= width


def wrap(text: str, style: TextStyle, width: int, language: str) -> list[str]:
    """Lines of `text` (paragraphs split at '\\n') that each fit `width` dots when drawn.

    Break units are measured once each and added up (shaping does not cross a space, and CJK
    does not shape across characters), so wrapping is linear in the length of the text. A
    directional isolate a line breaks inside (a left-to-right address in an Arabic receipt) is
    closed at the line's end and opened again on the next line (`_carry_isolates`).
    """
    rtl = is_rtl_language(language)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = unicodedata.normalize("NFC", paragraph.strip())
        paragraph_lines: list[str] = []
        line: list[str] = []
        used = 0.0
        for unit in _units(paragraph):
            bare = unit.rstrip()
            bare_width = _width(bare, style, language, rtl) if bare else 0.0
            if line and used + bare_width > width:
                paragraph_lines.append("".join(line).rstrip())
                line, used = [], 0.0
            if not line and bare_width > width:
                # One unit wider than the line (a long URL or e-mail): cut it by characters.
                pieces = _split_long(bare, style, width, language, rtl)
                paragraph_lines.extend(pieces[:-1])
                bare = pieces[-1]
                unit = bare + unit[len(unit.rstrip()) :]
            line.append(unit)
            used += _width(unit, style, language, rtl) if unit != bare else bare_width
        paragraph_lines.append("".join(line).rstrip())
        lines.extend(_carry_isolates(paragraph_lines))
    return lines


def _carry_isolates(lines: list[str]) -> list[str]:
    """A paragraph's lines with every isolate (LRI, RLI, FSI) still open at a line's end closed
    there and opened again at the next line's start. Each line is laid out alone: without its
    opener, the continuation of a left-to-right value (an office's address) in an Arabic
    receipt was laid out right to left, its parentheses mirrored. An FSI is reopened as the
    LRI or RLI it resolved to, so the continuation keeps the direction of the whole value."""
    whole = "".join(lines)
    carried: list[str] = []
    out: list[str] = []
    offset = 0
    for line in lines:
        reopened = "".join(carried)
        for i, ch in enumerate(line):
            if ch in _ISOLATES:
                rtl = _ISOLATES[ch] if ch != FSI else _first_strong(whole, offset + i + 1)
                carried.append(RLI if rtl else LRI)
            elif ch == PDI and carried:
                carried.pop()
        out.append(reopened + line + PDI * len(carried))
        offset += len(line)
    return out


def _split_long(text: str, style: TextStyle, width: int, language: str, rtl: bool) -> list[str]:
    pieces: list[str] = []
    current = ""
    for cluster in clusters(text):  # never inside a letter (a base and its marks, a conjunct)
        if current and not _fits(current + cluster, style, width, language, rtl):
            pieces.append(current)
            current = ""
        current += cluster
    pieces.append(current)
    return pieces


@dataclass(frozen=True)
class Paragraph:
    """Text to draw: one style, one alignment; '\\n' starts a new line."""

    text: str
    style: TextStyle
    align: Align = Align.START


def draw_paragraphs(
    paragraphs: Iterable[Paragraph], width: int, margin: int, language: str
) -> Image.Image:
    """Draw paragraphs one under the other on a white image `width` dots wide (mode "L")."""
    rtl = is_rtl_language(language)
    inner = width - 2 * margin
    laid: list[tuple[_Line, Align, int]] = []
    for para in paragraphs:
        lines = wrap(para.text, para.style, inner, language)
        for i, text in enumerate(lines):
            gap = para.style.space_after if i == len(lines) - 1 else 0
            laid.append((_Line(text, para.style, language, rtl), para.align, gap))
    height = max(1, sum(line.height + gap for line, _, gap in laid))
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    y = 0
    for line, align, gap in laid:
        if align is Align.CENTER:
            x = (width - line.width) / 2
        elif (align is Align.START) != rtl:
            x = float(margin)
        else:
            x = width - margin - line.width
        line.draw(draw, x, y)
        y += line.height + gap
    return img


def threshold(img: Image.Image, level: int = 128) -> Image.Image:
    """A crisp 1-bit image of drawn text (no dithering: dithered glyph edges look dirty)."""
    grey = img.convert("L")
    return grey.point([0 if v < level else 255 for v in range(256)], mode="1")


def dither(photo: Image.Image, width: int) -> Image.Image:
    """A photo scaled to `width` dots and Floyd-Steinberg dithered to 1 bit for thermal paper."""
    from PIL import ImageOps

    grey = ImageOps.exif_transpose(photo).convert("L")
    height = max(1, round(grey.height * width / grey.width))
    grey = grey.resize((width, height), Image.Resampling.LANCZOS)
    grey = ImageOps.autocontrast(grey, cutoff=1)
    # Thermal dots spread: lighten mid-tones a little so faces do not print too dark.
    grey = grey.point([min(255, round(255 * (v / 255) ** 0.8)) for v in range(256)])
    return grey.convert("1", dither=Image.Dither.FLOYDSTEINBERG)
