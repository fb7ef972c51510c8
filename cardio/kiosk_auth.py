"""Signed kiosk requests: how a kiosk proves who it is to the issuer API.

Each kiosk holds its own P-256 *API key* (separate from the key that signs credentials, so that
neither can be made to sign the other's messages). `citycard-api kiosk add` registers the
public half; the server stores only that, so a copy of the registry lets nobody act as a kiosk.
Every kiosk request carries

    Authorization: CitycardKiosk id="kiosk-2", ts="1790000000", nonce="<22+ chars>", sig="<86 chars>"

where `sig` is base64url (no padding) of the raw ES256 signature (r || s) over the UTF-8 bytes of

    citycard-kiosk-request/1
    id:<kiosk id>
    method:<HTTP method, upper case>
    path:<path, with ?query when there is one>
    ts:<unix seconds>
    nonce:<nonce>
    body-sha256:<lower-case hex SHA-256 of the exact body bytes>

(lines joined with "\\n", no trailing newline). The server refuses a request whose `ts` is more
than the allowed skew (5 minutes by default) from its clock, whose signature does not verify
under the kiosk's registered key, or whose nonce it has already seen from that kiosk within the
window: a captured request cannot be replayed, and a captured signature cannot be reused for
another method, path or body. A kiosk whose account or signing key was revoked is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cardio.errors import CitycardError
from cardio.keys import SoftwareSigner, load_public_pem, public_pem, verify_es256

SCHEME = "CitycardKiosk"
CONTEXT = "citycard-kiosk-request/1"
CREDENTIAL_TYPE = "citycard-kiosk-credential/1"
DEFAULT_SKEW = 300
_PARAM = re.compile(r'\s*([a-z]+)="([^"\\]*)"\s*(?:,|$)')
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_KIOSK_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class KioskAuthError(CitycardError):
    """A kiosk request that cannot be authenticated; `status` is 401 or 403."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature_base(
    kiosk_id: str, method: str, path: str, ts: int, nonce: str, body: bytes
) -> bytes:
    """The exact bytes a kiosk signs for one request (see the module docstring)."""
    return "\n".join(
        (
            CONTEXT,
            f"id:{kiosk_id}",
            f"method:{method.upper()}",
            f"path:{path}",
            f"ts:{ts}",
            f"nonce:{nonce}",
            f"body-sha256:{hashlib.sha256(body).hexdigest()}",
        )
    ).encode("utf-8")


@dataclass(frozen=True)
class SignedHeader:
    """The parsed Authorization header of a kiosk request (not yet verified)."""

    kiosk_id: str
    ts: int
    nonce: str
    signature: bytes


def parse_authorization(value: str | None) -> SignedHeader:
    """Parse `Authorization: CitycardKiosk ...`; KioskAuthError (401) when it is not one."""
    if not value:
        raise KioskAuthError("This endpoint needs a signed kiosk request (Authorization header).")
    scheme, _, rest = value.strip().partition(" ")
    if scheme != SCHEME:
        raise KioskAuthError(f"The Authorization header must use the {SCHEME} scheme.")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.group(1) in params:
            raise KioskAuthError("The Authorization header is malformed.")
        params[m.group(1)] = m.group(2)
        pos = m.end()
    if set(params) != {"id", "ts", "nonce", "sig"}:
        raise KioskAuthError("The Authorization header needs exactly id, ts, nonce and sig.")
    if not _KIOSK_ID.match(params["id"]) or not _NONCE.match(params["nonce"]):
        raise KioskAuthError("The Authorization header has a malformed id or nonce.")
    if not (params["ts"].isascii() and params["ts"].isdigit()) or len(params["ts"]) > 12:
        raise KioskAuthError("The Authorization header's ts must be unix seconds.")
    try:
        sig = _unb64(params["sig"])
    except ValueError as exc:
        raise KioskAuthError("The Authorization header's sig is not base64url.") from exc
    if len(sig) != 64:
        raise KioskAuthError("The Authorization header's sig is not an ES256 signature.")
    return SignedHeader(params["id"], int(params["ts"]), params["nonce"], sig)


def check_signature(
    header: SignedHeader,
    public_key: ec.EllipticCurvePublicKey,
    method: str,
    path: str,
    body: bytes,
    now: int,
    skew: int = DEFAULT_SKEW,
) -> None:
    """KioskAuthError (401) unless the signature verifies and `ts` is within `skew` of `now`."""
    if abs(now - header.ts) > skew:
        raise KioskAuthError(
            f"The request's timestamp is more than {skew} seconds from the server's clock; "
            "set the kiosk's clock (NTP) and sign the request again."
        )
    base = signature_base(header.kiosk_id, method, path, header.ts, header.nonce, body)
    if not verify_es256(public_key, header.signature, base):
        raise KioskAuthError(BAD_SIGNATURE)


BAD_SIGNATURE = "The kiosk signature does not verify; check the kiosk's credential."


@dataclass(frozen=True)
class KioskCredential:
    """What a kiosk keeps to talk to the API: its id and its API private key."""

    kiosk_id: str
    signer: SoftwareSigner

    @classmethod
    def generate(cls, kiosk_id: str) -> KioskCredential:
        return cls(kiosk_id, SoftwareSigner.generate())

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.signer.public_key

    def to_json(self) -> str:
        """The credential as one JSON object (the private key as PKCS#8 PEM)."""
        return json.dumps(
            {
                "type": CREDENTIAL_TYPE,
                "kiosk_id": self.kiosk_id,
                "api_key": self.signer.private_pem().decode("ascii"),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> KioskCredential:
        try:
            data: Any = json.loads(text)
            if data["type"] != CREDENTIAL_TYPE:
                raise ValueError("unknown credential type")
            key = serialization.load_pem_private_key(data["api_key"].encode("ascii"), None)
            kiosk_id = str(data["kiosk_id"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CitycardError(
                "The kiosk credential is not valid; add the kiosk again with 'citycard-api kiosk add'."
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CitycardError("The kiosk credential's key is not a P-256 key.")
        return cls(kiosk_id, SoftwareSigner(key))

    def headers(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        now: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """The Authorization header for one request."""
        ts = int(time.time()) if now is None else now
        nonce = nonce or secrets.token_urlsafe(18)
        sig = self.signer.sign(signature_base(self.kiosk_id, method, path, ts, nonce, body))
        return {
            "Authorization": f'{SCHEME} id="{self.kiosk_id}", ts="{ts}", nonce="{nonce}", sig="{_b64(sig)}"'
        }


def load_api_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    return load_public_pem(pem)


def api_public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return public_pem(key)
