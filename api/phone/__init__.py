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
from html import escape, unescape
from pathlib import Path

from flask import Blueprint, Response, abort, request, url_for

from cardio.languages import BY_CODE, LANGUAGES, SOURCE_LANGUAGE, match

from .compressed import send_page, send_text

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
    # as the issuer's own pages (api.issuer.pages): no other window holds a handle on these
    # pages, and a browser that saw them once over https never asks over http again
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000",
}


NOT_FOUND = "There is no page at this address."
"""The sentence of the page for an address under the pages that is none (a msgid of phone.po,
verify.js's NOT_FOUND, and of wallet.po); its links are named as the pages' titles are."""
PAGE_LINKS = ((None, "Check a city resident card"), ("venue.html", "Ask for a phone card"))


@functools.lru_cache(maxsize=2 * len(LANGUAGES))
def words(language: str, domain: str = "phone") -> dict[str, str]:
    """A language's translations of the pages' msgids ({} where it has no catalogue)."""
    from . import catalogue  # here: `python -m api.phone.catalogue` imports this package first

    path = catalogue.po_path(language, domain)
    return catalogue.read_po(path) if path.is_file() else {}


def page_language() -> str:
    """?lang=, else the browser's first language the pages have, else English."""
    codes = [lang.code for lang in LANGUAGES]
    asked = request.args.get("lang", "")
    for tag in [asked, *(value for value, _quality in request.accept_languages)]:
        found = match(tag, codes) if tag and tag != "*" else None
        if found:
            return found
    return SOURCE_LANGUAGE


def direction(code: str) -> str:
    """The writing direction of one of the pages' languages ("ltr" for any other code)."""
    lang = BY_CODE.get(code)
    return lang.dir if lang else "ltr"


def wants_page() -> bool:
    """A person's browser (it prefers HTML), not a script (JSON, the API's 404)."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def not_found_page(
    endpoint: str = "phone.page",
    links: tuple[tuple[str | None, str], ...] = PAGE_LINKS,
    domain: str = "phone",
    css: str = "venue.css",
    lang_query: bool = True,
) -> Response:
    """A small page in the page's language with links back to the pages (404): `links` are
    (file name or None for the index, msgid of its title) of `endpoint`, words from `domain`."""
    code = page_language()
    table = words(code, domain)
    title = escape(table.get(NOT_FOUND, NOT_FOUND))
    query = "?lang=" + code if lang_query else ""
    items = "".join(
        f'<li><a href="{escape(url_for(endpoint, name=name) + query)}">'
        f"{escape(table.get(label, label))}</a></li>"
        for name, label in links
    )
    stylesheet = escape(url_for(endpoint, name=css))
    html = (
        f'<!doctype html>\n<html lang="{escape(code)}" dir="{direction(code)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{title}</title>\n<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{stylesheet}">\n</head>\n'
        f"<body>\n<header><h1>{title}</h1></header>\n<main><ul>{items}</ul></main>\n</body>\n"
        "</html>\n"
    )
    response = Response(html, status=404, mimetype="text/html")
    response.headers["Content-Language"] = code
    response.vary.update(("Accept", "Accept-Language"))
    return response


_NOSCRIPT = re.compile(r"<noscript>.*?</noscript>", re.S)
_MARKED = re.compile(r'(<\w+[^>]*?\bdata-t="([^"]*)"[^>]*)>([^<]*)<')


@functools.lru_cache(maxsize=4 * len(LANGUAGES))
def _translated_page(path: str, mtime_ns: int, code: str, domain: str) -> bytes | None:
    """The page at `path` with its `<noscript>` sentences in `code`, None when that changes
    nothing (English, or no words yet); made once per file version and language."""
    del mtime_ns  # keys the cache: a new version of the file is translated anew
    table = words(code, domain)
    html = Path(path).read_text("utf-8")

    def translated(m: re.Match[str]) -> str:
        text = table.get(unescape(m[2]))
        if code == SOURCE_LANGUAGE or not text:
            return m[0]
        return f'{m[1]} lang="{code}" dir="{direction(code)}">{escape(text)}<'

    page = _NOSCRIPT.sub(lambda block: _MARKED.sub(translated, block[0]), html)
    return None if page == html else page.encode("utf-8")


def send_html(directory: Path, name: str, domain: str, max_age: int) -> Response:
    """A page whose `<noscript>` sentence (`data-t`, a msgid of `domain`) is in the browser's
    language: with scripts off nothing else translates it. The rest of the page is the file's."""
    code = page_language()
    path = directory / name
    body = _translated_page(str(path), path.stat().st_mtime_ns, code, domain)
    if body is None:  # English, or a language without these words: the file as it is
        response = send_page(directory, name, max_age=max_age)
    else:
        response = send_text(body, name, max_age=max_age)
        response.headers["Content-Language"] = code
    response.vary.add("Accept-Language")
    return response


def blueprint() -> Blueprint:
    """A blueprint serving the verification page at /verify/."""
    bp = Blueprint("phone", __name__, url_prefix=URL_PREFIX)

    @bp.get("/")
    @bp.get("/<path:name>")
    def page(name: str = "index.html") -> Response:
        if "/" in name or name.startswith(".") or not (PAGE_DIR / name).is_file():
            # a person's mistyped address gets a page; a script's request the API's JSON 404
            if wants_page():
                return not_found_page()
            abort(404)
        if name.endswith(".html"):
            return send_html(PAGE_DIR, name, "phone", max_age=300)
        return send_page(PAGE_DIR, name, max_age=300)

    policy = content_security_policy()

    @bp.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        for header, value in SECURITY_HEADERS.items():
            response.headers[header] = value
        return response

    return bp
