"""Desk sessions: a signed, expiring cookie naming the staff account, checked on every request.

The cookie (`__Host-citycard-desk`: Secure, HttpOnly, SameSite=Strict, path /) holds the staff
id, when the session began (milliseconds) and the session's form token, signed with a key
derived from the issuer's pepper (so every host of one issuer accepts it, and a copy of the
registry cannot forge one). It is refused after `MAX_AGE`, when the account is withdrawn, and
when it began before the account's `sessions_after` (a new password, a log-out, a disabled
account end every session at once).

Logins are limited per client network and per staff id (api.issuer.ratelimit), wrong or not:
a guesser gets `LOGIN_BURST` tries and then a few an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import Response, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..accounts import StaffAccount, now_ms
from ..ratelimit import TokenBuckets, network_key
from ..web import state

SESSION_COOKIE = "__Host-citycard-desk"
LOGIN_COOKIE = "__Host-citycard-desk-login"
MAX_AGE = 8 * 3600  # seconds: one working day
LOGIN_BURST, LOGIN_PER_HOUR = 10, 20.0
ID_BURST, ID_PER_HOUR = 5, 10.0


@dataclass(frozen=True)
class DeskSession:
    staff: StaffAccount
    csrf: str
    began_ms: int


def _serializer() -> URLSafeTimedSerializer:
    pepper = state().issuer.cards.config.pepper()
    key = hmac.new(pepper, b"citycard desk session cookie v1", hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt="citycard-desk-session")


def begin(response: Response, staff_id: str) -> None:
    """Start a session for `staff_id` on `response` (after a successful login)."""
    payload = {"s": staff_id, "t": now_ms(), "c": secrets.token_urlsafe(32)}
    response.set_cookie(
        SESSION_COOKIE,
        _serializer().dumps(payload),
        max_age=MAX_AGE,
        path="/",
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def end(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")


def current() -> DeskSession | None:
    """This request's session, or None (no cookie, forged, expired, or no longer valid)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 1024:
        return None
    try:
        payload = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict):
        return None
    staff_id, began, csrf = payload.get("s"), payload.get("t"), payload.get("c")
    if not isinstance(staff_id, str) or not isinstance(began, int) or not isinstance(csrf, str):
        return None
    account = state().issuer.accounts.staff_account(staff_id)
    if account is None or not account.active or began < account.sessions_after:
        return None
    return DeskSession(account, csrf, began)


def _buckets(name: str, burst: int, per_hour: float) -> TokenBuckets:
    extra = state().extra
    buckets = extra.get(name)
    if buckets is None:
        buckets = extra.setdefault(name, TokenBuckets(burst, per_hour))
    assert isinstance(buckets, TokenBuckets)
    return buckets


def login_wait(staff_id: str | None) -> float:
    """Seconds until this client (and this staff id) may try to log in again; 0.0: now."""
    wait = _buckets("desk_login_network", LOGIN_BURST, LOGIN_PER_HOUR).take(
        network_key(request.remote_addr)
    )
    if not wait and staff_id:
        wait = _buckets("desk_login_id", ID_BURST, ID_PER_HOUR).take(staff_id[:64])
    return wait
