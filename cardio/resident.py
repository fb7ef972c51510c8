"""Reading a RESIDENT.json file (development and demo input) into a card holder."""

from __future__ import annotations

import json
from dataclasses import replace
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


_TEXT_KEYS = ("family_name", "given_name", "sex", "photo", "program")  # dates: see _date
_LIST_KEYS = ("entitlements", "languages")
_REQUIRED = ("family_name", "given_name")


def _check_types(obj: dict[str, Any], path: Path) -> None:
    """JSON types first, so a wrong type is a sentence naming the key (never a traceback)."""
    for key in _TEXT_KEYS:
        if (
            key in obj
            and not isinstance(obj[key], str)
            and (key in _REQUIRED or obj[key] is not None)
        ):
            raise ResidentFileError(f"{path}: '{key}' must be text (a JSON string).")
    for key in _LIST_KEYS:
        value = obj.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ResidentFileError(f"{path}: '{key}' must be a JSON list of text codes.")


def _culprit(fields: dict[str, Any]) -> str:
    """The resident key whose value alone makes a Holder invalid (for naming it in the error)."""
    base: dict[str, Any] = {
        "program": "demo",
        "family_name": "A",
        "given_name": "A",
        "birth_date": date(2000, 1, 1),
    }
    for key, value in fields.items():
        try:
            Holder(**{**base, key: value})
        except MalformedError:
            return key
    return "entitlements/languages"  # only their combined count is left


def _date(obj: dict[str, Any], key: str, path: Path) -> date:
    try:
        return date.fromisoformat(obj[key])
    except (TypeError, ValueError) as exc:
        raise ResidentFileError(f"{path}: '{key}' must be a date written YYYY-MM-DD.") from exc


def read_resident(path: Path, default_program: str) -> tuple[Holder, date | None, bytes | None]:
    """The holder (without photo), the requested expiry date and the photo file's bytes.

    ResidentFileError names the file and the bad key. The photo comes back as the file holds
    it: the CLI puts it on the chip as is, the kiosk runs it through its photo pipeline first.
    """
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
    _check_types(obj, path)
    photo = None
    if obj.get("photo"):
        photo_path = (path.parent / obj["photo"]).resolve()
        try:
            photo = photo_path.read_bytes()
        except OSError as exc:
            raise ResidentFileError(f"{path}: the photo {photo_path} cannot be read.") from exc
    expires = _date(obj, "expires", path) if obj.get("expires") else None
    fields: dict[str, Any] = {
        "program": obj.get("program") or default_program,
        "family_name": obj["family_name"],
        "given_name": obj["given_name"],
        "birth_date": _date(obj, "birth_date", path),
        "sex": obj.get("sex") or None,
        "entitlements": tuple(obj.get("entitlements") or ()),
        "languages": tuple(obj.get("languages") or ()),
    }
    try:
        holder = Holder(**fields)
    except MalformedError as exc:
        raise ResidentFileError(f"{path}: '{_culprit(fields)}': {exc}") from exc
    return holder, expires, photo


def load_resident(path: Path, default_program: str) -> tuple[Holder, date | None]:
    """The holder (photo included) and the requested expiry date; ResidentFileError naming the bad key."""
    holder, expires, photo = read_resident(path, default_program)
    if photo is None:
        return holder, expires
    try:
        return replace(holder, photo=photo), expires
    except MalformedError as exc:
        raise ResidentFileError(f"{Path(path)}: 'photo': {exc}") from exc
