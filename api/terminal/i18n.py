"""The staff screen's languages and its own gettext catalogues (domain `terminal`).

The terminal may not import the kiosk, so it keeps its catalogues beside itself:
`api/terminal/translations/<lang>/LC_MESSAGES/terminal.po`, one per language of `LANGUAGES`
(the same languages the kiosk offers; a test keeps the two lists equal). They are compiled in
memory when first used, as the kiosk's are: no `.mo` files, no compile step, and fuzzy or
empty entries are never used. `api.terminal.catalogues` extracts, updates and checks them.

Which language answers: the staff member's choice (`?lang=`, then a cookie), else the venue
profile's `language`, else English; a tag falls back to its base language (`pt-BR` -> `pt`),
and Traditional Chinese tags to `zh-Hant`, never to Simplified `zh`.

Dynamic texts (the verdict's sentence, the reader's status, a warning) are stored in English
and translated when a screen is drawn; a text the catalogue does not hold (an error from a
reader driver, say) is shown as it is.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "terminal"
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # BCP 47 tag, also the catalogue folder name
    name: str  # the language's name in itself
    rtl: bool = False

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


# The kiosk's languages, in its order (tests/test_terminal_i18n.py compares the two lists).
LANGUAGES: tuple[Language, ...] = (
    Language("en", "English"),
    Language("fr", "Français"),
    Language("de", "Deutsch"),
    Language("it", "Italiano"),
    Language("es", "Español"),
    Language("pt", "Português"),
    Language("ar", "العربية", rtl=True),
    Language("fa", "فارسی", rtl=True),
    Language("ti", "ትግርኛ"),
    Language("uk", "Українська"),
    Language("tr", "Türkçe"),
    Language("zh", "简体中文"),
    Language("zh-Hant", "繁體中文"),
    Language("ko", "한국어"),
    Language("ja", "日本語"),
    Language("ru", "Русский"),
    Language("pl", "Polski"),
    Language("ro", "Română"),
    Language("nl", "Nederlands"),
    Language("ca", "Català"),
    Language("el", "Ελληνικά"),
    Language("bn", "বাংলা"),
    Language("hi", "हिन्दी"),
    Language("ne", "नेपाली"),
    Language("pa", "ਪੰਜਾਬੀ"),
    Language("ur", "اردو", rtl=True),
    Language("ta", "தமிழ்"),
    Language("ps", "پښتو", rtl=True),
    Language("he", "עברית", rtl=True),
    Language("yi", "ייִדיש", rtl=True),
    Language("ht", "Kreyòl ayisyen"),
    Language("vi", "Tiếng Việt"),
    Language("tl", "Tagalog"),
    Language("sq", "Shqip"),
    Language("sr", "Српски"),
    Language("so", "Soomaali"),
    Language("am", "አማርኛ"),
    Language("wo", "Wolof"),
    Language("ff", "Pulaar"),
)
BY_CODE: Mapping[str, Language] = {lang.code: lang for lang in LANGUAGES}
_BY_LOWER = {code.lower(): code for code in BY_CODE}
_TRADITIONAL = {"zh-hant", "zh-tw", "zh-hk", "zh-mo", "zh-hant-tw", "zh-hant-hk"}


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when the screen is drawn."""
    return message


def language_for(tag: str | None) -> str | None:
    """The screen language for a BCP 47 tag (itself, Traditional Chinese, its base), or None."""
    if not tag:
        return None
    lower = tag.strip().lower()
    if lower in _BY_LOWER:
        return _BY_LOWER[lower]
    if lower in _TRADITIONAL:
        return "zh-Hant"
    return _BY_LOWER.get(lower.split("-", 1)[0])


def po_path(code: str, base: Path = TRANSLATIONS_DIR) -> Path:
    return base / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=64)
def _compiled(path: Path, _mtime_ns: int) -> gettext.GNUTranslations:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=path.parent.parent.name.replace("-", "_"), domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of a screen language (English: the msgids themselves)."""
    path = po_path(code)
    if code == SOURCE_LANGUAGE or code not in BY_CODE or not path.is_file():
        return gettext.NullTranslations()
    return _compiled(path.resolve(), path.stat().st_mtime_ns)
