"""What the desk's routes share: the page language, the login check, refusals as pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, request

from ..page_errors import DESK_LANG_COOKIE
from ..page_i18n import DESK_LANGUAGES, N_, asked_for, choose
from ..pages import FormRefused, check_form, redirect, render, set_form_cookie
from ..registry import audit_queries
from ..web import state
from . import sessions

F = TypeVar("F", bound=Callable[..., Response])


REFUSED = N_(
    "This request did not come from a desk page (another site, or an expired form). "
    "Go back to the desk and try again."
)
ADMINS_ONLY = N_("Only a desk admin can do this; ask one.")
SESSION_ENDED = N_(
    "Your session has ended: sessions end after 8 hours, when you log out and when your "
    "password is changed. Log in again."
)


LANG_COOKIE = DESK_LANG_COOKIE
"""The language last chosen with `?lang=`: the desk's forms and redirects keep it."""
LANG_MAX_AGE = 365 * 86400


def desk_lang() -> str:
    return choose(DESK_LANGUAGES, cookie=LANG_COOKIE)


def remember_lang(response: Response) -> Response:
    """Keep a language chosen with `?lang=` for the desk's next pages (a form post, a
    redirect), which do not carry it in their address."""
    chosen = asked_for(DESK_LANGUAGES)
    if chosen and request.cookies.get(LANG_COOKIE) != chosen:
        set_form_cookie(response, LANG_COOKIE, chosen, max_age=LANG_MAX_AGE)
    return response


def page(template: str, session: sessions.DeskSession | None, status: int = 200, **context: Any) -> Response:
    """A desk page; `session` gives the navigation its staff id and the forms their token."""
    response = render(
        template,
        desk_lang(),
        status=status,
        session=session,
        csrf=session.csrf if session else "",
        **context,
    )
    return remember_lang(response)


def message_page(
    session: sessions.DeskSession | None, status: int, message: str, **context: Any
) -> Response:
    return page("desk/message.html", session, status, message=message, **context)


def login_required(admin: bool = False) -> Callable[[F], F]:
    """The view runs with the session (its first argument) only for a logged-in staff
    account (else: to the login page), a POST only with the session's form token from our
    own site (else 403), and with `admin` only for an admin (else 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            session = sessions.current()
            if session is None:
                if request.method == "POST":  # a form of a session that ended meanwhile
                    return message_page(None, 403, SESSION_ENDED, login_link=True)
                return remember_lang(redirect("/desk/login"))
            if request.method == "POST":
                try:
                    check_form(session.csrf)
                except FormRefused:
                    return message_page(session, 403, REFUSED)
            if admin and not session.staff.admin:
                return message_page(session, 403, ADMINS_ONLY)
            return view(session, *args, **kwargs)

        return cast(F, checked)

    return decorator


def audit(staff_id: str | None, action: str, number: str | None = None, detail: str | None = None) -> None:
    """One audit event for a desk action (ids and fixed words only)."""
    with state().issuer.registry.write() as s:
        audit_queries.record(s, int(time.time()), staff_id, action, number, detail)


# The status, state and role words the pages show (translated like every other text).
WORDS = (
    N_("valid"),
    N_("suspended"),
    N_("revoked"),
    N_("superseded"),
    N_("allocated"),
    N_("issued"),
    N_("voided"),
    N_("active"),
    N_("retired"),
    N_("staff"),
    N_("admin"),
)
