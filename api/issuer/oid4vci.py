"""OpenID4VCI 1.0, pre-authorized code flow: a standard wallet takes the kiosk's offer.

GET  /.well-known/openid-credential-issuer     credential issuer metadata
GET  /.well-known/oauth-authorization-server   authorization server metadata (token endpoint)
POST /oid4vci/token                            pre-authorized code + tx_code -> access token
POST /oid4vci/nonce                            a c_nonce for the proof JWT
POST /oid4vci/credential                       access token + proof -> one credential

A wallet we did not make proves its own key, so the issuer re-issues the card's claims for it
(docs/wallet.md, "Holder binding"): it opens the package in memory with the key the access
token carries, checks that a kiosk key of the trust list signed the card's credential, and
signs an SD-JWT VC or an mdoc of exactly those claims, bound to the proof's key, with an
issuing key of its own key store that the trust list publishes. Errors are OAuth's
`{"error", "error_description"}` with our `{"code", "message"}` beside them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, Response, jsonify, request

from cardio import cose, jws
from cardio.credential import Credential
from cardio.errors import CitycardError, MalformedError
from cardio.jwk import b64u, b64u_decode, from_jwk
from cardio.keys import Signer
from cardio.mdoc import DOCTYPE, issue_mdoc
from cardio.published import load_root_key
from cardio.sdjwt_vc import VCT, issue_vc
from cardio.trustlist import KeyPurpose, KeyState
from cardio.wallet_package import (
    MDOC_CONFIGURATION,
    PRE_AUTHORIZED_GRANT,
    SD_JWT_CONFIGURATION,
)
from cardio.wallet_trust import document_signer_chain
from cardio.web_errors import json_object

from .routes_wallet import check_throttle, pickup_store
from .schemas import ErrorSchema
from .wallet_pickup import PickupError
from .web import other_responses, state

bp = Blueprint("oid4vci", __name__)

PROOF_TYP = "openid4vci-proof+jwt"
NONCE_TTL = 300
PROOF_SKEW = 300
NONCES = "oid4vci_nonces"


class OAuthError(Exception):
    """An OAuth-style error answer (RFC 6749 section 5.2, OpenID4VCI section 8.3.1)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@bp.errorhandler(OAuthError)
def _oauth_error(exc: OAuthError) -> Response:
    answer = jsonify(
        {
            "error": exc.error,
            "error_description": exc.description,
            "code": exc.error,
            "message": exc.description,
        }
    )
    answer.status_code = exc.status
    if exc.status == 401:
        answer.headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
    return answer


@bp.after_request
def _cross_origin(answer: Response) -> Response:
    """A wallet that runs in a browser asks from its own origin. Nothing here rides on a cookie
    or any other credential the browser adds by itself (the code, the token and the proof are
    in the request), so every origin may read these answers (the Fetch standard's CORS)."""
    answer.headers["Access-Control-Allow-Origin"] = "*"
    answer.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After"
    if request.method == "OPTIONS":  # a preflight: what the wallet may send
        answer.headers["Access-Control-Allow-Methods"] = "GET, POST"
        answer.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, DPoP"
        answer.headers["Access-Control-Max-Age"] = "600"
    return answer


def issuer_url() -> str:
    """The credential issuer identifier: the issuer's public base URL (issuer.json)."""
    return str(state().issuer.config["base_url"]).rstrip("/")


# -- metadata -----------------------------------------------------------------------------------


def _display(name: str) -> list[dict[str, str]]:
    return [{"name": name, "locale": "en"}]


@bp.get("/.well-known/openid-credential-issuer")
@other_responses({200: "The credential issuer metadata (OpenID4VCI section 12.2)."})
def issuer_metadata() -> Response:
    """OpenID4VCI credential issuer metadata: the two configurations of the city card."""
    base = issuer_url()
    proofs = {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
    return jsonify(
        {
            "credential_issuer": base,
            "credential_endpoint": f"{base}/oid4vci/credential",
            "nonce_endpoint": f"{base}/oid4vci/nonce",
            "display": _display("City card"),
            "credential_configurations_supported": {
                SD_JWT_CONFIGURATION: {
                    "format": "dc+sd-jwt",
                    "vct": VCT,
                    "scope": SD_JWT_CONFIGURATION,
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "credential_signing_alg_values_supported": ["ES256"],
                    "proof_types_supported": proofs,
                    "credential_metadata": {"display": _display("City card (SD-JWT VC)")},
                },
                MDOC_CONFIGURATION: {
                    "format": "mso_mdoc",
                    "doctype": DOCTYPE,
                    "scope": MDOC_CONFIGURATION,
                    "cryptographic_binding_methods_supported": ["cose_key"],
                    "credential_signing_alg_values_supported": [-7],
                    "proof_types_supported": proofs,
                    "credential_metadata": {"display": _display("City card (mdoc)")},
                },
            },
        }
    )


@bp.get("/.well-known/oauth-authorization-server")
@other_responses({200: "The authorization server metadata (RFC 8414)."})
def authorization_server_metadata() -> Response:
    """OAuth authorization server metadata: the token endpoint of the pre-authorized flow."""
    base = issuer_url()
    return jsonify(
        {
            "issuer": base,
            "token_endpoint": f"{base}/oid4vci/token",
            "grant_types_supported": [PRE_AUTHORIZED_GRANT],
            "pre-authorized_grant_anonymous_access_supported": True,
            "token_endpoint_auth_methods_supported": ["none"],
        }
    )


# -- token --------------------------------------------------------------------------------------


@bp.post("/oid4vci/token")
@other_responses(
    {
        200: "An access token (form body: grant_type, pre-authorized_code, tx_code).",
        400: "OAuth error: invalid_grant (wrong, used or expired code), invalid_request.",
        429: (ErrorSchema, "Too many attempts from this network."),
    }
)
def token() -> Response:
    """Redeem the pre-authorized code with the transaction code shown on the kiosk."""
    check_throttle()
    if request.mimetype != "application/x-www-form-urlencoded":
        raise OAuthError(
            400, "invalid_request", "Send the token request as application/x-www-form-urlencoded."
        )
    form = request.form
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise OAuthError(
            400, "unsupported_grant_type", "Only the pre-authorized code grant is offered here."
        )
    code, tx_code = form.get("pre-authorized_code", ""), form.get("tx_code", "")
    if not code or not tx_code:
        raise OAuthError(
            400, "invalid_request", "Give the pre-authorized code and the kiosk's six digits."
        )
    try:
        # a package no kiosk signed gets no token, and goes (_card_credential's PickupError)
        redeemed = pickup_store().redeem(code, tx_code, check=_card_credential)
    except PickupError as exc:
        raise OAuthError(400, exc.code, str(exc)) from exc
    answer = jsonify(
        {
            "access_token": redeemed.access_token,
            "token_type": "Bearer",
            "expires_in": redeemed.expires_in,
        }
    )
    answer.headers["Pragma"] = "no-cache"  # RFC 6749 section 5.1, beside Cache-Control: no-store
    return answer


# -- nonces -------------------------------------------------------------------------------------


class _Nonces:
    """c_nonces this process hands out, each good once for NONCE_TTL seconds.

    Handing one out stores nothing: a nonce carries its expiry and this process's MAC over
    it, so the endpoint anyone may call costs neither memory nor a sweep (a store of every
    nonce handed out grew without bound and slowed each call down). Only a nonce used in a
    proof, behind an access token, is remembered, until it expires, so that it is good once.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._used: dict[bytes, int] = {}  # nonce -> its expiry, in the order of use

    def new(self) -> str:
        body = (int(self._clock()) + NONCE_TTL).to_bytes(8, "big") + secrets.token_bytes(16)
        return b64u(body + self._mac(body))

    def use(self, nonce: object) -> bool:
        raw = _nonce_bytes(nonce)
        if raw is None or not hmac.compare_digest(raw[24:], self._mac(raw[:24])):
            return False
        now, until = self._clock(), int.from_bytes(raw[:8], "big")
        if until <= now:
            return False
        with self._lock:
            # forget what has expired since: the oldest uses first, expiries differ by at
            # most NONCE_TTL, so what stays behind an unexpired one is gone on a later use
            expired = []
            for old, expiry in self._used.items():
                if expiry > now:
                    break
                expired.append(old)
            for old in expired:
                del self._used[old]
            if raw in self._used:
                return False
            self._used[raw] = until
        return True

    def remembered(self) -> int:
        """How many used nonces are kept (until they expire)."""
        return len(self._used)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, "sha256").digest()[:16]


def _nonce_bytes(nonce: object) -> bytes | None:
    """The 40 bytes of a nonce of ours (expiry, random, MAC); None for any other text."""
    if not isinstance(nonce, str) or len(nonce) != 54:
        return None
    try:
        raw = b64u_decode(nonce, "c_nonce")
    except MalformedError:
        return None
    return raw if len(raw) == 40 else None


def _nonces() -> _Nonces:
    extra = state().extra
    # setdefault, atomic: of two first requests at once, both use the one store that won (each
    # making its own handed out nonces the other refused)
    nonces = extra.get(NONCES) or extra.setdefault(NONCES, _Nonces())
    assert isinstance(nonces, _Nonces)
    return nonces


@bp.post("/oid4vci/nonce")
@other_responses({200: "A c_nonce for the next proof JWT, good once for five minutes."})
def nonce() -> Response:
    """A fresh c_nonce (OpenID4VCI section 7)."""
    return jsonify({"c_nonce": _nonces().new(), "c_nonce_expires_in": NONCE_TTL})


# -- credential ---------------------------------------------------------------------------------


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OAuthError(401, "invalid_token", "Send the access token as 'Authorization: Bearer'.")
    return value.strip()


def _proof_jwt(body: dict[str, Any]) -> str:
    proofs = body.get("proofs")
    if isinstance(proofs, dict) and isinstance(proofs.get("jwt"), list) and len(proofs["jwt"]) == 1:
        return str(proofs["jwt"][0])
    proof = body.get("proof")
    if isinstance(proof, dict) and proof.get("proof_type") == "jwt":
        return str(proof.get("jwt"))
    raise OAuthError(400, "invalid_proof", "Send one proof of type jwt.")


def holder_key(proof_text: str, now: float) -> ec.EllipticCurvePublicKey:
    """The wallet's key from its proof JWT, after every check docs/wallet.md lists."""
    try:
        proof = jws.parse(proof_text, "proof")
        key = from_jwk(proof.header.get("jwk"))
    except MalformedError as exc:
        raise OAuthError(400, "invalid_proof", str(exc)) from exc
    if proof.header.get("typ") != PROOF_TYP:
        raise OAuthError(400, "invalid_proof", f"The proof's typ must be {PROOF_TYP}.")
    if not proof.verify(key):
        raise OAuthError(400, "invalid_proof", "The proof's signature does not verify.")
    aud, iat = proof.payload.get("aud"), proof.payload.get("iat")
    if aud != issuer_url() and not (isinstance(aud, list) and issuer_url() in aud):
        raise OAuthError(400, "invalid_proof", "The proof is addressed to another issuer.")
    # compared, not subtracted: a JSON integer too large for a float must not raise
    in_time = isinstance(iat, int | float) and now - PROOF_SKEW <= iat <= now + PROOF_SKEW
    if not in_time or isinstance(iat, bool):
        raise OAuthError(400, "invalid_proof", "The proof's iat is missing or too far off.")
    if not _nonces().use(proof.payload.get("nonce")):
        raise OAuthError(
            400, "invalid_nonce", "The proof's nonce is unknown or used; ask the nonce endpoint."
        )
    return key


def _card_credential(package: dict[str, Any]) -> Credential:
    """The card's claims from the package, once a kiosk key the trust list names signed them."""
    issuer = state().issuer
    try:
        msg = cose.parse_sign1(b64u_decode(package.get("credential"), "credential"))
        trusted = {k.kid: k for k in issuer.trust_list_body(int(time.time())).keys}
        key = trusted.get(msg.kid)
        if (
            key is None
            or key.purpose is not KeyPurpose.ISSUE
            or key.state is not KeyState.ACTIVE
            or not msg.verify(key.public_key)
        ):
            raise PickupError("invalid_grant", "The offer's card was not signed by a city kiosk.")
        return Credential.from_payload(msg.payload)
    except MalformedError as exc:
        raise PickupError("invalid_grant", "The offer's card is damaged.") from exc


def wallet_signer() -> Signer:
    """An active issuing key of the issuer's own key store (the trust list names it)."""
    issuer = state().issuer
    now = time.time()
    for entry in issuer.config["keys"]:
        if (
            entry["purpose"] == KeyPurpose.ISSUE.value
            and entry["state"] == KeyState.ACTIVE.value
            and "public_key" not in entry  # a kiosk's own HSM: not ours to sign with
            and entry["not_before"] <= now < entry["not_after"]
        ):
            return issuer.keys.issuing_signer(entry["label"])
    raise OAuthError(
        500, "server_error", "The issuer holds no active issuing key; ask the city's office."
    )


def _chain(signer: Signer) -> list[bytes]:
    issuer = state().issuer
    try:
        return document_signer_chain(issuer.dir, signer.public_key, load_root_key(issuer.dir))
    except CitycardError:
        return []  # no iaca.pem published: verifiers trust by kid in the trust list


@bp.post("/oid4vci/credential")
@other_responses(
    {
        200: "The credential: {credentials: [{credential}]}.",
        400: (
            "OAuth error: invalid_proof, invalid_nonce, unknown_credential_configuration, "
            "credential_request_denied (that configuration was already issued for this offer)."
        ),
        401: "OAuth error: invalid_token (unknown, expired, or its pickup is gone).",
        429: (ErrorSchema, "Too many attempts from this network."),
    }
)
def credential() -> Response:
    """One credential of the offered configurations, bound to the wallet's proof key; each
    configuration once per offer."""
    check_throttle()  # every request with a token of the right shape opens the registry
    token = _bearer()
    body = json_object(request.get_data(cache=False)) if request.is_json else None
    if body is None:
        raise OAuthError(400, "invalid_credential_request", "Send the request as a JSON object.")
    configuration = body.get("credential_configuration_id")
    if configuration not in (SD_JWT_CONFIGURATION, MDOC_CONFIGURATION):
        raise OAuthError(
            400, "unknown_credential_configuration", "Ask for one of the offered configurations."
        )
    try:
        pickup_id, package = pickup_store().open_for_token(token, configuration)
    except PickupError as exc:
        raise _pickup_refusal(exc) from exc
    key = holder_key(_proof_jwt(body), time.time())
    try:
        card = _card_credential(package)
    except PickupError as exc:
        raise OAuthError(400, "invalid_credential_request", str(exc)) from exc
    del package
    signer = wallet_signer()
    if configuration == SD_JWT_CONFIGURATION:
        issued: str = issue_vc(signer, card, key, x5c=_chain(signer)).compact()
    else:
        issued = b64u(issue_mdoc(signer, card, key, x5chain=_chain(signer)))
    del card
    try:
        pickup_store().deliver(pickup_id, configuration)
    except PickupError as exc:  # fetched or gone meanwhile, by a request beside this one
        raise _pickup_refusal(exc) from exc
    return jsonify({"credentials": [{"credential": issued}]})


def _pickup_refusal(exc: PickupError) -> OAuthError:
    return OAuthError(401 if exc.code == "invalid_token" else 400, exc.code, str(exc))
