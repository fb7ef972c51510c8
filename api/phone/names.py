"""The names the phone page shows for programme ids and entitlement codes (`static/names.json`).

A card carries codes (`zurich`, `culture-discount`); the page shows the programme's own names
for them in the page's language, for every language of `cardio.languages.LANGUAGES`:

- a programme's name is a proper name: the profile's wording in that language, else its English;
- an entitlement's name is the profile's wording in that language (the city's words win), else
  the kiosk catalogue's translation of its English wording (msgctxt "entitlement", the rule of
  `kiosk.profile_texts.complete`), else English.

The profiles (`programs/*.toml`) are read through `cardio.venues.programme_texts`; the kiosk's
`.po` files are read as data (this deployable never imports the kiosk). English is written in
full; another language holds only the names that differ from English (the page falls back to
English name by name). The file is static, so any host serves it beside the page:

    python -m api.phone.names          # writes api/phone/static/names.json
    python -m api.phone.names --check  # exit 1 when the file differs from the profiles

tests/test_phone_page_qr_browser.py keeps the committed file equal to what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardio.languages import LANGUAGES, SOURCE_LANGUAGE
from cardio.venues import PROGRAMS_DIR, programme_texts

NAMES_FILE = Path(__file__).resolve().parent / "static" / "names.json"
ROOT = Path(__file__).resolve().parents[2]
KIOSK_TRANSLATIONS = ROOT / "kiosk" / "translations"
ENTITLEMENT = "entitlement"  # the kiosk catalogue's msgctxt of entitlement names


def po_translations(path: Path, context: str) -> dict[str, str]:
    """{msgid: msgstr} of the entries of a `.po` file under `context` (fuzzy or empty ones
    left out); {} when there is no such file."""
    from babel.messages.pofile import read_po  # only the generators need Babel

    if not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f)
    return {
        m.id: m.string
        for m in catalog
        if m.context == context
        and isinstance(m.id, str)
        and m.id
        and isinstance(m.string, str)
        and m.string
        and not m.fuzzy
    }


def _own(names: dict[str, str], language: str) -> str | None:
    """The profile's own wording in exactly this language (tags compared without case): a
    profile's `zh` is not Traditional Chinese, nor its `pt-BR` every Portuguese."""
    by_lower = {tag.lower(): name for tag, name in names.items()}
    return by_lower.get(language.lower())


def names(
    directory: Path = PROGRAMS_DIR, translations: Path = KIOSK_TRANSLATIONS
) -> dict[str, object]:
    """{"languages": {tag: {"programmes": {id: name}, "entitlements": {id: {code: name}}}}}:
    English in full, every other language only where it differs from English."""
    profiles = []
    for path in sorted(directory.glob("*.toml")):
        texts = programme_texts(path.stem, directory)
        if texts is not None:
            profiles.append((path.stem, texts))
    languages: dict[str, object] = {}
    for lang in LANGUAGES:
        catalogue = (
            {}
            if lang.code == SOURCE_LANGUAGE
            else po_translations(
                translations / lang.code / "LC_MESSAGES" / "messages.po", ENTITLEMENT
            )
        )
        programmes: dict[str, str] = {}
        entitlements: dict[str, dict[str, str]] = {}
        for programme, texts in profiles:
            english = _own(texts.names, SOURCE_LANGUAGE)
            name = _own(texts.names, lang.code) or english
            if name and (lang.code == SOURCE_LANGUAGE or name != english):
                programmes[programme] = name
            ents: dict[str, str] = {}
            for code, wording in texts.entitlements.items():
                english = _own(wording, SOURCE_LANGUAGE)
                name = _own(wording, lang.code) or catalogue.get(english or "") or english
                if name and (lang.code == SOURCE_LANGUAGE or name != english):
                    ents[code] = name
            if ents:
                entitlements[programme] = ents
        entry = {k: v for k, v in (("programmes", programmes), ("entitlements", entitlements)) if v}
        if entry:
            languages[lang.code] = entry
    return {"languages": languages}


def render() -> str:
    return json.dumps(names(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = NAMES_FILE.is_file() and NAMES_FILE.read_text("utf-8") == text
        print(
            "names.json is up to date"
            if same
            else "names.json differs; run python -m api.phone.names"
        )
        return 0 if same else 1
    NAMES_FILE.write_text(text, "utf-8")
    print(NAMES_FILE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
