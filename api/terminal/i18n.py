"""The staff screen's languages and its own gettext catalogues (domain `terminal`).

The terminal may not import the kiosk, so it keeps its catalogues beside itself:
`api/terminal/translations/<lang>/LC_MESSAGES/terminal.po`, one per language of
`cardio.languages.LANGUAGES` (the languages every citycard page offers). They are compiled in
memory when first used, as the kiosk's are: no `.mo` files, no compile step, and fuzzy or
empty entries are never used. `api.terminal.catalogues` extracts, updates and checks them.

Which language answers: the staff member's choice (`?lang=`, then a cookie), else the venue
profile's `language`, else English; a tag falls back to its base language (`pt-BR` -> `pt`),
and Traditional Chinese tags to `zh-Hant`, never to Simplified `zh`.

Dynamic texts (the verdict's sentence, the reader's status, a warning) are stored in English
and translated when a screen is drawn; a text the catalogue does not hold would be shown as it
is, so the reader loop puts none on the screen (`reader_text.problem_sentence`, `unexpected`).
"""

from __future__ import annotations

import gettext
from pathlib import Path

from cardio.gettext_po import compile_po
from cardio.languages import BY_CODE, LANGUAGES, SOURCE_LANGUAGE, Language, match

__all__ = [
    "BY_CODE",
    "DOMAIN",
    "LANGUAGES",
    "N_",
    "SOURCE_LANGUAGE",
    "TRANSLATIONS_DIR",
    "Language",
    "language_for",
    "po_path",
    "translations",
]

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "terminal"




def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when the screen is drawn."""
    return message


def language_for(tag: str | None) -> str | None:
    """The screen language for a BCP 47 tag (itself, Traditional Chinese, its base), or None."""
    return match(tag, BY_CODE) if tag else None


def po_path(code: str, base: Path = TRANSLATIONS_DIR) -> Path:
    return base / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of a screen language (English: the msgids themselves)."""
    path = po_path(code)
    if code == SOURCE_LANGUAGE or code not in BY_CODE or not path.is_file():
        return gettext.NullTranslations()
    return compile_po(path, DOMAIN)
