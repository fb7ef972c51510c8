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

`programmes.json` holds each programme's own names for itself and its entitlements, per
language, from `programs/*.toml` (read through `cardio.venues.programme_texts`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardio.venues import PROGRAMS_DIR, programme_texts

from .. import catalogue
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


def programmes(directory: Path = PROGRAMS_DIR) -> dict[str, object]:
    """{programme id: {"names": {tag: name}, "entitlements": {code: {tag: name}}}}."""
    out: dict[str, object] = {}
    for path in sorted(directory.glob("*.toml")):
        found = programme_texts(path.stem, directory)
        if found is not None:
            out[path.stem] = {"names": found.names, "entitlements": found.entitlements}
    return out


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
