"""What each venue type asks a phone wallet for (`static/venues.json`), for the venue page.

The venue page (`static/venue.html`) lets a venue pick its type and shows a request QR for it.
The items come from the venue profiles (`venues/*.toml`, read through `cardio.venues`) exactly
as the reader terminal derives them (`cardio.presentation.request_items`), with the words
staff read for each. A venue's title and its entitlements' labels are the profile's English;
"languages" gives them in every other language of `cardio.languages.LANGUAGES` where the reader
terminal's catalogue translates them (`api/terminal/translations/<lang>/LC_MESSAGES/terminal.po`,
msgctxt "venue", read as data; only the words that differ from English). The words of the other
items are msgids of the page's own catalogue (`phone.po`), so they are not repeated here.
"require" is the profile's `require` (the age items a valid answer must meet, else the page
refuses it as the terminal does: presentation.js's venueVerdict), only where it has one. The
file is static, so any host serves it beside the page:

    python -m api.phone.venue_requests          # writes api/phone/static/venues.json
    python -m api.phone.venue_requests --check  # exit 1 when the file differs from the profiles

tests/test_venue_presentation_files.py keeps the committed file equal to what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardio.languages import LANGUAGES, SOURCE_LANGUAGE
from cardio.presentation import request_items
from cardio.venues import ITEM_LABELS, VENUES_DIR, load_venue
from cardio.wallet_claims import ENTITLEMENT_PREFIX

from .names import ROOT, po_translations

VENUES_FILE = Path(__file__).resolve().parent / "static" / "venues.json"
TERMINAL_TRANSLATIONS = ROOT / "api" / "terminal" / "translations"
VENUE = "venue"  # the terminal catalogue's msgctxt of venue titles and entitlement labels


def venues(
    directory: Path = VENUES_DIR, translations: Path = TERMINAL_TRANSLATIONS
) -> list[dict[str, object]]:
    """[{"name", "title", "items": [{"item", "label"}], "require": [item], "languages":
    {tag: {"title", "labels": {item: label}}}}] for every profile, by name; "require" only
    where the profile requires something, "languages" only the languages and words whose
    translation differs from English."""
    catalogues = {
        lang.code: po_translations(translations / lang.code / "LC_MESSAGES" / "terminal.po", VENUE)
        for lang in LANGUAGES
        if lang.code != SOURCE_LANGUAGE
    }
    out: list[dict[str, object]] = []
    for path in sorted(directory.glob("*.toml")):
        profile = load_venue(path)
        labels = {ENTITLEMENT_PREFIX + c: e.label for e in profile.entitlements for c in e.codes}
        asked = request_items(profile)
        items = [
            {"item": item, "label": labels.get(item) or ITEM_LABELS.get(item) or item}
            for item in asked
        ]
        languages: dict[str, object] = {}
        for code, catalogue in catalogues.items():
            here: dict[str, object] = {}
            if catalogue.get(profile.title, profile.title) != profile.title:
                here["title"] = catalogue[profile.title]
            own = {
                item: catalogue[labels[item]]
                for item in asked
                if item in labels and catalogue.get(labels[item], labels[item]) != labels[item]
            }
            if own:
                here["labels"] = own
            if here:
                languages[code] = here
        entry: dict[str, object] = {"name": profile.name, "title": profile.title, "items": items}
        if profile.require:
            entry["require"] = list(profile.require)
        if languages:
            entry["languages"] = languages
        out.append(entry)
    return out


def render() -> str:
    return json.dumps(venues(), ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = VENUES_FILE.is_file() and VENUES_FILE.read_text("utf-8") == text
        print(
            "venues.json is up to date"
            if same
            else "venues.json differs; run python -m api.phone.venue_requests"
        )
        return 0 if same else 1
    VENUES_FILE.write_text(text, "utf-8")
    print(VENUES_FILE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
