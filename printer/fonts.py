"""Font lookup for everything citycard prints: one function, `font_for(text, bold)`.

Names come in any script, so the font is chosen by the script of the text: Noto Sans for
Latin, Cyrillic and Greek, Noto Sans Arabic, Hebrew, Ethiopic and the other Noto Sans
families for their scripts, Noto Sans CJK for Chinese, Japanese and Korean. Fonts are found
by path, first in `printer/fonts/` (small OFL fonts shipped with citycard, if any), then in
the directories named by the CITYCARD_FONT_DIRS environment variable (separated by ':'), then
in the Debian font directories (packages fonts-noto-core and fonts-noto-cjk). A missing font
raises `FontNotFoundError` naming the Debian package to install; nothing falls back silently
to a font that would print empty boxes instead of a resident's name.

A text mixing scripts (a Latin label and an Arabic name in one string) gets the font of its
first non-Latin letter: Noto's script fonts other than CJK do not all carry Latin letters or
digits, so what prints such texts (the card, `printer.card_text`, and the receipt,
`printer.raster`) draws them in font runs (`printer.raster.char_faces`: each character with a
face that has it), asking this lookup one letter at a time.

`needs_shaping(text)` says whether the text needs complex layout (right-to-left or joining
scripts): Pillow must then lay it out with libraqm (`PIL.features.check('raqm')`).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cardio.errors import CitycardError

__all__ = [
    "SHIPPED_FONT_DIR",
    "SYSTEM_FONT_DIRS",
    "FontFace",
    "FontNotFoundError",
    "cjk_index",
    "face_for",
    "font_for",
    "han_language",
    "needs_shaping",
    "script_of",
]

SHIPPED_FONT_DIR = Path(__file__).resolve().parent / "fonts"
SYSTEM_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
)

# Scripts whose letters Noto Sans itself carries.
_NOTO_SANS_SCRIPTS = frozenset({"latin", "cyrillic", "greek", "common"})
# Right-to-left or joining scripts that need libraqm (bidi + shaping).
_SHAPED_SCRIPTS = frozenset(
    {
        "arabic", "hebrew", "syriac", "thaana", "nko", "devanagari", "bengali", "gurmukhi",
        "gujarati", "oriya", "tamil", "telugu", "kannada", "malayalam", "sinhala", "thai",
        "lao", "tibetan", "myanmar", "khmer", "mongolian",
    }
)
# Noto family stem per script (default: "NotoSans" + the script name in title case).
_FAMILY = {
    "arabic": "NotoSansArabic",
    "hebrew": "NotoSansHebrew",
    "ethiopic": "NotoSansEthiopic",
    "armenian": "NotoSansArmenian",
    "georgian": "NotoSansGeorgian",
    "nko": "NotoSansNKo",
    "canadianaboriginal": "NotoSansCanadianAboriginal",
}
# Faces inside NotoSansCJK-*.ttc, in the order Debian's fonts-noto-cjk builds them.
_CJK_INDEX = {"japanese": 0, "korean": 1, "han": 2}
_CJK_SCRIPTS = frozenset(_CJK_INDEX)
_PACKAGE = {"cjk": "fonts-noto-cjk"}

# First word(s) of a Unicode character name -> script.
_NAME_PREFIX = (
    ("CJK ", "han"),
    ("IDEOGRAPHIC", "han"),  # 々 in 佐々木
    ("BOPOMOFO", "han"),
    ("HIRAGANA", "japanese"),
    ("KATAKANA", "japanese"),
    ("HANGUL", "korean"),
    ("LATIN", "latin"),
    ("CYRILLIC", "cyrillic"),
    ("GREEK", "greek"),
    ("ARABIC", "arabic"),
    ("HEBREW", "hebrew"),
    ("ETHIOPIC", "ethiopic"),
    ("ARMENIAN", "armenian"),
    ("GEORGIAN", "georgian"),
    ("SYRIAC", "syriac"),
    ("THAANA", "thaana"),
    ("NKO", "nko"),
    ("DEVANAGARI", "devanagari"),
    ("BENGALI", "bengali"),
    ("GURMUKHI", "gurmukhi"),
    ("GUJARATI", "gujarati"),
    ("ORIYA", "oriya"),
    ("TAMIL", "tamil"),
    ("TELUGU", "telugu"),
    ("KANNADA", "kannada"),
    ("MALAYALAM", "malayalam"),
    ("SINHALA", "sinhala"),
    ("THAI", "thai"),
    ("LAO", "lao"),
    ("TIBETAN", "tibetan"),
    ("MYANMAR", "myanmar"),
    ("KHMER", "khmer"),
    ("MONGOLIAN", "mongolian"),
    ("TIFINAGH", "tifinagh"),
    ("CHEROKEE", "cherokee"),
    ("CANADIAN SYLLABICS", "canadianaboriginal"),
    # Script-neutral letters Noto Sans carries: the Hawaiian ʻokina, ʼ in Nuu-chah-nulth names.
    ("MODIFIER LETTER", "common"),
    ("SUPERSCRIPT", "common"),
    ("SUBSCRIPT", "common"),
)


class FontNotFoundError(CitycardError):
    """No installed font can print this script; the message names the package to install."""


@dataclass(frozen=True)
class FontFace:
    """A font file and the face inside it (TrueType collections hold several)."""

    path: Path
    index: int = 0


def _char_script(ch: str) -> str:
    category = unicodedata.category(ch)
    if not category.startswith(("L", "M")):
        return "common"
    if ord(ch) < 0x250:
        # Latin-1 and Latin Extended: includes º and ª, whose names ("MASCULINE ORDINAL
        # INDICATOR") name no script ("Nº 12" on a Spanish card).
        return "latin"
    name = unicodedata.name(ch, "")
    for prefix, script in _NAME_PREFIX:
        if name.startswith(prefix):
            return script
    if name.startswith(("FULLWIDTH", "HALFWIDTH")):
        return "han"
    if category[0] == "M":
        # A mark that names no script (COMBINING GRAVE ACCENT on ọ̀ in Yoruba, a variation
        # selector) is drawn with its base letter's font: it decides nothing itself.
        return "common"
    first = name.split(" ", 1)[0]
    return first.lower() if first else "common"


def script_of(text: str) -> str:
    """The script that decides the font: the first letter that is not Latin/Cyrillic/Greek.

    Returns "latin" for text with no letters (digits, dates, punctuation). Japanese kana or
    Korean hangul anywhere in the text make Han characters Japanese or Korean.
    """
    found = "latin"
    for ch in text:
        script = _char_script(ch)
        if script in ("japanese", "korean"):
            return script
        outranks = found in _NOTO_SANS_SCRIPTS and script not in _NOTO_SANS_SCRIPTS
        if outranks or (found == "latin" and script in ("cyrillic", "greek")):
            found = script
    return found


def needs_shaping(text: str) -> bool:
    """True when the text holds a right-to-left or joining script (needs libraqm)."""
    return any(_char_script(ch) in _SHAPED_SCRIPTS for ch in text)


def _dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("CITYCARD_FONT_DIRS", "").split(":") if p]
    return [SHIPPED_FONT_DIR, *extra, *SYSTEM_FONT_DIRS]


def _find(names: list[str]) -> Path | None:
    for directory in _dirs():
        for name in names:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def cjk_index(script: str, language: str | None) -> int:
    """The face of NotoSansCJK-*.ttc for CJK text: kana or hangul decide, else the text's
    language (BCP 47) when known, so 直 and 骨 get Japanese or Traditional Chinese shapes."""
    tag = (language or "").replace("_", "-").lower()
    if script != "han" or not tag:
        return _CJK_INDEX[script]
    if tag.startswith(("zh-hant-hk", "zh-hk", "zh-mo")):
        return 4
    if tag.startswith(("zh-hant", "zh-tw")):
        return 3
    base = tag.split("-")[0]
    if base == "ja":
        return _CJK_INDEX["japanese"]
    return _CJK_INDEX["korean"] if base == "ko" else _CJK_INDEX["han"]


def han_language(languages: Iterable[str]) -> str | None:
    """The first of `languages` (BCP 47) written with Han characters: Chinese, Japanese or
    Korean. A text in several languages ("Name / 姓名") takes its Han shapes from it."""
    for code in languages:
        if code.replace("_", "-").split("-")[0].lower() in ("zh", "ja", "ko"):
            return code
    return None


@lru_cache(maxsize=128)
def _face(script: str, bold: bool, dirs: tuple[Path, ...], language: str | None = None) -> FontFace:
    weight = "Bold" if bold else "Regular"
    if script in _CJK_SCRIPTS:
        names = [f"NotoSansCJK-{weight}.ttc", "NotoSansCJK-Regular.ttc"]
        path = _find(names)
        if path is not None:
            return FontFace(path, cjk_index(script, language))
        package = _PACKAGE["cjk"]
    else:
        if script in _NOTO_SANS_SCRIPTS:
            stem = "NotoSans"
        else:
            stem = _FAMILY.get(script, "NotoSans" + script.title().replace(" ", ""))
        names = [f"{stem}-{weight}.ttf", f"{stem}-Regular.ttf", f"{stem}-{weight}.otf"]
        if stem.startswith("NotoSans") and script not in _NOTO_SANS_SCRIPTS:
            # Some scripts come only as Noto Serif in Debian (fonts-noto-core has Noto Serif
            # Tibetan, no Noto Sans Tibetan): better a serif face than no name at all.
            serif = "NotoSerif" + stem.removeprefix("NotoSans")
            names += [f"{serif}-{weight}.ttf", f"{serif}-Regular.ttf"]
        if script in _NOTO_SANS_SCRIPTS:
            names += [f"DejaVuSans{'-Bold' if bold else ''}.ttf", "DejaVuSans.ttf"]
        path = _find(names)
        if path is not None:
            return FontFace(path)
        package = "fonts-noto-core"
    searched = ", ".join(str(d) for d in dirs)
    raise FontNotFoundError(
        f"No font can print {script.title()} text: {names[0]} was not found in {searched}. "
        f"Install the Debian package {package} (apt-get install {package}) or put an OFL font "
        f"named {names[0]} in {SHIPPED_FONT_DIR}."
    )


def face_for(text: str, bold: bool = False, language: str | None = None) -> FontFace:
    """The font file and face index that print `text` (see `font_for`); `language`, when
    known, picks the Chinese, Japanese or Korean shapes of Han characters (`cjk_index`)."""
    return _face(script_of(text), bold, tuple(_dirs()), language)


def font_for(text: str, bold: bool = False) -> Path:
    """The path of a font that prints `text` (its script decides); FontNotFoundError if none.

    For CJK text the path is a TrueType collection: use `face_for(text).index` to pick the
    Chinese, Japanese or Korean face (Pillow: `ImageFont.truetype(path, size, index=...)`).
    """
    return face_for(text, bold).path
