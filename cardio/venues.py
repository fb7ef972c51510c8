"""Venue profiles: what a partner venue's reader terminal shows about a valid card.

A profile is a small TOML file under `venues/` (library, pool, museum, ...):

    name = "pool"
    title = "City Pool"
    show = ["photo", "given_name"]          # the claims staff may see, nothing else
    [[entitlements]]                        # the entitlements that matter here, in order
    code = "pool"
    label = "Pool entry"

Data minimisation: a pool attendant needs the photo and a first name, not the birth date or
the document number. `VenueProfile.present()` keeps only what the profile lists; everything
else stays out of the staff screen and out of the answers of `POST /verify`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError

VENUES_DIR = Path(__file__).resolve().parent.parent / "venues"
"""The profiles shipped with citycard (`venues/` at the top of the repository)."""

SHOWABLE = (
    "photo",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "document_number",
    "expires",
    "issued",
    "languages",
    "program",
)
"""Claims a profile may show, in the order the staff screen lays them out."""

LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "birth_date": "Born",
    "sex": "Sex",
    "document_number": "Card number",
    "expires": "Valid until",
    "issued": "Issued",
    "languages": "Languages",
    "program": "Programme",
}

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")


class VenueError(CitycardError):
    """A venue profile that cannot be found or read; the message says which and why."""


@dataclass(frozen=True)
class Entitlement:
    code: str
    label: str


@dataclass(frozen=True)
class VenueProfile:
    name: str
    title: str
    show: tuple[str, ...]
    entitlements: tuple[Entitlement, ...] = ()

    def shows(self, claim: str) -> bool:
        return claim in self.show

    def present(self, claims: dict[str, Any] | None) -> dict[str, Any] | None:
        """The part of a valid card's claims this venue may see, or None without claims.

        Returns {"fields": [{"key", "label", "value"}], "photo_base64": str | None,
        "entitlements": [{"code", "label", "held"}]}: only the claims the profile lists and
        only the entitlements that matter here (with whether the holder has each).
        """
        if not claims:
            return None
        fields = []
        for key in SHOWABLE:
            if key == "photo" or key not in self.show:
                continue
            value = claims.get(key)
            if value is None or value == []:
                continue
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            fields.append({"key": key, "label": LABELS[key], "value": str(value)})
        photo = claims.get("photo_base64") if "photo" in self.show else None
        held = set(claims.get("entitlements") or ())
        entitlements = [
            {"code": e.code, "label": e.label, "held": e.code in held} for e in self.entitlements
        ]
        return {
            "fields": fields,
            "photo_base64": photo if isinstance(photo, str) else None,
            "entitlements": entitlements,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "the venue profile") -> VenueProfile:
        unknown = set(data) - {"name", "title", "show", "entitlements"}
        if unknown:
            raise VenueError(f"{where} has unknown keys {sorted(unknown)}; remove them.")
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise VenueError(f"{where} needs a short lower-case 'name' such as \"pool\".")
        title = data.get("title", name)
        if not isinstance(title, str) or not title.strip() or len(title) > 80:
            raise VenueError(f"{where} has a bad 'title'; give the venue's name in 80 characters.")
        show = data.get("show", [])
        if not isinstance(show, list) or not all(isinstance(s, str) for s in show):
            raise VenueError(f"{where}: 'show' must be a list of claim names.")
        bad = [s for s in show if s not in SHOWABLE]
        if bad:
            raise VenueError(
                f"{where} asks to show {bad}, which a card does not carry; choose among "
                f"{', '.join(SHOWABLE)}."
            )
        entries = data.get("entitlements", [])
        if not isinstance(entries, list):
            raise VenueError(f"{where}: 'entitlements' must be a list of tables.")
        ents: list[Entitlement] = []
        for entry in entries:
            if not (
                isinstance(entry, dict)
                and set(entry) == {"code", "label"}
                and isinstance(entry["code"], str)
                and _NAME.match(entry["code"])
                and isinstance(entry["label"], str)
                and entry["label"].strip()
            ):
                raise VenueError(
                    f"{where}: every [[entitlements]] entry needs exactly a lower-case 'code' "
                    "and a 'label'."
                )
            ents.append(Entitlement(entry["code"], entry["label"]))
        return cls(name, title, tuple(s for s in SHOWABLE if s in show), tuple(ents))


def load_venue(spec: str | Path, directory: Path | None = None) -> VenueProfile:
    """A venue profile by name (looked up in `directory`, default `venues/`) or by file path."""
    text = str(spec)
    if text.endswith(".toml") or "/" in text:
        path = Path(text)
    else:
        path = (directory or VENUES_DIR) / f"{text}.toml"
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        known = sorted(p.stem for p in (directory or VENUES_DIR).glob("*.toml"))
        raise VenueError(
            f"There is no venue profile {text!r} ({path}); use one of {', '.join(known) or 'none'} "
            "or give the path of a .toml file."
        ) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VenueError(f"The venue profile {path} cannot be read ({exc}); fix it.") from exc
    return VenueProfile.from_dict(data, str(path))
