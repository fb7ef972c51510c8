"""The phone pages' gettext catalogues, read without Babel and written as JSON for static pages.

Two domains live in `api/phone/translations/<language>/LC_MESSAGES/`: `wallet.po` (the holder's
wallet page, api/phone/wallet/static) and `phone.po` (the verification page and the venue page,
api/phone/static). A msgid is the English text as the page's code writes it: `t("...")` or
`tn("...")` or `N_("...")` in JavaScript, `data-t="..."` (the element's text) or `data-t-<attribute>="..."`
(that attribute: title, placeholder, aria-label, alt) in HTML. A static page cannot read `.po`
files, so `texts()` turns a domain into the JSON the page loads (`texts.json`).

    python -m api.phone.catalogue extract  # the msgids the phone pages use, one a line
    python -m api.phone.catalogue update   # adds new msgids (empty) to every phone.po
    python -m api.phone.catalogue check    # exit 1 on a missing, empty or fuzzy translation

`python -m api.phone.wallet.files [--check]` writes (or compares) every generated file.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cardio.languages import LANGUAGES as ALL_LANGUAGES
from cardio.languages import SOURCE_LANGUAGE

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
STATIC_DIR = Path(__file__).resolve().parent / "static"
LANGUAGES: tuple[tuple[str, bool], ...] = tuple((lang.code, lang.rtl) for lang in ALL_LANGUAGES)
"""(BCP 47 tag, written right to left): every language citycard offers, in the kiosk's order."""
REVIEW_NOTE = "# Machine-assisted translation; needs review by a native speaker."
NOTES = {", ": 'Between the items of a list: a comma and a space (Arabic "، ", Chinese "、").'}
"""Translator comments (`#.`) for msgids that do not explain themselves."""


@dataclass(frozen=True, slots=True)
class Domain:
    name: str  # the .po file's stem
    sources: tuple[Path, ...]  # the page files whose msgids the catalogue holds


PHONE = Domain(
    "phone",
    tuple(
        STATIC_DIR / name
        for name in ("index.html", "verify.js", "venue.html", "venue.js", "presentation.js")
    ),
)

# A JavaScript string literal in double quotes, as the pages write msgids.
_JS_STRING = r'"((?:[^"\\\n]|\\.)*)"'
_JS_MSGID = re.compile(r"\b(?:t|tn|N_)\(\s*" + _JS_STRING)
_HTML_MSGID = re.compile(r'\bdata-t(?:-[a-z-]+)?="([^"]*)"')
_HTML_ENTITIES = {"&amp;": "&", "&quot;": '"', "&lt;": "<", "&gt;": ">", "&#39;": "'"}


class CatalogueError(ValueError):
    """A `.po` file this reader cannot read; the message says where."""


def po_path(language: str, domain: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{domain}.po"  # as the kiosk names them


@dataclass(frozen=True, slots=True)
class Entry:
    msgid: str
    msgstr: str
    fuzzy: bool


def read_entries(path: Path) -> list[Entry]:
    """Every entry of a `.po` file but the header, in file order."""
    entries: list[Entry] = []
    msgid: str | None = None
    msgstr: str | None = None
    field: str | None = None
    fuzzy = marked_fuzzy = False  # of the entry being read; of the comments before the next

    def flush() -> None:
        if msgid:
            entries.append(Entry(msgid, msgstr or "", fuzzy))

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


def read_po(path: Path) -> dict[str, str]:
    """{msgid: msgstr} of a `.po` file (the header and fuzzy or empty entries left out)."""
    return {e.msgid: e.msgstr for e in read_entries(path) if e.msgstr and not e.fuzzy}


def texts(domain: str, names: bool = False) -> dict[str, object]:
    """{"languages": {tag: {"dir": "ltr"|"rtl", "texts": {msgid: translation}}}}, and with
    `names` each language's "name" in itself and their "order" (for a page's language list)."""
    out: dict[str, object] = {}
    for lang in ALL_LANGUAGES:
        path = po_path(lang.code, domain)
        entry: dict[str, object] = {
            "dir": lang.dir,
            "texts": read_po(path) if path.is_file() else {},
        }
        if names:
            entry["name"] = lang.name
        out[lang.code] = entry
    if names:  # the order to offer them in (the JSON's keys are sorted)
        return {"languages": out, "order": [lang.code for lang in ALL_LANGUAGES]}
    return {"languages": out}


def _unescape_js(text: str) -> str:
    return str(ast.literal_eval('"' + text + '"'))  # the pages use only \" \\ \n \u escapes


def extract(sources: Iterable[Path] = PHONE.sources) -> list[str]:
    """The msgids the page files use, in the order first found."""
    found: dict[str, None] = {}
    for path in sources:
        text = path.read_text("utf-8")
        if path.suffix == ".js":
            ids = [_unescape_js(m) for m in _JS_MSGID.findall(text)]
        else:
            ids = _HTML_MSGID.findall(text)
            for entity, char in _HTML_ENTITIES.items():
                ids = [i.replace(entity, char) for i in ids]
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, None)
    return list(found)


_PLACEHOLDER = re.compile(r"\{\w+\}")


def problems(
    msgids: Iterable[str], domain: str = PHONE.name, languages: Iterable[str] | None = None
) -> list[str]:
    """What keeps the catalogues from shipping: a language without a `.po`, a msgid the page
    uses that a catalogue lacks or leaves empty or fuzzy, a placeholder changed, and in English
    a msgstr that is not its msgid. Empty when every catalogue is complete."""
    wanted = list(msgids)
    codes = [lang.code for lang in ALL_LANGUAGES] if languages is None else list(languages)
    out: list[str] = []
    for code in codes:
        path = po_path(code, domain)
        if not path.is_file():
            out.append(f"{path}: missing")
            continue
        entries = {e.msgid: e for e in read_entries(path)}
        for msgid in wanted:
            entry = entries.get(msgid)
            if entry is None:
                out.append(f"{code}: not in the catalogue: {msgid!r}")
            elif entry.fuzzy:
                out.append(f"{code}: fuzzy: {msgid!r}")
            elif not entry.msgstr:
                out.append(f"{code}: untranslated: {msgid!r}")
            elif sorted(_PLACEHOLDER.findall(entry.msgstr)) != sorted(_PLACEHOLDER.findall(msgid)):
                out.append(f"{code}: placeholders differ: {msgid!r}")
            elif code == SOURCE_LANGUAGE and entry.msgstr != msgid:
                out.append(f"{code}: English msgstr differs from its msgid: {msgid!r}")
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_po(language: str, msgids: Iterable[str], translations: Mapping[str, str]) -> str:
    """A `.po` file of `msgids` in `language` (English: msgstr = msgid; else `translations`,
    empty where it has none)."""
    lines = [
        f"# The phone verification and venue pages' texts (api/phone/static) in {language}.",
        *([] if language == SOURCE_LANGUAGE else [REVIEW_NOTE]),
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {language}\\n"',
    ]
    for msgid in msgids:
        msgstr = msgid if language == SOURCE_LANGUAGE else translations.get(msgid, "")
        note = [f"#. {NOTES[msgid]}"] if msgid in NOTES else []
        lines += ["", *note, f"msgid {_quote(msgid)}", f"msgstr {_quote(msgstr)}"]
    return "\n".join(lines) + "\n"


def update(domain: Domain = PHONE) -> list[Path]:
    """Rewrites every language's `.po` of `domain` with the msgids the pages use now: kept
    translations stay, new msgids come in empty, msgids the pages dropped go."""
    msgids = extract(domain.sources)
    written = []
    for lang in ALL_LANGUAGES:
        path = po_path(lang.code, domain.name)
        old = read_po(path) if path.is_file() else {}
        text = render_po(lang.code, msgids, old)
        if not path.is_file() or path.read_text("utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "extract":
        for msgid in extract():
            print(msgid)
        return 0
    if command == "update":
        for path in update():
            print(path)
        return 0
    if command == "check":
        found = problems(extract())
        for line in found:
            print(line)
        return 1 if found else 0
    print("usage: python -m api.phone.catalogue extract|update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
