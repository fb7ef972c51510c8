"""Kiosk routes: every request signed with the kiosk's API key (see cardio.kiosk_auth).

GET  /api/v1/kiosk/self                       who the server thinks this kiosk is
POST /api/v1/kiosk/allocations                {"request_id"} -> number, status slot, code
                                              {"request_id", "kind": "renewal"|"replacement",
                                               "document_number"} -> a new slot for that number
POST /api/v1/kiosk/cards/<number>/issued      {"issued_at", "expires_at", "revocation_code_hash"?}
POST /api/v1/kiosk/cards/<number>/void        a card the kiosk could not finish
POST /api/v1/kiosk/cards/<number>/revocation-code   {"revocation_code_hash"}: a reprinted receipt

A kiosk may use the revocation code returned by the allocation, or make its own with
printer.receipt.RevocationCode and report only its digest (cardio.codes describes the format).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, g, request
from flask_httpauth import HTTPTokenAuth  # type: ignore[import-untyped]

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

from .accounts import KioskAccount
from .keys import UnknownKeyError
from .registry import ACTIVE
from .registry.account_queries import RETIRED
from .schemas import (
    AllocationRequestSchema,
    AllocationSchema,
    CardSchema,
    CodeReportSchema,
    DocumentNumberPathSchema,
    EmptyBodySchema,
    ErrorSchema,
    IssuedReportSchema,
    KioskSelfSchema,
)
from .service import CardStateError, UnknownCardError
from .web import authenticate, json_body, other_responses, path_arguments, response, state

bp = Blueprint("kiosk", __name__, url_prefix="/api/v1/kiosk")
log = logging.getLogger("citycard.api")


class KioskSignatureAuth(HTTPTokenAuth):  # type: ignore[misc]
    """`Authorization: CitycardKiosk id="…", ts="…", nonce="…", sig="…"`: ES256 by the kiosk's API key over the method, path, time, nonce and body digest (docs/api.md). Each nonce is accepted once, within the allowed clock skew."""

    def __init__(self) -> None:
        # header="Authorization" makes APIFairy document an API key in that header.
        super().__init__(scheme=SCHEME, header="Authorization")

    def get_auth(self) -> None:
        return None  # the signature covers the raw request: check_kiosk reads it all

    def authenticate(self, _auth: Any, _password: Any) -> str:
        return check_kiosk()


kiosk_auth = KioskSignatureAuth()

_ERRORS: dict[int, Any] = {
    400: (ErrorSchema, "Malformed request or body."),
    401: (
        ErrorSchema,
        "Missing, malformed or invalid kiosk signature, a clock too far off, or a replay.",
    ),
    403: (
        ErrorSchema,
        "The kiosk or its signing key has been revoked (kiosk_revoked, kiosk_key_inactive), "
        "the kiosk has been retired (kiosk_retired: its cards stay valid; it may still report "
        "a card it signed before the retirement and void a number), or this host does not "
        "know its signing key yet (kiosk_key_unknown).",
    ),
    413: (ErrorSchema, "The body is too large."),
    415: (ErrorSchema, "The body is not application/json."),
}
_NOT_OURS = (ErrorSchema, "This kiosk allocated no card with that number.")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": SCHEME})


def check_kiosk() -> str:
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
    # Decommissioned: not a reason to distrust its cards. It may still finish its own (report
    # one it signed before the retirement, void a number), nothing else (check_retired_report).
    g.kiosk_account = account  # for the views below (check_retired_report, void)
    finishing = account.state == RETIRED and request.endpoint in FINISHING
    if account.state == RETIRED and not finishing:
        raise ApiError(
            403,
            "kiosk_retired",
            "This kiosk has been retired; it may not issue cards. The cards it made stay "
            "valid; issue new ones at another kiosk.",
        )
    if account.state not in (ACTIVE, RETIRED):
        raise ApiError(403, "kiosk_revoked", "This kiosk has been revoked; it may not issue cards.")
    st.issuer.refresh_config()
    try:
        key_state = st.issuer.key_state(account.key_label)
    except UnknownKeyError as exc:
        # The registry (shared) knows the kiosk, this host's issuer.json not its key: it was
        # added on another host and issuer.json not copied here yet. Not "revoked": that
        # would send whoever commissions the kiosk the wrong way. Kiosk ids are no personal data.
        log.warning(
            "kiosk %s signed a request, but this host's issuer.json has no signing key %r; "
            "copy issuer.json and keys/ from the host where the kiosk was added",
            header.kiosk_id,
            account.key_label,
        )
        raise ApiError(
            403,
            "kiosk_key_unknown",
            "This issuer host does not know the kiosk's signing key yet; copy issuer.json and "
            "keys/ from the host where the kiosk was added to this host, then try again.",
        ) from exc
    except CitycardError:
        key_state = KeyState.REVOKED
    if key_state is not KeyState.ACTIVE and not (finishing and key_state is KeyState.RETIRED):
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


FINISHING = frozenset({"kiosk.issued", "kiosk.void"})
"""The calls a retired kiosk may still make: a card it finished just before the retirement (or
after a restart, the report it owed) and a number it could not finish are its last words."""


def check_retired_report(body: dict[str, Any]) -> None:
    """Refuse (403 kiosk_retired) a retired kiosk's report of a card signed after its key's end
    (that card reads KEY_EXPIRED: the kiosk voids it) or with a new revocation code."""
    account: KioskAccount = g.kiosk_account
    if account.state != RETIRED:
        return
    end = state().issuer.key_end(account.key_label)
    if body["issued_at"] > end or body.get("revocation_code_hash") is not None:
        raise ApiError(
            403,
            "kiosk_retired",
            "This kiosk has been retired; it can report only the cards it signed before its "
            "retirement, without a new revocation code. Issue new cards at another kiosk.",
        )


def _kiosk_id() -> str:
    kiosk_id: str = kiosk_auth.current_user()
    return kiosk_id


@bp.get("/self")
@authenticate(kiosk_auth)
@response(KioskSelfSchema, 200, "The kiosk account.")
@other_responses(_ERRORS)
def whoami() -> dict[str, Any]:
    """Who the server takes the signing kiosk to be (a self-test)."""
    st = state()
    account = st.issuer.kiosk(_kiosk_id())
    assert account is not None
    return {
        "kiosk_id": account.kiosk_id,
        "kid": account.kid,
        "state": account.state,
        "issuer": st.issuer.config["issuer"],
        "trust_list_version": st.issuer.config["trust_list_version"],
    }


@bp.post("/allocations")
@authenticate(kiosk_auth)
@json_body(AllocationRequestSchema)
@response(AllocationSchema, 201, "A new allocation.")
@other_responses(
    {
        200: (AllocationSchema, "The allocation made before for this request id."),
        **_ERRORS,
        404: (ErrorSchema, "A renewal or replacement of a number the registry does not know."),
        409: (
            ErrorSchema,
            "The request id belongs to a card already issued or voided, or the number's card "
            "cannot be renewed or replaced (the message says why).",
        ),
    }
)
def allocate(body: dict[str, Any]) -> tuple[Any, int]:  # an Allocation; the schema dumps it
    """Allocate a document number, a status slot and a revocation code.

    Idempotent per request id: the same kiosk repeating a request id gets the same number and
    slot (200 instead of 201) and a fresh revocation code that replaces the previous one (only
    a hash is kept).

    With `kind` renewal or replacement and a `document_number`, the new card keeps that number
    and gets a new slot. A renewal's old card is superseded once the new one is reported
    issued (never if it is voided); a replacement revokes the old card now.
    """
    st = state()
    kind = body.get("kind", "first")
    try:
        if kind == "first":
            alloc = st.issuer.allocate(_kiosk_id(), body["request_id"])
        else:
            alloc, revoked = st.issuer.cards.allocate_successor(
                _kiosk_id(), body["request_id"], body["document_number"], kind, int(time.time())
            )
            if revoked is not None:  # a lost card: venues learn of it now
                st.extra["publisher"].wait_published(revoked.status_list)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return alloc, 200 if alloc.replayed else 201


@bp.post("/cards/<number>/issued")
@authenticate(kiosk_auth)
@path_arguments(DocumentNumberPathSchema)
@json_body(IssuedReportSchema)
@response(CardSchema, 200, "The card as the registry now knows it.")
@other_responses(
    {
        **_ERRORS,
        404: _NOT_OURS,
        409: (ErrorSchema, "The card was voided or reported with other times."),
    }
)
def issued(body: dict[str, Any], number: str) -> dict[str, Any]:
    """Report a card signed and delivered (idempotent)."""
    check_retired_report(body)
    try:
        card = state().issuer.report_issued(
            _kiosk_id(),
            number,
            body["issued_at"],
            body["expires_at"],
            body.get("revocation_code_hash"),
        )
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    if card.generation > 0:  # a renewal: the card it superseded, in its list
        for list_id in {c.status_list for c in state().issuer.cards.history(number)[:-1]}:
            state().extra["publisher"].wait_published(list_id)  # at once when not owed
    return card.to_json()


@bp.post("/cards/<number>/revocation-code")
@authenticate(kiosk_auth)
@path_arguments(DocumentNumberPathSchema)
@json_body(CodeReportSchema)
@response(CardSchema, 200, "The card.")
@other_responses({**_ERRORS, 404: _NOT_OURS, 409: (ErrorSchema, "The card is voided or revoked.")})
def revocation_code(body: dict[str, Any], number: str) -> dict[str, Any]:
    """Replace the card's revocation code digest (a receipt printed again)."""
    try:
        card = state().issuer.replace_code_hash(_kiosk_id(), number, body["revocation_code_hash"])
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return card.to_json()


@bp.post("/cards/<number>/void")
@authenticate(kiosk_auth)
@path_arguments(DocumentNumberPathSchema)
@json_body(EmptyBodySchema, optional=True)
@response(CardSchema, 200, "The voided card.")
@other_responses(
    {
        **_ERRORS,
        404: _NOT_OURS,
        409: (ErrorSchema, "A retired kiosk's void of a card it reported issued."),
    }
)
def void(_body: dict[str, Any], number: str) -> dict[str, Any]:
    """Void a card the kiosk could not finish (status INVALID, for good)."""
    st = state()
    retired = g.kiosk_account.state == RETIRED
    try:
        # A retired kiosk only finishes: never the cards it made (whoever still holds its
        # credential must not be able to cancel them all).
        card, _changed = st.issuer.void(_kiosk_id(), number, unfinished_only=retired)
    except UnknownCardError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except CardStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    # Also when already voided: a retry after a crash makes sure the list gets published.
    st.extra["publisher"].wait_published(card.status_list)
    return card.to_json()
