"""Languages and catalogues of the issuer's pages (the lost-card page and the service desk).

The languages are those every citycard page offers (`cardio.languages.LANGUAGES`); the issuer
keeps its own catalogues:
`api/issuer/translations/<code>/LC_MESSAGES/messages.po`, compiled in memory on first use (no
`.mo` files). `api.issuer.catalogues` keeps them in step with the code.

The lost-card page is complete in every language. The service desk is for city staff and is
translated into `DESK_LANGUAGES` (English and the languages of the programmes' own cities);
its texts show in English in any other language.

Which language answers: `?lang=` (or the form's `lang` field) when it names one of ours, else
(on the desk) the language last chosen so, kept in a cookie, else the browser's
Accept-Language, best first, each tag matched by `cardio.languages.match` (itself, then its
base language; Traditional Chinese to zh-Hant); English last.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterable
from pathlib import Path

from flask import request

from cardio.gettext_po import compile_po
from cardio.languages import BY_CODE, LANGUAGES, SOURCE_LANGUAGE, match

__all__ = [
    "BY_CODE",
    "DESK_LANGUAGES",
    "DOMAIN",
    "LANGUAGES",
    "SOURCE_LANGUAGE",
    "TRANSLATIONS_DIR",
    "asked_for",
    "choose",
    "known",
    "po_path",
    "translations",
]

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


DESK_LANGUAGES = ("en", "de", "fr", "es", "nl", "ca", "it")
"""The service desk's languages: English and those of the programmes' own cities."""



def N_(message: str) -> str:
    """Mark a message for the catalogues; it is translated when the page is made."""
    return message


def po_path(code: str, base: Path = TRANSLATIONS_DIR) -> Path:
    return base / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def known(tag: str, among: Iterable[str] = BY_CODE) -> str | None:
    """Our code for a language tag (itself, else its base language; Traditional Chinese to
    zh-Hant), or None (`cardio.languages.match`)."""
    return match(tag, among)


def asked_for(among: Iterable[str] = BY_CODE, read_body: bool = True) -> str | None:
    """The language `?lang=` (or the form's `lang` field) names, when it is one of `among`."""
    try:
        asked = (request.values if read_body else request.args).get("lang", "")
    except UnicodeDecodeError:  # ?lang=%FF: no language of ours, not a bad request
        return None
    if asked and len(asked) <= 16:
        return known(asked, tuple(among))
    return None


def choose(
    among: Iterable[str] = BY_CODE, read_body: bool = True, cookie: str | None = None
) -> str:
    """The language of this request's page (see the module docstring). Without `read_body`
    the form's `lang` field is not looked at (a body over the size limit is never read).
    With `cookie`, a language remembered there comes after `?lang=` and before the browser's."""
    codes = tuple(among)
    found = asked_for(codes, read_body)
    if found:
        return found
    if cookie is not None and request.cookies.get(cookie) in codes:
        return str(request.cookies[cookie])
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
    return compile_po(path, DOMAIN)
