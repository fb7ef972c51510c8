"""Checking `[fields]`: which fields the kiosk asks (and therefore prints), and that they fit
the credential and the card (`[card]`)."""

from __future__ import annotations

import difflib

from .model import CardSpec, FieldPolicy
from .reader import ProfileReader, Table, toml_value
from .schema import CREDENTIAL_FIELDS, FIELDS, FIELDS_KEYS, SEXES, is_forbidden_name

_LISTS = ("required", "optional", "forbidden")


def check_fields(r: ProfileReader, data: Table, card: CardSpec | None) -> FieldPolicy | None:
    t = r.table(data, "", "fields")
    if t is None:
        return None
    r.keys(t, "fields", FIELDS_KEYS)
    lists, where = _field_lists(r, t)
    for f in CREDENTIAL_FIELDS:
        if where.get(f) != "required":
            r.add(
                "fields.required",
                f"must include {toml_value(f)}: the card's credential always carries it (docs/credential.md)",
                f"move {toml_value(f)} to fields.required",
            )
    sex_values = _sex_values(r, t, collected=where.get("sex") in ("required", "optional"))
    if card is not None:
        _check_card_fields(r, card, where)
    return FieldPolicy(
        tuple(lists.get("required", [])),
        tuple(lists.get("optional", [])),
        tuple(lists.get("forbidden", [])),
        sex_values,
    )


def _field_lists(r: ProfileReader, t: Table) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The known fields of each list, and the list each field is in."""
    lists: dict[str, list[str]] = {}
    where: dict[str, str] = {}
    for key in _LISTS:
        example = ["family_name", "given_name", "birth_date"]
        values = r.str_list(t, "fields", key, example, required=key == "required") or []
        kept: list[str] = []
        for i, f in enumerate(values):
            full = f"fields.{key}[{i}]"
            if is_forbidden_name(f):
                r.forbidden(full)
            elif f not in FIELDS:
                close = difflib.get_close_matches(f, list(FIELDS), n=1)
                r.add(
                    full,
                    f"{toml_value(f)} is not a field citycard knows",
                    f"did you mean {toml_value(close[0])}?"
                    if close
                    else "use one of " + ", ".join(FIELDS),
                )
            elif f in where:
                r.add(
                    full,
                    f"{toml_value(f)} is already listed in fields.{where[f]}",
                    "list each field in one place only",
                )
            else:
                where[f] = key
                kept.append(f)
        lists[key] = kept
    return lists, where


def _sex_values(r: ProfileReader, t: Table, *, collected: bool) -> tuple[str, ...]:
    sex_raw = r.str_list(t, "fields", "sex_values", list(SEXES), required=False)
    if not collected:
        if sex_raw is not None:
            r.add(
                "fields.sex_values",
                "is set but sex is not collected",
                'remove it, or list "sex" in fields.required or fields.optional',
            )
        return ()
    if sex_raw is None:
        r.add(
            "fields.sex_values",
            "is missing while sex is collected",
            'add it, e.g. fields.sex_values = ["F", "M", "X"]',
        )
        return ()
    bad = [s for s in sex_raw if s not in SEXES]
    if bad or not sex_raw:
        r.add(
            "fields.sex_values",
            "must list values among F, M and X",
            'e.g. fields.sex_values = ["F", "M", "X"]',
        )
    return tuple(s for s in sex_raw if s in SEXES)


def _check_card_fields(r: ProfileReader, card: CardSpec, where: dict[str, str]) -> None:
    """What the card holds or prints must be collected, and only that."""
    if card.profile.photo_on_chip and where.get("photo") != "required":
        r.add(
            "fields.required",
            f'must include "photo": card.profile = "{card.profile.value}" puts the photo on the chip, so it is printed too',
            'move "photo" to fields.required or choose card.profile = "compact" or "print"',
        )
    collected = where.get("signature") in ("required", "optional")
    if card.design.signature and not collected:
        r.add(
            "fields.required",
            'must include "signature": card.design.signature = true',
            'add "signature" to fields.required, or set card.design.signature = false',
        )
    if not card.design.signature and collected:
        r.add(
            "card.design.signature",
            'is false but "signature" is collected',
            'set card.design.signature = true, or remove "signature" from the fields',
        )
