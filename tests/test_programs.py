"""Programme profiles: every shipped profile loads and matches the facts; broken ones give an
error that names the file, the dotted key and the fix."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from cardio.chip import CardProfile
from cardio.errors import CitycardError
from kiosk.programs import (
    FIELDS,
    PROGRAMS_DIR,
    CardKind,
    Claim,
    GuardianOutcome,
    Insufficient,
    IssuerKind,
    PointsRule,
    PrimarySecondaryRule,
    Program,
    ProgramError,
    ProofKind,
    Purpose,
    is_forbidden_name,
    load_all,
    load_program,
)

SHIPPED = (
    "zurich",
    "bern",
    "new-york",
    "san-francisco",
    "richmond",
    "oakland",
    "new-haven",
    "paris",
    "nantes",
    "utrecht-upas",
    "barcelona",
    "le-vigan",
    "utrecht-bbb",
    "madrid",
)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "programs.md"


@pytest.fixture(scope="module")
def programs() -> dict[str, Program]:
    return load_all()


# --- shipped profiles ----------------------------------------------------------------------


def test_every_shipped_profile_loads(programs: dict[str, Program]) -> None:
    assert set(SHIPPED) <= set(programs)
    for pid in SHIPPED:
        assert load_program(pid) == programs[pid]
        assert load_program(PROGRAMS_DIR / f"{pid}.toml") == programs[pid]


@pytest.mark.parametrize("pid", SHIPPED)
def test_shipped_profile_is_complete(programs: dict[str, Program], pid: str) -> None:
    p = programs[pid]
    assert p.id == pid and p.source == (PROGRAMS_DIR / f"{pid}.toml").resolve()
    assert p.names.get("en") and p.card.design.display_name.get("en")
    # The card says plainly what it is not, in every language printed on it.
    for lang in p.card.design.languages:
        assert lang in p.card.design.disclaimer.languages
    assert "residence permit" in p.card.design.disclaimer.get("en").lower()
    # A placeholder, never real arms.
    arms = p.card.design.arms
    assert arms.parent == (PROGRAMS_DIR / "arms").resolve() and arms.is_file()
    assert "placeholder" in arms.read_text("utf-8").lower()
    # Every document category has examples; assumptions are explained.
    for doc in p.documents:
        assert doc.examples.get("en") and doc.proves
    assert p.assumed and p.notes
    for field in (*p.fields.required, *p.fields.optional, *p.fields.forbidden):
        assert field in FIELDS
    assert p.languages and all(p.languages)


def test_no_profile_names_status_nationality_or_birthplace() -> None:
    def keys(node: object) -> list[str]:
        if isinstance(node, dict):
            return [k for key, value in node.items() for k in (key, *keys(value))]
        if isinstance(node, list):
            return [k for value in node for k in keys(value)]
        return []

    for path in sorted(PROGRAMS_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        fields = data["fields"]
        names = keys(data) + fields["required"] + fields["optional"] + fields["forbidden"]
        assert not [n for n in names if is_forbidden_name(n)], path.name
    assert not [f for f in FIELDS if is_forbidden_name(f)]


@pytest.mark.parametrize(
    "name",
    ["nationality", "Nationalität", "residence_status", "residence-status", "birthplace",
     "place_of_birth", "country-of-origin", "immigration_status", "status", "Heimatort",
     "Aufenthaltsstatus", "lieu_de_naissance", "citizenship"],
)  # fmt: skip
def test_forbidden_names(name: str) -> None:
    assert is_forbidden_name(name)


@pytest.mark.parametrize("name", ["sex", "address", "birth_date", "photo", "emergency_contact"])
def test_ordinary_names_are_allowed(name: str) -> None:
    assert not is_forbidden_name(name)


def test_facts_new_york(programs: dict[str, Program]) -> None:
    ny = programs["new-york"]
    assert (ny.eligibility.minimum_age, ny.eligibility.guardian_age) == (14, 10)
    assert ny.proof.rule is ProofKind.POINTS
    assert ny.proof.detail == PointsRule(identity_points=3, residence_points=1, total_points=4)
    assert ny.proof.photo and ny.proof.birth_date
    assert ny.fees.currency == "USD" and ny.fees.first_card == 0
    assert ny.fees.replacement == Decimal("10.00")
    assert any(r.amount == 0 and r.applies_to == {CardKind.REPLACEMENT} for r in ny.fees.reductions)
    assert ny.validity.years == 5 and ny.validity.years_for(13)[0] == 2
    assert "sex" in ny.fields.optional and ny.fields.sex_values == ("F", "M", "X")
    assert {"eye_colour", "height", "address", "signature"} <= set(ny.fields.required)
    assert {"emergency_contact", "organ_donor", "veteran"} <= set(ny.fields.optional)
    assert ny.card.profile is CardProfile.PRINT  # New York shelved the chip in 2019
    # 30 written languages; ASL is served by interpreters at the office, not on the kiosk.
    assert "ase" not in ny.languages and len(ny.languages) == 30 and "yi" in ny.languages
    assert {"letter-shelter", "letter-ngo", "letter-hospital"} <= {d.code for d in ny.documents}
    assert "passport (any country, valid or expired)" in ny.document("passport").examples.get()  # type: ignore[union-attr]


def test_facts_san_francisco_and_richmond(programs: dict[str, Program]) -> None:
    sf, rich = programs["san-francisco"], programs["richmond"]
    for p in (sf, rich):
        assert p.proof.rule is ProofKind.PRIMARY_SECONDARY
        assert p.proof.detail == PrimarySecondaryRule(secondary_count=2, residence=1)
        assert p.proof.photo and p.proof.birth_date
        assert p.eligibility.residence_days == 15
        assert p.fees.first_card == Decimal("15.00")
    assert sf.proof.residence_max_age_days == 30
    assert "sex" in sf.fields.forbidden and not sf.fields.sex_values
    assert {"emergency_contact", "medical_info"} <= set(sf.fields.optional)
    assert sf.validity.years == 2
    assert {r.claim for r in sf.fees.reductions} == {Claim.CHILD, Claim.SENIOR, Claim.LOW_INCOME}
    assert [r.amount for r in rich.fees.reductions if r.claim is Claim.LOW_INCOME] == [
        Decimal("10.00")
    ]
    assert {"hair_colour", "eye_colour", "height", "weight"} <= set(rich.fields.required)
    assert rich.languages == ("en", "es")


def test_facts_other_us_cities(programs: dict[str, Program]) -> None:
    oak, nh = programs["oakland"], programs["new-haven"]
    assert oak.fees.first_card == Decimal(15)
    assert [(r.claim, r.amount) for r in oak.fees.reductions] == [(Claim.SENIOR, Decimal(10))]
    assert {"hair_colour", "eye_colour", "height", "weight"} <= set(oak.fields.required)
    assert nh.fees.first_card == Decimal(11)
    assert [(r.claim, r.under_age, r.amount) for r in nh.fees.reductions] == [
        (Claim.CHILD, 17, Decimal(5))
    ]
    assert {"address", "birth_date"} <= set(nh.fields.required)


def test_facts_europe(programs: dict[str, Program]) -> None:
    zh, bern, paris = programs["zurich"], programs["bern"], programs["paris"]
    assert zh.card.profile.has_chip and zh.eligibility.residence_days == 0
    assert {"photo", "signature", "birth_date"} <= set(zh.fields.required)
    assert "sex" in zh.fields.optional
    assert zh.card.design.disclaimer.get("de") == "Kein Aufenthaltstitel"
    assert zh.proof.insufficient is Insufficient.ATTENDANT
    assert bern.eligibility.residence_days >= 90 and bern.validity.years == 2
    assert {"address"} <= set(bern.fields.required) and "sex" in bern.fields.optional
    assert {Purpose.RESIDENCE} == {
        p for d in bern.documents if d.code == "ngo-domiciliation" for p in d.proves
    }
    assert paris.eligibility.guardian_age == 7 and paris.fees.first_card == 0
    assert paris.eligibility.guardian_outcome is GuardianOutcome.ELIGIBLE
    nantes, upas = programs["nantes"], programs["utrecht-upas"]
    assert nantes.validity.years == 1 and nantes.fees.first_card == 0
    assert any(Purpose.ELIGIBILITY in d.proves for d in nantes.documents)
    assert any(Purpose.ELIGIBILITY in d.proves for d in upas.documents)
    bcn, vigan = programs["barcelona"], programs["le-vigan"]
    assert bcn.eligibility.minimum_age == 18 and bcn.eligibility.guardian_age is None
    assert bcn.eligibility.residence_days >= 180 and bcn.validity.years == 2
    assert not bcn.entitlements
    assert {e.code for e in vigan.entitlements} == {"library", "museum", "digital-space"}
    assert "sponsor" in vigan.fields.required


def test_facts_utrecht_bbb_and_madrid(programs: dict[str, Program]) -> None:
    bbb, madrid = programs["utrecht-bbb"], programs["madrid"]
    # Issued by the NGO that runs the shelter, valid until the registration ends.
    assert bbb.issuer.kind is IssuerKind.ORGANISATION and bbb.issuer.city == "Utrecht"
    assert bbb.validity.until is not None
    assert "shelter registration" in bbb.validity.until.get("en")
    assert {"issuer_name", "shelter_name", "ngo_phone"} <= set(bbb.fields.required)
    assert [p for d in bbb.documents for p in d.proves] == [Purpose.ELIGIBILITY]
    assert bbb.out_of_scope and bbb.is_assumed("validity.years")
    assert not bbb.is_assumed("validity.until")  # "until the registration ends" is a fact
    # Madrid: registered residents; the padrón registration is the proof.
    assert madrid.issuer.kind is IssuerKind.CITY and madrid.issuer.since == 2016
    assert any(
        Purpose.RESIDENCE in d.proves and not madrid.is_assumed(f"documents.{d.code}")
        for d in madrid.documents
    )
    assert {e.code for e in madrid.entitlements} == {
        "culture", "sport", "transport", "employment-agency"
    }  # fmt: skip
    assert [pid for pid, p in programs.items() if p.validity.until] == ["utrecht-bbb"]


def test_passes_say_what_is_out_of_scope(programs: dict[str, Program]) -> None:
    """Where a programme is a pass more than an ID, the profile says what citycard leaves out."""
    assert "budget" in programs["utrecht-upas"].out_of_scope
    assert "partner venues" in programs["nantes"].out_of_scope
    assert "sponsorship" in programs["le-vigan"].out_of_scope
    assert not programs["zurich"].out_of_scope


def test_signature_printed_exactly_for_zurich_new_york_san_francisco(
    programs: dict[str, Program],
) -> None:
    signed = {pid for pid, p in programs.items() if p.card.design.signature}
    assert signed & set(SHIPPED) == {"zurich", "new-york", "san-francisco"}
    for pid in signed:
        assert "signature" in programs[pid].fields.required


def test_photo_on_chip_profiles_require_a_photo(programs: dict[str, Program]) -> None:
    for p in programs.values():
        if p.card.profile.photo_on_chip:
            assert "photo" in p.fields.required


def test_assumptions_point_at_real_keys(programs: dict[str, Program]) -> None:
    ny = programs["new-york"]
    assert ny.is_assumed("languages.offered")
    assert ny.is_assumed("documents.consular-id.identity_points")  # a table marks its keys
    assert not ny.is_assumed("proof.identity_points")  # 3 identity points is a fact
    assert programs["zurich"].is_assumed("fees.first_card")


def test_docs_list_every_shipped_programme() -> None:
    text = DOCS.read_text("utf-8")
    for pid in SHIPPED:
        assert f"`{pid}`" in text, pid


def test_localized_falls_back_to_english(programs: dict[str, Program]) -> None:
    zh = programs["zurich"]
    assert zh.names.get("de-CH") == "Züri City Card"
    assert zh.names.get("ti") == "Zurich City Card"
    assert zh.names.languages[0] == "en"


def test_a_residents_text_falls_back_to_the_programmes_first_language(
    programs: dict[str, Program],
) -> None:
    zh = programs["zurich"]
    assert zh.languages[0] == "de"
    assert zh.name("ti") == "Züri City Card"  # German, Zurich's first language, before English
    assert zh.text(zh.card.design.disclaimer, "pt-BR") == "Kein Aufenthaltstitel"
    assert zh.name("fr-CH") == zh.names.get("fr")  # the base language comes first
    ny = programs["new-york"]
    assert ny.name("ti") == ny.names.get("en")


def test_unknown_programme_id() -> None:
    with pytest.raises(ProgramError) as e:
        load_program("atlantis")
    assert "atlantis.toml" in str(e.value) and "does not exist" in str(e.value)
    with pytest.raises(ProgramError):
        load_program("Not An Id")
    assert issubclass(ProgramError, CitycardError)


# --- broken profiles -----------------------------------------------------------------------

MINIMAL = """\
assumed = ["fees.first_card"]
notes = "A test profile."

[names]
en = "Test City Card"
de = "Teststadt-Karte"

[issuer]
city = "Teststadt"
country = "CH"
authority = { en = "City of Teststadt" }
stage = "planned"

[eligibility]
minimum_age = 16
guardian_age = 0
guardian_outcome = "eligible"
residence_days = 0

[proof]
rule = "categories"
identity = 1
residence = 1
insufficient = "attendant"

[documents.passport]
names = { en = "Passport" }
examples.en = ["passport (any country, valid or expired)"]
proves = ["identity"]
photo = true
birth_date = true

[documents.letter-ngo]
names = { en = "Letter from an NGO" }
examples.en = ["letter from a shelter or NGO"]
proves = ["residence"]

[fees]
currency = "CHF"
first_card = "0"
replacement = "20.00"

[validity]
years = 5

[fields]
required = ["family_name", "given_name", "birth_date", "photo"]
optional = ["sex"]
forbidden = []
sex_values = ["F", "M", "X"]

[languages]
offered = ["de", "en"]

[card]
profile = "t4t"

[card.design]
display_name = { en = "Test City Card" }
languages = ["de", "en"]
primary_colour = "#1F5FA8"
secondary_colour = "#FFFFFF"
arms = "arms/test.svg"
signature = false
disclaimer = { de = "Kein Aufenthaltstitel", en = "Not a residence permit" }

[entitlements.library]
names = { en = "Libraries" }
"""


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _append(extra: str) -> Callable[[str], str]:
    return lambda text: text + "\n" + extra + "\n"


BROKEN: list[tuple[str, Callable[[str], str], str, str]] = [
    # (id, edit, dotted key, a fragment of the message or fix)
    ("years-wrong-type", _replace("years = 5", 'years = "five"'), "validity.years",
     "must be a whole number of years between 1 and 10, e.g. validity.years = 5"),
    ("years-out-of-range", _replace("years = 5", "years = 12"), "validity.years",
     "e.g. validity.years = 5"),
    ("unknown-key", _replace("minimum_age = 16", "minimum_age = 16\nminimum_ag = 14"),
     "eligibility.minimum_ag", "did you mean eligibility.minimum_age?"),
    ("forbidden-field", _replace('optional = ["sex"]', 'optional = ["sex", "nationality"]'),
     "fields.optional[1]", "never asks, prints or stores"),
    ("forbidden-key", _replace("residence_days = 0", 'residence_days = 0\nresidence_status = "any"'),
     "eligibility.residence_status", "remove it"),
    ("forbidden-document", _append('[documents.birthplace-proof]\nnames = { en = "x" }\nexamples.en = ["x"]\nproves = ["identity"]'),
     "documents.birthplace-proof", "docs/principles.md, principle 1"),
    ("bad-colour", _replace('primary_colour = "#1F5FA8"', 'primary_colour = "blue"'),
     "card.design.primary_colour", "#RRGGBB"),
    ("missing-disclaimer", _replace('disclaimer = { de = "Kein Aufenthaltstitel", en = "Not a residence permit" }', ""),
     "card.design.disclaimer", "not a residence permit"),
    ("disclaimer-missing-printed-language", _replace('de = "Kein Aufenthaltstitel", ', ""),
     "card.design.disclaimer.de", "add it, e.g. card.design.disclaimer.de ="),
    ("bad-language-code", _replace('offered = ["de", "en"]', 'offered = ["de", "english"]'),
     "languages.offered[1]", "BCP 47"),
    ("bad-language-case", _replace('offered = ["de", "en"]', 'offered = ["de", "EN_us"]'),
     "languages.offered[1]", '"pt-BR"'),
    ("negative-fee", _replace('first_card = "0"', 'first_card = "-5"'), "fees.first_card",
     "must not be negative"),
    ("float-fee", _replace('first_card = "0"', "first_card = 15.5"), "fees.first_card",
     'e.g. fees.first_card = "15.50"'),
    ("bad-currency", _replace('currency = "CHF"', 'currency = "Franken"'), "fees.currency",
     "ISO 4217"),
    ("guardian-age-too-high", _replace("guardian_age = 0", "guardian_age = 16"),
     "eligibility.guardian_age", "must be below eligibility.minimum_age"),
    ("guardian-without-outcome", _replace('guardian_outcome = "eligible"\n', ""),
     "eligibility.guardian_outcome", 'eligibility.guardian_outcome = "attendant"'),
    ("unknown-rule", _replace('rule = "categories"', 'rule = "vibes"'), "proof.rule",
     '"points", "primary_secondary", "categories"'),
    ("key-of-other-rule", _replace("residence = 1\n", "residence = 1\nsecondary_count = 2\n"),
     "proof.secondary_count", 'proof.rule = "primary_secondary"'),
    ("no-document-proves", _replace('proves = ["residence"]', 'proves = ["eligibility"]'),
     "documents", 'proves = ["residence"]'),
    ("assumed-unknown-key", _replace('assumed = ["fees.first_card"]', 'assumed = ["fees.frist_card"]'),
     "assumed[0]", "dotted path of an existing key"),
    ("assumed-without-notes", _replace('notes = "A test profile."\n', ""), "notes",
     "add a short note"),
    ("arms-outside", _replace('arms = "arms/test.svg"', 'arms = "/etc/passwd"'),
     "card.design.arms", "placeholder"),
    ("arms-missing", _replace('arms = "arms/test.svg"', 'arms = "arms/none.svg"'),
     "card.design.arms", "does not exist"),
    ("field-twice", _replace("forbidden = []", 'forbidden = ["sex"]'), "fields.forbidden[0]",
     "already listed in fields.optional"),
    ("unknown-field", _replace('optional = ["sex"]', 'optional = ["sex", "shoe_size"]'),
     "fields.optional[1]", "is not a field citycard knows"),
    ("birth-date-not-required", _replace('"birth_date", "photo"]', '"photo"]'),
     "fields.required", 'move "birth_date" to fields.required'),
    ("chip-photo-not-required", _replace('"birth_date", "photo"]', '"birth_date"]'),
     "fields.required", "puts the photo on the chip"),
    ("signature-not-collected", _replace("signature = false", "signature = true"),
     "fields.required", 'must include "signature"'),
    ("sex-values-bad", _replace('sex_values = ["F", "M", "X"]', 'sex_values = ["female"]'),
     "fields.sex_values", '["F", "M", "X"]'),
    ("bad-card-profile", _replace('profile = "t4t"', 'profile = "magstripe"'), "card.profile",
     '"t4t", "t4t-auth", "compact", "print"'),
    ("entitlement-code", _append('[entitlements.Pool]\nnames = { en = "Pool" }'),
     "entitlements.Pool", "lower-case"),
    ("document-without-examples", _replace('examples.en = ["letter from a shelter or NGO"]\n', ""),
     "documents.letter-ngo.examples", "every document category needs examples"),
    ("names-without-english", _replace('en = "Test City Card"\nde', 'de'), "names.en",
     "English is the fallback"),
    ("missing-section", _replace("[validity]\nyears = 5\n", ""), "validity",
     "add a [validity] table"),
    ("reduction-child-without-age", _append('[[fees.reductions]]\nclaim = "child"\namount = "5"'),
     "fees.reductions[0].under_age", "fees.reductions[0].under_age = 18"),
    ("bool-for-int", _replace("minimum_age = 16", "minimum_age = true"),
     "eligibility.minimum_age", "eligibility.minimum_age = 14"),
    ("issuer-kind", _replace('stage = "planned"', 'stage = "planned"\nkind = "ngo"'),
     "issuer.kind", '"city", "organisation"'),
    ("until-not-texts", _replace("years = 5", 'years = 5\nuntil = "registration"'),
     "validity.until", "validity.until = { en = "),
    ("out-of-scope-empty", _replace('notes = "A test profile."', 'notes = "A test profile."\nout_of_scope = ""'),
     "out_of_scope", "non-empty text"),
]  # fmt: skip


def _write(directory: Path, name: str, text: str) -> Path:
    (directory / "arms").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROGRAMS_DIR / "arms" / "zurich.svg", directory / "arms" / "test.svg")
    path = directory / f"{name}.toml"
    path.write_text(text, "utf-8")
    return path


def test_minimal_profile_is_valid(tmp_path: Path) -> None:
    program = load_program(_write(tmp_path, "test", MINIMAL))
    assert program.id == "test" and program.card.profile is CardProfile.T4T
    assert program.fees.renewal == program.fees.first_card  # renewal defaults to first_card
    assert program.issuer.kind is IssuerKind.CITY and program.validity.until is None
    assert program.out_of_scope == ""


def test_an_organisation_issues_a_card_valid_until_a_date(tmp_path: Path) -> None:
    text = _replace('stage = "planned"', 'stage = "planned"\nkind = "organisation"')(MINIMAL)
    text = _replace("years = 5", 'years = 1\nuntil = { en = "end of the stay", de = "Ende"}')(text)
    program = load_program(_write(tmp_path, "test", text))
    assert program.issuer.kind is IssuerKind.ORGANISATION
    assert program.validity.years == 1 and program.validity.until is not None
    assert program.validity.until.get("de") == "Ende"


@pytest.mark.parametrize(("edit", "key", "fragment"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_profile_names_file_key_and_fix(
    tmp_path: Path, edit: Callable[[str], str], key: str, fragment: str
) -> None:
    path = _write(tmp_path, "test", edit(MINIMAL))
    with pytest.raises(ProgramError) as e:
        load_program(path)
    problems = [p for p in e.value.problems if p.key == key]
    assert problems, f"no problem for {key!r} in:\n{e.value}"
    lines = [str(p) for p in problems]
    assert any(fragment in line for line in lines), "\n".join(lines)
    for p in problems:
        assert p.file.endswith("test.toml") and p.fix
        assert str(p).startswith(f"{p.file}: {key} ")
        assert str(p) in str(e.value)


def test_error_message_reads_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    programs = tmp_path / "programs"
    _write(programs, "zurich", MINIMAL.replace("years = 5", "years = 5.5"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramError) as e:
        load_program("zurich", directory=Path("programs"))
    assert str(e.value) == (
        "programs/zurich.toml: validity.years must be a whole number of years between 1 and 10, "
        "e.g. validity.years = 5"
    )


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "test", MINIMAL.replace("years = 5", "years = = 5"))
    with pytest.raises(ProgramError) as e:
        load_program(path)
    assert "is not valid TOML" in str(e.value) and "line" in str(e.value)


def test_bad_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "Test_City", MINIMAL)
    with pytest.raises(ProgramError) as e:
        load_program(path)
    assert "file name that is not a programme id" in str(e.value)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("years = 5", "years = 0").replace('"#1F5FA8"', '"#12345"')
    with pytest.raises(ProgramError) as e:
        load_program(_write(tmp_path, "test", text))
    assert {"validity.years", "card.design.primary_colour"} <= {p.key for p in e.value.problems}


def test_load_all_reports_every_broken_file(tmp_path: Path) -> None:
    _write(tmp_path, "good", MINIMAL)
    _write(tmp_path, "bad-one", MINIMAL.replace("years = 5", "years = 50"))
    _write(tmp_path, "bad-two", MINIMAL.replace('currency = "CHF"', 'currency = "chf"'))
    with pytest.raises(ProgramError) as e:
        load_all(tmp_path)
    files = {Path(p.file).name for p in e.value.problems}
    assert files == {"bad-one.toml", "bad-two.toml"}
    with pytest.raises(ProgramError):
        load_all(tmp_path / "nowhere")


def test_points_documents_must_carry_points(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'rule = "categories"\nidentity = 1\nresidence = 1',
        'rule = "points"\nidentity_points = 3\nresidence_points = 1\ntotal_points = 4',
    )
    with pytest.raises(ProgramError) as e:
        load_program(_write(tmp_path, "test", text))
    keys = {p.key for p in e.value.problems}
    assert {"documents.passport.identity_points", "documents.letter-ngo.residence_points"} <= keys
    fixed = text.replace('proves = ["identity"]', 'proves = ["identity"]\nidentity_points = 3')
    fixed = fixed.replace('proves = ["residence"]', 'proves = ["residence"]\nresidence_points = 1')
    assert load_program(_write(tmp_path, "test", fixed)).proof.rule is ProofKind.POINTS
