"""Checking `[fees]` (with its `[[fees.reductions]]`) and `[validity]` (with
`[[validity.by_age]]` and `until`): what a card costs and how long it is valid."""

from __future__ import annotations

from decimal import Decimal

from .model import AgeValidity, CardKind, Claim, Fees, Reduction, ValidityRule
from .reader import ProfileReader, Table, toml_value
from .schema import AGE_VALIDITY_KEYS, CURRENCY_RE, FEES_KEYS, REDUCTION_KEYS, VALIDITY_KEYS


def check_fees(r: ProfileReader, data: Table) -> Fees | None:
    t = r.table(data, "", "fees")
    if t is None:
        return None
    p = "fees"
    r.keys(t, p, FEES_KEYS)
    currency = r.text(t, p, "currency", "CHF")
    if currency is not None and not CURRENCY_RE.match(currency):
        r.add("fees.currency", "must be an ISO 4217 code", 'e.g. fees.currency = "CHF"')
    first = r.amount(t, p, "first_card")
    renewal = r.amount(t, p, "renewal", default=first if first is not None else Decimal(0))
    replacement = r.amount(t, p, "replacement")
    reductions: list[Reduction] = []
    raw = r.table_list(t, p, "reductions", "write each as [[fees.reductions]]")
    for i, entry in enumerate(raw):
        red = check_reduction(r, entry, f"fees.reductions[{i}]")
        if red is not None:
            reductions.append(red)
    if currency is None or first is None or renewal is None or replacement is None:
        return None
    return Fees(currency, first, renewal, replacement, tuple(reductions))


def check_reduction(r: ProfileReader, t: Table, p: str) -> Reduction | None:
    r.keys(t, p, REDUCTION_KEYS)
    claim = r.choice(t, p, "claim", [c.value for c in Claim])
    amount = r.amount(t, p, "amount")
    kinds_raw = r.str_list(t, p, "applies_to", ["first", "renewal"], required=False)
    kinds: set[CardKind] = set()
    for i, k in enumerate(kinds_raw if kinds_raw is not None else [k.value for k in CardKind]):
        if k in {c.value for c in CardKind}:
            kinds.add(CardKind(k))
        else:
            r.add(
                f"{p}.applies_to[{i}]",
                f"{toml_value(k)} is not first, renewal or replacement",
                f'e.g. {p}.applies_to = ["first", "renewal"]',
            )
    under = r.integer(t, p, "under_age", 1, 30, 18, unit="years", default=-1)
    start = r.integer(t, p, "from_age", 40, 99, 65, unit="years", default=-1)
    under_age = None if under is None or under < 0 else under
    from_age = None if start is None or start < 0 else start
    if claim == Claim.CHILD and under_age is None:
        r.add(
            f"{p}.under_age", "is missing for a child reduction", f"add it, e.g. {p}.under_age = 18"
        )
    if claim == Claim.SENIOR and from_age is None:
        r.add(
            f"{p}.from_age", "is missing for a senior reduction", f"add it, e.g. {p}.from_age = 65"
        )
    if claim != Claim.CHILD and "under_age" in t:
        r.add(f"{p}.under_age", 'is only used with claim = "child"', "remove it")
    if claim != Claim.SENIOR and "from_age" in t:
        r.add(f"{p}.from_age", 'is only used with claim = "senior"', "remove it")
    if claim is None or amount is None:
        return None
    return Reduction(Claim(claim), amount, frozenset(kinds), under_age, from_age)


def check_validity(r: ProfileReader, data: Table) -> ValidityRule | None:
    t = r.table(data, "", "validity")
    if t is None:
        return None
    r.keys(t, "validity", VALIDITY_KEYS)
    years = r.integer(t, "validity", "years", 1, 10, 5, unit="years")
    until = r.localized(
        t, "validity", "until", "the end of the shelter registration", required=False
    )
    raw = r.table_list(
        t, "validity", "by_age", "write each as [[validity.by_age]] with under and years"
    )
    rules: list[AgeValidity] = []
    for i, entry in enumerate(raw):
        p = f"validity.by_age[{i}]"
        r.keys(entry, p, AGE_VALIDITY_KEYS)
        under = r.integer(entry, p, "under", 1, 99, 14, unit="years")
        y = r.integer(entry, p, "years", 1, 10, 2, unit="years")
        if under is not None and y is not None:
            rules.append(AgeValidity(under, y))
    if len({rule.under for rule in rules}) != len(rules):
        r.add("validity.by_age", "repeats an age", "give each age limit once")
    window = r.integer(t, "validity", "renewal_window_days", 0, 3650, 90, unit="days", default=90)
    if years is None:
        return None
    by_age = tuple(sorted(rules, key=lambda rule: rule.under))
    return ValidityRule(years, by_age, until, 90 if window is None else window)
