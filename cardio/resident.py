"""Reading a RESIDENT.json file (development and demo input) into a card holder.

`read_resident` reads the holder's own keys (`ALLOWED`), as `citycard-api issue` takes them.
`read_application` reads the same file as a kiosk application: besides those keys, each
further field the programme collects under its field code (`address`, `height`, `sponsor` ...,
given by the caller: cardio knows no programme) as the text a resident would type, the
signature as an image file, the document categories the attendant confirms, and whether a
guardian came along and whether the resident lived in the city long enough.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from cardio.credential import LAST_EXPIRY_DAY, Holder
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


JPEG_START = b"\xff\xd8\xff"
"""How a JPEG file begins (SOI and the next marker): the only portrait format a chip holds."""

APPLICATION_KEYS = {"signature", "documents", "guardian_present", "lived_long_enough"}
"""Keys of a kiosk application beyond ALLOWED and the programme's field codes."""


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


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _date(obj: dict[str, Any], key: str, path: Path) -> date:
    # Only the form the message names: date.fromisoformat also takes 19900101 and 1990-W01-1.
    value = obj[key]
    try:
        if not isinstance(value, str) or not _ISO_DAY.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ResidentFileError(f"{path}: '{key}' must be a date written YYYY-MM-DD.") from exc


def read_resident(path: Path, default_program: str) -> tuple[Holder, date | None, bytes | None]:
    """The holder (without photo), the requested expiry date and the photo file's bytes.

    ResidentFileError names the file and the bad key. The photo comes back as the file holds
    it: the CLI puts it on the chip as is, the kiosk runs it through its photo pipeline first.
    """
    path = Path(path)
    obj = _load(path, ALLOWED)
    return _holder(obj, path, default_program)


@dataclass(frozen=True)
class ResidentApplication:
    """A RESIDENT.json read as a kiosk application (see the module doc)."""

    holder: Holder  # without photo
    expires: date | None  # the requested expiry (or the end date the attendant enters)
    photo: bytes | None = field(default=None, repr=False)  # the file's bytes, as uploaded
    signature: bytes | None = field(default=None, repr=False)  # the file's bytes
    fields: dict[str, str] = field(default_factory=dict, repr=False)  # field code -> text
    documents: tuple[str, ...] | None = None  # document categories; None: not given
    guardian_present: bool = False
    lived_long_enough: bool | None = None  # None: not given


def read_application(
    path: Path, default_program: str, field_keys: Collection[str]
) -> ResidentApplication:
    """RESIDENT.json as a kiosk application; `field_keys` are the field codes a programme may
    collect (any other key is refused, as in read_resident). ResidentFileError names the key."""
    path = Path(path)
    extra = set(field_keys) - ALLOWED - APPLICATION_KEYS
    obj = _load(path, ALLOWED | APPLICATION_KEYS | extra)
    holder, expires, photo = _holder(obj, path, default_program)
    fields: dict[str, str] = {}
    for key in sorted(extra & set(obj)):
        value = obj[key]
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # a height typed as a number
        if value is not None and not isinstance(value, str):
            raise ResidentFileError(f"{path}: '{key}' must be text (a JSON string).")
        if value:
            fields[key] = value
    documents = obj.get("documents")
    if documents is not None and (
        not isinstance(documents, list) or not all(isinstance(d, str) for d in documents)
    ):
        raise ResidentFileError(f"{path}: 'documents' must be a JSON list of document codes.")
    for key in ("guardian_present", "lived_long_enough"):
        if obj.get(key) is not None and not isinstance(obj[key], bool):
            raise ResidentFileError(f"{path}: '{key}' must be true or false.")
    signature = None
    if obj.get("signature"):
        if not isinstance(obj["signature"], str):
            raise ResidentFileError(f"{path}: 'signature' must be text (a JSON string).")
        signature = _read_file(path, obj["signature"], "signature")
    return ResidentApplication(
        holder,
        expires,
        photo,
        signature,
        fields,
        tuple(documents) if documents is not None else None,
        bool(obj.get("guardian_present")),
        obj.get("lived_long_enough"),
    )


def _read_file(path: Path, name: str, key: str) -> bytes:
    """A file the resident file names, relative to the resident file."""
    file = (path.parent / name).resolve()
    try:
        return file.read_bytes()
    except OSError as exc:
        raise ResidentFileError(f"{path}: the {key} {file} cannot be read.") from exc


def _load(path: Path, allowed: set[str]) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ResidentFileError(
            f"{path} does not exist; give the path of a resident JSON file."
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResidentFileError(f"{path} is not valid UTF-8 JSON ({exc}).") from exc
    except RecursionError as exc:  # json gives up on deep nesting this way, not as ValueError
        raise ResidentFileError(
            f"{path} is not valid UTF-8 JSON (it is nested too deeply); "
            "give a resident file with one flat JSON object."
        ) from exc
    if not isinstance(obj, dict):
        raise ResidentFileError(f"{path} must hold a JSON object.")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ResidentFileError(
            f"{path}: unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(sorted(allowed))}. "
            "Residence status, nationality and birthplace are never recorded."
        )
    for key in ("family_name", "given_name", "birth_date"):
        if key not in obj:
            raise ResidentFileError(f"{path}: '{key}' is missing.")
    _check_types(obj, path)
    return obj


def _holder(
    obj: dict[str, Any], path: Path, default_program: str
) -> tuple[Holder, date | None, bytes | None]:
    photo = _read_file(path, obj["photo"], "photo") if obj.get("photo") else None
    expires = _date(obj, "expires", path) if obj.get("expires") else None
    if expires is not None and expires > LAST_EXPIRY_DAY:  # refused before any number is taken
        raise ResidentFileError(
            f"{path}: 'expires' must be a date on or before {LAST_EXPIRY_DAY.isoformat()}, the "
            "last day a card can be valid through."
        )
    birth_date = _date(obj, "birth_date", path)
    if birth_date > date.today():
        raise ResidentFileError(
            f"{path}: 'birth_date' is in the future; give the date of birth written YYYY-MM-DD."
        )
    fields: dict[str, Any] = {
        "program": obj.get("program") or default_program,
        "family_name": obj["family_name"],
        "given_name": obj["given_name"],
        "birth_date": birth_date,
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
    """The holder (photo included, which must be a JPEG) and the requested expiry date;
    ResidentFileError naming the bad key."""
    holder, expires, photo = read_resident(path, default_program)
    if photo is None:
        return holder, expires
    if not photo.startswith(JPEG_START):  # readers show the chip's portrait as a JPEG
        raise ResidentFileError(
            f"{Path(path)}: 'photo' is not a JPEG image; the chip holds the portrait as a JPEG "
            "(docs/credential.md): convert it, or let a kiosk make one from the photo."
        )
    try:
        return replace(holder, photo=photo), expires
    except MalformedError as exc:
        raise ResidentFileError(f"{Path(path)}: 'photo': {exc}") from exc
