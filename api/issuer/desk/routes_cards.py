"""The desk's card pages: look a card up, see its state and history, change it.

    GET  /desk/                              the look-up form
    GET  /desk/card?number=N                 state, history, and the actions
    POST /desk/cards/<N>/suspend|reinstate|revoke
    POST /desk/cards/<N>/code                a new receipt code (then 303 to the GET)
    GET  /desk/cards/<N>/code                the new code, shown once (desk.flash)

Status changes go through api.issuer.card_status (audited there with the staff id) and are
published before the answer; every look-up and new code is audited here.
"""

from __future__ import annotations

import time

from flask import Response, request
from sqlalchemy.orm import Session

from cardio import codes

from ..card_status import card_history, set_current_card_status
from ..errors import CardStateError, IssuerError, UnknownCardError
from ..page_i18n import N_
from ..pages import redirect
from ..registry import (
    ISSUED,
    REVOKED,
    SUSPENDED,
    VALID,
    audit_queries,
    desk_queries,
)
from ..schemas import DOCUMENT_NUMBER, typed_document_number
from ..web import state
from . import flash
from .blueprint import bp
from .common import audit, login_required, message_page, page
from .history import day, history_lines, when
from .routes_accounts import SAVED
from .sessions import DeskSession

_ACTIONS = {"suspend": SUSPENDED, "reinstate": VALID, "revoke": REVOKED}
BAD_NUMBER = N_("A document number is 4 to 24 capital letters, digits or '-'; check it and try again.")
UNKNOWN = N_("There is no card %(number)s; check the number.")
CONFIRM = N_("Tick the box to confirm that the card is to be revoked for good.")
NO_CODE = N_("This card cannot get a new code: it is revoked or was never finished.")
NOT_ALLOWED = N_("This change is not allowed: a revoked card stays revoked.")
DONE = {
    "suspend": N_("The card is suspended; venues refuse it from now on."),
    "reinstate": N_("The card is valid again."),
    "revoke": N_("The card is revoked for good."),
}
# `?done=` is only an address: its sentence shows only while the card's status says the same
# (an old bookmark or Back must not claim "valid again" above a revoked card).
DONE_STATUS = {"suspend": SUSPENDED, "reinstate": VALID, "revoke": REVOKED}
RECENT_CODE = 600
HISTORY_LINES = 200  # the newest events a card page lists
"""Seconds after a desk-made receipt code during which another needs a ticked box: a second
post (two tabs, a resent form) must not silently kill the code the holder just wrote down."""
CODE_SHOWN = N_(
    "The new receipt code was shown once and cannot be shown again; no other code was made. "
    "If the holder does not have it, make a new one."
)
RECENT_MADE = N_(
    "A new receipt code was made for this card at %(time)s. If the holder does not have it, "
    "tick the box to replace it."
)


def _number(text: str) -> str | None:
    number = typed_document_number(text)
    return number if DOCUMENT_NUMBER.fullmatch(number) else None


@bp.get("/")
@login_required()
def home(session: DeskSession) -> Response:
    saved = flash.take(session, "saved")  # e.g. an admin who stepped down
    message = SAVED.get(saved.get("what", "")) if saved else None
    return flash.forget(page("desk/home.html", session, message=message, ok=True))


@bp.get("/card")
@login_required()
def card(session: DeskSession) -> Response:
    number = _number(request.args.get("number", ""))
    if number is None:
        return page("desk/home.html", session, 400, message=BAD_NUMBER)
    return _card_page(session, number, done=request.args.get("done", ""))


def _recent_code(s: Session, number: str, now: int) -> int | None:
    """When a desk made this number's newest receipt code, if within RECENT_CODE (its own
    query: the page's history list holds only a long-lived card's newest events)."""
    made = audit_queries.newest_at(s, number, "desk-new-code")
    return made if made is not None and now - made < RECENT_CODE else None


def _card_page(
    session: DeskSession,
    number: str,
    status: int = 200,
    message: str | None = None,
    ok: bool = False,
    done: str = "",
    **values: str,
) -> Response:
    issuer = state().issuer
    try:
        cards = card_history(issuer.cards, number)
    except UnknownCardError:
        return page("desk/home.html", session, 404, message=UNKNOWN, number=number)
    audit(session.staff.staff_id, "desk-lookup", number)
    with issuer.registry.read() as s:
        events = audit_queries.events_for(s, number, HISTORY_LINES)
        event_count = audit_queries.count_for(s, number)
        current = desk_queries.current_card(s, number)
        recent = _recent_code(s, number, int(time.time()))
    assert current is not None
    if done in DONE and DONE_STATUS[done] == current.status:
        message, ok = DONE[done], True
    rows = [
        {
            "generation": c.generation,
            # The days a reader shows, as the card prints them (docs/credential.md, Expiry):
            # the UTC day of iat, and the UTC day of exp - 1 (exp is 00:00 UTC after it).
            "issued": day(c.iat),
            "expires": day(c.exp - 1 if c.exp is not None else None),
            "status": c.status,
            "state": c.state,
            "current": (c.status_list, c.status_index) == (current.status_list, current.status_index),
        }
        for c in cards
    ]
    return page(
        "desk/card.html",
        session,
        status,
        number=number,
        current_status=current.status,
        current_state=current.state,
        cards=rows,
        history=history_lines(events),
        history_left_out=max(0, event_count - len(events)),
        recent_code=recent is not None,
        message=message,
        ok=ok,
        message_values={"number": number, **values},
    )


@bp.post("/cards/<number>/<action>")
@login_required()
def change(session: DeskSession, number: str, action: str) -> Response:
    checked = _number(number)
    if checked is None:
        return message_page(session, 400, BAD_NUMBER)
    if action == "code":
        return _new_code(session, checked)
    if action not in _ACTIONS:
        return message_page(session, 404, N_("There is no such action."))
    if action == "revoke" and request.form.get("confirm") != "yes":
        return _card_page(session, checked, 400, CONFIRM)
    st = state()
    try:
        info, _changed = set_current_card_status(
            st.issuer.cards, checked, _ACTIONS[action], "staff", session.staff.staff_id
        )
    except UnknownCardError:
        return page("desk/home.html", session, 404, message=UNKNOWN, number=checked)
    except CardStateError:
        return _card_page(session, checked, 409, NOT_ALLOWED)
    except IssuerError:
        return message_page(session, 400, NOT_ALLOWED)
    st.extra["publisher"].wait_published(info.status_list)
    return redirect(f"/desk/card?number={checked}&done={action}")


def _new_code(session: DeskSession, number: str) -> Response:
    """A fresh receipt code for the number's current card; only its digest is kept. The answer
    is a redirect to the GET that shows the code once (desk.flash): a reload of that page
    never makes another code."""
    issuer = state().issuer
    now = int(time.time())
    with issuer.registry.read() as s:
        recent = _recent_code(s, number, now)
    if recent is not None and request.form.get("again") != "yes":
        return _card_page(session, number, 409, RECENT_MADE, time=when(recent))
    code = codes.new_revocation_code()
    digest = codes.hash_code_keyed(code, issuer.cards.config.pepper())
    refused: str | None = None
    with issuer.registry.write() as s:
        card = desk_queries.current_card(s, number)
        if card is None:
            refused = UNKNOWN
        elif card.state != ISSUED or card.status == REVOKED:
            refused = NO_CODE
        else:
            desk_queries.set_current_code_hash(s, card, digest, now)
            audit_queries.record(s, now, session.staff.staff_id, "desk-new-code", number)
    if refused == UNKNOWN:
        return page("desk/home.html", session, 404, message=UNKNOWN, number=number)
    if refused is not None:
        return _card_page(session, number, 409, refused)
    response = redirect(f"/desk/cards/{number}/code")
    return flash.put(response, session, "code", number=number, code=code)


@bp.get("/cards/<number>/code")
@login_required()
def show_code(session: DeskSession, number: str) -> Response:
    """The code the POST just made, once; after that the card page says it was shown."""
    checked = _number(number)
    if checked is None:
        return message_page(session, 400, BAD_NUMBER)
    made = flash.take(session, "code")
    if made is None or made.get("number") != checked:
        return flash.forget(_card_page(session, checked, message=CODE_SHOWN))
    return flash.forget(page("desk/code.html", session, number=checked, code=made["code"]))
