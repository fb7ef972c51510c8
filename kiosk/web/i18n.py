"""The kiosk UI's languages: the start page's order; the catalogues themselves are `kiosk.i18n`.

The names below are re-exported from `kiosk.i18n` for the UI modules (the rules engine and the
printed texts use the same catalogues, so they live one level down, beside them).
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.i18n import (
    BY_CODE,
    DOMAIN,
    LANGUAGES,
    N_,
    SOURCE_LANGUAGE,
    TRANSLATIONS_DIR,
    Catalogues,
    Language,
    compile_po,
    po_path,
)

__all__ = [
    "BY_CODE",
    "DOMAIN",
    "LANGUAGES",
    "N_",
    "SOURCE_LANGUAGE",
    "TRANSLATIONS_DIR",
    "Catalogues",
    "Language",
    "compile_po",
    "ordered_languages",
    "po_path",
]


def ordered_languages(preferred: Iterable[str]) -> list[Language]:
    """All kiosk languages, the programme's own (in its order) first."""
    first = [BY_CODE[c] for c in dict.fromkeys(preferred) if c in BY_CODE]
    return first + [lang for lang in LANGUAGES if lang not in first]
