"""The desk's card pages: look a card up, see its state and history, change it.

    GET  /desk/                              the look-up form
    GET  /desk/card?number=N                 state, history, and the actions
    POST /desk/cards/<N>/suspend|reinstate|revoke
    POST /desk/cards/<N>/code                a new receipt code, shown once

Status changes go through api.issuer.card_status (audited there with the staff id) and are
published before the answer; every look-up and new code is audited here.
"""

from __future__ import annotations

import time

from flask import Response, request

from cardio import codes

from ..card_status import card_history, set_current_card_status
from ..errors import CardStateError, IssuerError, UnknownCardError
from ..page_i18n import N_
from ..pages import redirect
from ..registry import ISSUED, REVOKED, SUSPENDED, VALID, audit_queries, desk_queries
from ..schemas import DOCUMENT_NUMBER, typed_document_number
from ..web import state
from .blueprint import bp
from .common import audit, login_required, message_page, page
from .history import history_lines, when
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


def _number(text: str) -> str | None:
    number = typed_document_number(text)
    return number if DOCUMENT_NUMBER.fullmatch(number) else None


@bp.get("/")
@login_required()
def home(session: DeskSession) -> Response:
    return page("desk/home.html", session)


@bp.get("/card")
@login_required()
def card(session: DeskSession) -> Response:
    number = _number(request.args.get("number", ""))
    if number is None:
        return page("desk/home.html", session, 400, message=BAD_NUMBER)
    done = request.args.get("done", "")
    return _card_page(session, number, message=DONE.get(done), ok=done in DONE)


def _card_page(
    session: DeskSession, number: str, status: int = 200, message: str | None = None, ok: bool = False
) -> Response:
    issuer = state().issuer
    try:
        cards = card_history(issuer.cards, number)
    except UnknownCardError:
        return page("desk/home.html", session, 404, message=UNKNOWN, number=number)
    audit(session.staff.staff_id, "desk-lookup", number)
    with issuer.registry.read() as s:
        events = audit_queries.events_for(s, number)
        current = desk_queries.current_card(s, number)
    assert current is not None
    rows = [
        {
            "generation": c.generation,
            "issued": when(c.iat),
            "expires": when(c.exp),
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
        message=message,
        ok=ok,
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
    """A fresh receipt code for the number's current card; only its digest is kept."""
    issuer = state().issuer
    code = codes.new_revocation_code()
    digest = codes.hash_code_keyed(code, issuer.cards.config.pepper())
    now = int(time.time())
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
    return page("desk/code.html", session, number=number, code=code)
