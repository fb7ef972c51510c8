"""Making the card: its progress (a page and a server-sent event stream), done, finish.

A failed job never leaves the resident stuck: the page says what went wrong and what became of
the card, and offers Try again (only when the job says a retry can work), Start over and the
attendant's help; the idle timeout applies again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import abort, g, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ...i18n import N_
from ...wallet_offer import done_page_view
from .. import messages as msg
from ..context import config, current_lang, kiosk_session, state, translate
from ..ports import ReasonView
from ..sessions import JobState
from .old_card import can_correct, done_note
from .pages import bp, guard, next_url, page, reason_text, restart, see_other

WRITING_CHIP = "write_chip"  # the job's step while the card must stay on the writer
FAILED_TITLE = N_("Sorry, something went wrong")


def progress_view(job: JobState, lang: str) -> dict[str, Any]:
    """What the progress page shows (also sent as JSON on the event stream). While the job runs:
    the step and a lead that says "do not take the card out" only while the chip is written.
    After a failure: what went wrong, what became of the card, and whether a retry can work."""
    catalogues = state().catalogues
    step_id = msg.PROGRESS_STEPS.get(job.step, msg.PROGRESS_STEPS["queued"])
    text = catalogues.gettext(lang, step_id)
    running = not (job.done or job.failed)
    lead = msg.HOLD_CARD if running and job.step == WRITING_CHIP else msg.MAKING_CARD
    error = card = None
    if job.failed:
        reason = job.reason if isinstance(job.reason, ReasonView) else ReasonView(msg.JOB_FAILED)
        error = reason_text(reason, lang)
        fate = msg.CARD_FATES.get(job.card)
        card = catalogues.gettext(lang, fate) if fate else ""
    return {
        "step": text,
        "lead": catalogues.gettext(lang, lead),
        "percent": round(job.fraction * 100),
        "done": job.done,
        "failed": job.failed,
        "error": error,
        "card": card,
        "attendant": job.attendant if job.failed else "",
        "retry": job.failed and job.retry,
        "correct": can_correct(job),
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
    failed_title = translate(FAILED_TITLE)
    return page(
        "progress.html",
        None,
        title=failed_title if job.failed else translate(N_("Making your card")),
        failed_title=failed_title,
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
                # Read under the lock and end on what was sent: a job that ends after this
                # view still gets its done event (the page would otherwise wait for a reload).
                view = progress_view(job, lang) if current != seen else None
            store.touch(session)
            if view is None:
                yield ": still working\n\n"
                continue
            seen = current
            yield f"data: {json.dumps(view, ensure_ascii=False)}\n\n"
            if view["done"] or view["failed"]:
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
        old_card_note=done_note(session.job.card_kind) if session.job is not None else None,
        wallet=done_page_view(config().job, session.request_id),  # the card for the phone
    )


@bp.route("/finish", methods=["GET", "POST"])
def finish() -> ResponseReturnValue:
    session = kiosk_session()
    state().store.drop(session.sid)
    g.kiosk = state().store.create()
    return see_other(url_for("kiosk.start"))


