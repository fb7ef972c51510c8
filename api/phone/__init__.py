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

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

PAGE_DIR = Path(__file__).resolve().parent / "static"
URL_PREFIX = "/verify"


def blueprint() -> Blueprint:
    """A blueprint serving the verification page at /verify/."""
    bp = Blueprint("phone", __name__, url_prefix=URL_PREFIX)

    @bp.get("/")
    @bp.get("/<path:name>")
    def page(name: str = "index.html") -> Response:
        if "/" in name or name.startswith(".") or not (PAGE_DIR / name).is_file():
            abort(404)
        return send_from_directory(PAGE_DIR, name, max_age=300)

    return bp
