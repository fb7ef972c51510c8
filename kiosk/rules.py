"""The rules engine: a programme profile plus an application gives a Decision.

    decision = decide(program, application, station_day())
    decision.outcome           # ELIGIBLE / NEEDS_ATTENDANT / REFUSED
    reasons_text(decision, "ar")  # the reasons, in the resident's language

The application holds only what the rules need: a birth date, whether a guardian is present,
how long the resident has lived in the city, the *categories* of documents they will show (never
their contents or numbers), the *names* of the fields they filled (never the values), fee claims
and whether this is a first card, a renewal or a replacement. There is no field for residence
status, nationality or birthplace, and none can be added through a profile.

Outcome rules (docs/programs.md has the full table):
- REFUSED when the rules exclude the application and no attendant may override them: an
  impossible birth date, too young (even with a guardian), a minor without the guardian the
  profile asks for, too short a residence, a field that must not be given, or insufficient
  documents when the profile says `proof.insufficient = "refuse"`.
- NEEDS_ATTENDANT when a person must decide: insufficient documents when the profile says
  `proof.insufficient = "attendant"` (an attendant may accept a letter from a shelter or NGO),
  a minor with a guardian when the profile says `guardian_outcome = "attendant"`, or an unknown
  residence duration.
- ELIGIBLE otherwise. Every card still passes the kiosk's attendant approval step, where the
  attendant looks at the documents shown; `Effect.CHECK` reasons tell them what to look at.

`decide` never raises for any application: odd input becomes a reason, not an exception.

`today` is the station's own calendar day (`station_day`: its clock in its time zone, which a
deployment sets to the city's), never the UTC day: ages, residence and the expiry an evening
enrolment west of UTC gets are counted from the day the resident sees on the wall.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from cardio.credential import local_day

from .i18n_rules import MESSAGES, render
from .programs import (
    AgeValidity,
    CardKind,
    CategoriesRule,
    Claim,
    DocumentCategory,
    GuardianOutcome,
    Insufficient,
    PointsRule,
    PrimarySecondaryRule,
    Program,
    Purpose,
    Requirement,
    Tier,
)

__all__ = [
    "MESSAGES",
    "Application",
    "CardKind",
    "Claim",
    "Decision",
    "Effect",
    "Fee",
    "Outcome",
    "Reason",
    "ShownDocument",
    "Validity",
    "decide",
    "reason_text",
    "reasons_text",
]

MIN_BIRTH = date(1900, 1, 1)  # the credential refuses earlier birth dates


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NEEDS_ATTENDANT = "needs_attendant"
    REFUSED = "refused"


class Effect(StrEnum):
    """What a reason does to the outcome."""

    REFUSE = "refuse"  # makes the outcome REFUSED
    ATTENDANT = "attendant"  # makes it NEEDS_ATTENDANT (unless refused)
    CHECK = "check"  # something the attendant verifies at the approval step; no effect
    INFO = "info"  # explanation (fee, validity, a document that did not count); no effect


_EFFECT_ORDER = {Effect.REFUSE: 0, Effect.ATTENDANT: 1, Effect.CHECK: 2, Effect.INFO: 3}


@dataclass(frozen=True)
class Reason:
    """A translatable reason: a message id (a key of MESSAGES) and its parameters.

    Parameter values are strings. Three names hold codes that are translated when rendered:
    `field` (a field code, label "field.<code>"), `reduction` (a Claim, label "claim.<code>")
    and `document` (a document category code, named by the programme profile). Dates are ISO
    8601 (YYYY-MM-DD); `fee` and `standard` are "15.00 USD"."""

    id: str
    effect: Effect
    params: tuple[tuple[str, str], ...] = ()

    @property
    def args(self) -> dict[str, str]:
        return dict(self.params)


def _reason(id: str, effect: Effect, **params: object) -> Reason:
    assert id in MESSAGES, id
    return Reason(id, effect, tuple((k, str(v)) for k, v in params.items()))


@dataclass(frozen=True)
class ShownDocument:
    """A document the resident will show: its category code and, for dated documents such as
    a bill, the date printed on it (optional: without it, the attendant checks the date)."""

    category: str
    issued: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "issued", _day(self.issued))


@dataclass(frozen=True)
class Application:
    """What the rules need to know, and nothing more. No status, nationality or birthplace."""

    birth_date: date
    has_guardian: bool = False
    residence_since: date | None = None  # wins over residence_days when both are given
    residence_days: int | None = None
    documents: Sequence[ShownDocument | str] = ()  # category codes, or ShownDocument with a date
    fields_provided: Set[str] = frozenset()  # field codes filled in, e.g. {"sex", "address"}
    claims: Set[Claim] = frozenset()  # fee reductions claimed
    kind: CardKind = CardKind.FIRST
    # The end date the attendant enters where the programme's validity ends on a date
    # (validity.until: the end of a shelter registration); other programmes ignore it.
    valid_until: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "birth_date", _day(self.birth_date))
        object.__setattr__(self, "residence_since", _day(self.residence_since))
        object.__setattr__(self, "valid_until", _day(self.valid_until))
        object.__setattr__(self, "documents", tuple(self.documents))
        object.__setattr__(self, "fields_provided", frozenset(self.fields_provided))
        object.__setattr__(self, "claims", frozenset(self.claims))

    @property
    def shown(self) -> tuple[ShownDocument, ...]:
        return tuple(
            d if isinstance(d, ShownDocument) else ShownDocument(str(d)) for d in self.documents
        )

    def days_of_residence(self, today: date) -> int | None:
        if self.residence_since is not None:
            return max(0, (today - self.residence_since).days)
        if self.residence_days is not None:
            return max(0, self.residence_days)
        return None


@dataclass(frozen=True)
class Fee:
    amount: Decimal  # what the resident pays
    currency: str
    standard: Decimal  # the fee before reductions
    reduction: Claim | None  # the reduction applied, if any

    def __str__(self) -> str:
        return _money(self.amount, self.currency)


@dataclass(frozen=True)
class Validity:
    issued: date
    expires: date
    years: int
    age_rule: AgeValidity | None  # the age-dependent rule that applied, if any


@dataclass(frozen=True)
class Decision:
    program: Program
    outcome: Outcome
    reasons: tuple[Reason, ...]  # refusals first, then attendant, checks, information
    fee: Fee
    validity: Validity
    age: int | None  # None when the birth date is impossible
    required_fields: tuple[str, ...]
    optional_fields: tuple[str, ...]
    forbidden_fields: tuple[str, ...]
    missing_fields: tuple[str, ...]  # required but not (yet) provided: collect before issuing
    sex_values: tuple[str, ...] = field(default=())  # allowed when sex is collected
    # The programme's validity ends on a date the attendant enters (validity.until) and no
    # date after today was given: collect it before issuing, as a missing field.
    missing_end_date: bool = False

    @property
    def checks(self) -> tuple[Reason, ...]:
        """What the attendant verifies at the approval step."""
        return tuple(r for r in self.reasons if r.effect is Effect.CHECK)

    @property
    def complete(self) -> bool:
        return not self.missing_fields and not self.missing_end_date


# --- the engine ----------------------------------------------------------------------------


def station_day(moment: datetime | float | None = None) -> date:
    """The station's calendar day at `moment` (a datetime, epoch seconds, or now): in the
    station's time zone, so 19:30 in New York is still that day there (docs/credential.md 2.1)."""
    if isinstance(moment, datetime):
        return moment.astimezone().date() if moment.tzinfo is not None else moment.date()
    return local_day(time.time() if moment is None else moment)


def decide(program: Program, application: Application, today: date) -> Decision:
    """Apply `program`'s rules to `application` on `today` (the station's day). Never raises."""
    today = station_day(today) if isinstance(today, datetime) else today
    reasons: list[Reason] = []
    age = _age(application.birth_date, today)
    if age is None:
        reasons.append(
            _reason("birth_date.invalid", Effect.REFUSE, birth_date=_iso(application.birth_date))
        )
    else:
        reasons.extend(_age_reasons(program, application, age))
    reasons.extend(_residence_reasons(program, application, today))
    reasons.extend(_field_reasons(program, application))
    reasons.extend(_document_reasons(program, application, today))
    fee, fee_reasons = _fee(program, application, age)
    reasons.extend(fee_reasons)
    validity = _validity(program, age, today, application.valid_until)
    reasons.append(_reason("validity.expires", Effect.INFO, date=_iso(validity.expires)))
    if validity.age_rule is not None:
        reasons.append(_reason("validity.under_age", Effect.INFO, age=validity.age_rule.under))

    reasons.sort(key=lambda r: _EFFECT_ORDER[r.effect])
    effects = {r.effect for r in reasons}
    outcome = (
        Outcome.REFUSED
        if Effect.REFUSE in effects
        else Outcome.NEEDS_ATTENDANT
        if Effect.ATTENDANT in effects
        else Outcome.ELIGIBLE
    )
    policy = program.fields
    provided = application.fields_provided | {"birth_date"}
    return Decision(
        program=program,
        outcome=outcome,
        reasons=tuple(reasons),
        fee=fee,
        validity=validity,
        age=age,
        required_fields=policy.required,
        optional_fields=policy.optional,
        forbidden_fields=policy.forbidden,
        missing_fields=tuple(f for f in policy.required if f not in provided),
        sex_values=policy.sex_values,
        missing_end_date=program.validity.until is not None
        and not _usable_end(application.valid_until, today),
    )


def _day(value: date | None) -> date | None:
    """A datetime compares with no date: keep its day."""
    return value.date() if isinstance(value, datetime) else value


def _age(birth: date, today: date) -> int | None:
    if not isinstance(birth, date) or birth < MIN_BIRTH or birth > today:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _iso(d: date) -> str:
    return d.isoformat()


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def _plus_days(d: date, days: int) -> date:
    try:
        return d + timedelta(days=days)
    except OverflowError:
        return date.max


def _plus_years(d: date, years: int) -> date:
    year = min(d.year + years, date.max.year)
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February in a common year
        return d.replace(year=year, day=28)


def _age_reasons(program: Program, app: Application, age: int) -> list[Reason]:
    rule = program.eligibility
    if age >= rule.minimum_age:
        return []
    if rule.guardian_age is None:
        return [_reason("age.too_young", Effect.REFUSE, age=rule.minimum_age)]
    if age < rule.guardian_age:
        return [_reason("age.too_young_with_guardian", Effect.REFUSE, age=rule.guardian_age)]
    if not app.has_guardian:
        return [_reason("age.needs_guardian", Effect.REFUSE, age=rule.minimum_age)]
    if rule.guardian_outcome is GuardianOutcome.ATTENDANT:
        return [_reason("age.guardian_attendant", Effect.ATTENDANT, age=rule.minimum_age)]
    return [_reason("age.with_guardian", Effect.INFO, age=rule.minimum_age)]


def _residence_reasons(program: Program, app: Application, today: date) -> list[Reason]:
    needed = program.eligibility.residence_days
    if needed <= 0:
        return []
    days = app.days_of_residence(today)
    if days is None:
        return [_reason("residence.unknown", Effect.ATTENDANT, days=needed)]
    if days < needed:
        return [
            _reason(
                "residence.too_short",
                Effect.REFUSE,
                days=needed,
                date=_iso(_plus_days(today, needed - days)),
            )
        ]
    return []


def _field_reasons(program: Program, app: Application) -> list[Reason]:
    reasons: list[Reason] = []
    for name in sorted(str(f) for f in app.fields_provided):
        requirement = program.fields.requirement(name)
        if requirement is Requirement.FORBIDDEN:
            reasons.append(_reason("field.forbidden", Effect.REFUSE, field=name))
        elif requirement is Requirement.NOT_COLLECTED and name != "birth_date":
            reasons.append(_reason("field.not_collected", Effect.REFUSE, field=name))
    return reasons


# --- documents: which of those shown count, then the proof rule and what it asks of them ----


@dataclass(frozen=True)
class _CountedDocuments:
    """The categories of the documents shown that count, by what they prove."""

    identity: tuple[DocumentCategory, ...]
    residence: tuple[DocumentCategory, ...]
    eligibility: tuple[DocumentCategory, ...]


def _document_reasons(program: Program, app: Application, today: date) -> list[Reason]:
    proof = program.proof
    counted, info = _count_documents(program, app, today)
    effect = Effect.ATTENDANT if proof.insufficient is Insufficient.ATTENDANT else Effect.REFUSE
    failures = _rule_failures(proof.detail, counted, effect)
    if proof.photo and not any(d.photo for d in counted.identity):
        failures.append(_reason("documents.no_photo", effect))
    if proof.birth_date and not any(d.birth_date for d in counted.identity):
        failures.append(_reason("documents.no_birth_date", effect))
    if failures:
        summary = "documents.attendant" if effect is Effect.ATTENDANT else "documents.refused"
        failures.append(_reason(summary, effect))
    return failures + info


def _count_documents(
    program: Program, app: Application, today: date
) -> tuple[_CountedDocuments, list[Reason]]:
    """The documents that count, and reasons about the others (unknown, too old) and about
    what the attendant checks."""
    max_age = program.proof.residence_max_age_days
    oldest = _plus_days(today, -max_age) if max_age else None
    info: list[Reason] = []
    by_purpose: dict[Purpose, list[DocumentCategory]] = {p: [] for p in Purpose}
    for shown in app.shown:
        doc = program.document(shown.category)
        if doc is None:
            info.append(_reason("documents.unknown", Effect.INFO, document=shown.category))
            continue
        if doc.attendant_check:
            info.append(_reason("check.document", Effect.CHECK, document=doc.code))
        for purpose in (Purpose.IDENTITY, Purpose.ELIGIBILITY):
            if purpose in doc.proves:
                by_purpose[purpose].append(doc)
        if Purpose.RESIDENCE in doc.proves:
            counts, reason = _residence_date(doc, shown, today, oldest)
            if counts:
                by_purpose[Purpose.RESIDENCE].append(doc)
            if reason is not None:
                info.append(reason)
    counted = _CountedDocuments(
        tuple(by_purpose[Purpose.IDENTITY]),
        tuple(by_purpose[Purpose.RESIDENCE]),
        tuple(by_purpose[Purpose.ELIGIBILITY]),
    )
    return counted, info


def _residence_date(
    doc: DocumentCategory, shown: ShownDocument, today: date, oldest: date | None
) -> tuple[bool, Reason | None]:
    """Whether a proof of residence counts given its date, and why (or what to check) if any:
    a dated document (a bill) must be recent when the programme says how recent."""
    if oldest is None or not doc.dated:
        return True, None
    if shown.issued is None:
        return True, _reason(
            "check.document_date", Effect.CHECK, document=doc.code, oldest=_iso(oldest)
        )
    if shown.issued > today:
        return False, _reason(
            "documents.bad_date", Effect.INFO, document=doc.code, date=_iso(shown.issued)
        )
    if shown.issued < oldest:
        return False, _reason(
            "documents.too_old",
            Effect.INFO,
            document=doc.code,
            date=_iso(shown.issued),
            oldest=_iso(oldest),
        )
    return True, None


# One short check per proof rule (the profile's `proof.rule`), chosen by the rule's type.


@functools.singledispatch
def _rule_failures(detail: object, counted: _CountedDocuments, effect: Effect) -> list[Reason]:
    """What the documents that count lack for `detail`'s rule (empty: they are enough)."""
    return []


@_rule_failures.register
def _points_failures(
    detail: PointsRule, counted: _CountedDocuments, effect: Effect
) -> list[Reason]:
    ip = sum(d.identity_points for d in counted.identity)
    rp = sum(d.residence_points for d in counted.residence)
    failures: list[Reason] = []
    for message, points, required in (
        ("documents.identity_points", ip, detail.identity_points),
        ("documents.residence_points", rp, detail.residence_points),
        ("documents.total_points", ip + rp, detail.total_points),
    ):
        if points < required:
            failures.append(_reason(message, effect, points=points, required=required))
    return failures


@_rule_failures.register
def _primary_secondary_failures(
    detail: PrimarySecondaryRule, counted: _CountedDocuments, effect: Effect
) -> list[Reason]:
    primary = sum(d.tier is Tier.PRIMARY for d in counted.identity)
    secondary = sum(d.tier is Tier.SECONDARY for d in counted.identity)
    failures: list[Reason] = []
    if primary < 1 and secondary < detail.secondary_count:
        failures.append(
            _reason("documents.primary_or_secondary", effect, count=detail.secondary_count)
        )
    if len(counted.residence) < detail.residence:
        failures.append(
            _count_failure("documents.residence_count", effect, detail.residence, counted.residence)
        )
    return failures


@_rule_failures.register
def _categories_failures(
    detail: CategoriesRule, counted: _CountedDocuments, effect: Effect
) -> list[Reason]:
    return [
        _count_failure(message, effect, needed, docs)
        for needed, docs, message in (
            (detail.identity, counted.identity, "documents.identity_count"),
            (detail.residence, counted.residence, "documents.residence_count"),
            (detail.eligibility, counted.eligibility, "documents.eligibility_count"),
        )
        if len(docs) < needed
    ]


def _count_failure(
    message: str, effect: Effect, required: int, docs: tuple[DocumentCategory, ...]
) -> Reason:
    return _reason(message, effect, required=required, count=len(docs))


def _fee(program: Program, app: Application, age: int | None) -> tuple[Fee, list[Reason]]:
    fees = program.fees
    standard = fees.standard(app.kind)
    reasons: list[Reason] = []
    best: tuple[Decimal, Claim] | None = None
    applicable: set[Claim] = set()
    for red in fees.reductions:
        if app.kind not in red.applies_to:
            continue
        if red.claim is Claim.CHILD:
            ok = age is not None and red.under_age is not None and age < red.under_age
        elif red.claim is Claim.SENIOR:
            ok = age is not None and red.from_age is not None and age >= red.from_age
        else:
            ok = red.claim in app.claims
        if ok:
            applicable.add(red.claim)
            if red.amount < standard and (best is None or red.amount < best[0]):
                best = (red.amount, red.claim)
    for claim in sorted(app.claims - applicable, key=str):
        if standard > 0:
            reasons.append(_reason("fee.claim_not_applicable", Effect.INFO, reduction=claim))
    if best is None:
        fee = Fee(standard, fees.currency, standard, None)
        if standard == 0:
            reasons.append(_reason("fee.free", Effect.INFO))
        else:
            reasons.append(
                _reason("fee.standard", Effect.INFO, fee=_money(standard, fees.currency))
            )
        return fee, reasons
    amount, claim = best
    fee = Fee(amount, fees.currency, standard, claim)
    reasons.append(
        _reason(
            "fee.reduced",
            Effect.INFO,
            fee=_money(amount, fees.currency),
            standard=_money(standard, fees.currency),
            reduction=claim,
        )
    )
    if claim is Claim.LOW_INCOME:
        reasons.append(_reason("check.low_income", Effect.CHECK))
    return fee, reasons


def _validity(program: Program, age: int | None, today: date, until: date | None) -> Validity:
    years, rule = program.validity.years_for(age)
    expires = _plus_years(today, years)
    if program.validity.until is not None and _usable_end(until, today):
        assert until is not None
        expires = min(expires, until)  # `years` is the longest such a card may be valid
    return Validity(today, expires, years, rule)


def _usable_end(until: date | None, today: date) -> bool:
    """An end date a card can be valid until: a date after today."""
    return isinstance(until, date) and until > today


# --- text ----------------------------------------------------------------------------------


def reason_text(reason: Reason, language: str, program: Program | None = None) -> str:
    """One reason as a sentence in `language`, from the kiosk catalogues (`kiosk.i18n_rules`)."""
    return render(reason.id, reason.args, language, program)


def reasons_text(decision: Decision, language: str) -> list[str]:
    """The outcome sentence followed by every reason, in `language`.

    Every kiosk language has them all; any other tag gets the kiosk's fallback rule
    (`kiosk.languages`: its base language, the programme's first language, English)."""
    head = render(f"outcome.{decision.outcome.value}", {}, language, decision.program)
    return [head, *(reason_text(r, language, decision.program) for r in decision.reasons)]
