"""What every step shares: the blueprint, the order of the steps and the guard that keeps them
in order, the page frame every template is rendered in, and small formatting helpers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from kiosk.languages import Localized

from ...i18n import BY_CODE, N_
from .. import messages as msg
from ..context import config, current_lang, kiosk_session, state, translate
from ..ports import ApplicationForm, DecisionView, ReasonKind, ReasonView
from ..sessions import COOKIE, EnrolmentDraft

log = logging.getLogger(__name__)
bp = Blueprint("kiosk", __name__)

# The attendant comes after the photo and the signature: they check the documents and the
# photo together, so no photo reaches a card without a person having looked at it.
# "card" (the old card of a renewal or replacement, flow.old_card) only when the resident chose one.
STEPS = (
    "language", "about", "card", "details", "documents", "photo", "signature", "attendant", "fee",
)  # fmt: skip
ENDPOINTS = {
    "language": "kiosk.start",
    "about": "kiosk.about",
    "card": "kiosk.old_card",
    "details": "kiosk.details",
    "documents": "kiosk.documents",
    "photo": "kiosk.photo",
    "signature": "kiosk.signature",
    "attendant": "kiosk.attendant",
    "fee": "kiosk.fee",
    "review": "kiosk.review",
}
TITLES = {
    "language": N_("Choose your language"),
    "about": N_("About the card"),
    "details": N_("About you"),
    "documents": N_("Your documents"),
    "photo": N_("Your photo"),
    "signature": N_("Your signature"),
    "attendant": N_("Please call the attendant"),
    "fee": N_("Price"),
    "review": N_("Check your card"),
}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # the id of the input to focus ("" for the whole form)
    text: str  # translated


# ---------------------------------------------------------------------------------------------
# helpers


def steps() -> list[str]:
    program = config().program
    renewing = kiosk_session().enrolment.card_kind != "first"
    result = []
    for step in STEPS:
        if step == "card" and not renewing:
            continue
        if step == "signature" and not program.prints_signature:
            continue
        if step == "photo" and not program.asks_photo:
            continue
        if step == "documents" and not (program.documents or program.waivers):
            continue
        result.append(step)
    return result


def first_incomplete(enrolment: EnrolmentDraft, before: str | None = None) -> str:
    """The first step not done (stopping at `before`); "review" when all are done."""
    for step in steps():
        if step == before:
            return step
        if step not in enrolment.completed:
            return step
    return "review"


def step_url(step: str) -> str:
    return url_for(ENDPOINTS[step])


def next_url() -> str:
    return step_url(first_incomplete(kiosk_session().enrolment))


def see_other(url: str) -> Response:
    return redirect(url, 303)


def restart(notice: str) -> Response:
    """Drop this session (and all it holds) and go to the start with a notice."""
    old = kiosk_session()
    store = state().store
    store.drop(old.sid)
    g.kiosk = store.create(lang=old.lang, notice=notice)
    return see_other(url_for("kiosk.start"))


def guard(step: str) -> Response | None:
    """Redirect when `step` cannot be shown yet (or any more)."""
    session = kiosk_session()
    if session.finished:
        return restart(msg.SESSION_ENDED)
    wanted = first_incomplete(session.enrolment, before=step)
    if wanted == step:
        return None
    if wanted == "language" and not session.enrolment.completed:
        session.notice = session.notice or msg.SESSION_ENDED
    return see_other(step_url(wanted))


def reason_text(reason: ReasonView, lang: str | None = None) -> str:
    lang = lang or current_lang()
    if reason.render is not None:
        return reason.render(lang)
    text = state().catalogues.gettext(lang, reason.message)
    return text % dict(reason.params) if reason.params else text


def refusals(decision: DecisionView) -> list[FieldError]:
    reasons = [r for r in decision.reasons if r.kind is ReasonKind.REFUSE]
    reasons = reasons or [ReasonView(msg.REFUSED)]
    return [FieldError("", reason_text(r)) for r in reasons]


def localized(text: Localized[str] | None) -> str:
    """A programme text in the resident's language, under the one fallback rule (regional,
    base, the programme's first language, English)."""
    if text is None:
        return ""
    return text.get(current_lang(), config().program.languages)


def fmt_date(value: date | None) -> str:
    if value is None:
        return ""
    try:
        return format_date(value, format="long", locale=current_lang())
    except Exception:  # a locale without data: ISO is still readable
        return value.isoformat()


def fmt_money(decision: DecisionView | None) -> str:
    if decision is None or decision.fee is None:
        return ""
    fee = decision.fee
    try:
        return format_currency(fee.amount_minor / 100, fee.currency, locale=current_lang())
    except Exception:
        return f"{fee.amount_minor / 100:.2f} {fee.currency}"


def application(
    enrolment: EnrolmentDraft, documents: Sequence[str] | None = None
) -> ApplicationForm:
    assert enrolment.birth_date is not None
    return ApplicationForm(
        program_id=config().program.id,
        fields=dict(enrolment.fields),
        birth_date=enrolment.birth_date,
        documents=tuple(enrolment.documents if documents is None else documents),
        waivers=enrolment.waivers,
        guardian_present=enrolment.guardian_present,
        lived_long_enough=enrolment.lived_long_enough,
        provided=frozenset(
            name
            for name, value in (("photo", enrolment.photo), ("signature", enrolment.signature_png))
            if value is not None
        ),
        lang=current_lang(),
        valid_until=enrolment.valid_until,
        card_kind=enrolment.card_kind,
        document_number=enrolment.document_number,
    )


def decide(app_data: ApplicationForm) -> DecisionView:
    cfg = config()
    result: DecisionView = cfg.rules.decide(cfg.program, app_data, cfg.today())
    return result


def invalidate_approval(enrolment: EnrolmentDraft) -> None:
    enrolment.approved_by = None
    enrolment.fee_confirmed = False
    enrolment.completed.difference_update({"attendant", "fee"})


def page(
    template: str,
    step: str | None = None,
    *,
    errors: Sequence[FieldError] = (),
    status: int = 200,
    **context: Any,
) -> ResponseReturnValue:
    session = kiosk_session()
    lang = BY_CODE.get(current_lang(), BY_CODE["en"])
    cfg = config()
    all_steps = steps()
    notice = session.notice
    session.notice = None
    if step in all_steps:
        number = all_steps.index(step) + 1
        previous = all_steps[number - 2] if number > 1 else None
    elif step == "review":
        number, previous = len(all_steps) + 1, all_steps[-1]
    else:
        number, previous = 0, None
    classes = []
    if session.large_text:
        classes.append("large-text")
    if session.high_contrast:
        classes.append("high-contrast")
    html = render_template(
        template,
        lang=lang,
        step=step,
        step_number=number,
        step_total=len(all_steps) + 1,
        back_url=step_url(previous) if previous else None,
        title=translate(TITLES[step]) if step in TITLES else context.pop("title", ""),
        program_name=localized(cfg.program.name),
        notice=notice,
        errors=errors,
        error_fields={e.field for e in errors},
        focus=(errors[0].field or "errors") if errors else None,
        csrf=session.csrf,
        session=session,
        body_classes=" ".join(classes),
        idle_timeout=int(cfg.idle_timeout),
        timeout_url=url_for("kiosk.timeout", lang=lang.code),
        here=request.path,
        **context,
    )
    return html, status



def error_page(code: int) -> ResponseReturnValue:
    """The kiosk's own error page, with its way back to the start, in the resident's language."""
    if g.get("kiosk") is None:  # no session opened for this request (a static file)
        g.kiosk = state().store.stand_in(request.cookies.get(COOKIE))
    return page(
        "error.html",
        None,
        title=translate(N_("Sorry, something went wrong")),
        status=code,
        code=code,
    )

