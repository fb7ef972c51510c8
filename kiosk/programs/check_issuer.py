"""Checking `[issuer]` (who issues the card) and `[eligibility]` (who may enrol)."""

from __future__ import annotations

from .model import Eligibility, GuardianOutcome, IssuerKind, IssuingAuthority, Stage
from .reader import ProfileReader, Table
from .schema import COUNTRY_RE, ELIGIBILITY_KEYS, ISSUER_KEYS, MAX_AUDIENCE, PHONE_RE, WEB_RE


def check_issuer(r: ProfileReader, data: Table) -> IssuingAuthority | None:
    t = r.table(data, "", "issuer")
    if t is None:
        return None
    p = "issuer"
    r.keys(t, p, ISSUER_KEYS)
    city = r.text(t, p, "city", "Zürich")
    country = r.text(t, p, "country", "CH")
    if country is not None and not COUNTRY_RE.match(country):
        r.add("issuer.country", "must be an ISO 3166-1 alpha-2 code", 'e.g. issuer.country = "CH"')
    authority = r.localized(t, p, "authority", "City of Zurich")
    kind = r.choice(t, p, "kind", [k.value for k in IssuerKind], required=False)
    stage = r.choice(t, p, "stage", [s.value for s in Stage])
    since = r.integer(t, p, "since", 1900, 2100, 2015, default=0)
    office = r.localized(t, p, "office", "Stadthaus, Stadthausquai 17, 8001 Zürich", required=False)
    phone = r.text(t, p, "phone", "+41 44 412 11 11", required=False)
    if phone is not None and not PHONE_RE.match(phone):
        r.add("issuer.phone", "is not a phone number", 'write it as dialled, e.g. issuer.phone = "+41 44 412 11 11"')
        phone = None
    web = _web(r, t, "web", "https://www.stadt-zuerich.ch/citycard")
    lost = _web(r, t, "lost_url", "https://www.stadt-zuerich.ch/citycard/lost")
    if city is None or country is None or authority is None or stage is None:
        return None
    return IssuingAuthority(
        city, country, authority, Stage(stage), since or None, IssuerKind(kind or IssuerKind.CITY),
        office, phone, web, lost,
    )


def _web(r: ProfileReader, t: Table, key: str, example: str) -> str | None:
    """An https address without a query or fragment (the receipt adds ?doc= to lost_url)."""
    value = r.text(t, "issuer", key, example, required=False)
    if value is not None and not WEB_RE.match(value):
        r.add(f"issuer.{key}", "must be an https:// address without a query or fragment", f'e.g. issuer.{key} = "{example}"')
        return None
    return value


def check_eligibility(r: ProfileReader, data: Table) -> Eligibility | None:
    t = r.table(data, "", "eligibility")
    if t is None:
        return None
    p = "eligibility"
    r.keys(t, p, ELIGIBILITY_KEYS)
    minimum = r.integer(t, p, "minimum_age", 0, 99, 14, unit="years")
    guardian = r.integer(t, p, "guardian_age", 0, 99, 10, unit="years", default=-1)
    outcome = r.choice(t, p, "guardian_outcome", [o.value for o in GuardianOutcome], required=False)
    residence = r.integer(t, p, "residence_days", 0, 3650, 90, unit="days")
    audience = r.localized(
        t, p, "audience", "every resident", required=False, max_len=MAX_AUDIENCE
    )
    guardian_age = None if guardian is None or guardian < 0 else guardian
    if guardian_age is not None and minimum is not None and guardian_age >= minimum:
        r.add(
            "eligibility.guardian_age",
            f"must be below eligibility.minimum_age ({minimum})",
            "lower it, or remove it when minors cannot enrol with a guardian",
        )
    if "guardian_age" in t and "guardian_outcome" not in t:
        r.add(
            "eligibility.guardian_outcome",
            "is missing (it says what happens for a minor who comes with a guardian)",
            'add it, e.g. eligibility.guardian_outcome = "attendant"',
        )
    if "guardian_age" not in t and "guardian_outcome" in t:
        r.add(
            "eligibility.guardian_outcome",
            "is set but eligibility.guardian_age is not",
            "add eligibility.guardian_age or remove eligibility.guardian_outcome",
        )
    if minimum is None or residence is None:
        return None
    return Eligibility(
        minimum,
        guardian_age,
        GuardianOutcome(outcome) if outcome and guardian_age is not None else None,
        residence,
        audience,
    )
