"""The wallet formats' trust files beside a published trust list: `jwks.json` and `iaca.pem`.

`jwks.json` holds the trust list's kiosk (issuing) keys as JWKs, `kid` as in an SD-JWT VC's
header; `iaca.pem` holds the city root's IACA certificate followed by one document-signer
certificate per kiosk key (what an mdoc's `x5chain` carries). Both are derived from the trust
list the root key signs, so they say nothing it does not; a reader still trusts the trust
list, checked against the pinned root key. A revoked key is in neither: a verifier that knows
only these files (a JWK set, an IACA) cannot read the trust list's "revoked", and nothing a
revoked key signed may verify there. A retired key stays (what it signed in its window holds).
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from .files import read_limited, write_atomic
from .jwk import jwks
from .keys import Signer, point_bytes
from .published import load_trust_list, published_dir
from .trustlist import KeyPurpose, KeyState
from .x509_iaca import check_document_signer, document_signer_certificate, iaca_certificate, to_pem
from .x509_iaca import load_pem as load_certificates

JWKS_FILE = "jwks.json"
IACA_FILE = "iaca.pem"
IACA_YEARS = 20  # ISO/IEC 18013-5 Annex B: an IACA certificate is valid for at most 20 years
MAX_IACA_FILE = 1024 * 1024  # the IACA and one document signer per kiosk key, in PEM


def write_wallet_trust(directory: Path, root: Signer, *, country: str = "ZZ") -> None:
    """Write jwks.json and iaca.pem for the trust list published in `directory`.

    `root` is the city root key (the one that signed the trust list): it signs the IACA and
    document-signer certificates. The IACA is valid from the first kiosk key's start for
    IACA_YEARS, and at least to the last one's end: a key retired early must not shorten it
    (the cards its keys signed stay valid for years).
    """
    trust = load_trust_list(directory, root.public_key)
    issuing = [
        k for k in trust.keys if k.purpose is KeyPurpose.ISSUE and k.state is not KeyState.REVOKED
    ]
    start = min([trust.issued_at, *(k.not_before for k in issuing)])
    end = max([start + IACA_YEARS * 365 * 86400, *(k.not_after for k in issuing)])
    iaca = iaca_certificate(root, trust.issuer, start, end, country=country)
    signers = [
        document_signer_certificate(root, iaca, k.public_key, k.label, k.not_before, k.not_after)
        for k in issuing
    ]
    write_jwks(directory, root.public_key)
    write_atomic(published_dir(directory) / IACA_FILE, to_pem([iaca, *signers]))


def write_jwks(directory: Path, root_key: ec.EllipticCurvePublicKey | None = None) -> None:
    """Write jwks.json for the trust list published in `directory` (checked against
    `root_key`, default the directory's root-key.pem). Needs no private key: any holder of
    the published files can derive it."""
    trust = load_trust_list(directory, root_key)
    data = (json.dumps(jwks(trust.keys), indent=2) + "\n").encode()
    write_atomic(published_dir(directory) / JWKS_FILE, data)


def document_signer_chain(
    directory: Path, key: ec.EllipticCurvePublicKey, root_key: ec.EllipticCurvePublicKey
) -> list[bytes]:
    """The DER document-signer certificate of `key` from iaca.pem, checked against the pinned
    root key, as an x5chain/x5c list; [] when the directory has none for it."""
    path = published_dir(directory) / IACA_FILE
    if not path.is_file():
        return []
    certs = load_certificates(
        read_limited(path, MAX_IACA_FILE, "The IACA certificate file", "publish it again")
    )
    iaca = certs[0]
    for cert in certs[1:]:
        cert_key = cert.public_key()
        if isinstance(cert_key, ec.EllipticCurvePublicKey) and point_bytes(cert_key) == point_bytes(
            key
        ):
            check_document_signer(cert, iaca, root_key)
            return [cert.public_bytes(Encoding.DER)]
    return []

