"""Reading a RESIDENT.json file (development and demo input) into a card holder."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from cardio.credential import Holder
from cardio.errors import CitycardError, MalformedError

ALLOWED = {
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "photo",
    "expires",
    "program",
    "entitlements",
    "languages",
}


class ResidentFileError(CitycardError):
    """A resident file that cannot be used; the message names the key and the fix."""


def _date(obj: dict[str, Any], key: str, path: Path) -> date:
    try:
        return date.fromisoformat(obj[key])
    except (TypeError, ValueError) as exc:
        raise ResidentFileError(f"{path}: '{key}' must be a date written YYYY-MM-DD.") from exc


def load_resident(path: Path, default_program: str) -> tuple[Holder, date | None]:
    """The holder and the requested expiry date; ResidentFileError naming the bad key."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ResidentFileError(
            f"{path} does not exist; give the path of a resident JSON file."
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResidentFileError(f"{path} is not valid UTF-8 JSON ({exc}).") from exc
    if not isinstance(obj, dict):
        raise ResidentFileError(f"{path} must hold a JSON object.")
    unknown = sorted(set(obj) - ALLOWED)
    if unknown:
        raise ResidentFileError(
            f"{path}: unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(sorted(ALLOWED))}. "
            "Residence status, nationality and birthplace are never recorded."
        )
    for key in ("family_name", "given_name", "birth_date"):
        if key not in obj:
            raise ResidentFileError(f"{path}: '{key}' is missing.")
    photo = None
    if obj.get("photo"):
        photo_path = (path.parent / obj["photo"]).resolve()
        try:
            photo = photo_path.read_bytes()
        except OSError as exc:
            raise ResidentFileError(f"{path}: the photo {photo_path} cannot be read.") from exc
    expires = _date(obj, "expires", path) if obj.get("expires") else None
    try:
        holder = Holder(
            program=obj.get("program") or default_program,
            family_name=obj["family_name"],
            given_name=obj["given_name"],
            birth_date=_date(obj, "birth_date", path),
            sex=obj.get("sex") or None,
            entitlements=tuple(obj.get("entitlements", ())),
            languages=tuple(obj.get("languages", ())),
            photo=photo,
        )
    except MalformedError as exc:
        raise ResidentFileError(f"{path}: {exc}") from exc
    return holder, expires
