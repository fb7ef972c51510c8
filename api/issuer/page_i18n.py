"""Languages and catalogues of the issuer's pages (the lost-card page and the service desk).

The issuer may not import the kiosk, so it keeps its own copy of the kiosk's language list
(`LANGUAGES`, the same codes, names and directions as `kiosk.i18n.LANGUAGES`;
tests/test_issuer_catalogues.py fails when the two differ) and its own catalogues:
`api/issuer/translations/<code>/LC_MESSAGES/messages.po`, compiled in memory on first use (no
`.mo` files). `api.issuer.catalogues` keeps them in step with the code.

The lost-card page is complete in every language. The service desk is for city staff and is
translated into `DESK_LANGUAGES` (English and the languages of the programmes' own cities);
its texts show in English in any other language.

Which language answers: `?lang=` (or the form's `lang` field) when it names one of ours, else
the browser's Accept-Language, best first, each tag tried as itself, then (except Traditional
Chinese) its base language; English last.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class PageLanguage:
    code: str  # BCP 47 tag, also the catalogue folder name
    name: str  # the language's name in itself
    rtl: bool = False

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


# The kiosk's languages, in the kiosk's order (a copy: see the module docstring).
LANGUAGES: tuple[PageLanguage, ...] = (
    PageLanguage("en", "English"),
    PageLanguage("fr", "Français"),
    PageLanguage("de", "Deutsch"),
    PageLanguage("it", "Italiano"),
    PageLanguage("es", "Español"),
    PageLanguage("pt", "Português"),
    PageLanguage("ar", "العربية", rtl=True),
    PageLanguage("fa", "فارسی", rtl=True),
    PageLanguage("ti", "ትግርኛ"),
    PageLanguage("uk", "Українська"),
    PageLanguage("tr", "Türkçe"),
    PageLanguage("zh", "简体中文"),
    PageLanguage("zh-Hant", "繁體中文"),
    PageLanguage("ko", "한국어"),
    PageLanguage("ja", "日本語"),
    PageLanguage("ru", "Русский"),
    PageLanguage("pl", "Polski"),
    PageLanguage("ro", "Română"),
    PageLanguage("nl", "Nederlands"),
    PageLanguage("ca", "Català"),
    PageLanguage("el", "Ελληνικά"),
    PageLanguage("bn", "বাংলা"),
    PageLanguage("hi", "हिन्दी"),
    PageLanguage("ne", "नेपाली"),
    PageLanguage("pa", "ਪੰਜਾਬੀ"),
    PageLanguage("ur", "اردو", rtl=True),
    PageLanguage("ta", "தமிழ்"),
    PageLanguage("ps", "پښتو", rtl=True),
    PageLanguage("he", "עברית", rtl=True),
    PageLanguage("yi", "ייִדיש", rtl=True),
    PageLanguage("ht", "Kreyòl ayisyen"),
    PageLanguage("vi", "Tiếng Việt"),
    PageLanguage("tl", "Tagalog"),
    PageLanguage("sq", "Shqip"),
    PageLanguage("sr", "Српски"),
    PageLanguage("so", "Soomaali"),
    PageLanguage("am", "አማርኛ"),
    PageLanguage("wo", "Wolof"),
    PageLanguage("ff", "Pulaar"),
)
BY_CODE = {lang.code: lang for lang in LANGUAGES}
DESK_LANGUAGES = ("en", "de", "fr", "es", "nl", "ca", "it")
"""The service desk's languages: English and those of the programmes' own cities."""

_TRADITIONAL_CHINESE = {"zh-hant", "zh-tw", "zh-hk", "zh-mo", "zh-hant-tw", "zh-hant-hk"}
_BY_LOWER = {code.lower(): code for code in BY_CODE}


def po_path(code: str, base: Path = TRANSLATIONS_DIR) -> Path:
    return base / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def known(tag: str, among: Iterable[str] = BY_CODE) -> str | None:
    """Our code for a language tag (itself, else its base language), or None."""
    allowed = {code.lower(): code for code in among}
    lower = tag.strip().lower().replace("_", "-")
    if lower in _TRADITIONAL_CHINESE:
        return allowed.get("zh-hant")
    if lower in allowed:
        return allowed[lower]
    return allowed.get(lower.split("-", 1)[0])


def choose(among: Iterable[str] = BY_CODE) -> str:
    """The language of this request's page (see the module docstring)."""
    codes = tuple(among)
    asked = request.values.get("lang", "")
    if asked and len(asked) <= 16:
        found = known(asked, codes)
        if found:
            return found
    for tag, _quality in request.accept_languages:
        found = known(tag, codes)
        if found:
            return found
    return SOURCE_LANGUAGE


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of `code` (English: the msgids themselves)."""
    path = po_path(code)
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=code.replace("-", "_"), domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
