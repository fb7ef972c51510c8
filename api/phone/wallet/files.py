"""The wallet page's generated files: its words (`texts.json`) and programme names
(`programmes.json`).

The page's texts are gettext messages: the English msgids are in `wallet.js` and
`index.html` (`t("...")`, `data-t="..."`), each language's translations in
`api/phone/translations/<language>/LC_MESSAGES/wallet.po` (every kiosk language, the same
list as `kiosk.i18n.LANGUAGES`, copied here because a deployable does not import another).
A static page cannot read `.po` files, so this writes them as one JSON file:

    python -m api.phone.wallet.files          # writes static/texts.json and programmes.json
    python -m api.phone.wallet.files --check  # exit 1 when either differs from its sources

`programmes.json` holds each programme's own names for itself and its entitlements, per
language, from `programs/*.toml` (read through `cardio.venues.programme_texts`).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from cardio.venues import PROGRAMS_DIR, programme_texts

from . import WALLET_DIR

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "wallet"
TEXTS_FILE = WALLET_DIR / "texts.json"
PROGRAMMES_FILE = WALLET_DIR / "programmes.json"
LANGUAGES: tuple[tuple[str, bool], ...] = (
    ("en", False), ("fr", False), ("de", False), ("it", False), ("es", False), ("pt", False),
    ("ar", True), ("fa", True), ("ti", False), ("uk", False), ("tr", False), ("zh", False),
    ("zh-Hant", False), ("ko", False), ("ja", False), ("ru", False), ("pl", False),
    ("ro", False), ("nl", False), ("ca", False), ("el", False), ("bn", False), ("hi", False),
    ("ne", False), ("pa", False), ("ur", True), ("ta", False), ("ps", True), ("he", True),
    ("yi", True), ("ht", False), ("vi", False), ("tl", False), ("sq", False), ("sr", False),
    ("so", False), ("am", False), ("wo", False), ("ff", False),
)  # fmt: skip
"""(BCP 47 tag, written right to left): the kiosk's languages, in the kiosk's order."""


class CatalogueError(ValueError):
    """A `.po` file this reader cannot read; the message says where."""


def po_path(language: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"  # as the kiosk names them


def read_po(path: Path) -> dict[str, str]:
    """{msgid: msgstr} of a `.po` file (the header and fuzzy or empty entries left out)."""
    entries: dict[str, str] = {}
    msgid: str | None = None
    msgstr: str | None = None
    field: str | None = None
    fuzzy = marked_fuzzy = False  # of the entry being read; of the comments before the next

    def flush() -> None:
        if msgid and msgstr and not fuzzy:
            entries[msgid] = msgstr

    for number, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            marked_fuzzy = True
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        try:
            if keyword == "msgid":
                flush()
                msgid, msgstr, field = ast.literal_eval(rest), None, "msgid"
                fuzzy, marked_fuzzy = marked_fuzzy, False
            elif keyword == "msgstr":
                msgstr, field = ast.literal_eval(rest), "msgstr"
            elif line.startswith('"') and field == "msgid" and msgid is not None:
                msgid += ast.literal_eval(line)
            elif line.startswith('"') and field == "msgstr" and msgstr is not None:
                msgstr += ast.literal_eval(line)
            else:
                raise CatalogueError(f"{path}:{number}: unexpected line; fix the file.")
        except (SyntaxError, ValueError) as exc:
            raise CatalogueError(f"{path}:{number}: not a quoted string; fix the file.") from exc
    flush()
    return entries


def texts() -> dict[str, object]:
    """{"languages": {tag: {"dir": "ltr"|"rtl", "texts": {msgid: translation}}}}."""
    out: dict[str, object] = {}
    for code, rtl in LANGUAGES:
        path = po_path(code)
        out[code] = {"dir": "rtl" if rtl else "ltr", "texts": read_po(path) if path.is_file() else {}}
    return {"languages": out}


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

    return {TEXTS_FILE: dump(texts()), PROGRAMMES_FILE: dump(programmes())}


def main(argv: list[str]) -> int:
    stale = [p for p, text in render().items() if not p.is_file() or p.read_text("utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.name} differs; run python -m api.phone.wallet.files")
        return 1 if stale else 0
    for path, text in render().items():
        path.write_text(text, "utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
