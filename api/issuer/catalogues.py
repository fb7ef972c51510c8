"""Keeping the issuer pages' catalogues in step with the code (Babel).

    python -m api.issuer.catalogues extract   # api/issuer/translations/messages.pot
    python -m api.issuer.catalogues update    # merge it into every language's .po
    python -m api.issuer.catalogues check     # complete, nothing fuzzy or stale (exit 1)

Extraction (`METHOD_MAP`, `KEYWORDS`): `_()` in the templates, `N_()` in the lost-card page's
module and the desk's modules. Two parts with two promises (api.issuer.page_i18n): the lost-card
page's messages (templates/lost, templates/base.html, routes_lost.py) are needed in every kiosk
language; the desk's (templates/desk, desk/) in `DESK_LANGUAGES`. A language's catalogue holds
exactly the messages it needs; English has msgstr = msgid. docs/i18n.md has the workflow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .page_i18n import BY_CODE, DESK_LANGUAGES, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR, po_path

ISSUER_DIR = Path(__file__).resolve().parent
POT = TRANSLATIONS_DIR / f"{DOMAIN}.pot"
METHOD_MAP = [
    ("routes_lost.py", "python"),
    ("desk/**.py", "python"),
    ("templates/**.html", "jinja2"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "N_": None}
COMMENT_TAGS = ("Translators:",)
_LOST_PLACES = ("routes_lost.py", "templates/lost/", "templates/base.html")

Key = tuple[str, str | None]


def template_catalog() -> Catalog:
    """Every message of the issuer's pages (no translations)."""
    catalog = Catalog(project="citycard-issuer", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ISSUER_DIR), METHOD_MAP, OPTIONS, KEYWORDS, comment_tags=COMMENT_TAGS
    ):
        if not message or filename.startswith("catalogues"):
            continue
        location = (f"api/issuer/{filename}", lineno)
        catalog.add(message, locations=[location], auto_comments=comments, context=context)
    return catalog


def is_lost_message(locations: Iterable[tuple[str, int | None]]) -> bool:
    """True for a message the lost-card page shows (needed in every language)."""
    return any(path.removeprefix("api/issuer/").startswith(_LOST_PLACES) for path, _ in locations)


def needed(code: str, template: Catalog | None = None) -> set[Key]:
    """The messages language `code` must translate."""
    template = template or template_catalog()
    desk = code in DESK_LANGUAGES
    return {
        (_key(m.id), m.context)
        for m in template
        if m.id and (desk or is_lost_message(m.locations))
    }


def _key(msgid: object) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else str(msgid)


def load_po(code: str, base: Path = TRANSLATIONS_DIR) -> Catalog:
    with po_path(code, base).open("rb") as fh:
        return read_po(fh, locale=code.replace("-", "_"), domain=DOMAIN)


def problems(codes: Iterable[str] | None = None, base: Path = TRANSLATIONS_DIR) -> list[str]:
    """What is missing, empty, fuzzy or stale in the catalogues (empty: all complete)."""
    template = template_catalog()
    found: list[str] = []
    for code in codes if codes is not None else BY_CODE:
        path = po_path(code, base)
        if not path.is_file():
            found.append(f"{path}: missing")
            continue
        expected = needed(code, template)
        catalog = load_po(code, base)
        have = {(_key(m.id), m.context) for m in catalog if m.id}
        for msgid, context in sorted(expected - have, key=str):
            found.append(f"{path}: no entry for {context + ': ' if context else ''}{msgid!r}")
        for message in catalog:
            if not message.id:
                continue
            label = f"{message.context + ': ' if message.context else ''}{_key(message.id)!r}"
            if message.fuzzy:
                found.append(f"{path}: fuzzy {label}")
            if not message.string or not str(message.string).strip():
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
    """Merge the template into the catalogues of `codes` (default: every language): each gets
    the messages it needs (new ones with an empty msgstr; English: msgstr = msgid)."""
    written = []
    for code in codes if codes is not None else BY_CODE:
        template = template_catalog()  # a fresh one each time: Catalog.update adopts messages
        keep = needed(code, template)
        for message in list(template):
            if message.id and (_key(message.id), message.context) not in keep:
                template.delete(message.id, message.context)
        path = po_path(code)
        if path.is_file():
            catalog = load_po(code)
        else:
            catalog = Catalog(
                locale=code.replace("-", "_"), domain=DOMAIN, project="citycard-issuer"
            )
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
