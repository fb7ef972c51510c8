"""The citycard SD-JWT VC: the card's claims as an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc).

Issuer-signed JWT: header `{"alg": "ES256", "typ": "dc+sd-jwt", "kid": <trust list kid, hex>}`
(and `x5c`, the document-signer certificate, when given); payload with the always-visible
`iss`, `iat`, `exp`, `vct`, `status` (the Token Status List entry the chip credential uses),
`cnf.jwk` (the holder's key), `_sd_alg`, and `_sd` digests of one disclosure per item of
`cardio.wallet_claims`; the entitlements are an `entitlements` array whose elements are each
disclosable. docs/credential.md section 7 shows one, annotated.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from . import jws, sdjwt
from .credential import Credential
from .errors import MalformedError
from .jwk import kid_bytes, kid_text, public_jwk
from .keys import Signer
from .presentation_errors import PresentationError, PresentationReason
from .wallet_claims import ITEMS, WalletClaims, entitlement_item, personal_values

VCT = "urn:citycard:resident-card:1"
TYP = "dc+sd-jwt"
FORMAT = "sd-jwt-vc"
DECOYS = 3
_VISIBLE = frozenset({"iss", "iat", "exp", "vct", "status", "cnf", "entitlements"})
_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")
_CACHE_SIZE = 32  # small on purpose, as sdjwt._CACHE_SIZE
_read: dict[str, tuple[jws.Jws, WalletClaims, dict[str, Any]]] = {}
"""What read_vc found in a presentation's issued part (`sdjwt.SdJwt.signed`, the exact text
before the KB-JWT) once it passed every check: the parsed issuer JWT, the claims and the
holder's JWK, all functions of that text alone. The issuer's key (by kid, from the trust list
as it is now) and its signature are still checked on every read; a text that never passed is
never here."""


def issue_vc(
    signer: Signer,
    credential: Credential,
    holder_key: ec.EllipticCurvePublicKey,
    *,
    x5c: list[bytes] | None = None,
    decoys: int = DECOYS,
) -> sdjwt.SdJwt:
    """The SD-JWT VC of `credential`'s claims for the holder key, every disclosure included.

    `x5c` (DER certificates, document signer first) goes into the header for verifiers that
    trust by certificate; citycard's own verifier trusts by the `kid` in the trust list.
    """
    top, disclosures = sdjwt.conceal(personal_values(credential), decoys)
    elements, entitlement_disclosures = sdjwt.conceal_elements(credential.holder.entitlements)
    payload: dict[str, Any] = {
        "iss": credential.issuer,
        "iat": credential.issued_at,
        "exp": credential.expires_at,
        "vct": VCT,
        "status": {
            "status_list": {"idx": credential.status_index, "uri": credential.status_uri}
        },
        "cnf": {"jwk": public_jwk(holder_key)},
        "_sd_alg": sdjwt.SD_ALG,
        **top,
    }
    if elements:
        payload["entitlements"] = elements
    header: dict[str, Any] = {"typ": TYP, "kid": kid_text(signer.kid)}
    if x5c:
        header["x5c"] = [base64.b64encode(der).decode("ascii") for der in x5c]
    return sdjwt.issue(signer, header, payload, [*disclosures, *entitlement_disclosures])


def item_of(disclosure: sdjwt.Disclosure) -> str:
    """The wallet item a disclosure reveals (`entitlement:<code>` for a list element)."""
    if disclosure.name is None:
        return entitlement_item(str(disclosure.value))
    return disclosure.name


def read_vc(
    sd: sdjwt.SdJwt,
    issuer_key: Callable[[bytes], ec.EllipticCurvePublicKey],
) -> tuple[WalletClaims, dict[str, Any]]:
    """Verify the issuer's signature and the disclosures of a citycard SD-JWT VC.

    `issuer_key(kid)` finds the issuing key (raising PresentationError UNKNOWN_KEY). Returns
    the claims and the holder's JWK (for the key binding). Status, time and key binding are
    the caller's (`cardio.presentation`).
    """

    def key_for(header: dict[str, Any], _payload: dict[str, Any]) -> ec.EllipticCurvePublicKey:
        if header.get("typ") != TYP:
            raise PresentationError(PresentationReason.WRONG_FORMAT)
        try:
            return issuer_key(kid_bytes(header.get("kid")))
        except MalformedError as exc:
            raise PresentationError(PresentationReason.UNKNOWN_KEY) from exc

    hit = None if sd.signed is None else _read.get(sd.signed)
    if hit is not None:
        token, found, jwk = hit
        if not token.verify(key_for(token.header, token.payload)):
            raise PresentationError(PresentationReason.BAD_ISSUER_SIGNATURE)
        return found, jwk
    verified = sdjwt.verify(sd, key_for)
    signed = verified.issuer_payload
    if any(d.name in _VISIBLE for d in verified.disclosed):
        raise PresentationError(
            PresentationReason.MALFORMED, "A claim that must stay visible was made disclosable."
        )
    c = verified.claims
    try:
        status = c["status"]["status_list"]
        idx, uri = status["idx"], status["uri"]
        iss, iat, exp, vct = c["iss"], c["iat"], c["exp"], c["vct"]
        holder_jwk = c["cnf"]["jwk"]
    except (KeyError, TypeError) as exc:
        raise PresentationError(
            PresentationReason.MALFORMED, "The credential lacks a claim every citycard has."
        ) from exc
    if vct != VCT:
        raise PresentationError(PresentationReason.WRONG_FORMAT)
    if not (_int(iat) and _int(exp) and _int(idx) and isinstance(uri, str) and isinstance(iss, str)):
        raise PresentationError(PresentationReason.MALFORMED, "The credential's claims have wrong types.")
    disclosed: dict[str, Any] = {}
    for name, value in c.items():
        if name in _VISIBLE or name in {"_sd_alg"}:
            continue
        if name not in ITEMS:
            raise PresentationError(
                PresentationReason.MALFORMED, f"The credential carries {name!r}, which a citycard never holds."
            )
        disclosed[name] = _checked(name, value)
    entitlements = c.get("entitlements", [])
    if "entitlements" in signed and not isinstance(signed["entitlements"], list):
        raise PresentationError(PresentationReason.MALFORMED, "The entitlements are not a list.")
    if not all(isinstance(e, str) and _CODE.match(e) for e in entitlements):
        raise PresentationError(PresentationReason.MALFORMED, "An entitlement is not a short code.")
    claims = WalletClaims(
        FORMAT, iss, iat, exp, idx, uri, kid_bytes(verified.header.get("kid")), disclosed,
        tuple(entitlements),
    )  # fmt: skip
    if sd.signed is not None and verified.token is not None:
        if len(_read) >= _CACHE_SIZE:
            _read.clear()  # bounded: a flood of new credentials costs reads, never memory
        _read[sd.signed] = (verified.token, claims, holder_jwk)
    return claims, holder_jwk


def _int(v: object) -> bool:
    return type(v) is int and 0 <= v < 2**40


def _checked(name: str, value: Any) -> Any:
    ok: bool
    if name in ("age_over_18", "age_over_65"):
        ok = isinstance(value, bool)
    elif name == "languages":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif name == "photo":
        # base64 text, decoded only where it is shown: the issuer signed it, and decoding a
        # 4 KB photo on every verify would cost a tenth of the verify's time
        ok = isinstance(value, str) and len(value) % 4 == 0
    else:
        ok = isinstance(value, str) and 0 < len(value) <= 100
    if not ok:
        raise PresentationError(PresentationReason.MALFORMED, f"The disclosed {name} has the wrong type.")
    return value

