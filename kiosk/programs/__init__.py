"""City programme profiles: `programs/<id>.toml`, validated into frozen dataclasses.

Every city programme is data, not code. A profile says who may enrol, which documents prove
identity and residence, what the card costs, how long it is valid, which fields are collected
(and therefore printed), the languages, the card profile and design, and the entitlements.
`docs/programs.md` describes every key.

- `model`: the programme as frozen dataclasses and enums (`Program` and its parts);
- `schema`: the tables and keys of a profile, the shapes of their values, and the names no
  profile may use (residence status, nationality, birthplace: the card never holds them);
- `loader`: reading a profile file and running the section checkers (`check_issuer`,
  `check_proof`, `check_fees`, `check_card`, `check_fields`, `check_meta`) over the typed
  getters of `reader`, which report every problem of a file at once (`problems`).
"""

from __future__ import annotations

from cardio.chip import CardProfile

from .loader import PROGRAMS_DIR, load_all, load_program
from .model import (
    AgeValidity,
    CardDesignSpec,
    CardKind,
    CardSpec,
    CategoriesRule,
    Claim,
    DocumentCategory,
    Eligibility,
    EntitlementSpec,
    Fees,
    FieldPolicy,
    GuardianOutcome,
    Insufficient,
    IssuerKind,
    IssuingAuthority,
    PointsRule,
    PrimarySecondaryRule,
    Program,
    Proof,
    ProofDetail,
    ProofKind,
    Purpose,
    Reduction,
    Requirement,
    Stage,
    Tier,
    ValidityRule,
)
from .problems import ProfileProblem, ProgramError
from .schema import FIELDS, is_forbidden_name

__all__ = [
    "FIELDS",
    "PROGRAMS_DIR",
    "AgeValidity",
    "CardDesignSpec",
    "CardKind",
    "CardProfile",
    "CardSpec",
    "CategoriesRule",
    "Claim",
    "DocumentCategory",
    "Eligibility",
    "EntitlementSpec",
    "Fees",
    "FieldPolicy",
    "GuardianOutcome",
    "Insufficient",
    "IssuerKind",
    "IssuingAuthority",
    "PointsRule",
    "PrimarySecondaryRule",
    "ProfileProblem",
    "Program",
    "ProgramError",
    "Proof",
    "ProofDetail",
    "ProofKind",
    "Purpose",
    "Reduction",
    "Requirement",
    "Stage",
    "Tier",
    "ValidityRule",
    "is_forbidden_name",
    "load_all",
    "load_program",
]
