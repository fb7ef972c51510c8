"""City programme profiles: `programs/<id>.toml`, validated into frozen dataclasses.

Every city programme is data, not code (DESIGN.md principle 4). A profile says who may enrol,
which documents prove identity and residence, what the card costs, how long it is valid, which
fields are collected (and therefore printed), the languages, the card profile and design, and
the entitlements. `docs/programs.md` describes every key.

Validation is hand-written (no schema library): each problem names the file, the dotted key
and the fix, and all problems of a file are reported at once, e.g.

    programs/zurich.toml: validity.years must be a whole number of years between 1 and 10,
    e.g. validity.years = 5

No profile may name a field (or any key) for residence status, nationality or birthplace: the
card never holds them (principle 1), so the schema refuses such names wherever they appear.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from cardio.chip import CardProfile
from cardio.errors import CitycardError

from .languages import Localized, best_available

__all__ = [
    "FIELDS",
    "PROGRAMS_DIR",
    "AgeValidity",
    "Card",
    "CardDesign",
    "CardKind",
    "CardProfile",
    "CategoriesRule",
    "Claim",
    "DocumentCategory",
    "Eligibility",
    "Entitlement",
    "Fees",
    "FieldPolicy",
    "GuardianOutcome",
    "Insufficient",
    "Issuer",
    "Localized",
    "PointsRule",
    "PrimarySecondaryRule",
    "Problem",
    "Program",
    "ProgramError",
    "Proof",
    "ProofKind",
    "Purpose",
    "Reduction",
    "Requirement",
    "Stage",
    "Tier",
    "ValidityRule",
    "best_language",
    "is_forbidden_name",
    "load_all",
    "load_program",
]

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"

CODE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")
# BCP 47 in canonical case, the subset citycard uses: language (2-3 letters), optional script
# (Title case), optional region (2 capitals or 3 digits), optional variants: en, pt-BR, zh-Hant,
# ase (American Sign Language), ca-ES-valencia.
LANGUAGE_RE = re.compile(
    r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|[0-9]{3}))?(-(?:[0-9a-z]{5,8}|[0-9][0-9a-z]{3}))*\Z"
)
COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{6}\Z")
COUNTRY_RE = re.compile(r"[A-Z]{2}\Z")
CURRENCY_RE = re.compile(r"[A-Z]{3}\Z")
AMOUNT_RE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?\Z")
SEXES = ("F", "M", "X")
MAX_ENTITLEMENTS = 16  # the credential carries at most 16 (cardio.credential.Holder)

# Every field a kiosk may collect. Whatever is collected is printed on the card; the chip holds
# a subset of what is printed (family and given name, birth date, sex, photo). The values are
# the English labels (translations live in kiosk.i18n_rules).
FIELDS: dict[str, str] = {
    "family_name": "family name",
    "given_name": "given name",
    "birth_date": "birth date",
    "photo": "photo",
    "signature": "signature",
    "sex": "sex",
    "address": "address",
    "emergency_contact": "emergency contact",
    "medical_info": "medical conditions and allergies",
    "eye_colour": "eye colour",
    "hair_colour": "hair colour",
    "height": "height",
    "weight": "weight",
    "organ_donor": "organ donor",
    "veteran": "veteran",
    "preferred_language": "preferred language",
    "sponsor": "sponsor's name and contact",
    "integration_evidence": "evidence of integration",
}
# The credential always carries these (docs/credential.md), so every programme requires them.
CREDENTIAL_FIELDS = ("family_name", "given_name", "birth_date")

# Names that must never be a field or a key anywhere (DESIGN.md principle 1). Compared after
# folding case and accents and turning spaces, dots and hyphens into underscores.
_FORBIDDEN_EXACT = frozenset({"status", "origin", "nationality", "citizenship", "birthplace"})
_FORBIDDEN_PARTS = (
    "nationalit",
    "citizenship",
    "staatsangeh",
    "staatsburger",
    "nacionalidad",
    "birthplace",
    "birth_place",
    "place_of_birth",
    "country_of_birth",
    "born_in",
    "lieu_de_naissance",
    "geburtsort",
    "lugar_de_nacimiento",
    "heimatort",
    "place_of_origin",
    "country_of_origin",
    "pays_d_origine",
    "herkunft",
    "immigration",
    "migration_status",
    "residence_status",
    "residency_status",
    "resident_status",
    "legal_status",
    "visa_status",
    "aufenthalt",
    "titre_de_sejour",
    "residence_permit",
    "status_of_residence",
    "sans_papiers",
    "undocumented",
    "irregular",
)


def best_language(wanted: str, available: Iterable[str]) -> str | None:
    return best_available(wanted, available)  # kept until i18n_rules moves to kiosk.languages


def is_forbidden_name(name: str) -> bool:
    """True for a name that denotes residence status, nationality or birthplace (never kept)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    norm = re.sub(r"[\s.\-']+", "_", folded.strip().lower())
    return norm in _FORBIDDEN_EXACT or any(part in norm for part in _FORBIDDEN_PARTS)


class ProgramError(CitycardError):
    """A programme profile that cannot be used. Every problem names the file, key and fix."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Problem:
    file: str
    key: str  # dotted path, e.g. "fees.reductions[0].amount"; "" for the file as a whole
    problem: str  # what is wrong, e.g. "must be a whole number of years between 1 and 10"
    fix: str  # what to do, e.g. "e.g. validity.years = 5"

    def __str__(self) -> str:
        subject = f"{self.key} " if self.key else ""
        return f"{self.file}: {subject}{self.problem}, {self.fix}"


# --- enums ---------------------------------------------------------------------------------


class Stage(StrEnum):
    OPERATING = "operating"
    PLANNED = "planned"


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

T = TypeVar("T")


@dataclass(frozen=True)
class Issuer:
    city: str
    country: str  # ISO 3166-1 alpha-2
    authority: Localized[str]  # the issuing authority as printed
    stage: Stage
    since: int | None  # year the programme started (or is planned to)


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


@dataclass(frozen=True)
class Proof:
    rule: ProofKind
    insufficient: Insufficient
    photo: bool  # one identity document must show a photo
    birth_date: bool  # one identity document must show the birth date
    residence_max_age_days: int | None  # dated residence documents must be at most this old
    detail: PointsRule | PrimarySecondaryRule | CategoriesRule


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
    years: int
    by_age: tuple[AgeValidity, ...]  # sorted by `under`, the first that matches wins

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
class CardDesign:
    display_name: Localized[str]
    languages: tuple[str, ...]  # languages printed on the card
    primary_colour: str  # #RRGGBB
    secondary_colour: str
    arms: Path  # absolute path of a placeholder SVG/PNG under programs/arms/
    disclaimer: Localized[str]  # e.g. "Not a residence permit", in every printed language
    signature: bool  # the holder's signature is printed


@dataclass(frozen=True)
class Card:
    profile: CardProfile
    design: CardDesign


@dataclass(frozen=True)
class Entitlement:
    code: str
    names: Localized[str]


@dataclass(frozen=True)
class Program:
    id: str
    source: Path
    names: Localized[str]
    issuer: Issuer
    eligibility: Eligibility
    proof: Proof
    documents: tuple[DocumentCategory, ...]
    fees: Fees
    validity: ValidityRule
    fields: FieldPolicy
    languages: tuple[str, ...]  # languages the kiosk offers for this programme
    card: Card
    entitlements: tuple[Entitlement, ...]
    assumed: tuple[str, ...]  # dotted key paths whose values are assumptions
    notes: str
    sources: tuple[str, ...]

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

    def entitlement(self, code: str) -> Entitlement | None:
        for ent in self.entitlements:
            if ent.code == code:
                return ent
        return None

    def is_assumed(self, path: str) -> bool:
        """True when `path` or a table above it is marked as assumed."""
        return any(
            path == a or path.startswith(a + ".") or path.startswith(a + "[") for a in self.assumed
        )


# --- loading -------------------------------------------------------------------------------


def load_program(id_or_path: str | Path, directory: Path | None = None) -> Program:
    """Load and validate one profile: a programme id (looked up in `directory`, by default the
    repository's programs/) or a path to a .toml file. Raises ProgramError."""
    path = _resolve(id_or_path, directory)
    return _load_file(path)


def load_all(directory: Path | None = None) -> dict[str, Program]:
    """Load every `*.toml` in `directory` (default programs/). Raises one ProgramError that lists
    the problems of every broken file."""
    directory = PROGRAMS_DIR if directory is None else Path(directory)
    if not directory.is_dir():
        raise ProgramError(
            [
                Problem(
                    _display(directory), "", "is not a directory", "point to the programs/ folder"
                )
            ]
        )
    programs: dict[str, Program] = {}
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            program = _load_file(path)
        except ProgramError as exc:
            problems.extend(exc.problems)
        else:
            programs[program.id] = program
    if problems:
        raise ProgramError(problems)
    return programs


def _resolve(id_or_path: str | Path, directory: Path | None) -> Path:
    if isinstance(id_or_path, Path) or "/" in id_or_path or id_or_path.endswith(".toml"):
        return Path(id_or_path)
    if not CODE_RE.match(id_or_path):
        raise ProgramError(
            [
                Problem(
                    repr(id_or_path),
                    "",
                    "is not a programme id",
                    "use a lower-case id such as 'zurich' or 'new-york', or a path to a .toml file",
                )
            ]
        )
    return (PROGRAMS_DIR if directory is None else Path(directory)) / f"{id_or_path}.toml"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_file(path: Path) -> Program:
    file = _display(path)
    if path.suffix != ".toml":
        raise ProgramError([Problem(file, "", "is not a .toml file", "name it programs/<id>.toml")])
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ProgramError(
            [Problem(file, "", "does not exist", "check the programme id or path (see programs/)")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(
            [
                Problem(
                    file, "", f"cannot be read ({exc.__class__.__name__})", "save it as UTF-8 text"
                )
            ]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramError(
            [Problem(file, "", f"is not valid TOML ({exc})", "fix the syntax at that line")]
        ) from None
    return _Checker(file, path).program(path.stem, data)


# --- the validator -------------------------------------------------------------------------

_Table = dict[str, object]

_TOP_KEYS = {
    "assumed": False,
    "notes": False,
    "sources": False,
    "names": True,
    "issuer": True,
    "eligibility": True,
    "proof": True,
    "documents": False,
    "fees": True,
    "validity": True,
    "fields": True,
    "languages": True,
    "card": True,
    "entitlements": False,
}
_PROOF_COMMON = {"rule", "insufficient", "photo", "birth_date", "residence_max_age_days"}
_PROOF_KEYS = {
    ProofKind.POINTS: {"identity_points", "residence_points", "total_points"},
    ProofKind.PRIMARY_SECONDARY: {"secondary_count", "residence"},
    ProofKind.CATEGORIES: {"identity", "residence", "eligibility"},
}


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Checker:
    def __init__(self, file: str, path: Path) -> None:
        self.file = file
        self.path = path
        self.problems: list[Problem] = []

    # -- reporting

    def add(self, key: str, problem: str, fix: str) -> None:
        self.problems.append(Problem(self.file, key, problem, fix))

    def keys(self, table: _Table, path: str, allowed: Iterable[str]) -> None:
        """Report unknown keys, with a suggestion. Missing keys are reported by the getters;
        forbidden names (nationality ...) by scan_forbidden."""
        spec = sorted(set(allowed))
        for key in table:
            if key in spec or is_forbidden_name(key):
                continue
            full = _join(path, key)
            close = difflib.get_close_matches(key, spec, n=1)
            hint = (
                f"did you mean {_join(path, close[0])}?"
                if close
                else ("remove it (known keys: " + ", ".join(spec) + ")")
            )
            self.add(full, "is not a key of a programme profile", hint)

    def _forbidden(self, key: str) -> None:
        self.add(
            key,
            "names residence status, nationality or birthplace, which citycard never asks, "
            "prints or stores (DESIGN.md principle 1)",
            "remove it",
        )

    def scan_forbidden(self, value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if is_forbidden_name(key):
                    self._forbidden(_join(path, key))
                else:
                    self.scan_forbidden(sub, _join(path, key))
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                self.scan_forbidden(sub, f"{path}[{i}]")

    # -- typed getters (each returns a usable default after reporting a problem)

    def table(self, parent: _Table, path: str, key: str, required: bool = True) -> _Table | None:
        full = _join(path, key)
        if key not in parent:
            if required:
                self.add(full, "is missing", f"add a [{full}] table (see docs/programs.md)")
            return None
        value = parent[key]
        if not isinstance(value, dict):
            self.add(full, "must be a table", f"write it as [{full}] followed by its keys")
            return None
        return value

    def integer(
        self,
        table: _Table,
        path: str,
        key: str,
        lo: int,
        hi: int,
        example: int,
        *,
        unit: str = "",
        default: int | None = None,
    ) -> int | None:
        full = _join(path, key)
        if key not in table:
            if default is None:
                self.add(full, "is missing", f"add it, e.g. {full} = {example}")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            what = f"whole number of {unit}" if unit else "whole number"
            self.add(full, f"must be a {what} between {lo} and {hi}", f"e.g. {full} = {example}")
            return default
        return value

    def boolean(self, table: _Table, path: str, key: str, default: bool) -> bool:
        full = _join(path, key)
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.add(full, "must be true or false", f"e.g. {full} = {_toml_value(default)}")
            return default
        return value

    def text(
        self,
        table: _Table,
        path: str,
        key: str,
        example: str,
        *,
        required: bool = True,
        max_len: int = 200,
    ) -> str | None:
        full = _join(path, key)
        if key not in table:
            if required:
                self.add(full, "is missing", f"add it, e.g. {full} = {_toml_value(example)}")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            self.add(
                full,
                f"must be a non-empty text of at most {max_len} characters",
                f"e.g. {full} = {_toml_value(example)}",
            )
            return None
        return value

    def choice(
        self, table: _Table, path: str, key: str, options: Iterable[str], *, required: bool = True
    ) -> str | None:
        full = _join(path, key)
        opts = list(options)
        if key not in table:
            if required:
                self.add(full, "is missing", f"add it, e.g. {full} = {_toml_value(opts[0])}")
            return None
        value = table[key]
        if not isinstance(value, str) or value not in opts:
            self.add(
                full,
                "must be one of " + ", ".join(_toml_value(o) for o in opts),
                f"e.g. {full} = {_toml_value(opts[0])}",
            )
            return None
        return value

    def str_list(
        self, table: _Table, path: str, key: str, example: list[str], *, required: bool = True
    ) -> list[str] | None:
        full = _join(path, key)
        if key not in table:
            if required:
                self.add(full, "is missing", f"add it, e.g. {full} = {_toml_value(example)}")
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(full, "must be a list of texts", f"e.g. {full} = {_toml_value(example)}")
            return None
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            self.add(full, f"lists {', '.join(dupes)} more than once", "list each only once")
        return [v for v in value if isinstance(v, str)]

    def language(self, value: object, full: str) -> bool:
        if isinstance(value, str) and LANGUAGE_RE.match(value):
            return True
        self.add(
            full,
            f"{_toml_value(value) if isinstance(value, str) else 'this'} is not a BCP 47 language tag in canonical case",
            'use e.g. "en", "de", "pt-BR", "zh-Hant" or "ase"',
        )
        return False

    def languages(self, table: _Table, path: str, key: str, example: list[str]) -> tuple[str, ...]:
        values = self.str_list(table, path, key, example)
        if values is None:
            return ()
        full = _join(path, key)
        if not values:
            self.add(
                full, "must list at least one language", f"e.g. {full} = {_toml_value(example)}"
            )
        return tuple(v for i, v in enumerate(values) if self.language(v, f"{full}[{i}]"))

    def localized(
        self,
        table: _Table,
        path: str,
        key: str,
        example: str,
        *,
        required: bool = True,
        need: Iterable[str] = (),
        max_len: int = 200,
    ) -> Localized[str] | None:
        full = _join(path, key)
        if key not in table:
            if required:
                self.add(
                    full, "is missing", f"add it, e.g. {full} = {{ en = {_toml_value(example)} }}"
                )
            return None
        value = table[key]
        if not isinstance(value, dict) or not value:
            self.add(
                full,
                "must be a table of texts per language",
                f"e.g. {full} = {{ en = {_toml_value(example)} }}",
            )
            return None
        items: list[tuple[str, str]] = []
        for lang, text in value.items():
            if not self.language(lang, f"{full}.{lang}"):
                continue
            if not isinstance(text, str) or not text.strip() or len(text) > max_len:
                self.add(
                    f"{full}.{lang}",
                    f"must be a non-empty text of at most {max_len} characters",
                    f"e.g. {full}.{lang} = {_toml_value(example)}",
                )
                continue
            items.append((lang, text))
        self._need(full, value, ["en", *need], example)
        items.sort(key=lambda kv: kv[0] != "en")  # English first: the fallback
        return Localized(tuple(items)) if items else None

    def _need(
        self, full: str, value: Mapping[str, object], need: Iterable[str], example: str
    ) -> None:
        for lang in dict.fromkeys(need):
            if lang not in value:
                reason = (
                    "English is the fallback"
                    if lang == "en"
                    else f"{lang!r} is printed on the card"
                )
                self.add(
                    f"{full}.{lang}",
                    f"is missing ({reason})",
                    f"add it, e.g. {full}.{lang} = {_toml_value(example)}",
                )

    def localized_lists(
        self, table: _Table, path: str, key: str, example: str
    ) -> Localized[tuple[str, ...]] | None:
        full = _join(path, key)
        fix = f"e.g. {full} = {{ en = [{_toml_value(example)}] }}"
        if key not in table:
            self.add(full, "is missing (every document category needs examples)", fix)
            return None
        value = table[key]
        if not isinstance(value, dict) or not value:
            self.add(full, "must be a table of example lists per language", fix)
            return None
        items: list[tuple[str, tuple[str, ...]]] = []
        for lang, texts in value.items():
            if not self.language(lang, f"{full}.{lang}"):
                continue
            if (
                not isinstance(texts, list)
                or not texts
                or not all(isinstance(t, str) and t.strip() and len(t) <= 200 for t in texts)
            ):
                self.add(f"{full}.{lang}", "must be a non-empty list of short texts", fix)
                continue
            items.append((lang, tuple(str(t) for t in texts)))
        if "en" not in value:
            self.add(f"{full}.en", "is missing (English is the fallback)", fix)
        items.sort(key=lambda kv: kv[0] != "en")
        return Localized(tuple(items)) if items else None

    def amount(
        self, table: _Table, path: str, key: str, *, default: Decimal | None = None
    ) -> Decimal | None:
        full = _join(path, key)
        if key not in table:
            if default is None:
                self.add(full, "is missing", f'add it, e.g. {full} = "15.00"')
            return default
        value = table[key]
        if isinstance(value, (bool, float)):
            self.add(
                full,
                "must be written as a text or a whole number (floating point loses cents)",
                f'e.g. {full} = "{value:.2f}"'
                if isinstance(value, float) and value >= 0
                else f'e.g. {full} = "15.00"',
            )
            return default
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str) and value.startswith("-"):
            self.add(full, "must not be negative", f'use 0 for free, e.g. {full} = "0.00"')
            return default
        if not isinstance(value, str) or not AMOUNT_RE.match(value):
            self.add(full, 'must be an amount such as "15" or "15.00"', f'e.g. {full} = "15.00"')
            return default
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            self.add(full, "must be an amount", f'e.g. {full} = "15.00"')
            return default

    def colour(self, table: _Table, path: str, key: str, example: str) -> str:
        full = _join(path, key)
        value = table.get(key)
        if not isinstance(value, str) or not COLOUR_RE.match(value):
            problem = "is missing" if value is None else "must be a colour written #RRGGBB"
            self.add(full, problem, f'e.g. {full} = "{example}"')
            return example
        return value.upper()

    # -- sections

    def program(self, program_id: str, data: _Table) -> Program:
        if not CODE_RE.match(program_id):
            self.add(
                "",
                f"has a file name that is not a programme id ({program_id!r})",
                "rename it to lower-case letters, digits and hyphens, e.g. programs/new-york.toml",
            )
        self.scan_forbidden(data, "")
        self.keys(data, "", _TOP_KEYS)

        names = self.localized(data, "", "names", "Züri City Card")
        issuer = self.issuer(data)
        eligibility = self.eligibility(data)
        proof_table = self.table(data, "", "proof")
        rule: ProofKind | None = None
        if proof_table is not None:
            rule_name = self.choice(proof_table, "proof", "rule", [k.value for k in ProofKind])
            rule = ProofKind(rule_name) if rule_name else None
        documents = self.documents(data, rule)
        proof = self.proof(proof_table, rule, documents) if proof_table is not None else None
        fees = self.fees(data)
        validity = self.validity(data)
        languages: tuple[str, ...] = ()
        lang_table = self.table(data, "", "languages")
        if lang_table is not None:
            self.keys(lang_table, "languages", {"offered": True})
            languages = self.languages(lang_table, "languages", "offered", ["en", "fr"])
        card = self.card(data)
        fields = self.fields(data, card)
        entitlements = self.entitlements(data)
        assumed, notes, sources = self.meta(data)

        if self.problems:
            raise ProgramError(self.problems)
        assert names and issuer and eligibility and proof and fees and validity
        assert card and fields is not None
        return Program(
            id=program_id,
            source=self.path.resolve(),
            names=names,
            issuer=issuer,
            eligibility=eligibility,
            proof=proof,
            documents=documents,
            fees=fees,
            validity=validity,
            fields=fields,
            languages=languages,
            card=card,
            entitlements=entitlements,
            assumed=assumed,
            notes=notes,
            sources=sources,
        )

    def issuer(self, data: _Table) -> Issuer | None:
        t = self.table(data, "", "issuer")
        if t is None:
            return None
        self.keys(
            t,
            "issuer",
            {"city": True, "country": True, "authority": True, "stage": True, "since": False},
        )
        city = self.text(t, "issuer", "city", "Zürich")
        country = self.text(t, "issuer", "country", "CH")
        if country is not None and not COUNTRY_RE.match(country):
            self.add(
                "issuer.country", "must be an ISO 3166-1 alpha-2 code", 'e.g. issuer.country = "CH"'
            )
        authority = self.localized(t, "issuer", "authority", "City of Zurich")
        stage = self.choice(t, "issuer", "stage", [s.value for s in Stage])
        since = self.integer(t, "issuer", "since", 1900, 2100, 2015, default=0)
        if None in (city, country, authority, stage):
            return None
        assert city and country and authority and stage
        return Issuer(city, country, authority, Stage(stage), since or None)

    def eligibility(self, data: _Table) -> Eligibility | None:
        t = self.table(data, "", "eligibility")
        if t is None:
            return None
        p = "eligibility"
        self.keys(
            t,
            p,
            {
                "minimum_age": True,
                "guardian_age": False,
                "guardian_outcome": False,
                "residence_days": True,
                "audience": False,
            },
        )
        minimum = self.integer(t, p, "minimum_age", 0, 99, 14, unit="years")
        guardian = self.integer(t, p, "guardian_age", 0, 99, 10, unit="years", default=-1)
        outcome = self.choice(
            t, p, "guardian_outcome", [o.value for o in GuardianOutcome], required=False
        )
        residence = self.integer(t, p, "residence_days", 0, 3650, 90, unit="days")
        audience = self.localized(t, p, "audience", "every resident", required=False, max_len=500)
        guardian_age = None if guardian is None or guardian < 0 else guardian
        if guardian_age is not None and minimum is not None and guardian_age >= minimum:
            self.add(
                "eligibility.guardian_age",
                f"must be below eligibility.minimum_age ({minimum})",
                "lower it, or remove it when minors cannot enrol with a guardian",
            )
        if "guardian_age" in t and "guardian_outcome" not in t:
            self.add(
                "eligibility.guardian_outcome",
                "is missing (it says what happens for a minor who comes with a guardian)",
                'add it, e.g. eligibility.guardian_outcome = "attendant"',
            )
        if "guardian_age" not in t and "guardian_outcome" in t:
            self.add(
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

    def coded_tables(
        self, data: _Table, section: str, what: str, example: str, shape: str
    ) -> Iterator[tuple[str, str, _Table]]:
        """(code, dotted path, table) for each well-formed `[section.code]` table; the others
        are reported (a bad code, or a value that is not a table) and skipped."""
        t = self.table(data, "", section, required=False)
        for code, entry in (t or {}).items():
            p = f"{section}.{code}"
            if not CODE_RE.match(code):
                self.add(
                    p,
                    f"is not {what}",
                    f"use lower-case letters, digits and hyphens, e.g. [{section}.{example}]",
                )
            elif not isinstance(entry, dict):
                self.add(p, "must be a table", f"write it as [{p}] with {shape}")
            else:
                yield code, p, entry

    def documents(self, data: _Table, rule: ProofKind | None) -> tuple[DocumentCategory, ...]:
        return tuple(
            self.document(entry, p, code, rule)
            for code, p, entry in self.coded_tables(
                data, "documents", "a document category code", "consular-id",
                "names, examples and proves",
            )
        )  # fmt: skip

    def document(self, t: _Table, p: str, code: str, rule: ProofKind | None) -> DocumentCategory:
        self.keys(
            t,
            p,
            {
                "names": True,
                "examples": True,
                "proves": True,
                "photo": False,
                "birth_date": False,
                "dated": False,
                "identity_points": False,
                "residence_points": False,
                "tier": False,
                "attendant_check": False,
            },
        )
        names = self.localized(t, p, "names", "Consular ID")
        examples = self.localized_lists(t, p, "examples", "consular ID card (matrícula consular)")
        proves_raw = self.str_list(t, p, "proves", ["identity"])
        proves: set[Purpose] = set()
        for i, v in enumerate(proves_raw or []):
            if v in {x.value for x in Purpose}:
                proves.add(Purpose(v))
            else:
                self.add(
                    f"{p}.proves[{i}]",
                    f"{_toml_value(v)} is not identity, residence or eligibility",
                    f'e.g. {p}.proves = ["identity"]',
                )
        if proves_raw is not None and not proves_raw:
            self.add(
                f"{p}.proves",
                "must list what the document proves",
                f'e.g. {p}.proves = ["residence"]',
            )
        photo = self.boolean(t, p, "photo", False)
        birth = self.boolean(t, p, "birth_date", False)
        dated = self.boolean(t, p, "dated", False)
        check = self.boolean(t, p, "attendant_check", False)
        id_pts = self.integer(t, p, "identity_points", 0, 10, 3, unit="points", default=0) or 0
        res_pts = self.integer(t, p, "residence_points", 0, 10, 1, unit="points", default=0) or 0
        tier_name = self.choice(t, p, "tier", [x.value for x in Tier], required=False)
        if rule is ProofKind.POINTS:
            for purpose, pts, key in (
                (Purpose.IDENTITY, id_pts, "identity_points"),
                (Purpose.RESIDENCE, res_pts, "residence_points"),
            ):
                if (purpose in proves) != (pts > 0):
                    self.add(
                        f"{p}.{key}",
                        f"must be at least 1 exactly when {p}.proves lists {purpose.value!r}",
                        f"e.g. {p}.{key} = 1, or change {p}.proves",
                    )
        else:
            for key in ("identity_points", "residence_points"):
                if key in t:
                    self.add(f"{p}.{key}", 'is only used with proof.rule = "points"', "remove it")
        if rule is ProofKind.PRIMARY_SECONDARY:
            if Purpose.IDENTITY in proves and tier_name is None and "tier" not in t:
                self.add(
                    f"{p}.tier",
                    "is missing for an identity document",
                    f'add it, e.g. {p}.tier = "primary"',
                )
            if Purpose.IDENTITY not in proves and tier_name is not None:
                self.add(f"{p}.tier", "is only used for identity documents", "remove it")
        elif "tier" in t:
            self.add(f"{p}.tier", 'is only used with proof.rule = "primary_secondary"', "remove it")
        # A category with broken names or examples is still returned (the file fails anyway),
        # so that the proof checks do not add misleading follow-up problems.
        return DocumentCategory(
            code=code,
            names=names or Localized((("en", code),)),
            examples=examples or Localized((("en", (code,)),)),
            proves=frozenset(proves),
            photo=photo,
            birth_date=birth,
            dated=dated,
            identity_points=id_pts,
            residence_points=res_pts,
            tier=Tier(tier_name) if tier_name else None,
            attendant_check=check,
        )

    def proof(
        self, t: _Table, rule: ProofKind | None, documents: tuple[DocumentCategory, ...]
    ) -> Proof | None:
        p = "proof"
        every = set(_PROOF_COMMON).union(*_PROOF_KEYS.values())
        allowed = _PROOF_COMMON | _PROOF_KEYS[rule] if rule is not None else every
        for key in t:
            if key in every - allowed:
                users = [k.value for k, keys in _PROOF_KEYS.items() if key in keys]
                self.add(
                    f"proof.{key}",
                    "is only used with proof.rule = " + " or ".join(_toml_value(u) for u in users),
                    "remove it",
                )
        self.keys(
            {k: v for k, v in t.items() if k not in every - allowed},
            p,
            {k: k in ("rule", "insufficient") for k in allowed},
        )
        if rule is None:
            return None
        insufficient = self.choice(t, p, "insufficient", [x.value for x in Insufficient])
        photo = self.boolean(t, p, "photo", False)
        birth = self.boolean(t, p, "birth_date", False)
        max_age = self.integer(t, p, "residence_max_age_days", 1, 3650, 30, unit="days", default=0)
        detail: PointsRule | PrimarySecondaryRule | CategoriesRule | None
        proving = {x: [d for d in documents if x in d.proves] for x in Purpose}
        if rule is ProofKind.POINTS:
            ip = self.integer(t, p, "identity_points", 1, 20, 3, unit="points")
            rp = self.integer(t, p, "residence_points", 0, 20, 1, unit="points")
            tp = self.integer(t, p, "total_points", 1, 40, 4, unit="points")
            detail = (
                PointsRule(ip, rp, tp)
                if ip is not None and rp is not None and tp is not None
                else None
            )
            need = {Purpose.IDENTITY: ip or 0, Purpose.RESIDENCE: rp or 0}
        elif rule is ProofKind.PRIMARY_SECONDARY:
            sc = self.integer(t, p, "secondary_count", 1, 5, 2, unit="documents")
            rc = self.integer(t, p, "residence", 0, 5, 1, unit="documents")
            detail = PrimarySecondaryRule(sc, rc) if sc is not None and rc is not None else None
            need = {Purpose.IDENTITY: 1, Purpose.RESIDENCE: rc or 0}
            if not any(d.tier is Tier.PRIMARY for d in documents):
                self.add(
                    "documents",
                    "lists no primary identity document",
                    'add one with tier = "primary"',
                )
        else:
            ic = self.integer(t, p, "identity", 0, 5, 1, unit="documents")
            rc = self.integer(t, p, "residence", 0, 5, 1, unit="documents")
            ec = self.integer(t, p, "eligibility", 0, 5, 1, unit="documents", default=0)
            detail = CategoriesRule(ic, rc, ec or 0) if ic is not None and rc is not None else None
            need = {
                Purpose.IDENTITY: ic or 0,
                Purpose.RESIDENCE: rc or 0,
                Purpose.ELIGIBILITY: ec or 0,
            }
        for purpose, count in need.items():
            if count > 0 and not proving[purpose]:
                self.add(
                    "documents",
                    f"lists no document category that proves {purpose.value}, but proof needs it",
                    f'add one with proves = ["{purpose.value}"]',
                )
        if photo and not any(d.photo for d in proving[Purpose.IDENTITY]):
            self.add(
                "proof.photo",
                "is true but no identity document shows a photo",
                "mark one with photo = true",
            )
        if birth and not any(d.birth_date for d in proving[Purpose.IDENTITY]):
            self.add(
                "proof.birth_date",
                "is true but no identity document shows the birth date",
                "mark one with birth_date = true",
            )
        if insufficient is None or detail is None:
            return None
        return Proof(rule, Insufficient(insufficient), photo, birth, max_age or None, detail)

    def fees(self, data: _Table) -> Fees | None:
        t = self.table(data, "", "fees")
        if t is None:
            return None
        p = "fees"
        self.keys(
            t,
            p,
            {
                "currency": True,
                "first_card": True,
                "renewal": False,
                "replacement": True,
                "reductions": False,
            },
        )
        currency = self.text(t, p, "currency", "CHF")
        if currency is not None and not CURRENCY_RE.match(currency):
            self.add("fees.currency", "must be an ISO 4217 code", 'e.g. fees.currency = "CHF"')
        first = self.amount(t, p, "first_card")
        renewal = self.amount(t, p, "renewal", default=first if first is not None else Decimal(0))
        replacement = self.amount(t, p, "replacement")
        reductions: list[Reduction] = []
        raw = t.get("reductions", [])
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            self.add(
                "fees.reductions", "must be a list of tables", "write each as [[fees.reductions]]"
            )
            raw = []
        for i, r in enumerate(raw):
            red = self.reduction(r, f"fees.reductions[{i}]")
            if red is not None:
                reductions.append(red)
        if currency is None or first is None or renewal is None or replacement is None:
            return None
        return Fees(currency, first, renewal, replacement, tuple(reductions))

    def reduction(self, r: _Table, p: str) -> Reduction | None:
        self.keys(
            r,
            p,
            {
                "claim": True,
                "amount": True,
                "applies_to": False,
                "under_age": False,
                "from_age": False,
            },
        )
        claim = self.choice(r, p, "claim", [c.value for c in Claim])
        amount = self.amount(r, p, "amount")
        kinds_raw = self.str_list(r, p, "applies_to", ["first", "renewal"], required=False)
        kinds: set[CardKind] = set()
        for i, k in enumerate(kinds_raw if kinds_raw is not None else [k.value for k in CardKind]):
            if k in {c.value for c in CardKind}:
                kinds.add(CardKind(k))
            else:
                self.add(
                    f"{p}.applies_to[{i}]",
                    f"{_toml_value(k)} is not first, renewal or replacement",
                    f'e.g. {p}.applies_to = ["first", "renewal"]',
                )
        under = self.integer(r, p, "under_age", 1, 30, 18, unit="years", default=-1)
        start = self.integer(r, p, "from_age", 40, 99, 65, unit="years", default=-1)
        under_age = None if under is None or under < 0 else under
        from_age = None if start is None or start < 0 else start
        if claim == Claim.CHILD and under_age is None:
            self.add(
                f"{p}.under_age",
                "is missing for a child reduction",
                f"add it, e.g. {p}.under_age = 18",
            )
        if claim == Claim.SENIOR and from_age is None:
            self.add(
                f"{p}.from_age",
                "is missing for a senior reduction",
                f"add it, e.g. {p}.from_age = 65",
            )
        if claim != Claim.CHILD and "under_age" in r:
            self.add(f"{p}.under_age", 'is only used with claim = "child"', "remove it")
        if claim != Claim.SENIOR and "from_age" in r:
            self.add(f"{p}.from_age", 'is only used with claim = "senior"', "remove it")
        if claim is None or amount is None:
            return None
        return Reduction(Claim(claim), amount, frozenset(kinds), under_age, from_age)

    def validity(self, data: _Table) -> ValidityRule | None:
        t = self.table(data, "", "validity")
        if t is None:
            return None
        self.keys(t, "validity", {"years": True, "by_age": False})
        years = self.integer(t, "validity", "years", 1, 10, 5, unit="years")
        raw = t.get("by_age", [])
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            self.add(
                "validity.by_age",
                "must be a list of tables",
                "write each as [[validity.by_age]] with under and years",
            )
            raw = []
        rules: list[AgeValidity] = []
        for i, r in enumerate(raw):
            p = f"validity.by_age[{i}]"
            self.keys(r, p, {"under": True, "years": True})
            under = self.integer(r, p, "under", 1, 99, 14, unit="years")
            y = self.integer(r, p, "years", 1, 10, 2, unit="years")
            if under is not None and y is not None:
                rules.append(AgeValidity(under, y))
        if len({r.under for r in rules}) != len(rules):
            self.add("validity.by_age", "repeats an age", "give each age limit once")
        if years is None:
            return None
        return ValidityRule(years, tuple(sorted(rules, key=lambda r: r.under)))

    def card(self, data: _Table) -> Card | None:
        t = self.table(data, "", "card")
        if t is None:
            return None
        self.keys(t, "card", {"profile": True, "design": True})
        profile = self.choice(t, "card", "profile", [c.value for c in CardProfile])
        d = self.table(t, "card", "design")
        if d is None:
            return None
        p = "card.design"
        self.keys(
            d,
            p,
            {
                "display_name": True,
                "languages": True,
                "primary_colour": True,
                "secondary_colour": True,
                "arms": True,
                "disclaimer": False,  # reported below with a clearer message
                "signature": True,
            },
        )
        printed = self.languages(d, p, "languages", ["de", "en"])
        name = self.localized(d, p, "display_name", "Züri City Card")
        primary = self.colour(d, p, "primary_colour", "#1F4E9A")
        secondary = self.colour(d, p, "secondary_colour", "#FFFFFF")
        if "disclaimer" not in d:
            self.add(
                "card.design.disclaimer",
                "is missing: the card must say plainly that it is not a residence permit",
                'add it in every printed language, e.g. card.design.disclaimer = { en = "Not a residence permit" }',
            )
            disclaimer = None
        else:
            disclaimer = self.localized(d, p, "disclaimer", "Not a residence permit", need=printed)
        signature = self.boolean(d, p, "signature", False)
        if "signature" not in d:
            self.add(
                "card.design.signature", "is missing", "add it, e.g. card.design.signature = true"
            )
        arms = self.arms(d, p)
        if profile is None or name is None or disclaimer is None or arms is None:
            return None
        return Card(
            CardProfile(profile),
            CardDesign(name, printed, primary, secondary, arms, disclaimer, signature),
        )

    def arms(self, d: _Table, p: str) -> Path | None:
        rel = self.text(d, p, "arms", "arms/zurich.svg")
        if rel is None:
            return None
        fix = f'ship a placeholder (never real arms) and write e.g. {p}.arms = "arms/{self.path.stem}.svg"'
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts or rel_path.parts[:1] != ("arms",):
            self.add(f"{p}.arms", "must be a path under arms/ next to the profile", fix)
            return None
        if rel_path.suffix.lower() not in (".svg", ".png"):
            self.add(f"{p}.arms", "must be an .svg or .png image", fix)
            return None
        full = self.path.parent / rel_path
        if not full.is_file():
            self.add(f"{p}.arms", f"names {rel}, which does not exist", fix)
            return None
        return full.resolve()

    def fields(self, data: _Table, card: Card | None) -> FieldPolicy | None:
        t = self.table(data, "", "fields")
        if t is None:
            return None
        p = "fields"
        self.keys(
            t, p, {"required": True, "optional": True, "forbidden": True, "sex_values": False}
        )
        lists: dict[str, list[str]] = {}
        where: dict[str, str] = {}
        for key in ("required", "optional", "forbidden"):
            values = (
                self.str_list(
                    t,
                    p,
                    key,
                    ["family_name", "given_name", "birth_date"],
                    required=key == "required",
                )
                or []
            )
            kept: list[str] = []
            for i, f in enumerate(values):
                full = f"fields.{key}[{i}]"
                if is_forbidden_name(f):
                    self._forbidden(full)
                elif f not in FIELDS:
                    close = difflib.get_close_matches(f, list(FIELDS), n=1)
                    self.add(
                        full,
                        f"{_toml_value(f)} is not a field citycard knows",
                        f"did you mean {_toml_value(close[0])}?"
                        if close
                        else "use one of " + ", ".join(FIELDS),
                    )
                elif f in where:
                    self.add(
                        full,
                        f"{_toml_value(f)} is already listed in fields.{where[f]}",
                        "list each field in one place only",
                    )
                else:
                    where[f] = key
                    kept.append(f)
            lists[key] = kept
        for f in CREDENTIAL_FIELDS:
            if where.get(f) != "required":
                self.add(
                    "fields.required",
                    f"must include {_toml_value(f)}: the card's credential always carries it (docs/credential.md)",
                    f"move {_toml_value(f)} to fields.required",
                )
        sex_raw = self.str_list(t, p, "sex_values", list(SEXES), required=False)
        sex_values: tuple[str, ...] = ()
        if where.get("sex") in ("required", "optional"):
            if sex_raw is None:
                self.add(
                    "fields.sex_values",
                    "is missing while sex is collected",
                    'add it, e.g. fields.sex_values = ["F", "M", "X"]',
                )
            else:
                bad = [s for s in sex_raw if s not in SEXES]
                if bad or not sex_raw:
                    self.add(
                        "fields.sex_values",
                        "must list values among F, M and X",
                        'e.g. fields.sex_values = ["F", "M", "X"]',
                    )
                sex_values = tuple(s for s in sex_raw if s in SEXES)
        elif sex_raw is not None:
            self.add(
                "fields.sex_values",
                "is set but sex is not collected",
                'remove it, or list "sex" in fields.required or fields.optional',
            )
        if card is not None:
            if card.profile.photo_on_chip and where.get("photo") != "required":
                self.add(
                    "fields.required",
                    f'must include "photo": card.profile = "{card.profile.value}" puts the photo on the chip, so it is printed too',
                    'move "photo" to fields.required or choose card.profile = "compact" or "print"',
                )
            collected = where.get("signature") in ("required", "optional")
            if card.design.signature and not collected:
                self.add(
                    "fields.required",
                    'must include "signature": card.design.signature = true',
                    'add "signature" to fields.required, or set card.design.signature = false',
                )
            if not card.design.signature and collected:
                self.add(
                    "card.design.signature",
                    'is false but "signature" is collected',
                    'set card.design.signature = true, or remove "signature" from the fields',
                )
        return FieldPolicy(
            tuple(lists.get("required", [])),
            tuple(lists.get("optional", [])),
            tuple(lists.get("forbidden", [])),
            sex_values,
        )

    def entitlements(self, data: _Table) -> tuple[Entitlement, ...]:
        out: list[Entitlement] = []
        for code, p, entry in self.coded_tables(
            data, "entitlements", "an entitlement code", "transport-discount",
            'names = { en = "..." }',
        ):  # fmt: skip
            self.keys(entry, p, {"names": True})
            names = self.localized(entry, p, "names", "Public libraries")
            if names is not None:
                out.append(Entitlement(code, names))
        if len(out) > MAX_ENTITLEMENTS:
            self.add(
                "entitlements",
                f"lists {len(out)}; the credential carries at most {MAX_ENTITLEMENTS}",
                "merge or drop some",
            )
        return tuple(out)

    def meta(self, data: _Table) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        assumed = self.str_list(data, "", "assumed", ["fees.first_card"], required=False) or []
        for i, path in enumerate(assumed):
            if not _has_path(data, path):
                self.add(
                    f"assumed[{i}]",
                    f"names {_toml_value(path)}, which is not a key of this profile",
                    'write the dotted path of an existing key, e.g. "fees.first_card"',
                )
        notes = self.text(
            data,
            "",
            "notes",
            "Fees are assumed: the city has not decided.",
            required=False,
            max_len=4000,
        )
        if assumed and notes is None and "notes" not in data:
            self.add(
                "notes",
                "is missing while values are marked as assumed",
                'add a short note on why, e.g. notes = "Fee under study; assumed free."',
            )
        sources = self.str_list(data, "", "sources", ["ANVITA 2021, annex"], required=False) or []
        return tuple(assumed), " ".join((notes or "").split()), tuple(sources)


_PATH_PART = re.compile(r"([^.\[\]]+)((?:\[[0-9]+\])*)")


def _has_path(data: object, path: str) -> bool:
    node = data
    for part in path.split("."):
        m = _PATH_PART.fullmatch(part)
        if m is None or not isinstance(node, dict) or m.group(1) not in node:
            return False
        node = node[m.group(1)]
        for index in re.findall(r"\[([0-9]+)\]", m.group(2)):
            if not isinstance(node, list) or int(index) >= len(node):
                return False
            node = node[int(index)]
    return True
