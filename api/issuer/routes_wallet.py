"""Wallet pickups over HTTP: the kiosk leaves a sealed package, our wallet page takes it once.

POST /wallet/pickups               kiosk-signed {"pickup_id", "ciphertext", "proof"}
                                   -> {pickup_id, expires_at, issuer_url}
GET  /wallet/pickups/<pickup_id>?proof=<pickup_proof(K)>
                                   {ciphertext, expires_at}, and the pickup is deleted

The issuer holds no key for the ciphertext (docs/wallet.md). A pickup that was taken, has
expired or never existed answers the same 404 `pickup_gone`; one asked with the wrong proof
(the link's key was damaged) answers 403 `pickup_link_damaged` and stays, and GETs are throttled per client
network so that ids cannot be guessed at speed (an id is 128 random bits anyway).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from cardio.errors import MalformedError
from cardio.jwk import b64u, b64u_decode
from cardio.wallet_package import MAX_CIPHERTEXT
from cardio.web_errors import ApiError

from .ratelimit import TokenBuckets, network_key
from .routes_kiosk import kiosk_auth
from .schemas import (
    ErrorSchema,
    PickupCiphertextSchema,
    PickupPathSchema,
    PickupProofQuerySchema,
    PickupSchema,
    PickupUploadSchema,
)
from .wallet_pickup import PickupError, PickupStore
from .web import (
    authenticate,
    json_body,
    other_responses,
    path_arguments,
    query_arguments,
    response,
    state,
)

bp = Blueprint("wallet_pickups", __name__, url_prefix="/wallet/pickups")

STORE = "wallet_pickups"
THROTTLE = "wallet_throttle"
# A sealed package in base64url inside a small JSON object.
MAX_UPLOAD = MAX_CIPHERTEXT * 4 // 3 + 1024
_STATUS = {"bad_request": 400, "conflict": 409, "pickup_gone": 404, "pickup_link_damaged": 403}


def pickup_store() -> PickupStore:
    """The app's pickup store (made on first use; tests may put one with their own clock)."""
    st = state()
    store = st.extra.get(STORE)
    if store is None:  # setdefault: two first requests at once share the one that won
        issuer = st.issuer
        store = st.extra.setdefault(STORE, PickupStore(lambda: issuer.registry))
    assert isinstance(store, PickupStore)
    return store


def throttle() -> TokenBuckets:
    """Per client network: 30 pickup or token attempts at once, then 120 an hour."""
    st = state()
    buckets = st.extra.get(THROTTLE)
    if buckets is None:  # setdefault: a bucket set that lost a race would forget its takes
        buckets = st.extra.setdefault(THROTTLE, TokenBuckets(30, 120.0))
    assert isinstance(buckets, TokenBuckets)
    return buckets


def check_throttle() -> None:
    wait = throttle().take(network_key(request.remote_addr))
    if wait > 0:
        raise ApiError(
            429,
            "too_many_requests",
            f"Too many attempts from this network; try again in {int(wait) + 1} seconds.",
            {"Retry-After": str(int(wait) + 1)},
        )


def api_error(exc: PickupError) -> ApiError:
    return ApiError(_STATUS.get(exc.code, 400), exc.code, str(exc))


@bp.before_request
def _larger_bodies() -> None:
    if request.method == "POST":
        request.max_content_length = MAX_UPLOAD  # a package with a photo; the kiosk signs it


@bp.post("")
@authenticate(kiosk_auth)
@json_body(PickupUploadSchema)
@response(PickupSchema, 201, "The pickup, kept until it is taken or expires.")
@other_responses(
    {
        400: (ErrorSchema, "Malformed request or ciphertext."),
        401: (ErrorSchema, "Missing or invalid kiosk signature."),
        403: (ErrorSchema, "The kiosk or its signing key has been revoked."),
        409: (ErrorSchema, "The pickup id is taken; draw another."),
        413: (ErrorSchema, "The body is too large."),
        415: (ErrorSchema, "The body is not application/json."),
    }
)
def upload(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Keep a sealed wallet package for at most 15 minutes (docs/wallet.md)."""
    try:
        ciphertext = b64u_decode(body["ciphertext"], "ciphertext")
        done = pickup_store().upload(body["pickup_id"], ciphertext, body.get("proof"))
    except MalformedError as exc:
        raise api_error(PickupError("bad_request", str(exc))) from exc
    except PickupError as exc:
        raise api_error(exc) from exc
    issuer_url = str(state().issuer.config["base_url"]).rstrip("/")
    return {"pickup_id": done.pickup_id, "expires_at": done.expires_at, "issuer_url": issuer_url}, 201


@bp.get("/<pickup_id>")
@path_arguments(PickupPathSchema)
@query_arguments(PickupProofQuerySchema)
@response(PickupCiphertextSchema, 200, "The sealed package; the pickup is now deleted.")
@other_responses(
    {
        403: (ErrorSchema, "The proof does not fit: the link is damaged; the pickup stays."),
        404: (ErrorSchema, "Taken already, expired, or never there (pickup_gone)."),
        429: (ErrorSchema, "Too many attempts from this network."),
    }
)
def take(query: dict[str, Any], pickup_id: str) -> dict[str, Any]:
    """Hand the sealed package to our wallet page, once, and delete it."""
    check_throttle()
    try:
        taken = pickup_store().take(pickup_id, query.get("proof"))
    except PickupError as exc:
        raise api_error(exc) from exc
    return {"ciphertext": b64u(taken.ciphertext), "expires_at": taken.expires_at}
