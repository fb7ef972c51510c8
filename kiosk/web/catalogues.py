"""Keeping the kiosk catalogues in step with the code (Babel).

    python -m kiosk.web.catalogues extract   # kiosk/translations/messages.pot from the sources
    python -m kiosk.web.catalogues update    # merge the template into every language's .po
    python -m kiosk.web.catalogues update de fr  # ... into these languages' only
    python -m kiosk.web.catalogues check     # every message translated, nothing fuzzy (exit 1)

The template holds every text the kiosk shows or prints, extracted with Babel's extractors
(the configuration is `METHOD_MAP`, `OPTIONS`, `KIOSK_FILES` and `KEYWORDS` below): the UI's messages (`_()`
in templates, `N_()`/`_()` in kiosk/web), the rules engine's reasons (`R_()` in
kiosk/i18n_rules.py: the message id is the msgctxt) and the printed receipt and paper card
(`pgettext()` in kiosk/printing.py). Two parts no extractor sees are added as data: the field
labels of the rules texts (`kiosk.programs.FIELDS` through `kiosk.i18n_rules.MESSAGES`) and the
seed profiles' own texts (`kiosk.profile_texts.seed_messages`).
docs/i18n.md describes the whole workflow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

from kiosk.i18n import BY_CODE, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR, po_path
from kiosk.i18n_rules import MESSAGES
from kiosk.profile_texts import seed_messages

KIOSK_DIR = TRANSLATIONS_DIR.parent
WEB_DIR = Path(__file__).resolve().parent
POT = TRANSLATIONS_DIR / f"{DOMAIN}.pot"
# kiosk/web, paths relative to it; files that match no pattern are not read.
METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
# The kiosk's other modules with texts (Python).
KIOSK_FILES = ("i18n_rules.py", "printing.py")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "pgettext": ((1, "c"), 2),
    "R_": ((1, "c"), 2),
}
COMMENT_TAGS = ("Translators:",)


def template_catalog() -> Catalog:
    """Every message the kiosk shows or prints, as a Babel catalogue (no translations)."""
    catalog = Catalog(project="citycard-kiosk", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(WEB_DIR), METHOD_MAP, OPTIONS, KEYWORDS, comment_tags=COMMENT_TAGS
    ):
        if filename.startswith("catalogues") or not message:
            continue
        location = (f"kiosk/web/{filename}", lineno)
        catalog.add(message, locations=[location], auto_comments=comments, context=context)
    for name in KIOSK_FILES:
        for lineno, message, comments, context in extract_from_file(
            "python", KIOSK_DIR / name, KEYWORDS, comment_tags=COMMENT_TAGS
        ):
            location = (f"kiosk/{name}", lineno)
            catalog.add(message, locations=[location], auto_comments=comments, context=context)
        if name == "i18n_rules.py":
            for message_id, message in MESSAGES.items():
                if catalog.get(message, context=message_id) is None:  # kiosk.programs.FIELDS
                    catalog.add(message, locations=[(f"kiosk/{name}", 0)], context=message_id)
    for context, message, where in seed_messages():
        # The profiles' document names, examples, entitlements and disclaimers: data no
        # extractor sees (kiosk.profile_texts).
        found = catalog.get(message, context=context)
        if found is None:
            catalog.add(message, locations=[(where, 0)], context=context)
        elif (where, 0) not in found.locations:
            found.locations.append((where, 0))
    return catalog


def _ids(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(_key(m.id), m.context) for m in catalog if m.id}


def _key(msgid: object) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else str(msgid)


def load_po(code: str, base: Path = TRANSLATIONS_DIR) -> Catalog:
    with po_path(code, base).open("rb") as fh:
        return read_po(fh, locale=code.replace("-", "_"), domain=DOMAIN)


def problems(codes: Iterable[str] | None = None, base: Path = TRANSLATIONS_DIR) -> list[str]:
    """What is missing, empty, fuzzy or stale in the catalogues (empty: all complete)."""
    expected = _ids(template_catalog())
    found: list[str] = []
    for code in codes if codes is not None else BY_CODE:
        path = po_path(code, base)
        if not path.is_file():
            found.append(f"{path}: missing")
            continue
        catalog = load_po(code, base)
        if catalog.fuzzy:
            found.append(f"{path}: the header is fuzzy, so its Plural-Forms would be ignored")
        have = _ids(catalog)
        for msgid, context in sorted(expected - have, key=str):
            found.append(f"{path}: no entry for {context + ': ' if context else ''}{msgid!r}")
        for message in catalog:
            if not message.id:
                continue
            label = f"{message.context + ': ' if message.context else ''}{_key(message.id)!r}"
            if message.fuzzy:
                found.append(f"{path}: fuzzy {label}")
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"{path}: not translated {label}")
            if (_key(message.id), message.context) not in expected:
                found.append(f"{path}: obsolete {label} (run update)")
    return found


def extract() -> Path:
    POT.parent.mkdir(parents=True, exist_ok=True)
    with POT.open("wb") as fh:
        write_po(fh, template_catalog(), width=100, omit_header=False, sort_output=False)
    return POT


def update(codes: Iterable[str] | None = None) -> list[Path]:
    """Merge the template into the catalogues of `codes` (default: every kiosk language)."""
    written = []
    for code in codes if codes is not None else BY_CODE:
        # A fresh template per language: Catalog.update adopts the template's Message objects,
        # so filling the English catalogue would otherwise fill every later one with English.
        template = template_catalog()
        path = po_path(code)
        if path.is_file():
            catalog = load_po(code)
        else:
            catalog = Catalog(locale=code.replace("-", "_"), domain=DOMAIN, project="citycard-kiosk")
        catalog.update(template, no_fuzzy_matching=True)
        # A fuzzy header is left out when the catalogue is compiled, and its Plural-Forms with it.
        catalog.fuzzy = False
        if code == SOURCE_LANGUAGE:
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, ignore_obsolete=True)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "extract":
        print(extract())
    elif command == "update":
        for path in update(args[1:] or None):
            print(path)
    elif command == "check":
        found = problems()
        for line in found:
            print(line)
        print("catalogues complete" if not found else f"{len(found)} problems")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
