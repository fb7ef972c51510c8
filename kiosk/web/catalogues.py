"""Keeping the kiosk catalogues in step with the code (Babel).

    python -m kiosk.web.catalogues extract   # kiosk/translations/messages.pot from the sources
    python -m kiosk.web.catalogues update    # merge the template into every language's .po
    python -m kiosk.web.catalogues check     # every message translated, nothing fuzzy (exit 1)

The template holds the messages of the kiosk UI (`_()` in templates, `N_()` in kiosk/web) and
every text of the rules engine (`kiosk.i18n_rules.MESSAGES`, with the reason id as context).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .i18n import BY_CODE, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR, po_path
from .rules_text import rule_messages

WEB_DIR = Path(__file__).resolve().parent
POT = TRANSLATIONS_DIR / f"{DOMAIN}.pot"
METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def template_catalog() -> Catalog:
    """Every message the kiosk shows, as a Babel catalogue (no translations)."""
    catalog = Catalog(project="citycard-kiosk", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(WEB_DIR), METHOD_MAP, OPTIONS, KEYWORDS, comment_tags=("Translators:",)
    ):
        if filename.startswith("catalogues") or not message:
            continue
        catalog.add(
            message,
            locations=[(f"kiosk/web/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    for context, message in rule_messages():
        catalog.add(message, locations=[("kiosk/i18n_rules.py", 0)], context=context)
    return catalog


def _ids(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(_key(m.id), m.context) for m in catalog if m.id}


def _key(msgid: object) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else str(msgid)


def load_po(code: str, base: Path = TRANSLATIONS_DIR) -> Catalog:
    with po_path(code, base).open("rb") as fh:
        return read_po(fh, locale=code, domain=DOMAIN)


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


def update() -> list[Path]:
    template = template_catalog()
    written = []
    for code in BY_CODE:
        path = po_path(code)
        if path.is_file():
            catalog = load_po(code)
        else:
            catalog = Catalog(locale=code, domain=DOMAIN, project="citycard-kiosk")
        catalog.update(template, no_fuzzy_matching=True)
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
        for path in update():
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
