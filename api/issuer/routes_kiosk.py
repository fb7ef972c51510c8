"""Kiosk routes: every request signed with the kiosk's API key (see cardio.kiosk_auth).

GET  /api/v1/kiosk/self                       who the server thinks this kiosk is
POST /api/v1/kiosk/allocations                {"request_id"} -> number, status slot, code
POST /api/v1/kiosk/cards/<number>/issued      {"issued_at", "expires_at", "revocation_code_hash"?}
POST /api/v1/kiosk/cards/<number>/void        a card the kiosk could not finish
POST /api/v1/kiosk/cards/<number>/revocation-code   {"revocation_code_hash"}: a reprinted receipt

A kiosk may use the revocation code returned by the allocation, or make its own with
printer.receipt.RevocationCode and report only its digest (cardio.codes describes the format).
"""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from cardio import codes
from cardio.errors import CitycardError
from cardio.kiosk_auth import (
    BAD_SIGNATURE,
    SCHEME,
    KioskAuthError,
    check_signature,
    parse_authorization,
)
from cardio.trustlist import KeyState
from cardio.web_errors import ApiError

from .registry import ACTIVE
from .service import CardStateError, UnknownCardError
from .web import document_number, int_field, json_body, state, str_field

bp = Blueprint("kiosk", __name__, url_prefix="/api/v1/kiosk")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": SCHEME})


def authenticate() -> str:
    """The id of the kiosk that signed this request; ApiError 401/403 otherwise."""
    st = state()
    now = int(time.time())
    try:
        header = parse_authorization(request.headers.get("Authorization"))
        account = st.issuer.kiosk(header.kiosk_id)
        if account is None:
            raise KioskAuthError(BAD_SIGNATURE)
        path = request.path
        if request.query_string:
            path += "?" + request.query_string.decode("latin-1")
        body = request.get_data(cache=True)
        check_signature(
            header, account.auth_public_key, request.method, path, body, now, st.config.clock_skew
        )
    except KioskAuthError as exc:
        raise _unauthorized(str(exc)) from exc
    if account.state != ACTIVE:
        raise ApiError(403, "kiosk_revoked", "This kiosk has been revoked; it may not issue cards.")
    st.issuer.refresh_config()
    try:
        key_state = st.issuer.key_state(account.key_label)
    except CitycardError:
        key_state = KeyState.REVOKED
    if key_state is not KeyState.ACTIVE:
        raise ApiError(
            403,
            "kiosk_key_inactive",
            f"This kiosk's signing key is {key_state.value}; it may not issue cards.",
        )
    if not st.issuer.remember_nonce(header.kiosk_id, header.nonce, now, st.config.clock_skew):
        raise _unauthorized(
            "This exact request was received before (a replay); sign every request with a new nonce."
        )
    return header.kiosk_id


@bp.get("/self")
def whoami() -> Response:
    kiosk_id = authenticate()
    st = state()
    account = st.issuer.kiosk(kiosk_id)
    assert account is not None
    return jsonify(
        {
            "kiosk_id": account.kiosk_id,
            "kid": account.kid,
            "state": account.state,
            "issuer": st.issuer.config["issuer"],
            "trust_list_version": st.issuer.config["trust_list_version"],
        }
    )


@bp.post("/allocations")
def allocate() -> tuple[Response, int]:
    kiosk_id = authenticate()
    body = json_body({"request_id"}, {"request_id"})
    request_id = str_field(
        body, "request_id", REQUEST_ID, "8 to 64 letters, digits, '.', '_', ':' or '-'"
    )
    try:
        alloc = state().issuer.allocate(kiosk_id, request_id)
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    out = {
        "document_number": alloc.document_number,
        "status_list": alloc.status_list,
        "status_uri": alloc.status_uri,
        "status_index": alloc.status_index,
        "kid": alloc.kid,
        "request_id": alloc.request_id,
        "revocation_code": alloc.revocation_code,
    }
    return jsonify(out), 200 if alloc.replayed else 201


@bp.post("/cards/<number>/issued")
def issued(number: str) -> Response:
    kiosk_id = authenticate()
    number = document_number(number)
    body = json_body(
        {"issued_at", "expires_at", "revocation_code_hash"}, {"issued_at", "expires_at"}
    )
    iat, exp = int_field(body, "issued_at"), int_field(body, "expires_at")
    if exp <= iat:
        raise ApiError(400, "bad_request", "'expires_at' must be after 'issued_at'.")
    code_hash = _code_hash(body) if "revocation_code_hash" in body else None
    try:
        card = state().issuer.report_issued(kiosk_id, number, iat, exp, code_hash)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return jsonify(card.to_json())


def _code_hash(body: dict[str, Any]) -> str:
    value = body.get("revocation_code_hash")
    if not isinstance(value, str) or codes.parse_digest(value) is None:
        raise ApiError(
            400,
            "bad_request",
            f"'revocation_code_hash' must be 'scrypt${codes.LOG_N}${codes.R}${codes.P}$<salt>$<hash>' (printer.receipt.RevocationCode.digest).",
        )
    return value


@bp.post("/cards/<number>/revocation-code")
def revocation_code(number: str) -> Response:
    kiosk_id = authenticate()
    number = document_number(number)
    body = json_body({"revocation_code_hash"}, {"revocation_code_hash"})
    try:
        card = state().issuer.replace_code_hash(kiosk_id, number, _code_hash(body))
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return jsonify(card.to_json())


@bp.post("/cards/<number>/void")
def void(number: str) -> Response:
    kiosk_id = authenticate()
    number = document_number(number)
    json_body(set(), set(), empty_ok=True)
    st = state()
    try:
        card, changed = st.issuer.void(kiosk_id, number)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    if changed:
        st.issuer.publish_status([card.status_list])
    return jsonify(card.to_json())
