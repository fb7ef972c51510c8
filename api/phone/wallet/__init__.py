"""The holder's wallet page: the city card on the resident's own phone, served at /wallet/.

An installable web app (web manifest, service worker caching its own files) that needs no
server once opened: it takes the kiosk's sealed package once (`GET /wallet/pickups/<id>?proof=…`,
the issuer's; docs/wallet.md), decrypts it in the browser with the key in the URL fragment,
keeps the credential in IndexedDB and the holder key as a non-extractable WebCrypto key, shows
the card in the holder's language, and answers a venue's request QR with only what the venue
asked for (`presentation.js`). Nothing about the holder is ever sent to a server or kept on one.

`static/` holds the page; the QR encoder and decoder, the presentation code and the venue
names are the phone verification page's own files (api/phone/static), served here too so that
there is one copy of each. `texts.json` (the page's words in every kiosk language, from the
gettext catalogues in api/phone/translations/) and `programmes.json` (programme and
entitlement names) are written by `python -m api.phone.wallet.files`.

Like `api.phone.blueprint`, this is composed into the issuer by the command line (api/cli.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort

from .. import PAGE_DIR as PHONE_DIR
from .. import (
    SECURITY_HEADERS,
    direction,
    not_found_page,
    page_language,
    send_html,
    wants_page,
    words,
)
from ..compressed import send_page, send_text

WALLET_DIR = Path(__file__).resolve().parent / "static"
URL_PREFIX = "/wallet"
SHARED = frozenset({"presentation.js", "qrcode.js", "jsQR.js", "venues.json"})
"""Files of the phone verification page the wallet page uses as they are."""
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Only the page's own files run; the photo and the QR codes are data: images."""
TYPES = {".webmanifest": "application/manifest+json"}
DOMAIN = "wallet"
TITLE = "City card"
MANIFEST = "manifest.webmanifest"
DESCRIPTION = (
    "Your city resident card on this phone: shown offline, shared only as far as you agree."
)
SERVER_MSGIDS = ("There is no page at this address.", DESCRIPTION)
"""The msgids of wallet.po that this module shows (the 404 page, the manifest), beside the
page's own (wallet.js, index.html)."""


def manifest() -> Response:
    """The web app manifest in the holder's language (?lang=, as the page asks once it knows
    the card's language; else the browser's): the name under the home-screen icon is words a
    person reads. The rest is the static file's."""
    code = page_language()
    table = words(code, DOMAIN)
    data = json.loads((WALLET_DIR / MANIFEST).read_text("utf-8"))
    # the file's English words are the msgids (TITLE and DESCRIPTION, in wallet.po)
    data["name"] = data["short_name"] = table.get(data["name"], data["name"])
    data["description"] = table.get(data["description"], data["description"])
    data["lang"] = code
    data["dir"] = direction(code)
    body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    # send_text's ETag is the body's: a deploy that changes only wallet.po changes the name
    response = send_text(body, MANIFEST, max_age=300)
    response.headers["Content-Language"] = code
    response.vary.add("Accept-Language")
    return response


def blueprint() -> Blueprint:
    """A blueprint serving the wallet page at /wallet/ (the pickups below it are the issuer's)."""
    bp = Blueprint("wallet_page", __name__, url_prefix=URL_PREFIX)

    def missing() -> Response:
        # a person's mistyped address gets a page in their language; a script the JSON 404
        if wants_page():
            return not_found_page("wallet_page.page", ((None, TITLE),), DOMAIN, "wallet.css", False)
        abort(404)

    @bp.get("/")
    @bp.get("/<path:name>")
    def page(name: str = "index.html") -> Response:
        if "/" in name or name.startswith("."):
            return missing()
        if name == MANIFEST:
            response = manifest()
        else:
            directory = PHONE_DIR if name in SHARED else WALLET_DIR
            if not (directory / name).is_file():
                return missing()
            if name.endswith(".html"):
                response = send_html(directory, name, DOMAIN, max_age=300)
            else:
                response = send_page(directory, name, max_age=300)
        kind = TYPES.get(Path(name).suffix)
        if kind:
            response.headers["Content-Type"] = kind
        if name == "sw.js":  # a worker at /wallet/sw.js controls /wallet/ and nothing above it
            response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
        for header, value in SECURITY_HEADERS.items():
            response.headers[header] = value
        return response

    return bp
