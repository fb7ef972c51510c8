"""The rules engine: outcomes, reasons, fees and validity per programme profile."""

from __future__ import annotations

import dataclasses
import string
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.i18n_rules import LANGUAGES, MESSAGES, templates
from kiosk.programs import FIELDS, Insufficient, Program, is_forbidden_name, load_all
from kiosk.rules import (
    Application,
    CardKind,
    Claim,
    Decision,
    Effect,
    Outcome,
    ShownDocument,
    decide,
    reasons_text,
)

TODAY = date(2026, 3, 15)
PROGRAMS = load_all()


def born(years: int, days: int = 0) -> date:
    """The birth date of someone exactly `years` old today (plus `days` older)."""
    try:
        d = TODAY.replace(year=TODAY.year - years)
    except ValueError:
        d = TODAY.replace(year=TODAY.year - years, day=28)
    return d - timedelta(days=days)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def ids(decision: Decision) -> list[str]:
    return [r.id for r in decision.reasons]


def reason(decision: Decision, id: str) -> dict[str, str]:
    matches = [r.args for r in decision.reasons if r.id == id]
    assert matches, f"{id} not in {ids(decision)}"
    return matches[0]


ADULT = born(35)


# --- New York: points ----------------------------------------------------------------------


def test_new_york_three_identity_plus_one_residence_point_is_enough() -> None:
    app = Application(ADULT, documents=["passport", ShownDocument("utility-bill", ago(10))])
    d = decide(PROGRAMS["new-york"], app, TODAY)
    assert d.outcome is Outcome.ELIGIBLE, reasons_text(d, "en")
    assert not [r for r in d.reasons if r.effect in (Effect.REFUSE, Effect.ATTENDANT)]


def test_new_york_two_plus_two_points_is_not_enough() -> None:
    app = Application(
        ADULT,
        documents=[
            "foreign-driver-licence",  # 2 identity points
            ShownDocument("utility-bill", ago(5)),  # 1 residence point
            "lease",  # 1 residence point
        ],
    )
    d = decide(PROGRAMS["new-york"], app, TODAY)
    assert d.outcome is Outcome.NEEDS_ATTENDANT  # an attendant may accept other proof
    assert reason(d, "documents.identity_points") == {"points": "2", "required": "3"}
    assert "documents.residence_points" not in ids(d)
    assert "documents.attendant" in ids(d)
    en = reasons_text(d, "en")
    assert "Points from your identity documents: 2; 3 are needed." in en


def test_new_york_points_need_a_photo_and_a_birth_date() -> None:
    # 2 + 1 identity points, but neither document shows a photo.
    app = Application(ADULT, documents=["birth-certificate", "itin-letter", "lease"])
    d = decide(PROGRAMS["new-york"], app, TODAY)
    assert d.outcome is Outcome.NEEDS_ATTENDANT
    assert "documents.no_photo" in ids(d) and "documents.identity_points" not in ids(d)
    app = Application(ADULT, documents=["us-military-id", "itin-letter", "lease"])
    assert "documents.no_birth_date" in ids(decide(PROGRAMS["new-york"], app, TODAY))


def test_new_york_letters_from_shelters_count_as_residence() -> None:
    for letter in ("letter-shelter", "letter-ngo", "letter-hospital"):
        app = Application(ADULT, documents=["consular-id", ShownDocument(letter, ago(3))])
        assert decide(PROGRAMS["new-york"], app, TODAY).outcome is Outcome.ELIGIBLE


def test_insufficient_documents_refuse_when_the_profile_says_so() -> None:
    ny = PROGRAMS["new-york"]
    strict = dataclasses.replace(
        ny, proof=dataclasses.replace(ny.proof, insufficient=Insufficient.REFUSE)
    )
    d = decide(strict, Application(ADULT, documents=["itin-letter"]), TODAY)
    assert d.outcome is Outcome.REFUSED
    assert "documents.refused" in ids(d) and "documents.attendant" not in ids(d)


# --- San Francisco and Richmond: primary / secondary ---------------------------------------

def test_san_francisco_one_primary_document() -> None:
    app = Application(ADULT, residence_days=400, documents=["passport", ShownDocument("pay-stub", ago(20))])
    assert decide(PROGRAMS["san-francisco"], app, TODAY).outcome is Outcome.ELIGIBLE


def test_san_francisco_two_secondary_documents_with_photo_and_birth_date() -> None:
    docs: list[ShownDocument | str] = ["birth-certificate", "school-id", ShownDocument("utility-bill", ago(1))]
    d = decide(PROGRAMS["san-francisco"], Application(ADULT, documents=docs, residence_days=30), TODAY)
    assert d.outcome is Outcome.ELIGIBLE, reasons_text(d, "en")


def test_san_francisco_one_secondary_document_is_not_enough() -> None:
    docs: list[ShownDocument | str] = ["school-id", ShownDocument("utility-bill", ago(1))]
    d = decide(PROGRAMS["san-francisco"], Application(ADULT, documents=docs, residence_days=30), TODAY)
    assert d.outcome is Outcome.NEEDS_ATTENDANT
    assert reason(d, "documents.primary_or_secondary") == {"count": "2"}


def test_san_francisco_secondary_documents_without_a_photo() -> None:
    docs: list[ShownDocument | str] = ["birth-certificate", "social-security-card", ShownDocument("utility-bill", ago(1))]
    d = decide(PROGRAMS["san-francisco"], Application(ADULT, documents=docs, residence_days=30), TODAY)
    assert ids(d)[:2] == ["documents.no_photo", "documents.attendant"]


def test_san_francisco_needs_a_residence_document() -> None:
    d = decide(PROGRAMS["san-francisco"], Application(ADULT, documents=["passport"], residence_days=30), TODAY)
    assert reason(d, "documents.residence_count") == {"required": "1", "count": "0"}


@pytest.mark.parametrize(
    ("issued", "outcome", "reason_id"),
    [
        (ago(0), Outcome.ELIGIBLE, None),
        (ago(30), Outcome.ELIGIBLE, None),
        (ago(31), Outcome.NEEDS_ATTENDANT, "documents.too_old"),
        (ago(400), Outcome.NEEDS_ATTENDANT, "documents.too_old"),
        (TODAY + timedelta(days=3), Outcome.NEEDS_ATTENDANT, "documents.bad_date"),
        (None, Outcome.ELIGIBLE, "check.document_date"),
    ],
)
def test_residence_document_age(issued: date | None, outcome: Outcome, reason_id: str | None) -> None:
    app = Application(ADULT, residence_days=99, documents=["passport", ShownDocument("utility-bill", issued)])
    d = decide(PROGRAMS["san-francisco"], app, TODAY)
    assert d.outcome is outcome, reasons_text(d, "en")
    if reason_id:
        assert reason_id in ids(d)
    if reason_id == "documents.too_old":
        assert reason(d, "documents.too_old")["oldest"] == ago(30).isoformat()
        assert any("“Utility bill” is dated" in t for t in reasons_text(d, "en"))


def test_richmond_secondary_route_and_spouse_documents() -> None:
    docs: list[ShownDocument | str] = ["photo-id", "itin-letter", ShownDocument("spouse-document", ago(2))]
    d = decide(PROGRAMS["richmond"], Application(ADULT, documents=docs, residence_days=20), TODAY)
    assert d.outcome is Outcome.ELIGIBLE
    assert reason(d, "check.document") == {"document": "spouse-document"}
    assert any("Spouse's document with marriage certificate" in t for t in reasons_text(d, "en"))


# --- residence duration --------------------------------------------------------------------


def test_residence_duration() -> None:
    sf = PROGRAMS["san-francisco"]
    docs: list[ShownDocument | str] = ["passport", ShownDocument("utility-bill", ago(1))]
    short = decide(sf, Application(ADULT, documents=docs, residence_days=14), TODAY)
    assert short.outcome is Outcome.REFUSED
    assert reason(short, "residence.too_short") == {"days": "15", "date": (TODAY + timedelta(days=1)).isoformat()}
    since = decide(sf, Application(ADULT, documents=docs, residence_since=ago(15)), TODAY)
    assert since.outcome is Outcome.ELIGIBLE
    unknown = decide(sf, Application(ADULT, documents=docs), TODAY)
    assert unknown.outcome is Outcome.NEEDS_ATTENDANT and "residence.unknown" in ids(unknown)
    # residence_since wins over residence_days
    both = decide(sf, Application(ADULT, documents=docs, residence_since=ago(2), residence_days=900), TODAY)
    assert both.outcome is Outcome.REFUSED


# --- fields --------------------------------------------------------------------------------


def test_san_francisco_refuses_sex_because_it_must_not_be_given() -> None:
    app = Application(
        ADULT,
        residence_days=99,
        documents=["passport", ShownDocument("utility-bill", ago(1))],
        fields_provided={"family_name", "given_name", "sex"},
    )
    d = decide(PROGRAMS["san-francisco"], app, TODAY)
    assert d.outcome is Outcome.REFUSED
    assert reason(d, "field.forbidden") == {"field": "sex"}
    assert d.forbidden_fields == ("sex",) and "sex" not in d.optional_fields
    assert "Please leave this out: sex. This card must not show it." in reasons_text(d, "en")
    assert "No indique este dato: sexo. Esta tarjeta no debe mostrarlo." in reasons_text(d, "es")


def test_new_york_sex_is_optional_with_f_m_x() -> None:
    app = Application(ADULT, documents=["passport", "lease"], fields_provided={"sex", "emergency_contact"})
    d = decide(PROGRAMS["new-york"], app, TODAY)
    assert d.outcome is Outcome.ELIGIBLE
    assert "sex" in d.optional_fields and d.sex_values == ("F", "M", "X")
    assert {"eye_colour", "height"} <= set(d.required_fields)


def test_a_field_the_programme_does_not_collect_is_refused() -> None:
    app = Application(ADULT, documents=["passport", "bill"], fields_provided={"address", "nationality"})
    d = decide(PROGRAMS["zurich"], app, TODAY)
    assert d.outcome is Outcome.REFUSED
    assert [r.args["field"] for r in d.reasons if r.id == "field.not_collected"] == ["address", "nationality"]


def test_missing_fields_are_listed_but_do_not_change_the_outcome() -> None:
    app = Application(ADULT, documents=["passport", "lease"], fields_provided={"family_name"})
    d = decide(PROGRAMS["new-york"], app, TODAY)
    assert d.outcome is Outcome.ELIGIBLE and not d.complete
    assert d.missing_fields == ("given_name", "photo", "signature", "address", "eye_colour", "height")
    full = dataclasses.replace(app, fields_provided=set(d.required_fields))
    assert decide(PROGRAMS["new-york"], full, TODAY).complete


# --- Zurich: everyone, no status -----------------------------------------------------------


def test_application_has_no_status_nationality_or_birthplace() -> None:
    names = [f.name for f in dataclasses.fields(Application)]
    assert not [n for n in names if is_forbidden_name(n)]
    with pytest.raises(TypeError):
        Application(ADULT, nationality="XX")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Application(ADULT, residence_status="undocumented")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "documents",
    [
        ["passport", "rental-contract"],  # a passport of any country, valid or expired
        ["counselling-attestation"],  # no passport at all: an NGO attests identity and address
        ["birth-certificate", "shelter-letter"],
    ],
)
def test_zurich_everyone_who_lives_there(documents: list[str]) -> None:
    d = decide(PROGRAMS["zurich"], Application(ADULT, documents=documents), TODAY)
    assert d.outcome is Outcome.ELIGIBLE, reasons_text(d, "de")
    assert d.fee.amount == 0


def test_zurich_without_documents_goes_to_an_attendant_not_refused() -> None:
    d = decide(PROGRAMS["zurich"], Application(ADULT), TODAY)
    assert d.outcome is Outcome.NEEDS_ATTENDANT
    assert "Eine Mitarbeiterin oder ein Mitarbeiter kann andere Nachweise prüfen" in " ".join(reasons_text(d, "de"))


# --- minors and guardians ------------------------------------------------------------------


def test_new_york_minor_with_and_without_caretaker() -> None:
    ny = PROGRAMS["new-york"]
    docs: list[ShownDocument | str] = ["passport", "lease"]
    alone = decide(ny, Application(born(12), documents=docs), TODAY)
    assert alone.outcome is Outcome.REFUSED and reason(alone, "age.needs_guardian") == {"age": "14"}
    with_caretaker = decide(ny, Application(born(12), has_guardian=True, documents=docs), TODAY)
    assert with_caretaker.outcome is Outcome.NEEDS_ATTENDANT
    assert "age.guardian_attendant" in ids(with_caretaker)
    too_young = decide(ny, Application(born(9, days=364), has_guardian=True, documents=docs), TODAY)
    assert too_young.outcome is Outcome.REFUSED
    assert reason(too_young, "age.too_young_with_guardian") == {"age": "10"}
    ten = decide(ny, Application(born(10), has_guardian=True, documents=docs), TODAY)
    assert ten.outcome is Outcome.NEEDS_ATTENDANT
    fourteen = decide(ny, Application(born(14), documents=docs), TODAY)
    assert fourteen.outcome is Outcome.ELIGIBLE


def test_guardian_outcome_eligible() -> None:
    sf = PROGRAMS["san-francisco"]
    docs: list[ShownDocument | str] = ["passport", ShownDocument("utility-bill", ago(1))]
    d = decide(sf, Application(born(8), has_guardian=True, residence_days=99, documents=docs), TODAY)
    assert d.outcome is Outcome.ELIGIBLE and "age.with_guardian" in ids(d)


def test_no_guardian_route_means_refused_even_with_a_guardian() -> None:
    bcn = PROGRAMS["barcelona"]
    app = Application(born(17), has_guardian=True, residence_days=400)
    d = decide(bcn, app, TODAY)
    assert d.outcome is Outcome.REFUSED and reason(d, "age.too_young") == {"age": "18"}


def test_impossible_birth_dates_are_refused() -> None:
    for birth in (TODAY + timedelta(days=1), date(1899, 12, 31)):
        d = decide(PROGRAMS["zurich"], Application(birth), TODAY)
        assert d.outcome is Outcome.REFUSED and d.age is None
        assert "birth_date.invalid" in ids(d)


# --- fees ----------------------------------------------------------------------------------


def _sf(birth: date, **kw: object) -> Decision:
    docs: list[ShownDocument | str] = ["passport", ShownDocument("utility-bill", ago(1))]
    return decide(
        PROGRAMS["san-francisco"],
        Application(birth, residence_days=99, documents=docs, has_guardian=True, **kw),  # type: ignore[arg-type]
        TODAY,
    )


def test_san_francisco_fee_and_waivers() -> None:
    adult = _sf(ADULT)
    assert (adult.fee.amount, adult.fee.currency, adult.fee.reduction) == (Decimal("15.00"), "USD", None)
    assert str(adult.fee) == "15.00 USD" and "The fee is 15.00 USD." in reasons_text(adult, "en")
    child = _sf(born(10))
    assert child.fee.amount == 0 and child.fee.reduction is Claim.CHILD  # from the birth date
    senior = _sf(born(67))
    assert senior.fee.amount == 0 and senior.fee.reduction is Claim.SENIOR
    low = _sf(ADULT, claims={Claim.LOW_INCOME})
    assert low.fee.amount == 0 and low.fee.reduction is Claim.LOW_INCOME
    assert "check.low_income" in ids(low) and low.outcome is Outcome.ELIGIBLE
    assert "The fee is 0.00 USD instead of 15.00 USD (low income)." in reasons_text(low, "en")
    wrong = _sf(ADULT, claims={Claim.SENIOR})
    assert wrong.fee.amount == Decimal(15) and reason(wrong, "fee.claim_not_applicable") == {"reduction": "senior"}


def test_reduced_fees_elsewhere() -> None:
    rich = decide(PROGRAMS["richmond"], Application(ADULT, claims={Claim.LOW_INCOME}), TODAY)
    assert rich.fee.amount == Decimal("10.00")
    oak = decide(PROGRAMS["oakland"], Application(born(70)), TODAY)
    assert oak.fee.amount == Decimal("10.00") and oak.fee.standard == Decimal("15.00")
    nh16 = decide(PROGRAMS["new-haven"], Application(born(16)), TODAY)
    nh17 = decide(PROGRAMS["new-haven"], Application(born(17)), TODAY)
    assert (nh16.fee.amount, nh17.fee.amount) == (Decimal("5.00"), Decimal("11.00"))


def test_new_york_free_card_and_waivable_replacement() -> None:
    ny = PROGRAMS["new-york"]
    first = decide(ny, Application(ADULT, documents=["passport", "lease"]), TODAY)
    assert first.fee.amount == 0 and "fee.free" in ids(first)
    repl = decide(ny, Application(ADULT, kind=CardKind.REPLACEMENT), TODAY)
    assert repl.fee.amount == Decimal("10.00")
    waived = decide(ny, Application(ADULT, kind=CardKind.REPLACEMENT, claims={Claim.LOW_INCOME}), TODAY)
    assert waived.fee.amount == 0 and waived.fee.reduction is Claim.LOW_INCOME


# --- validity ------------------------------------------------------------------------------


def test_new_york_validity_five_years_or_two_under_fourteen() -> None:
    ny = PROGRAMS["new-york"]
    adult = decide(ny, Application(ADULT), TODAY)
    assert (adult.validity.years, adult.validity.expires) == (5, date(2031, 3, 15))
    child = decide(ny, Application(born(13), has_guardian=True), TODAY)
    assert (child.validity.years, child.validity.expires) == (2, date(2028, 3, 15))
    assert child.validity.age_rule is not None and "validity.under_age" in ids(child)
    fourteen = decide(ny, Application(born(14)), TODAY)
    assert fourteen.validity.years == 5


def test_validity_from_the_29th_of_february() -> None:
    d = decide(PROGRAMS["zurich"], Application(ADULT), date(2028, 2, 29))
    assert d.validity.expires == date(2033, 2, 28)


# --- texts ---------------------------------------------------------------------------------


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_translations_are_complete_with_the_same_placeholders() -> None:
    assert set(LANGUAGES) >= {"en", "fr", "de", "es", "ar"}
    for lang in LANGUAGES:
        catalogue = templates(lang)
        assert set(catalogue) == set(MESSAGES), lang
        for key, template in catalogue.items():
            assert template.strip(), (lang, key)
            assert _placeholders(template) == _placeholders(MESSAGES[key]), (lang, key)
    assert {f"field.{f}" for f in FIELDS} <= set(MESSAGES)
    assert {f"claim.{c.value}" for c in Claim} <= set(MESSAGES)


def test_reasons_in_the_residents_language_with_english_fallback() -> None:
    d = _sf(born(10))
    assert reasons_text(d, "ar")[0] == "يمكنك الحصول على هذه البطاقة."
    assert reasons_text(d, "fr-CA")[0] == "Vous pouvez obtenir cette carte."
    assert reasons_text(d, "de-CH")[0] == "Sie können diese Karte erhalten."
    assert reasons_text(d, "ti")[0] == "ነዚ ካርድ ክትረኽቡ ትኽእሉ ኢኹም።"
    assert reasons_text(d, "no-such-tag!") == reasons_text(d, "en")
    es = reasons_text(d, "es")
    assert "La tarifa es de 0.00 USD en lugar de 15.00 USD (niñas y niños)." in es
    # Document names come from the profile, in the resident's language where it has them.
    assert any("«Factura de servicios»" in t for t in reasons_text(_undated_sf(), "es"))


def _undated_sf() -> Decision:
    docs: list[ShownDocument | str] = ["passport", "utility-bill"]
    return decide(PROGRAMS["san-francisco"], Application(ADULT, residence_days=99, documents=docs), TODAY)


def test_every_outcome_has_a_text_in_every_language() -> None:
    for outcome in Outcome:
        for lang in LANGUAGES:
            assert f"outcome.{outcome.value}" in templates(lang)


def test_unknown_documents_are_named_and_ignored() -> None:
    d = decide(PROGRAMS["zurich"], Application(ADULT, documents=["passport", "bill", "library-card"]), TODAY)
    assert d.outcome is Outcome.ELIGIBLE
    assert reason(d, "documents.unknown") == {"document": "library-card"}


# --- property: decide never crashes --------------------------------------------------------

_ALL_DOCS = sorted({d.code for p in PROGRAMS.values() for d in p.documents})
_FIELD_NAMES = [*FIELDS, "nationality", "residence_status", "shoe_size", ""]
_dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2300, 12, 31))
_shown = st.one_of(
    st.sampled_from(_ALL_DOCS),
    st.text(max_size=12),
    st.builds(ShownDocument, st.one_of(st.sampled_from(_ALL_DOCS), st.text(max_size=8)), st.none() | _dates),
)
_applications = st.builds(
    Application,
    birth_date=_dates,
    has_guardian=st.booleans(),
    residence_since=st.none() | _dates,
    residence_days=st.none() | st.integers(min_value=-(10**6), max_value=10**6),
    documents=st.lists(_shown, max_size=8),
    fields_provided=st.frozensets(st.sampled_from(_FIELD_NAMES) | st.text(max_size=10), max_size=8),
    claims=st.frozensets(st.sampled_from(list(Claim))),
    kind=st.sampled_from(list(CardKind)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    program=st.sampled_from(sorted(PROGRAMS.values(), key=lambda p: p.id)),
    application=_applications,
    today=st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)),
    language=st.sampled_from([*LANGUAGES, "ti", "zh-Hant", "pt-BR", "x", ""]),
)
def test_random_applications_never_crash(
    program: Program, application: Application, today: date, language: str
) -> None:
    d = decide(program, application, today)
    assert d.outcome in Outcome
    effects = {r.effect for r in d.reasons}
    if d.outcome is Outcome.ELIGIBLE:
        assert not effects & {Effect.REFUSE, Effect.ATTENDANT}
    assert (d.outcome is Outcome.REFUSED) == (Effect.REFUSE in effects)
    assert 0 <= d.fee.amount <= d.fee.standard and d.fee.currency == program.fees.currency
    assert d.validity.expires > today and d.validity.issued == today
    assert all(r.id in MESSAGES for r in d.reasons)
    texts = reasons_text(d, language)
    assert len(texts) == len(d.reasons) + 1 and all(texts)
    for r, text in zip(d.reasons, texts[1:], strict=True):
        if not any("{" in v for v in r.args.values()):
            assert "{" not in text, (r, text)  # every placeholder filled


def test_datetimes_are_taken_as_their_day() -> None:
    app = Application(
        datetime(1990, 5, 1, 12, 30),
        residence_since=datetime(2020, 1, 1, 8, 0),
        documents=["passport", ShownDocument("utility-bill", datetime(2026, 3, 1, 9, 0))],
    )
    d = decide(PROGRAMS["san-francisco"], app, datetime(2026, 3, 15, 18, 0))
    assert d.outcome is Outcome.ELIGIBLE and d.age == 35


# --- a validity that ends on a date the attendant enters (Utrecht's BBB card) -------------------


def test_bbb_card_is_valid_until_the_registration_ends_at_most_a_year() -> None:
    bbb = PROGRAMS["utrecht-bbb"]
    fields = {"family_name", "given_name", "issuer_name", "shelter_name", "ngo_phone"}
    docs = ["shelter-registration"]

    def until(end: date | None) -> Decision:
        app = Application(ADULT, documents=docs, fields_provided=fields, valid_until=end)
        return decide(bbb, app, TODAY)

    soon = until(TODAY + timedelta(days=40))
    assert soon.outcome is Outcome.ELIGIBLE and soon.complete and not soon.missing_end_date
    assert soon.validity.expires == TODAY + timedelta(days=40)
    assert reason(soon, "validity.expires") == {"date": (TODAY + timedelta(days=40)).isoformat()}
    assert until(date(2099, 1, 1)).validity.expires == TODAY.replace(year=TODAY.year + 1)
    assert until(datetime(2026, 5, 1, 12, 0)).validity.expires == date(2026, 5, 1)
    for missing in (None, TODAY, TODAY - timedelta(days=1)):
        d = until(missing)
        assert d.missing_end_date and not d.complete and not d.missing_fields, missing
        assert d.outcome is Outcome.ELIGIBLE  # like a missing field: collected, not refused


def test_other_programmes_ignore_an_end_date() -> None:
    app = Application(ADULT, documents=["passport", "lease"], valid_until=TODAY + timedelta(days=9))
    d = decide(PROGRAMS["new-york"], app, TODAY)
    assert d.validity.expires == TODAY.replace(year=TODAY.year + 5) and not d.missing_end_date
