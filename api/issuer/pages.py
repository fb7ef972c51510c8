"""What the issuer's HTML pages share (the lost-card page, the service desk): templates in the
page's language, a strict security policy, and forms that only our own pages can submit.

    return render("lost/form.html", lang, status=403, message=...)

Templates are in api/issuer/templates, written with `_()` for every sentence
(api.issuer.page_i18n has the catalogues). The one stylesheet is inline and allowed by its
hash, so the policy allows no script, no other style and no frame:

    default-src 'none'; style-src 'sha256-…'; form-action 'self'; frame-ancestors 'none'; …

Forms: each carries a random token that is also in a `SameSite=Strict`, `HttpOnly`, `Secure`
cookie (`__Host-` prefix: set by this host only, for every path); a POST whose field and
cookie differ is refused, and so is one whose `Origin` or `Sec-Fetch-Site` says another site
sent it. A page's `Referrer-Policy` is `same-origin`, so the browser sends our own `Origin`
with our own forms (with `no-referrer` it would send `Origin: null`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import Response, request
from markupsafe import Markup

from .page_i18n import BY_CODE, SOURCE_LANGUAGE, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"
_CSS = (TEMPLATES / "pages.css").read_text("utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = (
    ("Content-Security-Policy", PAGE_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Strict-Transport-Security", "max-age=31536000"),
    ("Cache-Control", "no-store"),
)
FORM_FIELD = "csrf"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)


class FormRefused(Exception):
    """A POST that is not from our own form: another site's, or without its token."""


def gettext_for(lang: str) -> Any:
    """`_("text", name=value)`: the text in `lang`, with `%(name)s` placeholders filled."""
    catalogue = translations(lang)

    def _(message: str, **values: Any) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return _


def render(template: str, lang: str, status: int = 200, **context: Any) -> Response:
    """The page `template` in `lang`, with the page headers."""
    language = BY_CODE.get(lang) or BY_CODE[SOURCE_LANGUAGE]
    html = _ENV.get_template(template).render(
        _=gettext_for(language.code),
        lang=language.code,
        dir=language.dir,
        css=Markup(_CSS),  # our own stylesheet, hashed in the policy
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    for name, value in PAGE_HEADERS:
        response.headers[name] = value
    return response


def redirect(location: str) -> Response:
    """303 See Other to a path of ours (after a POST: a reload does not post again)."""
    response = Response("", status=303)
    response.headers["Location"] = location
    for name, value in PAGE_HEADERS:
        response.headers[name] = value
    return response


def form_token(cookie: str) -> str:
    """The form token this browser has in `cookie`, or a new one (`set_form_cookie` it)."""
    current = request.cookies.get(cookie, "")
    return current if _TOKEN.fullmatch(current) else secrets.token_urlsafe(32)


def set_form_cookie(response: Response, cookie: str, token: str, max_age: int | None = None) -> None:
    response.set_cookie(
        cookie, token, max_age=max_age, path="/", secure=True, httponly=True, samesite="Strict"
    )


def same_site_request() -> bool:
    """False when the browser says another site sent this request (`Origin`, or
    `Sec-Fetch-Site` when there is no Origin). Hosts are compared, not schemes: behind a TLS
    proxy the app itself may see plain HTTP."""
    origin = request.headers.get("Origin")
    if origin is not None:
        try:
            parts = urlsplit(origin)
        except ValueError:  # no browser sends one it cannot parse (e.g. "http://[::1")
            return False
        if origin == "null" or parts.scheme not in ("http", "https"):
            return False
        if parts.netloc.lower() != request.host.lower():
            return False
    site = request.headers.get("Sec-Fetch-Site")
    return site is None or site == "same-origin"


WAIT_LIMITS = (60, 300, 900, 3600)
"""Seconds: a wait is said as the first of "a minute", "5 minutes", "15 minutes", "an hour"
that is not shorter, else "a few hours" (each module has its five sentences, so that every
language words a whole sentence)."""


def wait_step(seconds: float) -> int:
    """Which of the five waits (0..4, see WAIT_LIMITS) to say for a Retry-After of `seconds`."""
    return next((i for i, limit in enumerate(WAIT_LIMITS) if seconds <= limit), len(WAIT_LIMITS))


def cookie_missing(cookie: str) -> bool:
    """True when a post from our own site came without the form's cookie at all: the browser
    keeps no cookies for us (say so), rather than a form that expired."""
    return same_site_request() and cookie not in request.cookies


def check_form(expected: str | None) -> None:
    """Refuse (FormRefused) a POST from another site or without the token `expected`."""
    if not same_site_request():
        raise FormRefused("cross-site")
    sent = request.form.get(FORM_FIELD, "")
    if not expected or not _TOKEN.fullmatch(sent) or not hmac.compare_digest(sent, expected):
        raise FormRefused("token")
