"""Make the example credential shown in docs/credential.md and print it in every form.

Run from the repository root:

    .venv/bin/python docs/examples/make_credential_example.py
    .venv/bin/python docs/examples/make_credential_example.py --compact

It creates a development issuer in a temporary directory (deleted afterwards) with a fixed
clock, issues a *print* credential for the fictional specimen resident Erika Mustermann, checks
it with the real verifier, and prints the kiosk public key, the kid, the protected header, the
payload and the COSE_Sign1 in hex, both in CBOR diagnostic notation, the Sig_structure that the
signature covers, and the QR text.

The keys are new on every run, the status index is drawn at random and ECDSA signatures are
randomised, so every run prints different kid, index, signature and QR bytes; the shape and the
other claim bytes stay the same. docs/credential.md shows the output of one run.

With --compact it makes, for the same resident, the compact chip credential a kiosk signs for a
`compact` card (a 256-byte chip with the UID 04A1B2C3D4E5F6), checks it with the real verifier
as read from that chip, and prints its public key, payload, COSE_Sign1 and NDEF message.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cbor2
import qrcode

from api.issuer.service import Issuer
from cardio import cose
from cardio.credential import ChipBinding, Holder, to_qr
from cardio.keys import fingerprint, kid_for, public_pem
from cardio.published import load_verifier
from cardio.type4 import ndef_message
from kiosk.allocator import Allocation, KioskKeySigner

NOW = 1_790_000_000  # 2026-09-21T14:13:20Z, the same fixed clock as the tests

# Erika Mustermann is the name on German specimen ID documents: plainly nobody real.
RESIDENT = Holder(
    program="demo",
    family_name="Mustermann",
    given_name="Erika",
    birth_date=date(1964, 8, 12),
    sex="F",
    entitlements=("library",),
    languages=("de", "en"),
)


def diag(obj: Any) -> str:
    """CBOR diagnostic notation (RFC 8949 section 8) of a decoded item, on one line."""
    if isinstance(obj, cbor2.CBORTag):
        return f"{obj.tag}({diag(obj.value)})"
    if isinstance(obj, bool) or obj is None:
        return {True: "true", False: "false", None: "null"}[obj]
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, bytes):
        return f"h'{obj.hex()}'"
    if isinstance(obj, str):
        return '"' + obj.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(obj, list | tuple):  # cbor2 decodes an array inside a tag as a tuple
        return "[" + ", ".join(diag(v) for v in obj) + "]"
    if isinstance(obj, Mapping):  # a dict, or cbor2's frozendict inside a tag
        return "{" + ", ".join(f"{diag(k)}: {diag(v)}" for k, v in obj.items()) + "}"
    raise TypeError(f"no diagnostic notation for {type(obj).__name__}")


CLAIM_NAMES = {1: "iss", 4: "exp", 6: "iat", 7: "cti", 8: "cnf", 65535: "status", -65537: "card"}
CARD_NAMES = {
    0: "variant",
    1: "programme",
    2: "family name",
    3: "given name",
    4: "birth date",
    5: "sex",
    6: "photo",
    7: "entitlements",
    8: "languages",
    9: "chip UID",
    10: "status [list id, idx]",
}
UID = bytes.fromhex("04A1B2C3D4E5F6")  # a 7-byte NFC UID, as the virtual cards have


def diag_map(obj: dict[Any, Any], names: dict[int, str], indent: str = "") -> str:
    """A claims map in diagnostic notation, one entry per line, each named in a comment."""
    lines = ["{"]
    items = list(obj.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        value = diag_map(v, CARD_NAMES, indent + "  ") if k == -65537 else diag(v)
        lines.append(f"{indent}  {diag(k)}: {value}{comma}  / {names.get(k, '?')} /")
    lines.append(indent + "}")
    return "\n".join(lines)


def diag_sign1(tagged: cbor2.CBORTag) -> str:
    """The COSE_Sign1 array with one element per line and long byte strings wrapped."""
    protected, unprotected, payload, signature = tagged.value
    parts = [
        f"h'{protected.hex()}',  / protected: {diag(cbor2.loads(protected))} /",
        f"{diag(unprotected)},  / unprotected /",
        "h'" + wrap(payload.hex(), 64, "    ") + "',  / payload /",
        "h'" + wrap(signature.hex(), 64, "    ") + "'  / signature /",
    ]
    return f"{tagged.tag}([\n" + "\n".join("  " + p for p in parts) + "\n])"


def wrap(hex_text: str, width: int = 64, indent: str = "") -> str:
    lines = [hex_text[i : i + width] for i in range(0, len(hex_text), width)]
    return ("\n" + indent).join(lines)


def qr_version(text: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return int(qr.version)


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer.init(Path(tmp) / "issuer", now=NOW)
        issued = issuer.issue(RESIDENT, now=NOW)  # default validity: 730 days
        kiosk = issuer.keystore.signer("kiosk-1").public_key
        root = issuer.keystore.signer("root").public_key
        verifier, problems = load_verifier(issuer.dir)
        verdict = verifier.verify_qr(to_qr(issued.print_cose), NOW + 60)
        issuer.close()
    assert problems == [] and verdict.valid, (problems, verdict)

    data = issued.print_cose
    msg = cose.parse_sign1(data)
    assert msg.kid == kid_for(kiosk) and msg.verify(kiosk)
    cred = issued.credential
    qr_text = to_qr(data)

    print("# docs/examples/make_credential_example.py")
    print(f"clock (iat): {NOW} = {iso(NOW)}")
    print(
        f"expiry (exp): {cred.expires_at} = {iso(cred.expires_at)} (valid through {cred.expiry_date})"
    )
    print(f"document number: {cred.document_number}  status index: {cred.status_index}")
    print(
        f"birth date: {RESIDENT.birth_date} = day {(RESIDENT.birth_date - date(1970, 1, 1)).days}"
    )
    print(f"verdict at iat + 60 s: {verdict.verdict.name}")
    print()
    print("kiosk public key (verifies the example):")
    print(public_pem(kiosk), end="")
    print(f"kiosk kid: {kid_for(kiosk).hex()}")
    print(f"kiosk key fingerprint: {fingerprint(kiosk)}")
    print(f"root key fingerprint:  {fingerprint(root)}")
    print()
    print(f"protected header ({len(msg.protected)} bytes): {msg.protected.hex()}")
    print(f"signature ({len(msg.signature)} bytes): {msg.signature.hex()}")
    print()
    print(f"payload ({len(msg.payload)} bytes):")
    print(wrap(msg.payload.hex()))
    print()
    print(f"COSE_Sign1 ({len(data)} bytes):")
    print(wrap(data.hex()))
    print()
    print("payload, decoded:")
    print(diag_map(cbor2.loads(msg.payload), CLAIM_NAMES))
    print()
    print("COSE_Sign1, decoded (long byte strings wrapped, as RFC 8610 appendix G.1 allows):")
    print(diag_sign1(cbor2.loads(data)))
    print()
    sig_structure = cose.sig_structure(msg.protected, msg.payload)
    print(f"Sig_structure, the bytes ES256 signs ({len(sig_structure)} bytes):")
    print(wrap(sig_structure.hex()))
    print()
    print(f"QR text ({len(qr_text)} characters, QR version {qr_version(qr_text)} at level M):")
    print(qr_text)


def main_compact() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer.init(Path(tmp) / "issuer", now=NOW)
        issued = issuer.issue(RESIDENT, now=NOW)  # the number and status slot, as allocated
        kiosk = issuer.keystore.signer("kiosk-1")
        allocation = Allocation(
            "example", issued.credential.document_number, issued.status_list,
            issued.credential.status_uri, issued.status_index,
        )  # fmt: skip
        signed = KioskKeySigner(kiosk, issued.credential.issuer).sign(
            allocation,
            RESIDENT,
            ChipBinding(uid=UID, compact=True),
            NOW,
            issued.credential.expires_at,
        )
        verifier, problems = load_verifier(issuer.dir)
        assert signed.chip_cose is not None
        res, _ = verifier.check_chip(signed.chip_cose, UID, None, NOW + 60)
        issuer.close()
    assert problems == [] and res.valid, (problems, res)
    data = signed.chip_cose
    msg = cose.parse_sign1(data)
    assert msg.kid == kid_for(kiosk.public_key) and msg.verify(kiosk.public_key)
    ndef = ndef_message(data)

    print("# docs/examples/make_credential_example.py --compact")
    print(f"clock (iat): {NOW} = {iso(NOW)}")
    print(f"chip UID: {UID.hex()}  status list: {issued.status_list}  index: {issued.status_index}")
    print(f"verdict read from that chip at iat + 60 s: {res.verdict.name}")
    for warning in res.warnings:
        print(f"  warning: {warning}")
    print()
    print("kiosk public key (verifies the example):")
    print(public_pem(kiosk.public_key), end="")
    print(f"kiosk kid: {kid_for(kiosk.public_key).hex()}")
    print()
    print(f"payload ({len(msg.payload)} bytes):")
    print(wrap(msg.payload.hex()))
    print()
    print(f"COSE_Sign1 ({len(data)} bytes):")
    print(wrap(data.hex()))
    print()
    print(f"NDEF message ({len(ndef)} bytes of the chip's 254):")
    print(wrap(ndef.hex()))
    print()
    print("payload, decoded:")
    print(diag_map(cbor2.loads(msg.payload), CLAIM_NAMES))


if __name__ == "__main__":
    main_compact() if "--compact" in sys.argv[1:] else main()
