"""The demo's wallet files: the new card as an SD-JWT VC and as an mdoc, and a holder key.

`citycard-kiosk demo` calls `write_wallet_files` once the card is made; it writes to
OUT_DIR/wallet:

- `card.sd-jwt`: the SD-JWT VC in compact form, every disclosure included;
- `card.mdoc`: the CBOR IssuerSigned (namespaces and issuerAuth);
- `holder-key.jwk`: the private P-256 JWK the credentials are bound to (mode 0600). A real
  wallet makes its own key and never shows it; the demo needs one to make presentations.

Both credentials carry the claims of the card's chip credential (or, for a card without a
chip photo, of its print credential), signed by the same kiosk key, with the same status
list entry, so revoking the card revokes them. When OUT_DIR/trust holds iaca.pem, the kiosk
key's document-signer certificate goes into their headers (`x5c`, `x5chain`); when it has no
jwks.json (an issuer API's files), one is derived from the trust list.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cardio import cose
from cardio.credential import Credential, Variant
from cardio.errors import CitycardError
from cardio.files import write_atomic
from cardio.jwk import private_jwk
from cardio.keys import Signer, SoftwareSigner
from cardio.mdoc import issue_mdoc
from cardio.published import load_root_key
from cardio.sdjwt_vc import issue_vc
from cardio.type4 import credential_from_ndef
from cardio.wallet_trust import JWKS_FILE, document_signer_chain, write_jwks

WALLET_DIR = "wallet"
SD_JWT_FILE = "card.sd-jwt"
MDOC_FILE = "card.mdoc"
HOLDER_KEY_FILE = "holder-key.jwk"


def wallet_credential(out_dir: Path, print_cose: bytes) -> Credential:
    """The card's claims for the wallet: the chip credential's when the chip holds them all
    (photo included), else the print credential's."""
    ndef = out_dir / "chip.ndef"
    if ndef.is_file():
        try:
            chip = Credential.from_payload(cose.parse_sign1(credential_from_ndef(ndef.read_bytes())).payload)
            if chip.variant is Variant.CHIP:
                return chip
        except CitycardError:
            pass  # a compact chip (no names): the print credential has them
    return Credential.from_payload(cose.parse_sign1(print_cose).payload)


def write_wallet_files(out_dir: Path, kiosk: Signer, print_cose: bytes | None) -> Path | None:
    """Write OUT_DIR/wallet (see the module doc); returns it, or None without a print
    credential (no card was made)."""
    if print_cose is None:
        return None
    out_dir = Path(out_dir)
    credential = wallet_credential(out_dir, print_cose)
    chain: list[bytes] = []
    trust = out_dir / "trust"
    if (trust / "root-key.pem").is_file():
        root_key = load_root_key(trust)
        chain = document_signer_chain(trust, kiosk.public_key, root_key)
        if not (trust / JWKS_FILE).is_file():  # fetched from an issuer API that has none
            write_jwks(trust, root_key)
    holder = SoftwareSigner.generate()
    wallet = out_dir / WALLET_DIR
    wallet.mkdir(parents=True, exist_ok=True, mode=0o700)
    sd_jwt = issue_vc(kiosk, credential, holder.public_key, x5c=chain).compact()
    # whole or not at all (a full disk must not leave half a card), and the resident's own
    mdoc = issue_mdoc(kiosk, credential, holder.public_key, x5chain=chain)
    write_atomic(wallet / SD_JWT_FILE, sd_jwt.encode("ascii"), mode=0o600)
    write_atomic(wallet / MDOC_FILE, mdoc, mode=0o600)
    key_path = wallet / HOLDER_KEY_FILE
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(json.dumps(private_jwk(holder), indent=2) + "\n")
    return wallet
