"""Keeping the staff screen's catalogues in step with the code (Babel), as the kiosk does.

    python -m api.terminal.catalogues extract   # api/terminal/translations/terminal.pot
    python -m api.terminal.catalogues update    # merge it into every language's .po
    python -m api.terminal.catalogues check     # every message translated, nothing fuzzy

Extracted: `_()`/`pgettext()` in the templates and `N_()` in the terminal's Python modules.
Added as data, because no extractor sees them: the verdict sentences of `cardio.verdict`
(msgctxt "verdict"), the claim labels of `cardio.venues.LABELS` ("field"), the entitlement
labels and titles of the shipped venue profiles ("venue") and the fixed warnings a verdict can carry
("warning"). docs/reader-terminal.md ("Languages") describes the workflow.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from cardio.trust_sync import NO_TRUST_LIST
from cardio.venues import LABELS, VENUES_DIR
from cardio.verdict import Verdict
from cardio.verify import CHIP_NOT_CHECKED, COMPARE_PRINTED_CARD

from .i18n import BY_CODE, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR, po_path

TERMINAL_DIR = Path(__file__).resolve().parent
POT = TRANSLATIONS_DIR / f"{DOMAIN}.pot"
METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "N_": None, "pgettext": ((1, "c"), 2)}
COMMENT_TAGS = ("Translators:",)
# cardio.verify's warning on a list past its ttl (a literal there; test_terminal_i18n.py
# checks that a verdict still carries exactly this text).
REFRESH_DUE = "The revocation list is due for a refresh; connect the reader soon."
WARNINGS = (COMPARE_PRINTED_CARD, CHIP_NOT_CHECKED, REFRESH_DUE, NO_TRUST_LIST)


def data_messages() -> Iterator[tuple[str, str, str]]:
    """(context, message, where) for the texts that are data, not marked code."""
    for verdict in Verdict:
        yield "verdict", verdict.sentence, "cardio/verdict.py"
    for label in LABELS.values():
        yield "field", label, "cardio/venues.py"
    for warning in WARNINGS:
        yield "warning", warning, "cardio/verify.py"
    for path in sorted(VENUES_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        yield "venue", data["title"], f"venues/{path.name}"
        for entry in data.get("entitlements", []):
            yield "venue", entry["label"], f"venues/{path.name}"


def template_catalog() -> Catalog:
    """Every message the staff screen shows, as a Babel catalogue (no translations)."""
    catalog = Catalog(project="citycard-terminal", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(TERMINAL_DIR), METHOD_MAP, OPTIONS, KEYWORDS, comment_tags=COMMENT_TAGS
    ):
        if filename.startswith("catalogues") or not message:
            continue
        location = (f"api/terminal/{filename}", lineno)
        catalog.add(message, locations=[location], auto_comments=comments, context=context)
    for context, message, where in data_messages():
        found = catalog.get(message, context=context)
        if found is None:
            catalog.add(message, locations=[(where, 0)], context=context)
    return catalog


def _key(msgid: object) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else str(msgid)


def _ids(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(_key(m.id), m.context) for m in catalog if m.id}


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
        for msgid, context in sorted(expected - _ids(catalog), key=str):
            found.append(f"{path}: no entry for {context + ': ' if context else ''}{msgid!r}")
        for message in catalog:
            if not message.id:
                continue
            label = f"{message.context + ': ' if message.context else ''}{_key(message.id)!r}"
            if message.fuzzy:
                found.append(f"{path}: fuzzy {label}")
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(isinstance(s, str) and s.strip() for s in strings):
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
    written = []
    for code in BY_CODE:
        template = template_catalog()  # fresh per language: update() adopts its messages
        path = po_path(code)
        if path.is_file():
            catalog = load_po(code)
        else:
            catalog = Catalog(locale=code.replace("-", "_"), domain=DOMAIN, project="citycard-terminal")
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
