"""What a desk POST shows once, after its redirect: a new receipt code, a new staff token, a
"saved" sentence.

A POST answers 303 (api.issuer.pages.redirect), so a reload or Back/Forward never posts again;
what the answer has to show travels to the GET in a one-time cookie, `__Host-citycard-desk-once`
(Secure, HttpOnly, SameSite=Strict), and the GET that shows it deletes it, so a reload shows it
no more (and says the secret was shown already) and never makes a new one.

The cookie is encrypted and authenticated (Fernet: AES-128-CBC and HMAC-SHA256, with a key
derived from the issuer's pepper, so every host of one issuer reads it and nobody else can),
accepted for `MAX_AGE` seconds after it was made, and bound to the session that made it (its
staff id and a digest of its random form token): another account, a new login of the same account, or one after a
log-out (which deletes it) does not see it. It is a session cookie (no Max-Age): browsers keep
those in memory, not in their cookie file, so the secret is never written to disk readable.

Why a cookie and not a table: the issuer keeps only a receipt code's digest and a staff
token's digest; a table holding the secret for "one more display" would be a second copy on
the server. The cookie is in the clerk's own browser, which shows the secret anyway, for a
few minutes at most, and is gone after the one display.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import Response, request

from ..pages import set_form_cookie
from ..web import state
from .sessions import DeskSession

COOKIE = "__Host-citycard-desk-once"
MAX_AGE = 300  # seconds: the redirect follows at once; a secret never waits longer


def _fernet() -> Fernet:
    pepper = state().issuer.cards.config.pepper()
    key = hmac.new(pepper, b"citycard desk one-time display v2", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _session_tag(session: DeskSession) -> str:
    """Which session this is: its form token is random per login (two logins within one
    millisecond still differ), and only a digest of it goes into the cookie."""
    return hashlib.sha256(session.csrf.encode("utf-8")).hexdigest()[:32]


def put(response: Response, session: DeskSession, kind: str, **values: str) -> Response:
    """Have the next GET of `session` show `values` once (see `take`)."""
    payload = {"s": session.staff.staff_id, "t": _session_tag(session), "k": kind, "v": values}
    token = _fernet().encrypt(json.dumps(payload).encode("utf-8")).decode("ascii")
    set_form_cookie(response, COOKIE, token)  # no max_age: a session cookie, kept in memory
    return response


def take(session: DeskSession, kind: str) -> dict[str, str] | None:
    """The values put by `session` under `kind`, or None; `forget` it on the answer."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 2048:
        return None
    try:
        payload: Any = json.loads(_fernet().decrypt(raw.encode("ascii"), ttl=MAX_AGE))
    except (InvalidToken, UnicodeError, ValueError):  # forged, expired, or not ours
        return None
    if (
        not isinstance(payload, dict)
        or payload.get("s") != session.staff.staff_id
        or payload.get("t") != _session_tag(session)
        or payload.get("k") != kind
    ):
        return None
    values = payload.get("v")
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        return None
    return {str(k): v for k, v in values.items()}


def forget(response: Response) -> Response:
    """Delete the one-time cookie (when the browser has one)."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response
