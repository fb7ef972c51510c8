"""Venue profiles: what a partner venue's reader terminal shows about a valid card.

A profile is a small TOML file under `venues/` (library, pool, museum, ...):

    name = "pool"
    title = "City Pool"
    show = ["photo", "given_name"]          # the claims staff may see, nothing else
    language = "de"                         # the staff screen's language (staff may switch)
    [programmes]                            # programme ids as staff should read them
    zurich = "Züri City Card"
    [[entitlements]]                        # the entitlements that matter here, in order
    code = "pool"                           # a code programmes issue (programs/*.toml)
    label = "Pool entry"
    [[entitlements]]                        # one label for several programmes' codes
    codes = ["sport-discount", "leisure-discount"]
    label = "Reduced fee"

An age-restricted venue shows `age_over_18` (yes, no, or None when it cannot be known: from
the birth date of a chip or printed credential on the venue's day, else a "yes" a phone wallet
disclosed; a disclosed "no" was worked out on the wallet card's issue day and may be years
stale, so it says nothing) and may `require = ["age_over_18"]`: a valid card whose holder is
not over 18, or whose age cannot be known, is then refused (`refusal`, `REFUSALS`). The birth
date itself is never shown for it.

Data minimisation: a pool attendant needs the photo and a first name, not the birth date or
the document number. `VenueProfile.present()` keeps only what the profile lists; everything
else stays out of the staff screen and out of the answers of `POST /verify`.
"""

from __future__ import annotations

import functools
import re
import time
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError
from cardio.sentences import FilledSentence
from cardio.wallet_claims import age_on, check_item, entitlement_item

VENUES_DIR = Path(__file__).resolve().parent.parent / "venues"
"""The profiles shipped with citycard (`venues/` at the top of the repository)."""
PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"
"""The programme profiles: read here as data only, for their names (`programme_texts`)."""

SHOWABLE = (
    "photo",
    "given_name",
    "family_name",
    "birth_date",
    "age_over_18",
    "age_over_65",
    "sex",
    "document_number",
    "expires",
    "issued",
    "languages",
    "program",
)
"""Claims a profile may show, in the order the staff screen lays them out."""

AGE_ITEMS = {"age_over_18": 18, "age_over_65": 65}
"""Items a profile may show and `require`: whether the holder is over an age (True, False, or
None when neither a birth date nor a wallet's disclosed "yes" says it: `age_over`)."""

UNDER_AGE = "UNDER_AGE"
AGE_UNKNOWN = "AGE_UNKNOWN"
REFUSALS = {
    UNDER_AGE: "The holder is not over %(age)s; this venue admits only people over %(age)s.",
    AGE_UNKNOWN: (
        "This card does not show whether the holder is over %(age)s; ask for another proof "
        "of age."
    ),
}
"""A venue's own refusal of a valid card (its `require`): the verdict staff read, and its
sentence as a template (the terminal's catalogues translate it, msgctxt "verdict")."""

LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "birth_date": "Born",
    "age_over_18": "Over 18",
    "age_over_65": "Over 65",
    "sex": "Sex",
    "document_number": "Card number",
    "expires": "Valid until",
    "issued": "Issued",
    "languages": "Languages",
    "program": "Programme",
}
ITEM_LABELS = {
    **LABELS,
    "photo": "Photo",
    "resident_of": "Resident of",
}
"""What staff read for each item a venue can ask a phone wallet for (`cardio.wallet_claims`);
for an entitlement (`entitlement:<code>`), the label its venue profile gives it."""

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")


class VenueError(CitycardError):
    """A venue profile that cannot be found or read; the message says which and why."""


@dataclass(frozen=True)
class ProgrammeTexts:
    """A programme's own names, per language: its name and its entitlements' names."""

    names: dict[str, str]
    entitlements: dict[str, dict[str, str]]


def _names(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


@functools.cache
def programme_texts(code: str, directory: Path = PROGRAMS_DIR) -> ProgrammeTexts | None:
    """The names in `programs/<code>.toml` (its `[names]` and `[entitlements.*].names`), or
    None when there is no such profile or it cannot be read. Only names are taken: the
    terminal never needs a programme's rules."""
    if not _NAME.match(code):
        return None
    try:
        data = tomllib.loads((directory / f"{code}.toml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    ents = data.get("entitlements")
    return ProgrammeTexts(
        _names(data.get("names")),
        {k: _names(v.get("names")) for k, v in ents.items() if isinstance(v, dict)}
        if isinstance(ents, dict)
        else {},
    )


def in_language(names: dict[str, str], language: str | None) -> str | None:
    """The name for a language tag (itself, its base language), else English, else None."""
    for tag in (language, (language or "").split("-", 1)[0], "en"):
        if tag and tag in names:
            return names[tag]
    return None


@dataclass(frozen=True)
class Entitlement:
    """One line of the staff screen: held when the card carries any of `codes` (the codes
    programmes issue for it); `code` is the first, by which the line is known."""

    code: str
    label: str
    codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.codes:
            object.__setattr__(self, "codes", (self.code,))


def age_over(claims: dict[str, Any], item: str, now: float | None = None) -> bool | None:
    """Whether the holder is over the age of `item` (`AGE_ITEMS`) on the venue's day `now`:
    from the birth date when the claims hold it (a chip or printed card; a wallet that shared
    it), else True when a wallet disclosed the item as true, else None: it cannot be known.

    A wallet's age items are worked out on the day its card was issued (`cardio.wallet_claims`):
    a "yes" stays true, but a "no" from a card issued at 17 is still "no" years later, so a
    disclosed False is not taken as the holder's age (never UNDER_AGE from it)."""
    born = claims.get("birth_date")
    if isinstance(born, str):
        try:
            birth = date.fromisoformat(born)
        except ValueError:
            birth = None
        if birth is not None:
            today = date.fromtimestamp(time.time() if now is None else now)
            return age_on(birth, today) >= AGE_ITEMS[item]
    return True if claims.get(item) is True else None


@dataclass(frozen=True)
class VenueProfile:
    name: str
    title: str
    show: tuple[str, ...]
    entitlements: tuple[Entitlement, ...] = ()
    language: str | None = None  # BCP 47 tag of the staff screen's language
    programmes: tuple[tuple[str, str], ...] = ()  # (programme id, name shown)
    # what it asks a wallet for; empty: derived from show and every code of each entitlement
    # line (`cardio.presentation.request_items`: the code a card carries may be any of them)
    request: tuple[str, ...] = ()
    require: tuple[str, ...] = ()  # AGE_ITEMS a valid card's holder must meet, else refused

    def programme_name(self, code: str, language: str | None = None) -> str:
        """The programme's name: as this venue writes it, else as the programme's profile
        names it in `language` (or English), else its id."""
        own = dict(self.programmes).get(code)
        if own is not None:
            return own
        texts = programme_texts(code)
        return (in_language(texts.names, language or self.language) if texts else None) or code

    def shows(self, claim: str) -> bool:
        return claim in self.show

    def refusal(
        self, claims: dict[str, Any] | None, now: float | None = None
    ) -> tuple[str, FilledSentence] | None:
        """Why this venue refuses a valid card (`UNDER_AGE` or `AGE_UNKNOWN` and its sentence),
        or None when the card meets everything the profile `require`s."""
        for item in self.require:
            over = age_over(claims or {}, item, now)
            if over is not True:
                code = AGE_UNKNOWN if over is None else UNDER_AGE
                return code, FilledSentence(REFUSALS[code], {"age": AGE_ITEMS[item]})
        return None

    def not_shared(self, missing: tuple[str, ...], shared: object) -> tuple[str, ...]:
        """The items of `missing` (asked of a wallet, not disclosed) as staff should read them:
        an entitlement line once, by its first code, and only when the card shared none of its
        codes (`shared`: the entitlement codes disclosed); a wallet is asked for every code of
        a line, and a card carries the one its own programme issues."""
        held = set(shared) if isinstance(shared, list | tuple) else set()
        out: list[str] = []
        for item in missing:
            line = next((e for e in self.entitlements if item in _items(e)), None)
            if line is None:
                out.append(item)
            elif held.isdisjoint(line.codes) and _items(line)[0] not in out:
                out.append(_items(line)[0])
        return tuple(out)

    def present(
        self,
        claims: dict[str, Any] | None,
        now: float | None = None,
        asked: Collection[str] | None = None,
    ) -> dict[str, Any] | None:
        """The part of a valid card's claims this venue may see, or None without claims.

        Returns {"fields": [{"key", "label", "value"}], "photo_base64": str | None,
        "entitlements": [{"code", "label", "held"}]}: only the claims the profile lists and
        only the entitlements that matter here (with whether the holder has each). An age item
        (`AGE_ITEMS`) is a field whose value is True, False or None (cannot be known), worked
        out on the venue's day `now`. `asked`: the items a wallet's answer answered; an
        entitlement line none of whose codes it asked for is left out (not "not held": a
        wallet discloses only what it is asked).
        """
        if not claims:
            return None
        fields: list[dict[str, Any]] = []
        for key in SHOWABLE:
            if key == "photo" or key not in self.show:
                continue
            if key in AGE_ITEMS:
                over = age_over(claims, key, now)
                fields.append({"key": key, "label": LABELS[key], "value": over})
                continue
            value = claims.get(key)
            if value is None or value == []:
                continue
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif key == "program":
                value = self.programme_name(str(value))
            fields.append({"key": key, "label": LABELS[key], "value": str(value)})
        photo = claims.get("photo_base64") if "photo" in self.show else None
        held = set(claims.get("entitlements") or ())
        entitlements = [
            {"code": e.code, "label": e.label, "held": not held.isdisjoint(e.codes)}
            for e in self.entitlements
            if asked is None or not set(_items(e)).isdisjoint(asked)
        ]
        return {
            "fields": fields,
            "photo_base64": photo if isinstance(photo, str) else None,
            "entitlements": entitlements,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "the venue profile") -> VenueProfile:
        unknown = set(data) - {
            "name", "title", "show", "entitlements", "language", "programmes", "request",
            "require",
        }  # fmt: skip
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
        ents = [_entitlement(entry, where) for entry in entries]
        language = data.get("language")
        if language is not None and not (isinstance(language, str) and _LANGUAGE.match(language)):
            raise VenueError(f"{where}: 'language' must be a language tag such as \"de\" or \"pt-BR\".")
        programmes = data.get("programmes", {})
        if not (
            isinstance(programmes, dict)
            and all(
                isinstance(k, str) and _NAME.match(k) and isinstance(v, str) and v.strip()
                for k, v in programmes.items()
            )
        ):
            raise VenueError(
                f"{where}: [programmes] maps programme ids to the names staff read, "
                'e.g. zurich = "Züri City Card".'
            )
        request = data.get("request", [])
        if not (isinstance(request, list) and all(_wallet_item(i) for i in request)):
            raise VenueError(
                f"{where}: 'request' lists what a wallet is asked for, e.g. "
                '["photo", "entitlement:pool"] or ["age_over_18", "photo"].'
            )
        require = data.get("require", [])
        if not (
            isinstance(require, list)
            and all(isinstance(r, str) and r in AGE_ITEMS for r in require)
        ):
            raise VenueError(
                f"{where}: 'require' lists what a valid card's holder must be, among "
                f"{', '.join(AGE_ITEMS)}, e.g. [\"age_over_18\"]."
            )
        return cls(
            name,
            title,
            tuple(s for s in SHOWABLE if s in show),
            tuple(ents),
            language,
            tuple(sorted(programmes.items())),
            tuple(dict.fromkeys(request)),
            tuple(dict.fromkeys(require)),
        )


def _items(line: Entitlement) -> tuple[str, ...]:
    """The wallet items (`entitlement:<code>`) of an entitlement line's codes."""
    return tuple(entitlement_item(c) for c in line.codes)


def _entitlement(entry: object, where: str) -> Entitlement:
    """An [[entitlements]] entry: a 'label' and either a 'code' or a list of 'codes'."""
    codes: object = None
    if isinstance(entry, dict) and isinstance(entry.get("label"), str) and entry["label"].strip():
        if set(entry) == {"code", "label"}:
            codes = [entry["code"]]
        elif set(entry) == {"codes", "label"}:
            codes = entry["codes"]
    if not (
        isinstance(entry, dict)
        and isinstance(codes, list)
        and codes
        and all(isinstance(c, str) and _NAME.match(c) for c in codes)
    ):
        raise VenueError(
            f"{where}: every [[entitlements]] entry needs a 'label' and either a lower-case "
            "'code' or a list of 'codes' that programmes issue."
        )
    unique = tuple(dict.fromkeys(codes))
    return Entitlement(unique[0], entry["label"], unique)


def _wallet_item(item: object) -> bool:
    try:
        check_item(item)
    except CitycardError:
        return False
    return True


def venue_is_file(venue: str) -> bool:
    """Whether a venue setting names a profile file rather than a profile under venues/."""
    return venue.endswith(".toml") or "/" in venue


def load_venue(spec: str | Path, directory: Path | None = None) -> VenueProfile:
    """A venue profile by name (looked up in `directory`, default `venues/`) or by file path."""
    text = str(spec)
    path = Path(text) if venue_is_file(text) else (directory or VENUES_DIR) / f"{text}.toml"
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
