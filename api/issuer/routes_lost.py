"""The holder's lost-card page: document number + receipt code, then suspend or revoke.

    GET  /lost?doc=N&lang=xx   the form (the receipt's QR opens it with the number filled in)
    POST /lost                 suspend or revoke; done: 303 to /lost?lang=xx&done=1
    GET  /lost?done=1          what happened and what next (from the signed cookie DONE_COOKIE)

A success answers with a redirect, so a reload shows the result again and never posts again
(which would spend an attempt and, after a revoke, say the code does not match). The result
(number and status) travels in a short-lived signed cookie, not in the address: an address
saying "card N is revoked" could be made up, or read from a number alone.

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

import hashlib
import hmac
import math
import time
from typing import Any

from flask import Blueprint, Response, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cardio import codes

from .lost_card import report_lost
from .page_errors import proxy_refusal
from .page_i18n import LANGUAGES, N_, choose
from .pages import (
    FormRefused,
    check_form,
    cookie_missing,
    form_token,
    redirect,
    render,
    set_form_cookie,
    wait_step,
)
from .ratelimit import network_key
from .registry import REVOKED, SUSPENDED
from .schemas import DOCUMENT_NUMBER, typed_document_number
from .web import state

bp = Blueprint("lost", __name__)

COOKIE = "__Host-citycard-lost"
DONE_COOKIE = "__Host-citycard-lost-done"
DONE_MAX_AGE = 120
"""Seconds the result page can be shown again: a reload or Back comes at once. The cookie is
a session cookie (not written to the browser's cookie file), deleted when the form is shown
and by every post: on a shared device the next person does not read "card N is revoked"."""
MIN_SECONDS = 0.5
"""Every answer to a POST takes at least this long, whatever happened."""
_ACTIONS = {"suspend": SUSPENDED, "revoke": REVOKED}


NO_MATCH = N_(
    "That document number and code do not match a card that can be changed. Check both, "
    "or ask at a service desk."
)
# Said from Retry-After (pages.wait_step): a minute, 5 minutes, 15 minutes, an hour, more.
THROTTLED = (
    N_("Too many attempts. Try again in a minute, or ask at a service desk."),
    N_("Too many attempts. Try again in 5 minutes, or ask at a service desk."),
    N_("Too many attempts. Try again in 15 minutes, or ask at a service desk."),
    N_("Too many attempts. Try again in an hour, or ask at a service desk."),
    N_("Too many attempts. Try again in a few hours, or ask at a service desk."),
)
EXPIRED = N_("This form has expired. Please fill it in again.")
NO_COOKIES = N_(
    "This form needs a cookie from this site, and your browser did not send it. Allow cookies "
    "for this site, then fill in the form again."
)
MISSING = N_("Enter both the document number and the code.")
NO_ACTION = N_("Choose whether to suspend or to revoke the card.")
NOT_A_CODE = N_(
    "The code is the 10 letters and digits printed on your receipt, such as 7KQ2M-XR4PD. "
    "Check it and type it again."
)


@bp.before_app_request
def _refused_by_nginx() -> Response | None:
    # App-wide (not only this blueprint's routes), so that an address of no route of ours
    # is answered too; only for /lost (page_errors.proxy_refusal).
    return proxy_refusal("/lost", THROTTLED[0])


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


def _serializer() -> URLSafeTimedSerializer:
    pepper = state().issuer.cards.config.pepper()
    key = hmac.new(pepper, b"citycard lost-card result v1", hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt="citycard-lost-done")


def _done(lang: str) -> Response | None:
    """The result page of this browser's last report (DONE_COOKIE), or None."""
    raw = request.cookies.get(DONE_COOKIE, "")
    try:
        result = _serializer().loads(raw, max_age=DONE_MAX_AGE) if 0 < len(raw) <= 512 else None
    except BadSignature:  # also SignatureExpired
        result = None
    if not isinstance(result, dict) or not isinstance(result.get("n"), str):
        return None
    if result.get("s") not in (SUSPENDED, REVOKED):
        return None
    return render("lost/done.html", lang, number=result["n"], status_word=result["s"])


@bp.get("/lost")
def lost_form() -> Response:
    """The form, in the browser's language or `?lang=`; `?doc=` fills in the number;
    `?done=1` the result of the report just sent (the form when there is none)."""
    try:
        number = request.args.get("doc", "")
        done = request.args.get("done", "")
    except UnicodeDecodeError:  # a raw byte in the address: the empty form, not an error
        number = done = ""
    lang = choose()
    result = _done(lang) if done else None
    return result or _forget_done(_form(lang, number=number))


def _forget_done(response: Response) -> Response:
    if DONE_COOKIE in request.cookies:
        response.delete_cookie(DONE_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


@bp.post("/lost")
def lost_submit() -> Response:
    started = time.monotonic()
    try:
        response = _submit(choose(), started)
        # A new report's result replaces the last one's; any other answer drops it.
        return response if response.status_code == 303 else _forget_done(response)
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
        message = NO_COOKIES if cookie_missing(COOKIE) else EXPIRED
        return _form(lang, 403, message, number=number, action=action)
    if not number or not code.strip():
        return _form(lang, 400, MISSING, number=number, action=action)
    if action not in _ACTIONS:
        return _form(lang, 400, NO_ACTION, number=number)
    if codes.normalise_code(code) is None:  # a typing slip: it costs no attempt
        return _form(lang, 400, NOT_A_CODE, number=number, action=action)
    st = state()
    wait = st.per_address.take(network_key(request.remote_addr)) or st.per_number.take(number)
    if wait:
        response = _form(lang, 429, THROTTLED[wait_step(wait)], number=number, action=action)
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
    response = redirect(f"/lost?lang={lang}&done=1")
    result = _serializer().dumps({"n": card.document_number, "s": card.status})
    set_form_cookie(response, DONE_COOKIE, result)  # a session cookie: see DONE_MAX_AGE
    return response
