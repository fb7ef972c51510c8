"""The phone pages: static files a phone's browser runs, offline once loaded.

`static/` holds the verification page (`index.html`, `verify.js`, `sw.js`): a venue's or
anyone's phone checks a card's printed QR against the city's published trust and status lists,
in the browser, with no call per check. The pages are plain files: any static host (nginx, a
CDN, object storage) serves them. `blueprint()` serves them from a Flask app for development
and small deployments; the `citycard-api` command mounts it on the issuer at `/verify/`.

This package imports no other deployable: the issuer does not import it either — the command
line composes the two (api/cli.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from html import escape
from pathlib import Path

from flask import Blueprint, Response, abort, request, url_for

from cardio.languages import LANGUAGES, SOURCE_LANGUAGE, match

from .compressed import send_page

PAGE_DIR = Path(__file__).resolve().parent / "static"
URL_PREFIX = "/verify"


def content_security_policy() -> str:
    """The pages' policy: their own scripts, worker and lists only; the one inline style
    block allowed by its hash, so no other inline code can run."""
    html = (PAGE_DIR / "index.html").read_text("utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        for css in re.findall(r"<style>(.*?)</style>", html, re.S)
    )
    return (
        "default-src 'self'; script-src 'self'; connect-src 'self'; worker-src 'self'; "
        f"style-src 'self' {hashes}; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


# Set before the host app's own headers (which only fill in what is missing).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


NOT_FOUND = "There is no page at this address."
"""The sentence of the page for an address under the pages that is none (a msgid of phone.po,
verify.js's NOT_FOUND); its links are named as the two pages' titles are."""
PAGE_LINKS = ((None, "Check a city resident card"), ("venue.html", "Ask for a phone card"))


@functools.lru_cache(maxsize=len(LANGUAGES))
def _words(language: str) -> dict[str, str]:
    from . import catalogue  # here: `python -m api.phone.catalogue` imports this package first

    path = catalogue.po_path(language, catalogue.PHONE.name)
    return catalogue.read_po(path) if path.is_file() else {}


def _page_language() -> str:
    """?lang=, else the browser's first language the pages have, else English."""
    codes = [lang.code for lang in LANGUAGES]
    asked = request.args.get("lang", "")
    for tag in [asked, *(value for value, _quality in request.accept_languages)]:
        found = match(tag, codes) if tag and tag != "*" else None
        if found:
            return found
    return SOURCE_LANGUAGE


def not_found_page() -> Response:
    """A small page in the page's language with links back to the two pages (404)."""
    code = _page_language()
    words = _words(code)
    direction = next(lang.dir for lang in LANGUAGES if lang.code == code)
    title = escape(words.get(NOT_FOUND, NOT_FOUND))
    links = "".join(
        f'<li><a href="{escape(url_for("phone.page", name=name) + "?lang=" + code)}">'
        f"{escape(words.get(label, label))}</a></li>"
        for name, label in PAGE_LINKS
    )
    css = escape(url_for("phone.page", name="venue.css"))
    html = (
        f'<!doctype html>\n<html lang="{escape(code)}" dir="{direction}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{title}</title>\n<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{css}">\n</head>\n'
        f"<body>\n<header><h1>{title}</h1></header>\n<main><ul>{links}</ul></main>\n</body>\n"
        "</html>\n"
    )
    response = Response(html, status=404, mimetype="text/html")
    response.headers["Content-Language"] = code
    response.vary.update(("Accept", "Accept-Language"))
    return response


def blueprint() -> Blueprint:
    """A blueprint serving the verification page at /verify/."""
    bp = Blueprint("phone", __name__, url_prefix=URL_PREFIX)

    @bp.get("/")
    @bp.get("/<path:name>")
    def page(name: str = "index.html") -> Response:
        if "/" in name or name.startswith(".") or not (PAGE_DIR / name).is_file():
            # a person's mistyped address gets a page; a script's request the API's JSON 404
            if (
                request.accept_mimetypes.best_match(["application/json", "text/html"])
                == "text/html"
            ):
                return not_found_page()
            abort(404)
        return send_page(PAGE_DIR, name, max_age=300)

    policy = content_security_policy()

    @bp.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        for header, value in SECURITY_HEADERS.items():
            response.headers[header] = value
        return response

    return bp
