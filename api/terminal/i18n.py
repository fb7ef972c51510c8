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
class ScreenLanguage:
    code: str  # BCP 47 tag, also the catalogue folder name
    name: str  # the language's name in itself
    rtl: bool = False

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


# The kiosk's languages, in its order (tests/test_terminal_i18n.py compares the two lists).
LANGUAGES: tuple[ScreenLanguage, ...] = (
    ScreenLanguage("en", "English"),
    ScreenLanguage("fr", "Français"),
    ScreenLanguage("de", "Deutsch"),
    ScreenLanguage("it", "Italiano"),
    ScreenLanguage("es", "Español"),
    ScreenLanguage("pt", "Português"),
    ScreenLanguage("ar", "العربية", rtl=True),
    ScreenLanguage("fa", "فارسی", rtl=True),
    ScreenLanguage("ti", "ትግርኛ"),
    ScreenLanguage("uk", "Українська"),
    ScreenLanguage("tr", "Türkçe"),
    ScreenLanguage("zh", "简体中文"),
    ScreenLanguage("zh-Hant", "繁體中文"),
    ScreenLanguage("ko", "한국어"),
    ScreenLanguage("ja", "日本語"),
    ScreenLanguage("ru", "Русский"),
    ScreenLanguage("pl", "Polski"),
    ScreenLanguage("ro", "Română"),
    ScreenLanguage("nl", "Nederlands"),
    ScreenLanguage("ca", "Català"),
    ScreenLanguage("el", "Ελληνικά"),
    ScreenLanguage("bn", "বাংলা"),
    ScreenLanguage("hi", "हिन्दी"),
    ScreenLanguage("ne", "नेपाली"),
    ScreenLanguage("pa", "ਪੰਜਾਬੀ"),
    ScreenLanguage("ur", "اردو", rtl=True),
    ScreenLanguage("ta", "தமிழ்"),
    ScreenLanguage("ps", "پښتو", rtl=True),
    ScreenLanguage("he", "עברית", rtl=True),
    ScreenLanguage("yi", "ייִדיש", rtl=True),
    ScreenLanguage("ht", "Kreyòl ayisyen"),
    ScreenLanguage("vi", "Tiếng Việt"),
    ScreenLanguage("tl", "Tagalog"),
    ScreenLanguage("sq", "Shqip"),
    ScreenLanguage("sr", "Српски"),
    ScreenLanguage("so", "Soomaali"),
    ScreenLanguage("am", "አማርኛ"),
    ScreenLanguage("wo", "Wolof"),
    ScreenLanguage("ff", "Pulaar"),
)
BY_CODE: Mapping[str, ScreenLanguage] = {lang.code: lang for lang in LANGUAGES}
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
