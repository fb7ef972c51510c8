"""The documents the resident will show, and the attendant's approval of the application (the
documents, the details and the photo together)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from babel.dates import format_timedelta
from flask import abort, request
from flask.typing import ResponseReturnValue

from cardio.credential import LAST_EXPIRY_DAY
from kiosk.rules import Outcome

from ...i18n import BY_CODE
from .. import messages as msg
from ..attendant import verify_pin
from ..context import (
    config,
    current_lang,
    kiosk_session,
    resident_lang,
    speak_to_staff,
    state,
    translate,
    translate_for_resident,
)
from ..notices import SHOWN_AT_MOST, NoticeBoard, ids_shown, notice_text
from ..ports import DecisionView, ReasonKind
from ..sessions import EnrolmentDraft
from .details import summary_rows
from .old_card import REPLACEMENT, attendant_note
from .pages import (
    FieldError,
    application,
    bp,
    decide,
    guard,
    invalidate_approval,
    localized,
    next_url,
    page,
    reason_text,
    refusals,
    see_other,
    steps,
)

log = logging.getLogger(__name__)

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


def chosen_documents(enrolment: EnrolmentDraft) -> list[str]:
    labels = {d.id: localized(d.label) for d in config().program.documents}
    return [labels[d] for d in enrolment.documents if d in labels]


def fmt_wait(seconds: float) -> str:
    """A wait in the page's language, rounded up: "30 seconds", "1 minute", "15 minutes"."""
    whole = math.ceil(seconds)
    if whole >= 60:
        whole = 60 * math.ceil(whole / 60)
    wait = timedelta(seconds=whole)
    try:  # threshold=1: "59 seconds" stays seconds, not "1 minute"
        return format_timedelta(wait, threshold=1, locale=current_lang())
    except Exception:  # a locale without data: English is still readable
        return format_timedelta(wait, threshold=1, locale="en")


def pin_locked(wait: float) -> FieldError:
    return FieldError("pin", translate(msg.PIN_LOCKED, time=fmt_wait(wait)))


def attendant_page(errors: Sequence[FieldError], status: int) -> ResponseReturnValue:
    """The application for the attendant: the details, the documents to check, and the photo
    (and signature) taken just before, which they approve together."""
    enrolment = kiosk_session().enrolment
    decision: DecisionView | None = enrolment.decision
    all_steps = steps()
    board = _notice_board()
    notices = board.pending() if board is not None else []
    shown = notices[:SHOWN_AT_MOST]
    resident = resident_lang()
    return page(
        "attendant.html",
        "attendant",
        errors=errors,
        status=status,
        resident_lead=translate_for_resident(msg.SHOW_DOCUMENTS),
        # its own lang and dir only when the page is in the staff's language
        resident_lang=BY_CODE.get(resident) if resident != current_lang() else None,
        rows=summary_rows(enrolment),
        old_card=attendant_note(enrolment),
        printer_notes=[translate(msg.PAPER_NEAR_END)] if _paper_near_end() else [],
        station_notes=[notice_text(n) for _i, n in shown],
        more_notes=len(notices) - len(shown),
        notes_shown=",".join(str(i) for i, _n in shown),
        replacement=enrolment.card_kind == REPLACEMENT,
        documents=chosen_documents(enrolment),
        needs_attendant=decision is not None and decision.outcome is Outcome.NEEDS_ATTENDANT,
        reasons=[reason_text(r) for r in decision.reasons if r.kind is not ReasonKind.INFO]
        if decision
        else [],
        has_pin=config().attendant_pin_hash is not None,
        has_card=config().staff_cards is not None,
        photo_step="photo" in all_steps,
        has_photo=enrolment.photo_jpeg is not None,
        signature_step="signature" in all_steps,
        has_signature=enrolment.signature_png is not None,
        approved="attendant" in enrolment.completed,
        next_url=next_url(),
        end_date_label=localized(config().program.end_date_label),
        valid_until=enrolment.valid_until.isoformat() if enrolment.valid_until else "",
        tomorrow=(config().today() + timedelta(days=1)).isoformat(),
    )


def _notice_board() -> NoticeBoard | None:
    """The card-job port's notices for the attendant, if it keeps any (kiosk.web.adapters)."""
    board = getattr(config().job, "notices", None)
    return board if isinstance(board, NoticeBoard) else None


def _paper_near_end() -> bool:
    """Whether the card-job port reports a nearly empty receipt roll (kiosk.web.adapters)."""
    check = getattr(config().job, "paper_near_end", None)
    return bool(check()) if callable(check) else False


def _end_date(raw: str, today: date) -> date | None:
    """The end date the attendant entered (YYYY-MM-DD, a date picker's value), if after today."""
    try:
        end = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    # a date picker offers 9999-12-31; a credential's last expiry day is the day before
    return end if today < end <= LAST_EXPIRY_DAY else None


@bp.route("/attendant", methods=["GET", "POST"])
def attendant() -> ResponseReturnValue:
    if (redirect_to := guard("attendant")) is not None:
        return redirect_to
    session = kiosk_session()
    cfg = config()
    lockout = state().pin_lockout
    speak_to_staff()  # the attendant reads this page (and its errors)
    if request.method == "GET":
        wait = lockout.wait() if cfg.attendant_pin_hash is not None else 0.0
        return attendant_page([pin_locked(wait)] if wait else (), 200)
    approved_by: str | None = None
    # A staff card is no guess: the PIN lockout does not hold it up.
    if request.form.get("method") == "card" and cfg.staff_cards is not None:
        staff_id = cfg.staff_cards.wait_for_staff_card(cfg.staff_card_wait)
        if staff_id is None:
            return attendant_page([FieldError("staff-card", translate(msg.NO_STAFF_CARD))], 422)
        approved_by = f"staff:{staff_id}"
    elif cfg.attendant_pin_hash is not None:
        pin, pin_hash = request.form.get("pin", ""), cfg.attendant_pin_hash
        # Locked for the whole kiosk (every session), and while locked the PIN is not checked.
        attempt = lockout.attempt(lambda: bool(pin) and len(pin) <= 64 and verify_pin(pin, pin_hash))
        if attempt.wait:
            return attendant_page([pin_locked(attempt.wait)], 429)
        if not attempt.accepted:
            return attendant_page([FieldError("pin", translate(msg.WRONG_PIN))], 422)
        approved_by = "pin"
    else:
        abort(400)
    if cfg.program.end_date_label is not None:
        end = _end_date(request.form.get("valid_until", ""), cfg.today())
        if end is None:
            error = translate(msg.END_DATE_NEEDED, end=localized(cfg.program.end_date_label))
            return attendant_page([FieldError("valid_until", error)], 422)
        session.enrolment.valid_until = end
        session.enrolment.decision = decide(application(session.enrolment))
    session.enrolment.approved_by = approved_by
    session.enrolment.completed.add("attendant")
    if (board := _notice_board()) is not None:  # the attendant has seen those on the page
        board.clear(ids_shown(request.form.get("notices", "")))
    log.info("attendant approved an application (%s)", "pin" if approved_by == "pin" else "card")
    return see_other(next_url())


