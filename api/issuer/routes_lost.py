"""The holder's lost-card page: document number + receipt code, then suspend or revoke.

    GET  /lost?doc=N&lang=xx   the form (the receipt's QR opens it with the number filled in)
    POST /lost                 suspend or revoke; a page that says what happened and what next

Server-rendered, no script, in every kiosk language (api.issuer.page_i18n). A wrong code, an
unknown number and a used code get the same page with the same status, after the same work
(api.issuer.lost_card) and never sooner than `MIN_SECONDS` after the request came in. The
number and code are read as typed on any keyboard (cardio.codes.fold_typed); a text that
cannot be a code at all is told so and costs no attempt.
Attempts are limited per client network and per document number with the same buckets as
`POST /api/v1/self-revocation`. The form carries a token that must match its cookie
(api.issuer.pages).
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, Response, request

from cardio import codes

from .lost_card import report_lost
from .page_i18n import LANGUAGES, N_, choose
from .pages import FormRefused, check_form, form_token, render, set_form_cookie
from .ratelimit import network_key
from .registry import REVOKED, SUSPENDED
from .schemas import DOCUMENT_NUMBER, typed_document_number
from .web import state

bp = Blueprint("lost", __name__)

COOKIE = "__Host-citycard-lost"
MIN_SECONDS = 0.5
"""Every answer to a POST takes at least this long, whatever happened."""
_ACTIONS = {"suspend": SUSPENDED, "revoke": REVOKED}


NO_MATCH = N_(
    "That document number and code do not match a card that can be changed. Check both, "
    "or ask at a service desk."
)
THROTTLED = N_("Too many attempts. Wait an hour and try again, or ask at a service desk.")
EXPIRED = N_("This form has expired. Please fill it in again.")
MISSING = N_("Enter both the document number and the code.")
NO_ACTION = N_("Choose whether to suspend or to revoke the card.")
NOT_A_CODE = N_(
    "The code is the 10 letters and digits printed on your receipt, such as 7KQ2M-XR4PD. "
    "Check it and type it again."
)


def _clean_number(text: str) -> str:
    # Any script's digits and dashes, no spaces: what a phone types is read as printed.
    return typed_document_number(text)[:32]


def _form(lang: str, status: int = 200, message: str | None = None, **values: Any) -> Response:
    token = form_token(COOKIE)
    number = _clean_number(values.get("number", ""))
    response = render(
        "lost/form.html",
        lang,
        status=status,
        message=message,
        number=number if DOCUMENT_NUMBER.fullmatch(number) else "",
        action=values.get("action", ""),
        csrf=token,
        languages=LANGUAGES,
    )
    set_form_cookie(response, COOKIE, token)
    return response


@bp.get("/lost")
def lost_form() -> Response:
    """The form, in the browser's language or `?lang=`; `?doc=` fills in the number."""
    try:
        number = request.args.get("doc", "")
    except UnicodeDecodeError:  # a raw byte in the address: the empty form, not an error
        number = ""
    return _form(choose(), number=number)


@bp.post("/lost")
def lost_submit() -> Response:
    started = time.monotonic()
    try:
        return _submit(choose(), started)
    finally:
        # Whatever the outcome, no answer comes sooner than MIN_SECONDS.
        rest = MIN_SECONDS - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)


def _submit(lang: str, started: float) -> Response:
    number = _clean_number(request.form.get("doc", ""))
    code = request.form.get("code", "")[:64]
    action = request.form.get("action", "")
    try:
        check_form(request.cookies.get(COOKIE))
    except FormRefused:
        return _form(lang, 403, EXPIRED, number=number, action=action)
    if not number or not code.strip():
        return _form(lang, 400, MISSING, number=number, action=action)
    if action not in _ACTIONS:
        return _form(lang, 400, NO_ACTION, number=number)
    if codes.normalise_code(code) is None:  # a typing slip: it costs no attempt
        return _form(lang, 400, NOT_A_CODE, number=number, action=action)
    st = state()
    wait = st.per_address.take(network_key(request.remote_addr)) or st.per_number.take(number)
    if wait:
        response = _form(lang, 429, THROTTLED, number=number, action=action)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    if DOCUMENT_NUMBER.fullmatch(number):
        card = report_lost(st.issuer, number, code, _ACTIONS[action], int(time.time()))
    else:  # no such number can exist: the same work, the same answer
        codes.check_code(code, None, b"\0" * 32)
        card = None
    if card is None:
        return _form(lang, 403, NO_MATCH, number=number, action=action)
    st.extra["publisher"].wait_published(card.status_list)
    return render("lost/done.html", lang, number=card.document_number, status_word=card.status)
