"""The kiosk's languages and their gettext catalogues: every text a person reads lives there.

The catalogues are the `.po` files under `kiosk/translations/<lang>/LC_MESSAGES/messages.po`
(docs/i18n.md says how to add a language and keep them in step with the code). They are
compiled in memory when first used (Babel reads the `.po`, writes the `.mo` into a buffer,
gettext loads it), so the build needs no compile step and nothing is written to disk. A fuzzy
or empty entry is not used (and the catalogue test fails on one).

Python code holds message ids only: the kiosk UI marks its msgids with `N_`/`_`, the rules
engine's reasons with `R_` (`kiosk.i18n_rules`: the reason's id is the msgctxt), and the printed
receipt and paper card (`kiosk.printing`) call `pgettext` with a context. Which catalogue
answers a language is the one rule of `kiosk.languages.best_available`.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterable, Sequence
from pathlib import Path

from cardio import gettext_po
from cardio.languages import BY_CODE, LANGUAGES, SOURCE_LANGUAGE, Language, best_available

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
    "po_path",
    "shared_catalogues",
]

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"




def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (it is translated on display)."""
    return message


def po_path(code: str, base: Path = TRANSLATIONS_DIR) -> Path:
    return base / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(path: Path) -> gettext.GNUTranslations:
    """A `.po` file as gettext translations, compiled in memory (fuzzy entries left out)."""
    return gettext_po.compile_po(path, DOMAIN)


class Catalogues:
    """The compiled catalogues of the kiosk's languages.

    `get` picks the catalogue for a language tag by `kiosk.languages.best_available` (the tag,
    its base language, the programme's first language, English). A message a catalogue lacks
    shows as its msgid, the English source text; the catalogue test keeps that from happening.
    """

    def __init__(self, codes: Iterable[str] | None = None, base: Path = TRANSLATIONS_DIR) -> None:
        self._translations: dict[str, gettext.NullTranslations] = {}
        for code in codes if codes is not None else BY_CODE:
            path = po_path(code, base)
            if path.is_file():
                self._translations[code] = compile_po(path)
            elif code == SOURCE_LANGUAGE:
                self._translations[code] = gettext.NullTranslations()
            else:
                raise FileNotFoundError(f"{path} is missing: the {code!r} catalogue is needed.")
        if SOURCE_LANGUAGE not in self._translations:
            # English is the msgids themselves: the end of every fallback chain.
            self._translations[SOURCE_LANGUAGE] = gettext.NullTranslations()

    def language(self, code: str, programme_languages: Sequence[str] = ()) -> str:
        """The catalogue that answers `code` (a BCP 47 tag) under the fallback rule."""
        found = best_available(code, self._translations, programme_languages)
        return found if found is not None else SOURCE_LANGUAGE

    def get(self, code: str, programme_languages: Sequence[str] = ()) -> gettext.NullTranslations:
        return self._translations[self.language(code, programme_languages)]

    def gettext(self, code: str, message: str) -> str:
        return self.get(code).gettext(message)

    def ngettext(self, code: str, singular: str, plural: str, n: int) -> str:
        return self.get(code).ngettext(singular, plural, n)

    def pgettext(self, code: str, context: str, message: str) -> str:
        return self.get(code).pgettext(context, message)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._translations)


@functools.cache
def shared_catalogues() -> Catalogues:
    """The catalogues of every kiosk language, compiled once per process (the rules engine's
    reasons and the printed texts use them; the web app keeps its own instance)."""
    return Catalogues()


def ordered_languages(preferred: Iterable[str]) -> list[Language]:
    """All kiosk languages, the programme's own (in its order) first (the start page)."""
    first = [BY_CODE[c] for c in dict.fromkeys(preferred) if c in BY_CODE]
    return first + [lang for lang in LANGUAGES if lang not in first]
