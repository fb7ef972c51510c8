"""Checking `[documents.<code>]` (the document categories a kiosk accepts) and `[proof]` (how
many of which a resident must show), and that the two fit together."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..languages import Localized
from .model import (
    CategoriesRule,
    DocumentCategory,
    Insufficient,
    PointsRule,
    PrimarySecondaryRule,
    Proof,
    ProofDetail,
    ProofKind,
    Purpose,
    Tier,
)
from .reader import ProfileReader, Table, toml_value
from .schema import DOCUMENT_KEYS, PROOF_COMMON, PROOF_KEYS, PROOF_REQUIRED


def check_proof_rule(r: ProfileReader, data: Table) -> tuple[Table | None, ProofKind | None]:
    """The `[proof]` table and its rule, read first: the documents' keys depend on the rule."""
    t = r.table(data, "", "proof")
    if t is None:
        return None, None
    rule_name = r.choice(t, "proof", "rule", [k.value for k in ProofKind])
    return t, ProofKind(rule_name) if rule_name else None


def check_documents(
    r: ProfileReader, data: Table, rule: ProofKind | None
) -> tuple[DocumentCategory, ...]:
    return tuple(
        check_document(r, entry, p, code, rule)
        for code, p, entry in r.coded_tables(
            data, "documents", "a document category code", "consular-id",
            "names, examples and proves",
        )
    )  # fmt: skip


def check_document(
    r: ProfileReader, t: Table, p: str, code: str, rule: ProofKind | None
) -> DocumentCategory:
    r.keys(t, p, DOCUMENT_KEYS)
    names = r.localized(t, p, "names", "Consular ID")
    examples = r.localized_lists(t, p, "examples", "consular ID card (matrícula consular)")
    proves = _proves(r, t, p)
    photo = r.boolean(t, p, "photo", False)
    birth = r.boolean(t, p, "birth_date", False)
    dated = r.boolean(t, p, "dated", False)
    check = r.boolean(t, p, "attendant_check", False)
    id_pts = r.integer(t, p, "identity_points", 0, 10, 3, unit="points", default=0) or 0
    res_pts = r.integer(t, p, "residence_points", 0, 10, 1, unit="points", default=0) or 0
    tier_name = r.choice(t, p, "tier", [x.value for x in Tier], required=False)
    _check_points(r, t, p, rule, proves, id_pts, res_pts)
    _check_tier(r, t, p, rule, proves, tier_name)
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


def _proves(r: ProfileReader, t: Table, p: str) -> set[Purpose]:
    proves_raw = r.str_list(t, p, "proves", ["identity"])
    proves: set[Purpose] = set()
    for i, v in enumerate(proves_raw or []):
        if v in {x.value for x in Purpose}:
            proves.add(Purpose(v))
        else:
            r.add(
                f"{p}.proves[{i}]",
                f"{toml_value(v)} is not identity, residence or eligibility",
                f'e.g. {p}.proves = ["identity"]',
            )
    if proves_raw is not None and not proves_raw:
        r.add(
            f"{p}.proves", "must list what the document proves", f'e.g. {p}.proves = ["residence"]'
        )
    return proves


def _check_points(
    r: ProfileReader,
    t: Table,
    p: str,
    rule: ProofKind | None,
    proves: set[Purpose],
    id_pts: int,
    res_pts: int,
) -> None:
    if rule is not ProofKind.POINTS:
        for key in ("identity_points", "residence_points"):
            if key in t:
                r.add(f"{p}.{key}", 'is only used with proof.rule = "points"', "remove it")
        return
    for purpose, pts, key in (
        (Purpose.IDENTITY, id_pts, "identity_points"),
        (Purpose.RESIDENCE, res_pts, "residence_points"),
    ):
        if (purpose in proves) != (pts > 0):
            r.add(
                f"{p}.{key}",
                f"must be at least 1 exactly when {p}.proves lists {purpose.value!r}",
                f"e.g. {p}.{key} = 1, or change {p}.proves",
            )


def _check_tier(
    r: ProfileReader,
    t: Table,
    p: str,
    rule: ProofKind | None,
    proves: set[Purpose],
    tier_name: str | None,
) -> None:
    if rule is not ProofKind.PRIMARY_SECONDARY:
        if "tier" in t:
            r.add(f"{p}.tier", 'is only used with proof.rule = "primary_secondary"', "remove it")
        return
    if Purpose.IDENTITY in proves and tier_name is None and "tier" not in t:
        r.add(
            f"{p}.tier", "is missing for an identity document", f'add it, e.g. {p}.tier = "primary"'
        )
    if Purpose.IDENTITY not in proves and tier_name is not None:
        r.add(f"{p}.tier", "is only used for identity documents", "remove it")


# --- [proof] -------------------------------------------------------------------------------

# What a rule's own keys give: the rule's detail (None when a key is broken) and how many
# documents of each purpose it needs at least (to check that some category proves it).
_RuleCheck = Callable[
    [ProfileReader, Table, Sequence[DocumentCategory]],
    tuple[ProofDetail | None, dict[Purpose, int]],
]


def _points(
    r: ProfileReader, t: Table, documents: Sequence[DocumentCategory]
) -> tuple[ProofDetail | None, dict[Purpose, int]]:
    p = "proof"
    ip = r.integer(t, p, "identity_points", 1, 20, 3, unit="points")
    rp = r.integer(t, p, "residence_points", 0, 20, 1, unit="points")
    tp = r.integer(t, p, "total_points", 1, 40, 4, unit="points")
    detail = None if ip is None or rp is None or tp is None else PointsRule(ip, rp, tp)
    return detail, {Purpose.IDENTITY: ip or 0, Purpose.RESIDENCE: rp or 0}


def _primary_secondary(
    r: ProfileReader, t: Table, documents: Sequence[DocumentCategory]
) -> tuple[ProofDetail | None, dict[Purpose, int]]:
    p = "proof"
    sc = r.integer(t, p, "secondary_count", 1, 5, 2, unit="documents")
    rc = r.integer(t, p, "residence", 0, 5, 1, unit="documents")
    detail = PrimarySecondaryRule(sc, rc) if sc is not None and rc is not None else None
    if not any(d.tier is Tier.PRIMARY for d in documents):
        r.add("documents", "lists no primary identity document", 'add one with tier = "primary"')
    return detail, {Purpose.IDENTITY: 1, Purpose.RESIDENCE: rc or 0}


def _categories(
    r: ProfileReader, t: Table, documents: Sequence[DocumentCategory]
) -> tuple[ProofDetail | None, dict[Purpose, int]]:
    p = "proof"
    ic = r.integer(t, p, "identity", 0, 5, 1, unit="documents")
    rc = r.integer(t, p, "residence", 0, 5, 1, unit="documents")
    ec = r.integer(t, p, "eligibility", 0, 5, 1, unit="documents", default=0)
    detail = CategoriesRule(ic, rc, ec or 0) if ic is not None and rc is not None else None
    return detail, {
        Purpose.IDENTITY: ic or 0,
        Purpose.RESIDENCE: rc or 0,
        Purpose.ELIGIBILITY: ec or 0,
    }


_RULE_CHECKS: dict[ProofKind, _RuleCheck] = {
    ProofKind.POINTS: _points,
    ProofKind.PRIMARY_SECONDARY: _primary_secondary,
    ProofKind.CATEGORIES: _categories,
}


def check_proof(
    r: ProfileReader, t: Table, rule: ProofKind | None, documents: tuple[DocumentCategory, ...]
) -> Proof | None:
    p = "proof"
    _check_proof_keys(r, t, rule)
    if rule is None:
        return None
    insufficient = r.choice(t, p, "insufficient", [x.value for x in Insufficient])
    photo = r.boolean(t, p, "photo", False)
    birth = r.boolean(t, p, "birth_date", False)
    max_age = r.integer(t, p, "residence_max_age_days", 1, 3650, 30, unit="days", default=0)
    detail, need = _RULE_CHECKS[rule](r, t, documents)
    proving = {x: [d for d in documents if x in d.proves] for x in Purpose}
    for purpose, count in need.items():
        if count > 0 and not proving[purpose]:
            r.add(
                "documents",
                f"lists no document category that proves {purpose.value}, but proof needs it",
                f'add one with proves = ["{purpose.value}"]',
            )
    if photo and not any(d.photo for d in proving[Purpose.IDENTITY]):
        r.add(
            "proof.photo",
            "is true but no identity document shows a photo",
            "mark one with photo = true",
        )
    if birth and not any(d.birth_date for d in proving[Purpose.IDENTITY]):
        r.add(
            "proof.birth_date",
            "is true but no identity document shows the birth date",
            "mark one with birth_date = true",
        )
    if insufficient is None or detail is None:
        return None
    return Proof(rule, Insufficient(insufficient), photo, birth, max_age or None, detail)


def _check_proof_keys(r: ProfileReader, t: Table, rule: ProofKind | None) -> None:
    """Keys of another rule are reported as such; unknown keys as unknown."""
    every = set(PROOF_COMMON).union(*PROOF_KEYS.values())
    allowed = PROOF_COMMON | PROOF_KEYS[rule] if rule is not None else every
    for key in t:
        if key in every - allowed:
            users = [k.value for k, keys in PROOF_KEYS.items() if key in keys]
            r.add(
                f"proof.{key}",
                "is only used with proof.rule = " + " or ".join(toml_value(u) for u in users),
                "remove it",
            )
    r.keys(
        {k: v for k, v in t.items() if k not in every - allowed},
        "proof",
        {k: k in PROOF_REQUIRED for k in allowed},
    )
