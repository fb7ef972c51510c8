"""The phone pages' generated files: the wallet page's words (`texts.json`) and programme
names (`programmes.json`), and the verification and venue pages' words (`static/texts.json`).

The pages' texts are gettext messages: the English msgids are in the pages' code (`t("...")`,
`data-t="..."`), each language's translations in
`api/phone/translations/<language>/LC_MESSAGES/wallet.po` (the wallet page) and `phone.po`
(the verification and venue pages), for every language of `cardio.languages.LANGUAGES`
(api/phone/catalogue.py reads them). A static page cannot read `.po` files, so this writes
them as JSON files:

    python -m api.phone.wallet.files          # writes the three files
    python -m api.phone.wallet.files --check  # exit 1 when one differs from its sources, or
                                              # a phone.po lacks a translation

`programmes.json` holds each programme's names for itself and its entitlements, per language:
the names the verification and venue pages show (`api.phone.names`, their `names.json`): the
profile's own wording in that language (`programs/*.toml`), else the kiosk catalogue's
translation of its English wording, else English. English is written in full, another
language only where it differs (the page falls back to English name by name).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from cardio.venues import PROGRAMS_DIR

from .. import catalogue, names
from ..catalogue import LANGUAGES, TRANSLATIONS_DIR, CatalogueError, read_po
from . import WALLET_DIR

__all__ = ["LANGUAGES", "TRANSLATIONS_DIR", "CatalogueError", "po_path", "read_po", "texts"]

DOMAIN = "wallet"
TEXTS_FILE = WALLET_DIR / "texts.json"
PROGRAMMES_FILE = WALLET_DIR / "programmes.json"
PHONE_TEXTS_FILE = catalogue.STATIC_DIR / "texts.json"
"""The verification and venue pages' words (domain `phone`, with each language's name)."""


def po_path(language: str) -> Path:
    return catalogue.po_path(language, DOMAIN)


def texts() -> dict[str, object]:
    """{"languages": {tag: {"dir": "ltr"|"rtl", "texts": {msgid: translation}}}}."""
    return catalogue.texts(DOMAIN)


def programmes(
    directory: Path = PROGRAMS_DIR, translations: Path = names.KIOSK_TRANSLATIONS
) -> dict[str, object]:
    """{programme id: {"names": {tag: name}, "entitlements": {code: {tag: name}}}}: what
    `api.phone.names.names` gives per language, turned round per programme."""
    table = names.names(directory, translations)["languages"]
    by_language = cast(dict[str, dict[str, dict[str, Any]]], table)
    out: dict[str, dict[str, dict[str, Any]]] = {}

    def programme(name: str) -> dict[str, dict[str, Any]]:
        return out.setdefault(name, {"names": {}, "entitlements": {}})

    for tag, entry in by_language.items():
        for name, title in entry.get("programmes", {}).items():
            programme(name)["names"][tag] = title
        for name, codes in entry.get("entitlements", {}).items():
            for code, title in codes.items():
                programme(name)["entitlements"].setdefault(code, {})[tag] = title
    return dict(out)


def render() -> dict[Path, str]:
    def dump(obj: object) -> str:
        return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    return {
        TEXTS_FILE: dump(texts()),
        PROGRAMMES_FILE: dump(programmes()),
        PHONE_TEXTS_FILE: dump(catalogue.texts(catalogue.PHONE.name, names=True)),
    }


def main(argv: list[str]) -> int:
    stale = [p for p, text in render().items() if not p.is_file() or p.read_text("utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path} differs; run python -m api.phone.wallet.files")
        missing = catalogue.problems(catalogue.extract())
        for line in missing:
            print(line)
        return 1 if stale or missing else 0
    for path, text in render().items():
        path.write_text(text, "utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
