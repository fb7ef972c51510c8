"""The wallet package the kiosk leaves for the phone, its encryption and its offer codes.

The kiosk seals a package (both wallet credentials, their holder key, the card's credential
and what the wallet shows) under a key K that only the kiosk's screen carries; the issuer
stores the ciphertext, and opens it only when a standard wallet redeems the OpenID4VCI offer
with the transaction code (docs/wallet.md says who sees what):

    secrets = OfferSecrets.draw()
    ciphertext = seal(package, secrets.key())
    secrets.wallet_url(base)        # our wallet page: K in the URL fragment
    secrets.pre_authorized_code     # OpenID4VCI: P.S, and secrets.tx_code on the screen

K = HKDF-SHA256(IKM = S || T, salt = P, info = "citycard wallet package 1"). The kiosk and the
issuer both need this, so it lives here. The wallet page takes the pickup with a proof that it
holds K, `pickup_proof(K)` = HMAC-SHA256(K, "citycard wallet pickup proof 1"): the kiosk leaves
it with the ciphertext, so a link whose key was garbled is refused before the one-time pickup
is spent, and the proof tells the issuer nothing about K.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets as random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import CitycardError, MalformedError
from .jwk import b64u, b64u_decode

PACKAGE_VERSION = 1
KEY_INFO = b"citycard wallet package 1"
PROOF_INFO = b"citycard wallet pickup proof 1"
AAD = b"citycard-wallet-package-1"
NONCE_BYTES = 12
TAG_BYTES = 16
TX_CODE_LENGTH = 6
PICKUP_TTL = 15 * 60
MAX_CIPHERTEXT = 256 * 1024
SD_JWT_CONFIGURATION = "citycard_sd_jwt_vc"
MDOC_CONFIGURATION = "citycard_mdoc"
CONFIGURATIONS = (SD_JWT_CONFIGURATION, MDOC_CONFIGURATION)
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
_PICKUP_ID = re.compile(r"[A-Za-z0-9_-]{22}\Z")
_TX_CODE = re.compile(r"[0-9]{6}\Z")
_PICKUP_PROOF = re.compile(r"[A-Za-z0-9_-]{43}\Z")


class PackageError(CitycardError):
    """A package that cannot be opened: wrong key or transaction code, or damaged."""


def is_pickup_id(text: object) -> bool:
    """Whether `text` has the form of a pickup id (22 base64url characters)."""
    return isinstance(text, str) and bool(_PICKUP_ID.match(text))


def is_pickup_proof(text: object) -> bool:
    """Whether `text` has the form of a pickup proof (43 base64url characters: 32 bytes)."""
    return isinstance(text, str) and bool(_PICKUP_PROOF.match(text))


def pickup_proof(key: bytes) -> str:
    """The proof that the wallet page holds K, as it sends it (docs/wallet.md)."""
    return b64u(hmac.new(key, PROOF_INFO, hashlib.sha256).digest())


def derive_key(pickup_id: str, code_secret: bytes, tx_code: str) -> bytes:
    """K from the pickup id, the code secret S and the transaction code T."""
    if len(code_secret) != 32 or not _TX_CODE.match(tx_code):
        raise PackageError("The code or the transaction code has the wrong form.")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=pickup_id.encode("ascii"), info=KEY_INFO)
    return hkdf.derive(code_secret + tx_code.encode("ascii"))


@dataclass(frozen=True)
class OfferSecrets:
    """What the kiosk draws for one card: the pickup id P, the code secret S, the transaction
    code T. It keeps them in memory until the done page is left."""

    pickup_id: str
    code_secret: bytes
    tx_code: str

    @classmethod
    def draw(cls) -> OfferSecrets:
        tx_code = "".join(random.choice("0123456789") for _ in range(TX_CODE_LENGTH))
        return cls(b64u(random.token_bytes(16)), random.token_bytes(32), tx_code)

    def key(self) -> bytes:
        return derive_key(self.pickup_id, self.code_secret, self.tx_code)

    def pickup_proof(self) -> str:
        return pickup_proof(self.key())

    @property
    def pre_authorized_code(self) -> str:
        return f"{self.pickup_id}.{b64u(self.code_secret)}"

    def wallet_url(self, issuer_url: str) -> str:
        """Our wallet page's address with P and K in the fragment (never sent to a server)."""
        return f"{issuer_url.rstrip('/')}/wallet/#p={self.pickup_id}&k={b64u(self.key())}"


def split_pre_authorized_code(code: object) -> tuple[str, bytes]:
    """(P, S) from a pre-authorized code; MalformedError when it is not one of ours."""
    if not isinstance(code, str) or code.count(".") != 1:
        raise MalformedError("The pre-authorized code is not one of this issuer's.")
    pickup_id, secret_text = code.split(".")
    secret = b64u_decode(secret_text, "pre-authorized code")
    if not is_pickup_id(pickup_id) or len(secret) != 32:
        raise MalformedError("The pre-authorized code is not one of this issuer's.")
    return pickup_id, secret


def seal(package: dict[str, Any], key: bytes) -> bytes:
    """nonce || AES-256-GCM(JSON package) || tag."""
    nonce = random.token_bytes(NONCE_BYTES)
    plaintext = json.dumps(package, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return nonce + AESGCM(key).encrypt(nonce, plaintext, AAD)


def open_package(ciphertext: bytes, key: bytes) -> dict[str, Any]:
    """The package sealed under `key`; PackageError for another key or damaged bytes."""
    if len(ciphertext) < NONCE_BYTES + TAG_BYTES or len(key) != 32:
        raise PackageError("The package is damaged.")
    try:
        plaintext = AESGCM(key).decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], AAD)
    except InvalidTag as exc:
        raise PackageError("The package cannot be opened with this key.") from exc
    try:
        package = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackageError("The package is not JSON.") from exc
    if not isinstance(package, dict) or package.get("v") != PACKAGE_VERSION:
        raise PackageError("The package is not a version 1 citycard wallet package.")
    return package


def credential_offer(issuer_url: str, offer: OfferSecrets) -> dict[str, Any]:
    """The OpenID4VCI credential offer object for both configurations."""
    return {
        "credential_issuer": issuer_url.rstrip("/"),
        "credential_configuration_ids": list(CONFIGURATIONS),
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": offer.pre_authorized_code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": "The six digits on the kiosk's screen",
                },
            }
        },
    }


def credential_offer_uri(issuer_url: str, offer: OfferSecrets) -> str:
    """`openid-credential-offer://?credential_offer=<the offer, URL-encoded>`."""
    text = json.dumps(credential_offer(issuer_url, offer), separators=(",", ":"))
    return f"{OFFER_SCHEME}?credential_offer={quote(text, safe='')}"
