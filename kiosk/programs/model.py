"""The programme model: what a validated profile says, as enums and frozen dataclasses.

`kiosk.programs.loader` builds a `Program` from `programs/<id>.toml`; the rules engine, the
kiosk UI and the card printing read it. Texts a resident reads are `Localized` values (one per
language tag) and are looked up with `Program.text`, which applies the kiosk's one fallback
rule with the programme's own languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from cardio.chip import CardProfile

from ..languages import Localized

T = TypeVar("T")

# --- enums ---------------------------------------------------------------------------------


class Stage(StrEnum):
    OPERATING = "operating"
    PLANNED = "planned"


class IssuerKind(StrEnum):
    """Who issues the cards: the city itself, or an organisation (an NGO running a shelter
    programme) with the city's support."""

    CITY = "city"
    ORGANISATION = "organisation"


class GuardianOutcome(StrEnum):
    """What happens for a minor between guardian_age and minimum_age who comes with a guardian."""

    ELIGIBLE = "eligible"
    ATTENDANT = "attendant"


class ProofKind(StrEnum):
    POINTS = "points"
    PRIMARY_SECONDARY = "primary_secondary"
    CATEGORIES = "categories"


class Insufficient(StrEnum):
    """What happens when the documents shown do not satisfy the proof rule."""

    ATTENDANT = "attendant"  # an attendant may accept other proof (NGO letter, ...)
    REFUSE = "refuse"


class Purpose(StrEnum):
    IDENTITY = "identity"
    RESIDENCE = "residence"
    ELIGIBILITY = "eligibility"  # programme-specific: income, padrón, sponsorship ...


class Tier(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class Requirement(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"
    NOT_COLLECTED = "not_collected"


class Claim(StrEnum):
    """Fee reductions a resident may claim."""

    CHILD = "child"
    SENIOR = "senior"
    LOW_INCOME = "low_income"


class CardKind(StrEnum):
    FIRST = "first"
    RENEWAL = "renewal"
    REPLACEMENT = "replacement"


# --- value types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuingAuthority:
    """`[issuer]`: the city and authority that issue the programme's cards."""

    city: str
    country: str  # ISO 3166-1 alpha-2
    authority: Localized[str]  # the issuing authority as printed
    stage: Stage
    since: int | None  # year the programme started (or is planned to)
    kind: IssuerKind = IssuerKind.CITY
    office: Localized[str] | None = None  # where to go in person, as printed on the receipt
    phone: str | None = None
    web: str | None = None  # https://...
    lost_page: str | None = None  # `lost_url`, else <web>/lost: where a lost card is reported

    @property
    def lost_url(self) -> str | None:
        """The page where a lost card is reported: `lost_url`, else `<web>/lost`, else None."""
        if self.lost_page:
            return self.lost_page
        if self.web:
            return self.web.rstrip("/") + "/lost"
        return None


@dataclass(frozen=True)
class Eligibility:
    minimum_age: int  # may enrol alone from this age
    guardian_age: int | None  # may enrol with a parent/guardian from this age; None: no route
    guardian_outcome: GuardianOutcome | None  # set exactly when guardian_age is
    residence_days: int  # days lived in the city before enrolling (0: no minimum)
    audience: Localized[str] | None  # who the programme is for, in words


@dataclass(frozen=True)
class DocumentCategory:
    code: str
    names: Localized[str]
    examples: Localized[tuple[str, ...]]
    proves: frozenset[Purpose]
    photo: bool  # shows the holder's photo
    birth_date: bool  # shows the holder's birth date
    dated: bool  # a dated document (bill, letter) whose age counts for residence
    identity_points: int  # points rule only
    residence_points: int  # points rule only
    tier: Tier | None  # primary_secondary rule only, for identity documents
    attendant_check: bool  # counts, but the attendant must look at it closely


@dataclass(frozen=True)
class PointsRule:
    identity_points: int
    residence_points: int
    total_points: int


@dataclass(frozen=True)
class PrimarySecondaryRule:
    secondary_count: int  # secondary identity documents that replace one primary
    residence: int  # residence documents needed


@dataclass(frozen=True)
class CategoriesRule:
    identity: int
    residence: int
    eligibility: int


ProofDetail = PointsRule | PrimarySecondaryRule | CategoriesRule


@dataclass(frozen=True)
class Proof:
    rule: ProofKind
    insufficient: Insufficient
    photo: bool  # one identity document must show a photo
    birth_date: bool  # one identity document must show the birth date
    residence_max_age_days: int | None  # dated residence documents must be at most this old
    detail: ProofDetail


@dataclass(frozen=True)
class Reduction:
    claim: Claim
    amount: Decimal
    applies_to: frozenset[CardKind]
    under_age: int | None  # child: applies when age < under_age
    from_age: int | None  # senior: applies when age >= from_age


@dataclass(frozen=True)
class Fees:
    currency: str  # ISO 4217
    first_card: Decimal
    renewal: Decimal
    replacement: Decimal
    reductions: tuple[Reduction, ...]

    def standard(self, kind: CardKind) -> Decimal:
        return {
            CardKind.FIRST: self.first_card,
            CardKind.RENEWAL: self.renewal,
            CardKind.REPLACEMENT: self.replacement,
        }[kind]


@dataclass(frozen=True)
class AgeValidity:
    under: int  # holders younger than this ...
    years: int  # ... get a card valid this many years


@dataclass(frozen=True)
class ValidityRule:
    years: int  # with `until`: the longest a card may be valid
    by_age: tuple[AgeValidity, ...]  # sorted by `under`, the first that matches wins
    # The card ends on a date the attendant enters (Utrecht's BBB card: the end of the shelter
    # registration), at most `years` from the issue date; the text names that date.
    until: Localized[str] | None = None
    # How many days after its expiry a card may still be renewed (kept number, renewal fee).
    renewal_window_days: int = 90

    def years_for(self, age: int | None) -> tuple[int, AgeValidity | None]:
        if age is not None:
            for rule in self.by_age:
                if age < rule.under:
                    return rule.years, rule
        return self.years, None


@dataclass(frozen=True)
class FieldPolicy:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    forbidden: tuple[str, ...]
    sex_values: tuple[str, ...]  # allowed values when sex is collected

    def requirement(self, field: str) -> Requirement:
        if field in self.required:
            return Requirement.REQUIRED
        if field in self.optional:
            return Requirement.OPTIONAL
        if field in self.forbidden:
            return Requirement.FORBIDDEN
        return Requirement.NOT_COLLECTED


@dataclass(frozen=True)
class CardDesignSpec:
    """`[card.design]`: what the programme prints on its cards (printer.card_layout draws it)."""

    display_name: Localized[str]
    languages: tuple[str, ...]  # languages printed on the card
    primary_colour: str  # #RRGGBB
    secondary_colour: str
    arms: Path  # absolute path of a placeholder SVG/PNG under programs/arms/
    disclaimer: Localized[str]  # from the profile, in every printed language
    signature: bool  # the holder's signature is printed


@dataclass(frozen=True)
class CardSpec:
    """`[card]`: the chip profile and the printed design of the programme's cards."""

    profile: CardProfile
    design: CardDesignSpec


@dataclass(frozen=True)
class EntitlementSpec:
    """`[entitlements.<code>]`: an entitlement the programme offers (the credential carries
    its code; cardio.venues checks it at a venue)."""

    code: str
    names: Localized[str]


@dataclass(frozen=True)
class Program:
    id: str
    source: Path
    names: Localized[str]
    issuer: IssuingAuthority
    eligibility: Eligibility
    proof: Proof
    documents: tuple[DocumentCategory, ...]
    fees: Fees
    validity: ValidityRule
    fields: FieldPolicy
    languages: tuple[str, ...]  # languages the kiosk offers for this programme
    card: CardSpec
    entitlements: tuple[EntitlementSpec, ...]
    assumed: tuple[str, ...]  # dotted key paths whose values are assumptions
    notes: str
    sources: tuple[str, ...]
    # What the programme does that citycard does not (a pass's budget, partner discounts).
    out_of_scope: str = ""

    def name(self, language: str = "en") -> str:
        return self.text(self.names, language)

    def text(self, value: Localized[T], language: str) -> T:
        """`value` for a resident who reads `language`, under the kiosk's one fallback rule
        (kiosk.languages): the programme's first language comes before English."""
        return value.get(language, self.languages)

    def document(self, code: str) -> DocumentCategory | None:
        for doc in self.documents:
            if doc.code == code:
                return doc
        return None

    def entitlement(self, code: str) -> EntitlementSpec | None:
        for ent in self.entitlements:
            if ent.code == code:
                return ent
        return None

    def is_assumed(self, path: str) -> bool:
        """True when `path` or a table above it is marked as assumed."""
        return any(
            path == a or path.startswith(a + ".") or path.startswith(a + "[") for a in self.assumed
        )
