"""The kiosk's languages and their gettext catalogues.

The catalogues are the `.po` files under `kiosk/translations/<lang>/LC_MESSAGES/messages.po`.
They are compiled in memory when the app starts (Babel reads the `.po`, writes the `.mo` into a
buffer, gettext loads it), so the build needs no compile step and nothing is written to disk.
A fuzzy or empty entry is not used (and the catalogue test fails on one).
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # BCP 47 tag, also the catalogue folder name
    name: str  # the language's name in itself
    rtl: bool = False

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


# Every language the kiosk has a complete catalogue for, in the order the start page shows them
# (a programme's own languages are moved to the front).
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
    Language("zh", "中文"),
)
BY_CODE: Mapping[str, Language] = {lang.code: lang for lang in LANGUAGES}
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (it is translated on display)."""
    return message


def po_path(code: str, base: Path = TRANSLATIONS_DIR) -> Path:
    return base / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(path: Path) -> gettext.GNUTranslations:
    """A `.po` file as gettext translations, compiled in memory (fuzzy entries left out)."""
    return _compiled(path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _compiled(path: Path, _mtime_ns: int) -> gettext.GNUTranslations:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=path.parent.parent.name, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Catalogues:
    """The compiled catalogues of the kiosk's languages (English is the source: no catalogue)."""

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

    def get(self, code: str) -> gettext.NullTranslations:
        return self._translations.get(code) or self._translations[SOURCE_LANGUAGE]

    def gettext(self, code: str, message: str) -> str:
        return self.get(code).gettext(message)

    def ngettext(self, code: str, singular: str, plural: str, n: int) -> str:
        return self.get(code).ngettext(singular, plural, n)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._translations)


def ordered_languages(preferred: Iterable[str]) -> list[Language]:
    """All kiosk languages, the programme's own (in its order) first."""
    first = [BY_CODE[c] for c in dict.fromkeys(preferred) if c in BY_CODE]
    return first + [lang for lang in LANGUAGES if lang not in first]
