"""What a desk POST shows once, after its redirect: a new receipt code, a new staff token, a
"saved" sentence.

A POST answers 303 (api.issuer.pages.redirect), so a reload or Back/Forward never posts again;
what the answer has to show travels to the GET in a one-time cookie, `__Host-citycard-desk-once`
(Secure, HttpOnly, SameSite=Strict, at most `MAX_AGE` seconds), signed like the session
cookie and bound to the staff id that made it. The GET that shows it deletes it, so a reload
shows it no more (and says the secret was shown already) and never makes a new one.

Why a cookie and not a table: the issuer keeps only a receipt code's digest and a staff
token's digest; a table holding the secret for "one more display" would be a second copy on
the server. The cookie is in the clerk's own browser, which shows the secret anyway, for a
few minutes at most, and is gone after the one display.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Response, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..pages import set_form_cookie
from ..web import state

COOKIE = "__Host-citycard-desk-once"
MAX_AGE = 300  # seconds: the redirect follows at once; a secret never waits longer


def _serializer() -> URLSafeTimedSerializer:
    pepper = state().issuer.cards.config.pepper()
    key = hmac.new(pepper, b"citycard desk one-time display v1", hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt="citycard-desk-once")


def put(response: Response, staff_id: str, kind: str, **values: str) -> Response:
    """Have the next GET of `staff_id` show `values` once (see `take`)."""
    payload = {"s": staff_id, "k": kind, "v": values}
    set_form_cookie(response, COOKIE, _serializer().dumps(payload), max_age=MAX_AGE)
    return response


def take(staff_id: str, kind: str) -> dict[str, str] | None:
    """The values put for `staff_id` under `kind`, or None; `forget` it on the answer."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 2048:
        return None
    try:
        payload: Any = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict) or payload.get("s") != staff_id or payload.get("k") != kind:
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
