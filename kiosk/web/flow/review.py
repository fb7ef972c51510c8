"""The price, the review of the whole card, and the start of its personalisation."""

from __future__ import annotations

import logging
import threading

from flask import request, url_for
from flask.typing import ResponseReturnValue

from kiosk.rules import Outcome

from .. import messages as msg
from ..context import config, kiosk_session
from ..ports import (
    CardFate,
    CardJob,
    CardRequest,
    DecisionView,
    JobFailed,
    JobProgress,
    ReasonView,
)
from ..sessions import JobState, KioskSession
from .details import summary_rows
from .documents import chosen_documents
from .pages import application, bp, fmt_date, fmt_money, guard, next_url, page, see_other, steps

log = logging.getLogger(__name__)

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
    def progress(update: JobProgress) -> None:
        job.update(step=update.step, fraction=max(0.0, min(1.0, update.fraction)))

    try:
        job_runner.run(card, progress)
    except JobFailed as exc:
        log.warning("personalisation failed (%s)", exc.reason.code or "job")
        job.update(
            failed=True,
            reason=exc.reason,
            attendant=exc.attendant,
            retry=exc.retry,
            card=exc.card.value,
        )
        return
    except Exception as exc:  # never log the message: it may quote personal data
        log.error("personalisation failed: %s", type(exc).__name__)
        job.update(
            failed=True, reason=ReasonView(msg.JOB_FAILED), retry=False, card=CardFate.UNKNOWN.value
        )
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
        if "attendant" not in session.enrolment.completed and "details" in session.enrolment.completed:
            # This review page was approved; a change since (another tab, Back) withdrew that.
            session.notice = msg.APPROVE_AGAIN
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
    job = JobState(request_id=request_id, card_kind=enrolment.card_kind)
    session.job = job
    thread = threading.Thread(
        target=_run_job, args=(cfg.job, session, job, card), name="kiosk-job", daemon=True
    )
    thread.start()
    return see_other(url_for("kiosk.progress"))


