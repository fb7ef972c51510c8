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
from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from flask_httpauth import HTTPTokenAuth  # type: ignore[import-untyped]

from cardio.web_errors import ApiError

from .card_status import set_current_card_status
from .ratelimit import network_key
from .registry import REVOKED, SUSPENDED, VALID
from .schemas import (
    CardSchema,
    DocumentNumberPathSchema,
    EmptyBodySchema,
    ErrorSchema,
    SelfRevocationRequestSchema,
    SelfRevocationResultSchema,
    StaffCardResultSchema,
)
from .service import CardStateError, UnknownCardError
from .web import authenticate, json_body, other_responses, path_arguments, response, state

bp = Blueprint("revocation", __name__, url_prefix="/api/v1")

NO_MATCH = (
    "That document number and code do not match a card that can be revoked; "
    "check both, or ask at a service desk."
)


class StaffTokenAuth(HTTPTokenAuth):  # type: ignore[misc]
    """`Authorization: Bearer <token>`, a token from `citycard-api staff add`; withdrawn with `citycard-api staff revoke`."""

    def __init__(self) -> None:
        super().__init__(scheme="Bearer")

    def get_auth(self) -> None:
        return None  # check_staff reads the header itself

    def authenticate(self, _auth: Any, _password: Any) -> str:
        return check_staff()


staff_auth = StaffTokenAuth()

_ERRORS: dict[int, Any] = {
    400: (ErrorSchema, "Malformed document number or body."),
    401: (ErrorSchema, "Missing or invalid staff token."),
    404: (ErrorSchema, "No card with that number."),
    413: (ErrorSchema, "The body is too large."),
    415: (ErrorSchema, "The body is not application/json."),
}


def check_staff() -> str:
    """The staff account whose bearer token this request carries; ApiError 401 otherwise."""
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
@authenticate(staff_auth)
@path_arguments(DocumentNumberPathSchema)
@response(CardSchema, 200, "The card.")
@other_responses(_ERRORS)
def staff_card(number: str) -> dict[str, Any]:
    """What the registry knows about a card."""
    try:
        card = state().issuer.card(number)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    return card.to_json()


def _staff_action(action: str, status: str, summary: str) -> None:
    """POST /staff/cards/<number>/<action>: one route per action, each documented."""

    def change(_body: dict[str, Any], number: str) -> dict[str, Any]:
        st = state()
        staff_id: str = staff_auth.current_user()
        try:
            card, changed = set_current_card_status(
                st.issuer.cards, number, status, "staff", staff_id
            )
        except UnknownCardError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc
        except CardStateError as exc:
            raise ApiError(409, "conflict", str(exc)) from exc
        # Changed or not (a retry after a crash finds it already done): the list gets
        # published, by the publisher; this request only waits for it.
        st.extra["publisher"].wait_published(card.status_list)
        return {**card.to_json(), "changed": changed}

    change.__name__ = f"staff_{action}"
    change.__doc__ = summary
    decorators: list[Callable[[Any], Any]] = [
        authenticate(staff_auth),
        path_arguments(DocumentNumberPathSchema),
        json_body(EmptyBodySchema, optional=True),
        response(StaffCardResultSchema, 200, "The card's status now (published to readers at once)."),
        other_responses(
            {
                **_ERRORS,
                409: (ErrorSchema, "The change is not allowed (a revoked card stays revoked)."),
            }
        ),
    ]
    view: Any = change
    for decorator in reversed(decorators):
        view = decorator(view)
    bp.add_url_rule(
        f"/staff/cards/<number>/{action}", f"staff_{action}", view, methods=["POST"]
    )


_staff_action("revoke", REVOKED, "Revoke a card (permanent).\n\nSets the status to INVALID and publishes.")
_staff_action("suspend", SUSPENDED, "Suspend a card.\n\nSets the status to SUSPENDED and publishes.")
_staff_action(
    "reinstate", VALID, "Reinstate a suspended card.\n\nSets the status back to VALID and publishes."
)


@bp.post("/self-revocation")
@json_body(SelfRevocationRequestSchema)
@response(SelfRevocationResultSchema, 200, "The card is revoked.")
@other_responses(
    {
        400: (ErrorSchema, "Malformed request."),
        403: (ErrorSchema, "The number and code do not match a card that can be revoked."),
        413: (ErrorSchema, "The body is too large."),
        415: (ErrorSchema, "The body is not application/json."),
        429: (ErrorSchema, "Too many attempts."),
    }
)
def self_revocation(body: dict[str, Any]) -> dict[str, Any]:
    """Revoke one's own card with the receipt's one-time code.

    A wrong code, an unknown number or a used code all get the same 403 answer, after the same
    work. Limited per document number and per client network (429).
    """
    number, code = body["document_number"], body["code"]
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
    st.extra["publisher"].wait_published(card.status_list)
    return {
        "document_number": card.document_number,
        "status": card.status,
        "message": "The card is revoked; readers refuse it once they have the new status list.",
    }
