"""Revocation: staff by document number, and holders with their receipt's one-time code.

    GET  /api/v1/staff/cards/<number>             what the registry knows (no personal data)
    POST /api/v1/staff/cards/<number>/revoke      permanent
    POST /api/v1/staff/cards/<number>/suspend     temporary
    POST /api/v1/staff/cards/<number>/reinstate   suspended -> valid
    POST /api/v1/self-revocation                  {"document_number", "code"}

Staff calls carry `Authorization: Bearer <token>` (a token from `citycard-api staff add`). A
self-revocation answers a wrong code, an unknown number, a used code and a card that cannot be
revoked this way with the same status and the same body, after the same work (one scrypt), and
is limited per document number and per client network (api.issuer.ratelimit).
"""

from __future__ import annotations

import math
import re

from flask import Blueprint, Response, jsonify, request

from cardio.web_errors import ApiError

from .ratelimit import network_key
from .registry import REVOKED, SUSPENDED, VALID
from .service import CardStateError, UnknownCardError
from .web import DOCUMENT_NUMBER, document_number, json_body, state

bp = Blueprint("revocation", __name__, url_prefix="/api/v1")

ACTIONS = {"revoke": REVOKED, "suspend": SUSPENDED, "reinstate": VALID}
NO_MATCH = (
    "That document number and code do not match a card that can be revoked; "
    "check both, or ask at a service desk."
)
_SPACES = re.compile(r"[\s]+")


def authenticate_staff() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    staff_id = None
    if scheme.lower() == "bearer" and 0 < len(token.strip()) <= 200:
        staff_id = state().issuer.staff_for_token(token.strip())
    if staff_id is None:
        raise ApiError(
            401,
            "unauthorized",
            "This endpoint needs a valid staff token (Authorization: Bearer ...).",
            {"WWW-Authenticate": 'Bearer realm="citycard-staff"'},
        )
    return staff_id


@bp.get("/staff/cards/<number>")
def staff_card(number: str) -> Response:
    authenticate_staff()
    number = document_number(number)
    try:
        card = state().issuer.card(number)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    return jsonify(card.to_json())


@bp.post("/staff/cards/<number>/<action>")
def staff_action(number: str, action: str) -> Response:
    staff_id = authenticate_staff()
    if action not in ACTIONS:
        raise ApiError(404, "not_found", "The action must be revoke, suspend or reinstate.")
    number = document_number(number)
    json_body(set(), set(), empty_ok=True)
    st = state()
    try:
        card, changed = st.issuer.set_card_status(number, ACTIONS[action], "staff", staff_id)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    if changed:
        st.issuer.publish_status([card.status_list])
    out = card.to_json()
    out["changed"] = changed
    return jsonify(out)


@bp.post("/self-revocation")
def self_revocation() -> Response:
    body = json_body({"document_number", "code"}, {"document_number", "code"})
    number, code = body["document_number"], body["code"]
    if not isinstance(number, str) or not isinstance(code, str) or len(code) > 64:
        raise ApiError(400, "bad_request", "'document_number' and 'code' must be text.")
    number = _SPACES.sub("", number).upper()
    if not DOCUMENT_NUMBER.match(number):
        raise ApiError(
            400, "bad_request", "A document number is 4 to 24 capital letters, digits or '-'."
        )
    st = state()
    wait = st.per_address.take(network_key(request.remote_addr))
    if not wait:
        wait = st.per_number.take(number)
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            "Too many attempts; wait a while before trying again, or ask at a service desk.",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )
    card = st.issuer.self_revoke(number, code)
    if card is None:
        raise ApiError(403, "no_match", NO_MATCH)
    st.issuer.publish_status([card.status_list])
    return jsonify(
        {
            "document_number": card.document_number,
            "status": card.status,
            "message": "The card is revoked; readers refuse it once they have the new status list.",
        }
    )
