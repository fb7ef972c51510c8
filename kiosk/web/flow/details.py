"""The personal data step: names, birth date, the programme's other fields, the guardian and
the time lived in the city."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from flask import request
from flask.typing import ResponseReturnValue

from kiosk.card_glyphs import printable
from kiosk.printing import cannot_print_sentence
from kiosk.rules import Outcome

from ...i18n import BY_CODE, N_
from .. import messages as msg
from ..context import config, current_lang, kiosk_session, translate
from ..ports import FieldKind, FieldSpec
from ..sessions import EnrolmentDraft
from ..validation import (
    DateParts,
    InputError,
    clean_name,
    clean_text,
    parse_birth_date,
    read_number,
)
from .pages import (
    FieldError,
    application,
    bp,
    decide,
    fmt_date,
    guard,
    invalidate_approval,
    next_url,
    page,
    refusals,
    see_other,
)

# ---------------------------------------------------------------------------------------------
# personal data


# The fields a resident types (not chooses): what they type must be printable on the card.
TYPED = frozenset({FieldKind.NAME, FieldKind.TEXT, FieldKind.MULTILINE})


def field_label(spec: FieldSpec) -> str:
    label = msg.FIELD_LABELS.get(spec.id)
    return translate(label) if label else spec.id.replace("_", " ").capitalize()


def field_hint(spec: FieldSpec) -> str:
    hint = msg.FIELD_HINTS.get(spec.id)
    return translate(hint) if hint else ""


def choice_label(choice: str) -> str:
    if choice in BY_CODE and choice not in msg.CHOICE_LABELS:
        return BY_CODE[choice].name  # a language, named in itself
    label = msg.CHOICE_LABELS.get(choice)
    return translate(label) if label else choice


def check_field(spec: FieldSpec, raw: str) -> str:
    """The value as it will be kept; InputError (a message id) when it cannot be used."""
    if spec.kind is FieldKind.NAME:
        return clean_name(raw, required=spec.required)
    if spec.kind is FieldKind.CHOICE:
        value = raw.strip()
        if value in spec.choices or (not value and not spec.required):
            return value
        raise InputError(msg.CHOOSE_ONE)
    if spec.kind is FieldKind.NUMBER:
        value = raw.strip()
        if not value and not spec.required:
            return ""
        number = read_number(value, len(str(spec.max_value)))
        if number is not None and spec.min_value <= number <= spec.max_value:
            return str(number)
        raise InputError(msg.NUMBER_RANGE)
    return clean_text(raw, max_length=spec.max_length, required=spec.required)


def details_form(
    enrolment: EnrolmentDraft, form: Mapping[str, str] | None, errors: Sequence[FieldError], status: int
) -> ResponseReturnValue:
    born = enrolment.birth_date
    values: dict[str, str] = dict(enrolment.fields)
    parts = {
        "birth_day": str(born.day) if born else "",
        "birth_month": str(born.month) if born else "",
        "birth_year": str(born.year) if born else "",
    }
    guardian = enrolment.guardian_present
    lived = {True: "yes", False: "no", None: "unsure"}[enrolment.lived_long_enough]
    if "details" not in enrolment.completed:
        lived = ""
    if form is not None:
        values = {spec.id: form.get(spec.id, "") for spec in config().program.fields}
        parts = {key: form.get(key, "") for key in parts}
        guardian = form.get("guardian_present") == "yes"
        lived = form.get("lived_long_enough", "")
    days = config().program.residence_days
    if days and days % 30 == 0:
        residence_question = translate(msg.LIVED_MONTHS, months=str(days // 30))
    elif days:
        residence_question = translate(msg.LIVED_DAYS, days=str(days))
    else:
        residence_question = ""
    fields = [
        {
            "spec": spec,
            "label": field_label(spec),
            "hint": field_hint(spec),
            "value": values.get(spec.id, ""),
            "choices": [(c, choice_label(c)) for c in spec.choices],
        }
        for spec in config().program.fields
    ]
    return page(
        "details.html",
        "details",
        errors=errors,
        status=status,
        fields=fields,
        parts=parts,
        guardian=guardian,
        asks_guardian=config().program.asks_guardian,
        residence_question=residence_question,
        lived=lived,
        not_said=translate(msg.NOT_SAID),
        number_hint={
            spec.id: translate(msg.NUMBER_RANGE, low=str(spec.min_value), high=str(spec.max_value))
            for spec in config().program.fields
            if spec.kind is FieldKind.NUMBER
        },
    )


@bp.route("/details", methods=["GET", "POST"])
def details() -> ResponseReturnValue:
    if (redirect_to := guard("details")) is not None:
        return redirect_to
    session = kiosk_session()
    enrolment = session.enrolment
    if request.method == "GET":
        return details_form(enrolment, None, (), 200)

    form = request.form
    errors: list[FieldError] = []
    cleaned: dict[str, str] = {}
    for spec in config().program.fields:
        try:
            value = check_field(spec, form.get(spec.id, ""))
        except InputError as exc:
            params = (
                {"low": str(spec.min_value), "high": str(spec.max_value)}
                if spec.kind is FieldKind.NUMBER
                else {}
            )
            errors.append(
                FieldError(spec.id, f"{field_label(spec)}: {translate(exc.message, **params)}")
            )
            continue
        if value and spec.kind in TYPED and not printable(value):
            # What the card cannot draw would print as a box while the chip carries it.
            sentence = cannot_print_sentence(current_lang(), config().program.languages)
            errors.append(FieldError(spec.id, f"{field_label(spec)}: {sentence}"))
            continue
        if value:
            cleaned[spec.id] = value
    born: date | None = None
    try:
        born = parse_birth_date(
            DateParts(
                form.get("birth_day", ""), form.get("birth_month", ""), form.get("birth_year", "")
            ),
            config().today(),
        )
    except InputError as exc:
        errors.append(FieldError("birth_day", translate(exc.message)))
    guardian = form.get("guardian_present") == "yes" and config().program.asks_guardian
    lived: bool | None = None
    if config().program.residence_days:
        answer = form.get("lived_long_enough", "")
        if answer not in ("yes", "no", "unsure"):
            errors.append(FieldError("lived_long_enough", translate(msg.CHOOSE_ONE)))
        lived = {"yes": True, "no": False}.get(answer)
    if errors or born is None:
        return details_form(enrolment, form, errors, 422)

    candidate = replace(
        enrolment,
        fields=cleaned,
        birth_date=born,
        guardian_present=guardian,
        lived_long_enough=lived,
    )
    # Is the person refused whatever documents they bring (age, guardian, ...)?
    best_case = decide(application(candidate, [d.id for d in config().program.documents]))
    if best_case.outcome is Outcome.REFUSED:
        return details_form(enrolment, form, refusals(best_case), 422)
    # Details the card cannot print are refused now, not after a number is allocated.
    fit = config().rules.card_fit(config().program, application(candidate), config().today())
    if fit:
        known = {spec.id for spec in config().program.fields}
        fit_errors = [FieldError(f if f in known else "family_name", text) for f, text in fit]
        return details_form(enrolment, form, fit_errors, 422)

    changed = (
        cleaned != enrolment.fields
        or born != enrolment.birth_date
        or guardian != enrolment.guardian_present
        or lived != enrolment.lived_long_enough
    )
    enrolment.fields, enrolment.birth_date, enrolment.guardian_present = cleaned, born, guardian
    enrolment.lived_long_enough = lived
    if changed:
        invalidate_approval(enrolment)
    enrolment.decision = decide(application(enrolment))
    enrolment.completed.add("details")
    return see_other(next_url())


# ---------------------------------------------------------------------------------------------
# attendant approval


def summary_rows(enrolment: EnrolmentDraft) -> list[tuple[str, str, str]]:
    """(label, value, edit step) for each thing the resident entered."""
    rows: list[tuple[str, str, str]] = []
    for spec in config().program.fields:
        value = enrolment.fields.get(spec.id, "")
        if spec.kind is FieldKind.CHOICE:
            value = choice_label(value) if value else translate(msg.NOT_SAID)
        if value or spec.required:
            rows.append((field_label(spec), value, "details"))
    rows.insert(
        min(2, len(rows)), (translate(N_("Date of birth")), fmt_date(enrolment.birth_date), "details")
    )
    return rows


