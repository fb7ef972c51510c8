"""Logging in to the desk (staff id + password, or the staff token) and out.

    GET  /desk/login     the two forms
    POST /desk/login     `method` password (staff_id, password) or token (token)
    POST /desk/logout    ends every session of the account
"""

from __future__ import annotations

import math
import time

from flask import Response, request

from ..page_errors import proxy_refusal
from ..page_i18n import N_
from ..pages import (
    FormRefused,
    check_form,
    cookie_missing,
    form_token,
    redirect,
    set_form_cookie,
    wait_step,
)
from ..web import state
from . import flash, sessions
from .blueprint import bp
from .common import REFUSED, audit, login_required, page, remember_lang

WRONG = N_("That did not work: check the staff id and password, or the token, and try again.")
# Said from Retry-After (pages.wait_step): a minute, 5 minutes, 15 minutes, an hour, more.
THROTTLED = (
    N_("Too many attempts. Try again in a minute, or ask a desk admin."),
    N_("Too many attempts. Try again in 5 minutes, or ask a desk admin."),
    N_("Too many attempts. Try again in 15 minutes, or ask a desk admin."),
    N_("Too many attempts. Try again in an hour, or ask a desk admin."),
    N_("Too many attempts. Try again in a few hours, or ask a desk admin."),
)
NO_COOKIES = N_(
    "The desk needs cookies, and your browser did not send the login form's cookie. Allow "
    "cookies for this site, then log in again."
)


@bp.before_app_request
def _refused_by_nginx() -> Response | None:
    # App-wide, so that a POST-only address (a GET of it is a 405 before any desk view runs)
    # and /desk itself are answered too: the sentence, never a 405 page or the new-code page.
    return proxy_refusal("/desk", THROTTLED[0])


def _login_page(status: int = 200, message: str | None = None, staff_id: str = "") -> Response:
    token = form_token(sessions.LOGIN_COOKIE)
    response = page("desk/login.html", None, status, message=message, staff_id=staff_id, login_csrf=token)
    set_form_cookie(response, sessions.LOGIN_COOKIE, token, max_age=3600)
    return response


@bp.get("/login")
def login_form() -> Response:
    if sessions.current() is not None:
        return remember_lang(redirect("/desk/"))
    return _login_page()


@bp.post("/login")
def login() -> Response:
    try:
        check_form(request.cookies.get(sessions.LOGIN_COOKIE))
    except FormRefused:
        return _login_page(403, NO_COOKIES if cookie_missing(sessions.LOGIN_COOKIE) else REFUSED)
    method = request.form.get("method", "")
    staff_id = request.form.get("staff_id", "").strip()[:64] if method == "password" else ""
    if staff_id.isascii():  # ids are lower case only (accounts.STAFF_ID): "Desk-1" is desk-1
        staff_id = staff_id.lower()
    wait = sessions.login_wait(staff_id or None)
    if wait:
        response = _login_page(429, THROTTLED[wait_step(wait)], staff_id)
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    accounts = state().issuer.accounts
    found: str | None = None
    if method == "password":
        found = accounts.staff_for_password(staff_id, request.form.get("password", ""))
    elif method == "token":
        token = request.form.get("token", "").strip()
        if 0 < len(token) <= 200:
            found = state().issuer.staff_for_token(token)
    if found is None:
        # Only an existing account's id is written down: a mistyped id may be a person's name.
        known = staff_id if staff_id and accounts.staff_account(staff_id) is not None else None
        audit(None, "desk-login-refused", detail=known)
        return _login_page(401, WRONG, staff_id)
    audit(found, "desk-login", detail=method)
    response = redirect("/desk/")
    sessions.begin(response, found)
    return response


@bp.post("/logout")
@login_required()
def logout(session: sessions.DeskSession) -> Response:
    state().issuer.accounts.end_sessions(session.staff.staff_id, int(time.time()))
    audit(session.staff.staff_id, "desk-logout")
    response = redirect("/desk/login")
    sessions.end(response)
    # A code or token made but never shown (the redirect's GET did not happen) goes too.
    return flash.forget(response)
