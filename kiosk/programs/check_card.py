"""Checking `[card]` (the card profile and `[card.design]`: what is printed and how) and
`[entitlements.<code>]` (what the card gives access to; the credential carries the codes)."""

from __future__ import annotations

from pathlib import Path

from cardio.chip import CardProfile

from .model import CardDesignSpec, CardSpec, EntitlementSpec
from .reader import ProfileReader, Table
from .schema import CARD_KEYS, DESIGN_KEYS, ENTITLEMENT_KEYS, MAX_ENTITLEMENTS


def check_card(r: ProfileReader, data: Table) -> CardSpec | None:
    t = r.table(data, "", "card")
    if t is None:
        return None
    r.keys(t, "card", CARD_KEYS)
    profile = r.choice(t, "card", "profile", [c.value for c in CardProfile])
    design = check_design(r, t)
    if profile is None or design is None:
        return None
    return CardSpec(CardProfile(profile), design)


def check_design(r: ProfileReader, card: Table) -> CardDesignSpec | None:
    d = r.table(card, "card", "design")
    if d is None:
        return None
    p = "card.design"
    r.keys(d, p, DESIGN_KEYS)
    printed = r.languages(d, p, "languages", ["de", "en"])
    name = r.localized(d, p, "display_name", "Züri City Card")
    primary = r.colour(d, p, "primary_colour", "#1F4E9A")
    secondary = r.colour(d, p, "secondary_colour", "#FFFFFF")
    # The disclaimer comes from the profile only (never a default here): the city words it,
    # in every language printed on the card.
    if "disclaimer" not in d:
        r.add(
            "card.design.disclaimer",
            "is missing: the card must say plainly that it is not a residence permit",
            'add it in every printed language, e.g. card.design.disclaimer = { en = "Not a residence permit" }',
        )
        disclaimer = None
    else:
        disclaimer = r.localized(d, p, "disclaimer", "Not a residence permit", need=printed)
    signature = r.boolean(d, p, "signature", False)
    if "signature" not in d:
        r.add("card.design.signature", "is missing", "add it, e.g. card.design.signature = true")
    arms = check_arms(r, d, p)
    if name is None or disclaimer is None or arms is None:
        return None
    return CardDesignSpec(name, printed, primary, secondary, arms, disclaimer, signature)


def check_arms(r: ProfileReader, d: Table, p: str) -> Path | None:
    """The arms image: a placeholder under arms/ next to the profile, as an absolute path."""
    rel = r.text(d, p, "arms", "arms/zurich.svg")
    if rel is None:
        return None
    fix = f'ship a placeholder (never real arms) and write e.g. {p}.arms = "arms/{r.path.stem}.svg"'
    rel_path = Path(rel)
    if rel_path.is_absolute() or ".." in rel_path.parts or rel_path.parts[:1] != ("arms",):
        r.add(f"{p}.arms", "must be a path under arms/ next to the profile", fix)
        return None
    if rel_path.suffix.lower() not in (".svg", ".png"):
        r.add(f"{p}.arms", "must be an .svg or .png image", fix)
        return None
    full = r.path.parent / rel_path
    if not full.is_file():
        r.add(f"{p}.arms", f"names {rel}, which does not exist", fix)
        return None
    return full.resolve()


def check_entitlements(r: ProfileReader, data: Table) -> tuple[EntitlementSpec, ...]:
    out: list[EntitlementSpec] = []
    for code, p, entry in r.coded_tables(
        data, "entitlements", "an entitlement code", "transport-discount", 'names = { en = "..." }'
    ):
        r.keys(entry, p, ENTITLEMENT_KEYS)
        names = r.localized(entry, p, "names", "Public libraries")
        if names is not None:
            out.append(EntitlementSpec(code, names))
    if len(out) > MAX_ENTITLEMENTS:
        r.add(
            "entitlements",
            f"lists {len(out)}; the credential carries at most {MAX_ENTITLEMENTS}",
            "merge or drop some",
        )
    return tuple(out)
