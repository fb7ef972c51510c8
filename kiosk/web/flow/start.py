"""The start of a visit: language, display preferences, about the card; cancel and timeout."""

from __future__ import annotations

from flask import g, request, url_for
from flask.typing import ResponseReturnValue

from ...i18n import BY_CODE, ordered_languages
from .. import messages as msg
from ..context import config, kiosk_session
from .old_card import choose_kind
from .pages import ENDPOINTS, bp, guard, localized, next_url, page, restart, see_other

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


@bp.get("/still-here")
def still_here() -> ResponseReturnValue:
    """The "Still there?" dialog's button (kiosk.js): this request keeps the session, as every
    request does. 410 when the session had already ended, so the page goes to the start."""
    return ("", 410) if g.get("session_reset") else ("", 204)


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
        enrolment = kiosk_session().enrolment
        # "I understand. Continue" is a new card; "Renew my card" and "Replace a lost card"
        # (card_kind.html) go to the old card first.
        choose_kind(enrolment, request.form.get("kind", "first"))
        enrolment.completed.add("about")
        return see_other(next_url())
    return page(
        "about.html",
        "about",
        disclaimer=localized(config().program.disclaimer),
        card_kinds=True,
    )


