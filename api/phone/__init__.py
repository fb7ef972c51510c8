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
import hashlib
import re
from pathlib import Path

from flask import Blueprint, Response, abort

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


def blueprint() -> Blueprint:
    """A blueprint serving the verification page at /verify/."""
    bp = Blueprint("phone", __name__, url_prefix=URL_PREFIX)

    @bp.get("/")
    @bp.get("/<path:name>")
    def page(name: str = "index.html") -> Response:
        if "/" in name or name.startswith(".") or not (PAGE_DIR / name).is_file():
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
