"""The names the phone page shows for programme ids and entitlement codes (`static/names.json`).

A card carries codes (`zurich`, `culture-discount`); the page shows the programme's own names
for them, taken from the programme profiles (`programs/*.toml`, read as data through
`cardio.venues.programme_texts`). The file is static, so any host serves it beside the page:

    python -m api.phone.names          # writes api/phone/static/names.json
    python -m api.phone.names --check  # exit 1 when the file differs from the profiles

tests/test_phone_page_qr_browser.py keeps the committed file equal to what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardio.venues import PROGRAMS_DIR, in_language, programme_texts

NAMES_FILE = Path(__file__).resolve().parent / "static" / "names.json"
LANGUAGE = "en"  # the page's language


def names(directory: Path = PROGRAMS_DIR) -> dict[str, dict[str, object]]:
    """{"programmes": {id: name}, "entitlements": {id: {code: name}}} in the page's language."""
    programmes: dict[str, object] = {}
    entitlements: dict[str, object] = {}
    for path in sorted(directory.glob("*.toml")):
        texts = programme_texts(path.stem, directory)
        if texts is None:
            continue
        name = in_language(texts.names, LANGUAGE)
        if name:
            programmes[path.stem] = name
        ents = {c: n for c, v in texts.entitlements.items() if (n := in_language(v, LANGUAGE))}
        if ents:
            entitlements[path.stem] = ents
    return {"programmes": programmes, "entitlements": entitlements}


def render() -> str:
    return json.dumps(names(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = NAMES_FILE.is_file() and NAMES_FILE.read_text("utf-8") == text
        print("names.json is up to date" if same else "names.json differs; run python -m api.phone.names")
        return 0 if same else 1
    NAMES_FILE.write_text(text, "utf-8")
    print(NAMES_FILE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
