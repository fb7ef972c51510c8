"""What each venue type asks a phone wallet for (`static/venues.json`), for the venue page.

The venue page (`static/venue.html`) lets a venue pick its type and shows a request QR for it.
The items come from the venue profiles (`venues/*.toml`, read through `cardio.venues`) exactly
as the reader terminal derives them (`cardio.presentation.request_items`), with the words
staff read for each. The file is static, so any host serves it beside the page:

    python -m api.phone.venue_requests          # writes api/phone/static/venues.json
    python -m api.phone.venue_requests --check  # exit 1 when the file differs from the profiles

tests/test_venue_presentation_files.py keeps the committed file equal to what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardio.presentation import request_items
from cardio.venues import LABELS, VENUES_DIR, load_venue
from cardio.wallet_claims import ENTITLEMENT_PREFIX

VENUES_FILE = Path(__file__).resolve().parent / "static" / "venues.json"
ITEM_WORDS = {
    **LABELS,
    "photo": "Photo",
    "age_over_18": "Over 18",
    "age_over_65": "Over 65",
    "resident_of": "Resident of",
}
"""What staff read for each item a venue can ask for (entitlements: the profile's label)."""


def venues(directory: Path = VENUES_DIR) -> list[dict[str, object]]:
    """[{"name", "title", "items": [{"item", "label"}]}] for every profile, by name."""
    out: list[dict[str, object]] = []
    for path in sorted(directory.glob("*.toml")):
        profile = load_venue(path)
        labels = {ENTITLEMENT_PREFIX + e.code: e.label for e in profile.entitlements}
        items = [
            {"item": item, "label": labels.get(item) or ITEM_WORDS.get(item) or item}
            for item in request_items(profile)
        ]
        out.append({"name": profile.name, "title": profile.title, "items": items})
    return out


def render() -> str:
    return json.dumps(venues(), ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = VENUES_FILE.is_file() and VENUES_FILE.read_text("utf-8") == text
        print("venues.json is up to date" if same else "venues.json differs; run python -m api.phone.venue_requests")
        return 0 if same else 1
    VENUES_FILE.write_text(text, "utf-8")
    print(VENUES_FILE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
