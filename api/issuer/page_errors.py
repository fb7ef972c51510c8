"""Errors of the web layer on the issuer's HTML pages: an address under /lost or /desk/ that
is not a page (404), a method it does not take (405), a body over `max_body` (413) or a
failure (5xx) gets a page in the page's language with a way back, not the API's JSON error
(api.issuer.server asks `error_page` first).

    /lost, /lost/...   lost/message.html, every language, a link to /lost?lang=xx
    /desk, /desk/...   desk/message.html, the desk's languages, a link to /desk/

The sentences are the lost-card page's (api.issuer.catalogues: needed in every language).

A post that nginx refuses itself (its flood guard: 429; a body over its limit: 413) comes back
as a GET of the same address with `X-Citycard-Refused: 429|413` (deploy/nginx/citycard.conf,
@citycard_page_again); `proxy_refusal` answers it with the error page for that status, so the
person reads why the post did not happen instead of an emptied form or a GET of a POST-only
address.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, request

from .page_i18n import BY_CODE, DESK_LANGUAGES, N_, choose
from .pages import PAGE_HEADERS, WAIT_LIMITS, render

NOT_FOUND = N_("There is no page at this address.")
WRONG_METHOD = N_("This page cannot be used that way.")
TOO_LARGE = N_("What was sent is too long for this page. Go back and try again.")
FAILED = N_("Something went wrong on our side. Try again in a few minutes.")

_LOST, _DESK = "/lost", "/desk"
REFUSED_HEADER = "X-Citycard-Refused"
"""Set by nginx only on the GET it makes after refusing a post (see the module's docstring)."""
DESK_LANG_COOKIE = "__Host-citycard-desk-lang"  # the desk's chosen language (desk.common)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_page_path(path: str) -> bool:
    """True for an address of the lost-card page or the desk (not /lostx, not the API)."""
    return _under(path, _LOST) or _under(path, _DESK)


def error_page(
    status: int, headers: Mapping[str, str] | None = None, message: str | None = None
) -> Response | None:
    """The page for error `status` (saying `message`, else the status's own sentence) when
    this request is for one of the pages, else None."""
    path = request.path
    if not is_page_path(path):
        return None
    message = message or (
        NOT_FOUND
        if status == 404
        else TOO_LARGE
        if status == 413
        else FAILED
        if status >= 500
        else WRONG_METHOD
    )
    # The body is never read here: over max_body (a 413, or any error of a large body) that
    # raises again. The language is in the address (the lost form posts to /lost?lang=xx)
    # or the browser's.
    if _under(path, _LOST):
        lang = choose(BY_CODE, read_body=False)
        response = render("lost/message.html", lang, status=status, message=message)
    else:
        lang = choose(DESK_LANGUAGES, read_body=False, cookie=DESK_LANG_COOKIE)
        response = render(
            "desk/message.html", lang, status=status, session=None, csrf="", message=message
        )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def proxy_refusal(prefix: str, busy: str) -> Response | None:
    """For nginx's GET after it refused a post under `prefix` (/lost or /desk): the error
    page for its status, `busy` (a sentence saying to wait a minute) with a Retry-After of a
    minute for the flood guard's 429, the too-large sentence for 413; None for any other
    request (the view answers it).

    The header is only a display hint: a client that sends it itself gets this error page and
    nothing else (no form, no card, no look-up), which it could have had by flooding anyway."""
    if request.method not in ("GET", "HEAD") or not _under(request.path, prefix):
        return None
    status = {"413": 413, "429": 429}.get(request.headers.get(REFUSED_HEADER, ""))
    if status is None:
        return None
    if status == 413:
        return error_page(413)
    # `busy` says "a minute" (the first of pages.WAIT_LIMITS): the header says the same
    return error_page(429, {"Retry-After": str(WAIT_LIMITS[0])}, message=busy)


def add_page_headers(response: Response) -> Response:
    """Give an answer under /lost or /desk/ that Flask made itself (the 308 from /desk to
    /desk/, an OPTIONS answer) the pages' full set of headers, as every page and redirect
    has; headers already set stay (api.issuer.server calls this after each request)."""
    if is_page_path(request.path):
        for name, value in PAGE_HEADERS:
            response.headers.setdefault(name, value)
    return response
