"""The resident's steps: language → about → details → documents → attendant → photo →
signature (where printed) → fee → review → personalising → done.

Every step is a GET that shows a form and a POST that checks it and redirects (POST/redirect/GET),
so the kiosk works without JavaScript. A step can be reached only when the steps before it are
done; editing details or documents again asks the attendant again (the documents may differ).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from . import messages as msg
from .app import current_lang, kiosk_session, state, translate
from .attendant import LOCK_SECONDS, MAX_ATTEMPTS, verify_pin
from .config import KioskConfig
from .i18n import BY_CODE, N_, ordered_languages
from .ports import (
    Application,
    CardJob,
    CardRequest,
    DecisionView,
    FieldKind,
    FieldSpec,
    JobFailed,
    Localized,
    Outcome,
    PhotoRejected,
    Progress,
    Reason,
    ReasonKind,
)
from .sessions import Enrolment, JobState, KioskSession
from .validation import DateParts, InputError, clean_name, clean_text, parse_birth_date

log = logging.getLogger(__name__)
bp = Blueprint("kiosk", __name__)

STEPS = ("language", "about", "details", "documents", "attendant", "photo", "signature", "fee")
ENDPOINTS = {
    "language": "kiosk.start",
    "about": "kiosk.about",
    "details": "kiosk.details",
    "documents": "kiosk.documents",
    "attendant": "kiosk.attendant",
    "photo": "kiosk.photo",
    "signature": "kiosk.signature",
    "fee": "kiosk.fee",
    "review": "kiosk.review",
}
TITLES = {
    "language": N_("Choose your language"),
    "about": N_("About the card"),
    "details": N_("About you"),
    "documents": N_("Your documents"),
    "attendant": N_("Please call the attendant"),
    "photo": N_("Your photo"),
    "signature": N_("Your signature"),
    "fee": N_("Price"),
    "review": N_("Check your card"),
}
MAX_SIGNATURE_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # the id of the input to focus ("" for the whole form)
    text: str  # translated


# ---------------------------------------------------------------------------------------------
# helpers


def config() -> KioskConfig:
    return state().config


def steps() -> list[str]:
    program = config().program
    result = []
    for step in STEPS:
        if step == "signature" and not program.prints_signature:
            continue
        if step == "photo" and not program.asks_photo:
            continue
        if step == "documents" and not (program.documents or program.waivers):
            continue
        result.append(step)
    return result


def first_incomplete(enrolment: Enrolment, before: str | None = None) -> str:
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


def reason_text(reason: Reason, lang: str | None = None) -> str:
    lang = lang or current_lang()
    if reason.render is not None:
        return reason.render(lang)
    text = state().catalogues.gettext(lang, reason.message)
    return text % dict(reason.params) if reason.params else text


def refusals(decision: DecisionView) -> list[FieldError]:
    reasons = [r for r in decision.reasons if r.kind is ReasonKind.REFUSE] or [Reason(msg.REFUSED)]
    return [FieldError("", reason_text(r)) for r in reasons]


def localized(text: Localized | None) -> str:
    return text.get(current_lang()) if text is not None else ""


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


def application(enrolment: Enrolment, documents: Sequence[str] | None = None) -> Application:
    assert enrolment.birth_date is not None
    return Application(
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
    )


def decide(app_data: Application) -> DecisionView:
    cfg = config()
    result: DecisionView = cfg.rules.decide(cfg.program, app_data, cfg.today())
    return result


def invalidate_approval(enrolment: Enrolment) -> None:
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


# ---------------------------------------------------------------------------------------------
# start, language, display preferences, cancel, timeout


@bp.get("/")
def start() -> ResponseReturnValue:
    session = kiosk_session()
    if session.finished:
        return restart(msg.SESSION_ENDED)
    resume = None
    if "language" in session.enrolment.completed:
        resume = next_url()
    return page(
        "start.html",
        "language",
        languages=ordered_languages(config().program.languages),
        resume=resume,
    )


@bp.post("/language")
def choose_language() -> ResponseReturnValue:
    session = kiosk_session()
    if session.finished:
        return restart(msg.SESSION_ENDED)
    code = request.form.get("lang", "")
    if code not in BY_CODE:
        return see_other(url_for("kiosk.start"))
    session.lang = code
    session.enrolment.completed.add("language")
    return see_other(next_url())


@bp.post("/display")
def display() -> ResponseReturnValue:
    session = kiosk_session()
    toggle = request.form.get("toggle")
    if toggle == "large":
        session.large_text = not session.large_text
    elif toggle == "contrast":
        session.high_contrast = not session.high_contrast
    back = request.form.get("back", "/")
    allowed = {url_for(e) for e in ENDPOINTS.values()} | {
        url_for("kiosk.progress"),
        url_for("kiosk.done"),
    }
    return see_other(back if back in allowed else url_for("kiosk.start"))


@bp.post("/cancel")
def cancel() -> ResponseReturnValue:
    session = kiosk_session()
    if session.job is not None and not (session.job.done or session.job.failed):
        return see_other(url_for("kiosk.progress"))  # a card is being made: finish it first
    return restart(msg.CANCELLED)


@bp.get("/timeout")
def timeout() -> ResponseReturnValue:
    """Where the idle timer sends the browser: the session is wiped."""
    session = kiosk_session()
    if session.job is not None and not (session.job.done or session.job.failed):
        return see_other(url_for("kiosk.progress"))
    lang = request.args.get("lang")
    if lang in BY_CODE:
        session.lang = lang
    if not session.enrolment.completed and not session.finished and session.notice is None:
        return see_other(url_for("kiosk.start"))  # nothing entered: nothing to say
    return restart(msg.TIMED_OUT)


# ---------------------------------------------------------------------------------------------
# about the card


@bp.route("/about", methods=["GET", "POST"])
def about() -> ResponseReturnValue:
    if (redirect_to := guard("about")) is not None:
        return redirect_to
    if request.method == "POST":
        kiosk_session().enrolment.completed.add("about")
        return see_other(next_url())
    return page("about.html", "about", disclaimer=localized(config().program.disclaimer))


# ---------------------------------------------------------------------------------------------
# personal data


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
        if value.isdecimal() and spec.min_value <= int(value) <= spec.max_value:
            return str(int(value))
        raise InputError(msg.NUMBER_RANGE)
    return clean_text(raw, max_length=spec.max_length, required=spec.required)


def details_form(
    enrolment: Enrolment, form: Mapping[str, str] | None, errors: Sequence[FieldError], status: int
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
# documents


def documents_page(
    chosen: Sequence[str], waivers: Sequence[str], errors: Sequence[FieldError], status: int
) -> ResponseReturnValue:
    program = config().program
    groups: dict[str, list[dict[str, str]]] = {}
    for doc in program.documents:
        groups.setdefault(doc.group, []).append(
            {"id": doc.id, "label": localized(doc.label), "note": localized(doc.note)}
        )
    return page(
        "documents.html",
        "documents",
        errors=errors,
        status=status,
        groups=[
            (translate(program.document_groups[name]) if name in program.document_groups else "", docs)
            for name, docs in groups.items()
        ],
        waivers=[(w.id, translate(w.label)) for w in program.waivers],
        chosen=set(chosen),
        chosen_waivers=set(waivers),
    )


@bp.route("/documents", methods=["GET", "POST"])
def documents() -> ResponseReturnValue:
    if (redirect_to := guard("documents")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    if request.method == "GET":
        return documents_page(enrolment.documents, enrolment.waivers, (), 200)
    program = config().program
    known = {d.id for d in program.documents}
    chosen = tuple(d for d in dict.fromkeys(request.form.getlist("document")) if d in known)
    known_waivers = {w.id for w in program.waivers}
    waivers = tuple(w for w in dict.fromkeys(request.form.getlist("waiver")) if w in known_waivers)
    candidate = replace(enrolment, documents=chosen, waivers=waivers)
    decision = decide(application(candidate))
    if decision.outcome is Outcome.REFUSED:
        return documents_page(chosen, waivers, refusals(decision), 422)
    if chosen != enrolment.documents or waivers != enrolment.waivers:
        invalidate_approval(enrolment)
    enrolment.documents, enrolment.waivers, enrolment.decision = chosen, waivers, decision
    enrolment.completed.add("documents")
    return see_other(next_url())


# ---------------------------------------------------------------------------------------------
# attendant approval


def summary_rows(enrolment: Enrolment) -> list[tuple[str, str, str]]:
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


def chosen_documents(enrolment: Enrolment) -> list[str]:
    labels = {d.id: localized(d.label) for d in config().program.documents}
    return [labels[d] for d in enrolment.documents if d in labels]


def attendant_page(errors: Sequence[FieldError], status: int) -> ResponseReturnValue:
    enrolment = kiosk_session().enrolment
    decision: DecisionView | None = enrolment.decision
    return page(
        "attendant.html",
        "attendant",
        errors=errors,
        status=status,
        rows=summary_rows(enrolment),
        documents=chosen_documents(enrolment),
        needs_attendant=decision is not None and decision.outcome is Outcome.NEEDS_ATTENDANT,
        reasons=[reason_text(r) for r in decision.reasons if r.kind is not ReasonKind.INFO]
        if decision
        else [],
        has_pin=config().attendant_pin_hash is not None,
        has_card=config().staff_cards is not None,
    )


@bp.route("/attendant", methods=["GET", "POST"])
def attendant() -> ResponseReturnValue:
    if (redirect_to := guard("attendant")) is not None:
        return redirect_to
    session = kiosk_session()
    if request.method == "GET":
        return attendant_page((), 200)
    cfg = config()
    now = time.monotonic()
    if session.pin_locked_until > now:
        return attendant_page([FieldError("pin", translate(msg.PIN_LOCKED))], 429)
    approved_by: str | None = None
    if request.form.get("method") == "card" and cfg.staff_cards is not None:
        staff_id = cfg.staff_cards.wait_for_staff_card(cfg.staff_card_wait)
        if staff_id is None:
            return attendant_page([FieldError("staff-card", translate(msg.NO_STAFF_CARD))], 422)
        approved_by = f"staff:{staff_id}"
    elif cfg.attendant_pin_hash is not None:
        pin = request.form.get("pin", "")
        if not (pin and len(pin) <= 64 and verify_pin(pin, cfg.attendant_pin_hash)):
            session.pin_failures += 1
            if session.pin_failures >= MAX_ATTEMPTS:
                session.pin_failures = 0
                session.pin_locked_until = now + LOCK_SECONDS
                return attendant_page([FieldError("pin", translate(msg.PIN_LOCKED))], 429)
            return attendant_page([FieldError("pin", translate(msg.WRONG_PIN))], 422)
        approved_by = "pin"
    else:
        abort(400)
    session.pin_failures = 0
    session.enrolment.approved_by = approved_by
    session.enrolment.completed.add("attendant")
    log.info("attendant approved an application (%s)", "pin" if approved_by == "pin" else "card")
    return see_other(next_url())


# ---------------------------------------------------------------------------------------------
# photo


def photo_page(errors: Sequence[str | FieldError] = (), status: int = 200) -> ResponseReturnValue:
    enrolment = kiosk_session().enrolment
    return page(
        "photo.html",
        "photo",
        errors=[e if isinstance(e, FieldError) else FieldError("photo", translate(e)) for e in errors],
        status=status,
        has_photo=enrolment.photo_jpeg is not None,
        optional=not config().program.photo_required,
        max_mb=config().max_upload_bytes // (1024 * 1024),
    )


@bp.route("/photo", methods=["GET", "POST"])
def photo() -> ResponseReturnValue:
    if (redirect_to := guard("photo")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    if request.method == "GET":
        return photo_page()
    if request.form.get("action") == "use" and enrolment.photo_jpeg is not None:
        enrolment.completed.add("photo")
        return see_other(next_url())
    if request.form.get("action") == "skip" and not config().program.photo_required:
        enrolment.photo = enrolment.photo_jpeg = None
        enrolment.completed.add("photo")
        return see_other(next_url())
    if request.form.get("action") == "retake":
        enrolment.photo = enrolment.photo_jpeg = None
        enrolment.completed.discard("photo")
        return see_other(url_for("kiosk.photo"))
    upload = request.files.get("photo")
    data = upload.read(config().max_upload_bytes + 1) if upload is not None else b""
    if upload is not None:
        upload.close()
    if not data:
        return photo_page([msg.NO_PHOTO], 422)
    if len(data) > config().max_upload_bytes:
        return photo_page([msg.PHOTO_TOO_BIG], 413)
    try:
        prepared = config().photos.prepare(config().program, data)
    except PhotoRejected as exc:
        return photo_page([FieldError("photo", reason_text(exc.reason))], 422)
    finally:
        del data
    enrolment.photo, enrolment.photo_jpeg = prepared, prepared.jpeg
    enrolment.completed.discard("photo")
    return see_other(url_for("kiosk.photo"))


@bp.get("/photo/preview.jpg")
def photo_preview() -> ResponseReturnValue:
    jpeg = kiosk_session().enrolment.photo_jpeg
    if jpeg is None or kiosk_session().finished:
        abort(404)
    return Response(jpeg, mimetype="image/jpeg")


# ---------------------------------------------------------------------------------------------
# signature


def read_signature(data_url: str) -> bytes:
    """The PNG inside a canvas data URL, checked to hold some ink; InputError otherwise."""
    from PIL import Image, UnidentifiedImageError

    prefix = "data:image/png;base64,"
    if not data_url:
        raise InputError(msg.NO_SIGNATURE)
    if not data_url.startswith(prefix) or len(data_url) > MAX_SIGNATURE_BYTES * 4 // 3 + 64:
        raise InputError(msg.BAD_SIGNATURE)
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
        with Image.open(io.BytesIO(png)) as img:
            if img.format != "PNG" or img.width * img.height > 4_000_000:
                raise InputError(msg.BAD_SIGNATURE)
            ink = img.convert("LA").getchannel("A").getbbox()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        raise InputError(msg.BAD_SIGNATURE) from None
    if ink is None:
        raise InputError(msg.NO_SIGNATURE)
    return png


@bp.route("/signature", methods=["GET", "POST"])
def signature() -> ResponseReturnValue:
    if (redirect_to := guard("signature")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    if request.method == "POST":
        if request.form.get("no_signature") == "yes":
            enrolment.signature_png, enrolment.no_signature = None, True
        else:
            try:
                png = read_signature(request.form.get("signature", ""))
            except InputError as exc:
                return page(
                    "signature.html",
                    "signature",
                    errors=[FieldError("signature-pad", translate(exc.message))],
                    status=422,
                    has_signature=False,
                )
            enrolment.signature_png, enrolment.no_signature = png, False
        enrolment.completed.add("signature")
        return see_other(next_url())
    return page("signature.html", "signature", has_signature=enrolment.signature_png is not None)


@bp.get("/signature/preview.png")
def signature_preview() -> ResponseReturnValue:
    png = kiosk_session().enrolment.signature_png
    if png is None or kiosk_session().finished:
        abort(404)
    return Response(png, mimetype="image/png")


# ---------------------------------------------------------------------------------------------
# fee


@bp.route("/fee", methods=["GET", "POST"])
def fee() -> ResponseReturnValue:
    if (redirect_to := guard("fee")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    if request.method == "POST":
        enrolment.fee_confirmed = True
        enrolment.completed.add("fee")
        return see_other(next_url())
    decision: DecisionView | None = enrolment.decision
    free = decision is None or decision.fee is None or decision.fee.free
    return page(
        "fee.html",
        "fee",
        free=free,
        amount=fmt_money(decision),
        has_waivers=bool(config().program.waivers) and not enrolment.waivers,
    )


# ---------------------------------------------------------------------------------------------
# review and personalisation


@bp.get("/review")
def review() -> ResponseReturnValue:
    if (redirect_to := guard("review")) is not None:
        return redirect_to
    session = kiosk_session()
    enrolment = session.enrolment
    decision: DecisionView | None = enrolment.decision
    return page(
        "review.html",
        "review",
        rows=summary_rows(enrolment),
        documents=chosen_documents(enrolment),
        has_documents_step="documents" in steps(),
        has_photo=enrolment.photo_jpeg is not None,
        photo_step="photo" in steps(),
        signature_step="signature" in steps(),
        has_signature=enrolment.signature_png is not None,
        valid_until=fmt_date(decision.valid_until if decision else None),
        amount=fmt_money(decision),
        free=decision is None or decision.fee is None or decision.fee.free,
        request_id=session.request_id,
    )


def _run_job(job_runner: CardJob, session: KioskSession, job: JobState, card: CardRequest) -> None:
    def progress(update: Progress) -> None:
        job.update(step=update.step, fraction=max(0.0, min(1.0, update.fraction)))

    try:
        job_runner.run(card, progress)
    except JobFailed as exc:
        log.warning("personalisation failed (%s)", exc.reason.code or "job")
        job.update(failed=True, reason=exc.reason, attendant=exc.attendant, retry=exc.retry)
        return
    except Exception as exc:  # never log the message: it may quote personal data
        log.error("personalisation failed: %s", type(exc).__name__)
        job.update(failed=True, reason=Reason(msg.JOB_FAILED), retry=False)
        return
    session.forget_resident()
    session.finished = True
    job.update(done=True, step="done", fraction=1.0)


@bp.post("/personalise")
def personalise() -> ResponseReturnValue:
    session = kiosk_session()
    request_id = request.form.get("request_id", "")
    job = session.job
    retrying = job is not None and job.request_id == request_id and job.failed and job.retry
    if job is not None and job.request_id == request_id and not retrying:
        # A double submit: the card for this request is made (or being made) once.
        return see_other(url_for("kiosk.done" if session.finished else "kiosk.progress"))
    if (redirect_to := guard("review")) is not None:
        return redirect_to
    if request_id != session.request_id:
        session.notice = msg.STALE_PAGE
        return see_other(url_for("kiosk.review"))
    enrolment = session.enrolment
    decision: DecisionView | None = enrolment.decision
    if decision is None or decision.outcome is Outcome.REFUSED or enrolment.approved_by is None:
        return see_other(url_for("kiosk.details"))
    cfg = config()
    card = CardRequest(
        request_id=request_id,
        program=cfg.program,
        application=application(enrolment),
        decision=decision,
        photo=enrolment.photo,
        signature_png=enrolment.signature_png,
    )
    job = JobState(request_id=request_id)
    session.job = job
    thread = threading.Thread(
        target=_run_job, args=(cfg.job, session, job, card), name="kiosk-job", daemon=True
    )
    thread.start()
    return see_other(url_for("kiosk.progress"))


def progress_view(job: JobState, lang: str) -> dict[str, Any]:
    catalogues = state().catalogues
    step_id = msg.PROGRESS_STEPS.get(job.step, msg.PROGRESS_STEPS["queued"])
    text = catalogues.gettext(lang, step_id)
    error = None
    if job.failed:
        reason = job.reason if isinstance(job.reason, Reason) else Reason(msg.JOB_FAILED)
        error = reason_text(reason, lang)
    return {
        "step": text,
        "percent": round(job.fraction * 100),
        "done": job.done,
        "failed": job.failed,
        "error": error,
        "attendant": job.attendant if job.failed else "",
        "retry": job.failed and job.retry,
    }


@bp.get("/progress")
def progress() -> ResponseReturnValue:
    session = kiosk_session()
    job = session.job
    if job is None:
        if session.finished:
            return restart(msg.SESSION_ENDED)
        return see_other(next_url() if session.enrolment.completed else url_for("kiosk.start"))
    if job.done:
        return see_other(url_for("kiosk.done"))
    return page(
        "progress.html",
        None,
        title=translate(N_("Making your card")),
        view=progress_view(job, current_lang()),
        request_id=job.request_id,
    )


@bp.get("/progress/events")
def progress_events() -> ResponseReturnValue:
    """Server-sent events: one `data:` line of JSON per change, until the job ends."""
    job = kiosk_session().job
    if job is None:
        abort(404)
    lang = current_lang()
    store = state().store
    session = kiosk_session()

    def stream() -> Iterator[str]:
        seen = -1
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with job.changed:
                if job.events == seen:
                    job.changed.wait(15)
                current = job.events
            store.touch(session)
            if current == seen:
                yield ": still working\n\n"
                continue
            seen = current
            view = progress_view(job, lang)
            yield f"data: {json.dumps(view, ensure_ascii=False)}\n\n"
            if job.done or job.failed:
                return

    return Response(
        stream_with_context(stream()),
        mimetype="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


@bp.get("/done")
def done() -> ResponseReturnValue:
    session = kiosk_session()
    if not session.finished:
        if session.job is not None:
            return see_other(url_for("kiosk.progress"))
        return guard("review") or see_other(url_for("kiosk.review"))
    return page(
        "done.html",
        None,
        title=translate(N_("Your card is ready")),
        done_timeout=int(config().done_timeout),
    )


@bp.route("/finish", methods=["GET", "POST"])
def finish() -> ResponseReturnValue:
    session = kiosk_session()
    state().store.drop(session.sid)
    g.kiosk = state().store.create()
    return see_other(url_for("kiosk.start"))


def error_page(code: int) -> ResponseReturnValue:
    if g.get("kiosk") is None:
        return "Error", code
    return page(
        "error.html",
        None,
        title=translate(N_("Sorry, something went wrong")),
        status=code,
        code=code,
    )
