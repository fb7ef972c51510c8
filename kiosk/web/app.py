"""The kiosk Flask app: in-memory sessions behind an opaque cookie, CSRF, languages, security headers.

Flask's own cookie session is never used (the app has no secret key, so writing to
`flask.session` fails loudly). Personal data lives in `SessionStore`, in this process only.
"""

from __future__ import annotations

import hmac
import io
import logging
from typing import IO, Any

from flask import Flask, Request, g, make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from ..i18n import BY_CODE
from . import messages as msg
from .attendant import check_pin_hash
from .config import KioskConfig
from .context import EXTENSION_KEY, KioskState, translate, translate_plural
from .flow import bp, error_page, photo_page
from .flow.pages import guard, page
from .sessions import COOKIE, KioskBusy, KioskSession

__all__ = ["BODY_TOO_LARGE", "COOKIE", "create_kiosk_app"]

BODY_TOO_LARGE = "citycard.kiosk.body_too_large"
"""WSGI environ key: the server refused this request's body as too large (kiosk.web.server)."""
BUSY_RETRY_SECONDS = 30  # the busy page tries again by itself after this
log = logging.getLogger(__name__)


class MemoryRequest(Request):
    """Uploads stay in memory: werkzeug would spool a file part over 500 KB to a temp file."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


class KioskFlask(Flask):
    """Flask that logs an unhandled error by its type only: its message may quote what the
    resident typed, and nothing personal goes into a log."""

    def log_exception(self, exc_info: Any) -> None:
        kind = exc_info[0].__name__ if exc_info and exc_info[0] else "error"
        log.error("unhandled %s in %s %s", kind, request.method, request.endpoint)


def _jinja_gettext(message: str, **params: Any) -> str:
    return translate(message, **params)


def _jinja_ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    return translate_plural(singular, plural, n, **params)


def create_kiosk_app(config: KioskConfig) -> Flask:
    """The kiosk web app for one programme."""
    if config.attendant_pin_hash is None and config.staff_cards is None:
        raise ValueError("Configure an attendant PIN hash or a staff card reader.")
    if config.attendant_pin_hash is not None:
        check_pin_hash(config.attendant_pin_hash)
    if config.staff_language is not None and config.staff_language not in BY_CODE:
        raise ValueError(f"The kiosk has no catalogue for the staff language {config.staff_language!r}.")

    app = KioskFlask(__name__)
    app.request_class = MemoryRequest
    app.config.update(
        SECRET_KEY=None,  # no Flask cookie session: nothing of the resident goes into a cookie
        MAX_CONTENT_LENGTH=config.max_upload_bytes + 64 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,  # a drawn signature as a data URL
        MAX_FORM_PARTS=200,
        SESSION_COOKIE_SAMESITE="Strict",
        TEMPLATES_AUTO_RELOAD=False,
    )
    kiosk = KioskState(config)
    app.extensions[EXTENSION_KEY] = kiosk

    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _jinja_gettext, _jinja_ngettext, newstyle=True
    )

    app.register_blueprint(bp)

    @app.before_request
    def open_session() -> ResponseReturnValue | None:
        if request.endpoint == "static":
            return None
        store = kiosk.store
        sid = request.cookies.get(COOKIE)
        session = store.get(sid)
        g.session_reset = False
        lang = session.lang if session is not None else None
        try:
            if session is not None and store.expired(session):
                store.drop(session.sid)
                session = store.create(lang=lang, notice=msg.TIMED_OUT)
                g.session_reset = True
            elif session is None:
                # The sweeper may have dropped it at the timeout: say so, in its language.
                timed_out, lang = store.timed_out(sid)
                notice = msg.TIMED_OUT if timed_out else msg.SESSION_ENDED if sid else None
                session = store.create(lang=lang, notice=notice)
                g.session_reset = bool(sid)
        except KioskBusy:
            return _busy_page(lang)
        store.touch(session)
        g.kiosk = session
        if request.environ.get(BODY_TOO_LARGE):
            raise RequestEntityTooLarge()
        if request.method == "POST":
            return _check_csrf(session)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        session: KioskSession | None = g.get("kiosk")
        # A cookie only for a session the store holds (not for the busy page's stand-in).
        if session is not None and kiosk.store.get(session.sid) is session:
            response.set_cookie(COOKIE, session.sid, httponly=True, samesite="Strict", path="/")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
        """Only a photo is ever that large: the photo step with the message, where the resident
        has reached it; else the kiosk's own error page (never a bare one)."""
        if g.get("kiosk") is None or guard("photo") is not None:
            return error_page(413)
        return photo_page(errors=[msg.PHOTO_TOO_BIG], status=413)

    @app.errorhandler(KioskBusy)
    def busy(_exc: KioskBusy) -> ResponseReturnValue:
        old: KioskSession | None = g.get("kiosk")  # restarting a visit found no room
        return _busy_page(old.lang if old is not None else None)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        return error_page(exc.code or 500)

    # Every page of a kiosk on simulated hardware says so (templates/base.html).
    app.jinja_env.globals.update(languages=BY_CODE, simulated=config.simulated)
    return app


def _busy_page(lang: str | None) -> ResponseReturnValue:
    """The kiosk holds as many visits in progress as it can: ask the newcomer to wait rather
    than end someone's visit. No session is kept for this request."""
    g.kiosk = KioskSession(sid="", created=0.0, last_seen=0.0, csrf="", lang=lang)
    response = make_response(
        page(
            "busy.html",
            None,
            title=translate(msg.SESSIONS_FULL_TITLE),
            status=503,
            message=msg.SESSIONS_FULL,
            retry_after=BUSY_RETRY_SECONDS,
        )
    )
    response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
    return response


def _check_csrf(session: KioskSession) -> ResponseReturnValue | None:
    token = request.form.get("csrf_token", "")
    if g.session_reset or not token:
        if not g.session_reset:
            session.notice = msg.STALE_PAGE
        return redirect(url_for("kiosk.start"), 303)
    if not hmac.compare_digest(token.encode(), session.csrf.encode()):
        session.notice = msg.STALE_PAGE
        return redirect(url_for("kiosk.start"), 303)
    return None
