"""Renewal and replacement: what the resident chooses after "About the card", and the old card.

The about page offers a new card (its Continue), "Renew my card" and "Replace a lost card".
A renewal then reads the old card — tapped on the card writer, or its printed QR code scanned
into the focused input (the kiosk's QR scanner is a keyboard wedge: it types the text and
Enter) — and verifies it (kiosk.renewal through the card-job port); a replacement asks for the
document number. The steps after it are the usual ones under the programme's rules for that kind
of card (its fee, its proofs). The new card keeps the number; the done page says what became of
the old card. Only the document number is kept, in the session, until the card is made.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Protocol, runtime_checkable

from flask import request, url_for
from flask.typing import ResponseReturnValue

from cardio.codes import MAX_TYPED, fold_typed
from kiosk.renewal import OldCardRefused

from ...i18n import N_
from ..context import config, kiosk_session, translate
from ..ports import ProgramView, ReasonView
from ..sessions import EnrolmentDraft, JobState
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
    see_other,
)

RENEWAL, REPLACEMENT = "renewal", "replacement"
SUCCESSOR_REFUSED_CODE = "successor_refused"  # kiosk.job.SuccessorRefusedJobError.code
KINDS = ("first", RENEWAL, REPLACEMENT)
DOCUMENT_NUMBER = re.compile(r"[A-Z0-9-]{4,24}")

TITLE_RENEWAL = N_("Your old card")
TITLE_REPLACEMENT = N_("Your lost card")
NOT_READ = N_("The card could not be read. Please scan its QR code again or put it on the card writer.")
BAD_NUMBER = N_("Please type the document number as printed on your card or receipt.")
REFUSED = N_("This card cannot be renewed here. Please ask the attendant.")
# Why the old card cannot be renewed (kiosk.renewal.OldCardRefused codes), for the resident.
REFUSALS = {
    "revoked": N_(
        "This card has been revoked, so it cannot be renewed; a lost or stolen card is "
        "replaced instead."
    ),
    "suspended": N_(
        "This card is suspended, so it cannot be renewed; please contact the city card office."
    ),
    "superseded": N_(
        "This card has already been replaced by a newer card; renew the newer card instead."
    ),
    "status": N_("The kiosk cannot check this card right now; please try again later or ask the attendant."),
    "not_read": NOT_READ,
    "not_genuine": N_(
        "This is not a genuine card of this city, so it cannot be renewed; apply for a new card "
        "or ask the attendant."
    ),
    "other_programme": N_(
        "This card belongs to another programme, so it cannot be renewed here; apply for a new "
        "card or ask the attendant."
    ),
    "expired": N_(
        "This card expired on %(date)s, more than %(days)s days ago, so it can no longer be "
        "renewed; please apply for a new card."
    ),
    "no_writer": N_("This kiosk has no card writer; please scan the QR code printed on your card."),
    "no_card": N_(
        "There is no card on the card writer; please put your old card on it, or scan the QR "
        "code printed on it."
    ),
    "unreachable": N_(
        "The kiosk cannot reach the city registry to check the card; please try again later or "
        "ask the attendant."
    ),
}
# What the attendant reads before approving a renewal or a replacement: the number whose card
# stops working. A replacement's number is only typed, so the attendant checks it against the
# resident's proof (a typo or someone else's number would cancel another resident's card).
ATTENDANT_REPLACEMENT = N_(
    "Replacement of a lost or stolen card: the card %(number)s will be cancelled. Check this "
    "number against the resident's receipt or other proof before you approve."
)
ATTENDANT_RENEWAL = N_(
    "Renewal: the new card replaces the card %(number)s, which the kiosk read and checked."
)
DONE_SUPERSEDED = N_("Your old card is no longer valid: the new card replaces it.")
DONE_REVOKED = N_("Your lost card has been cancelled: nobody can use it any more.")


@runtime_checkable
class OldCardCheck(Protocol):
    """The card-job port's check of a card presented for renewal (kiosk.web.adapters.StationJobs)."""

    def check_old_card(self, data: bytes | None, program: ProgramView) -> str:
        ...


def choose_kind(enrolment: EnrolmentDraft, kind: str) -> None:
    """The resident's choice on the about page. A different kind drops the old card read
    before, and asks the rules (fee) and the attendant again."""
    if kind not in KINDS or kind == enrolment.card_kind:
        return
    enrolment.card_kind = kind
    enrolment.document_number = None
    enrolment.completed.discard("card")
    invalidate_approval(enrolment)
    if enrolment.birth_date is not None:
        enrolment.decision = decide(application(enrolment))


def attendant_note(enrolment: EnrolmentDraft) -> str | None:
    """What the attendant must know of a renewal or a replacement: which card it ends."""
    number = enrolment.document_number
    if number is None:
        return None
    if enrolment.card_kind == REPLACEMENT:
        return translate(ATTENDANT_REPLACEMENT, number=number)
    if enrolment.card_kind == RENEWAL:
        return translate(ATTENDANT_RENEWAL, number=number)
    return None


def done_note(kind: str) -> str | None:
    """What the done page says about the old card."""
    if kind == RENEWAL:
        return translate(DONE_SUPERSEDED)
    if kind == REPLACEMENT:
        return translate(DONE_REVOKED)
    return None


@bp.route("/old-card", methods=["GET", "POST"])
def old_card() -> ResponseReturnValue:
    if (redirect_to := guard("card")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    kind = enrolment.card_kind
    errors: list[FieldError] = []
    if request.method == "POST":
        number = _replacement_number() if kind == REPLACEMENT else _renewal_number(errors)
        if number is None and not errors:
            errors.append(FieldError("document_number", translate(BAD_NUMBER)))
        if number is not None:
            enrolment.document_number = number
            enrolment.completed.add("card")
            return see_other(next_url())
    return page(
        "old_card.html",
        "card",
        errors=errors,
        status=422 if errors else 200,
        kind=kind,
        title=translate(TITLE_REPLACEMENT if kind == REPLACEMENT else TITLE_RENEWAL),
        has_writer=_has_writer(),
    )


def can_correct(job: JobState) -> bool:
    """Whether a failed job was a replacement whose typed number the registry refused: the
    resident may correct the number and go on, keeping everything else they entered."""
    reason = job.reason
    return (
        job.failed
        and job.card_kind == REPLACEMENT
        and isinstance(reason, ReasonView)
        and reason.code == SUCCESSOR_REFUSED_CODE
    )


@bp.post("/old-card/correct")
def correct_number() -> ResponseReturnValue:
    """Back to the number after the registry refused it. The attendant approves again: the
    number they checked is not the one the new card will cancel."""
    session = kiosk_session()
    job = session.job
    if job is None or not can_correct(job):
        return see_other(url_for("kiosk.progress"))
    config().job.forget(job.request_id)
    session.job = None
    session.request_id = secrets.token_urlsafe(16)  # a new attempt is a new request
    enrolment = session.enrolment
    enrolment.document_number = None
    enrolment.completed.discard("card")
    invalidate_approval(enrolment)
    return see_other(url_for("kiosk.old_card"))


def _has_writer() -> bool:
    """Whether the kiosk's station has a card writer to read the old card on."""
    station = getattr(config().job, "station", None)
    return getattr(station, "writer", None) is not None


def _replacement_number() -> str | None:
    # as the issuer reads it: a phone's or a keyboard layout's own digits and dashes count
    typed = fold_typed(request.form.get("document_number", "")[:MAX_TYPED]).upper()
    return typed if DOCUMENT_NUMBER.fullmatch(typed) else None


def _renewal_number(errors: list[FieldError]) -> str | None:
    """The verified old card's number; a sentence in `errors` when it cannot be renewed."""
    port = config().job
    if not isinstance(port, OldCardCheck):
        errors.append(FieldError("", translate(REFUSED)))
        return None
    scanned = request.form.get("qr", "")  # as typed (docs/credential.md 1.2)
    if not scanned.strip():
        scanned = ""
    if not scanned and request.form.get("action") != "tap":
        errors.append(FieldError("qr", translate(NOT_READ)))
        return None
    try:
        data = scanned.encode("ascii", "replace") if scanned else None
        return port.check_old_card(data, config().program)
    except OldCardRefused as exc:
        errors.append(FieldError("qr", refusal_text(exc)))
        return None


def refusal_text(exc: OldCardRefused) -> str:
    """Why the card cannot be renewed, in the resident's language."""
    message = REFUSALS.get(exc.code)
    if message is None:
        return translate(REFUSED)
    params = dict(exc.params)
    if "date" in params:
        params["date"] = fmt_date(date.fromisoformat(params["date"]))
    return translate(message, **params)
