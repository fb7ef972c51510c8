"""docs/credential.md: its worked examples must be real credentials the reference code accepts.

The example blocks are found between HTML comments such as `<!-- example-cose -->` and
`<!-- /example-cose -->`. If the example is regenerated with
docs/examples/make_credential_example.py, every marked block must be replaced from the same run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cardio import cbor, cose
from cardio.chip import COMPACT_NDEF_CAPACITY
from cardio.credential import Credential, Variant, decode_claims, from_qr, to_qr
from cardio.fastpath import ENTITLEMENT_CODES
from cardio.keys import fingerprint, kid_for, load_public_pem
from cardio.trustlist import KeyPurpose, TrustedKey, TrustList
from cardio.type4 import credential_from_ndef, ndef_message
from cardio.verdict import Verdict
from cardio.verify import Verifier

DOC = Path(__file__).resolve().parent.parent / "docs" / "credential.md"
FAMILY_NAME = "Mustermann"
GIVEN_NAME = "Erika"
EXAMPLE_NOW = 1_790_000_000  # the fixed clock of docs/examples/make_credential_example.py


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text("utf-8")


def block(doc: str, name: str) -> str:
    """The text of the code block between `<!-- name -->` and `<!-- /name -->`."""
    match = re.search(
        rf"<!-- {re.escape(name)} -->\s*```[a-z]*\n(.*?)```\s*<!-- /{re.escape(name)} -->",
        doc,
        re.DOTALL,
    )
    assert match, f"docs/credential.md has no marked block {name!r}"
    return match.group(1)


def hex_block(doc: str, name: str) -> bytes:
    return bytes.fromhex("".join(block(doc, name).split()))


def annotated_hex(doc: str, name: str) -> str:
    """The hex of an RFC-style annotation: every line up to its '#' comment, spaces removed."""
    return "".join("".join(line.split("#", 1)[0].split()) for line in block(doc, name).splitlines())


def test_example_is_an_accepted_cose_sign1_with_the_documented_claims(doc: str) -> None:
    msg = cose.parse_sign1(hex_block(doc, "example-cose"))
    assert msg.protected == b"\xa2\x01\x26\x04\x48" + msg.kid and len(msg.kid) == 8
    assert msg.payload == hex_block(doc, "example-payload")
    cred = Credential.from_payload(msg.payload)
    assert cred.holder.family_name == FAMILY_NAME and cred.holder.given_name == GIVEN_NAME
    assert f'"{FAMILY_NAME}"' in doc and f'"{GIVEN_NAME}"' in doc
    assert cred.variant is Variant.PRINT and cred.binding is None and cred.holder.photo is None
    assert cred.issued_at == EXAMPLE_NOW and cred.display()["expires"] == "2028-09-20"
    assert cred.display()["birth_date"] == "1964-08-12"
    # The payload is deterministic CBOR: decoding and re-encoding gives the same bytes.
    assert cbor.dumps(cbor.loads_strict(msg.payload)) == msg.payload


def test_printed_public_key_verifies_the_example(doc: str) -> None:
    key = load_public_pem(block(doc, "example-public-key").encode("ascii"))
    data = hex_block(doc, "example-cose")
    msg = cose.parse_sign1(data)
    assert msg.verify(key)
    assert msg.kid == kid_for(key)
    assert f"kiosk kid: {msg.kid.hex()}" in doc
    assert f"kiosk key fingerprint: {fingerprint(key)}" in doc
    assert hex_block(doc, "example-sig-structure") == cose.sig_structure(msg.protected, msg.payload)
    tampered = bytearray(data)
    tampered[data.index(b"Erika")] ^= 0x20  # "erika"
    assert not cose.parse_sign1(bytes(tampered)).verify(key)


def test_example_goes_through_the_reference_verifier(doc: str) -> None:
    """With its key trusted and no status list, the example fails only for lack of status."""
    key = load_public_pem(block(doc, "example-public-key").encode("ascii"))
    trusted = TrustedKey(
        kid_for(key), key, KeyPurpose.ISSUE, "kiosk-1", EXAMPLE_NOW - 300, EXAMPLE_NOW + 86400
    )
    verifier = Verifier(TrustList(1, "demo-city", EXAMPLE_NOW, (trusted,), ()))
    qr_text = block(doc, "example-qr").strip()
    assert from_qr(qr_text) == hex_block(doc, "example-cose")
    result = verifier.verify_qr(qr_text, EXAMPLE_NOW + 60)
    assert result.verdict is Verdict.STATUS_UNAVAILABLE


def test_annotations_match_the_example_bytes(doc: str) -> None:
    cose_hex = hex_block(doc, "example-cose").hex()
    payload_hex = hex_block(doc, "example-payload").hex()
    assert annotated_hex(doc, "example-annotated-payload") == payload_hex
    # The envelope annotation leaves the payload bytes out (they are annotated separately).
    assert annotated_hex(doc, "example-annotated-envelope") == cose_hex.replace(payload_hex, "", 1)


# -- 3.5: the compact chip credential ------------------------------------------------------

COMPACT_UID = bytes.fromhex("04A1B2C3D4E5F6")


def test_compact_example_is_a_signed_compact_credential_that_fits_its_chip(doc: str) -> None:
    key = load_public_pem(block(doc, "example-compact-public-key").encode("ascii"))
    data = hex_block(doc, "example-compact-cose")
    msg = cose.parse_sign1(data)
    assert msg.verify(key) and msg.kid == kid_for(key) and f"kiosk kid: {msg.kid.hex()}" in doc
    assert msg.payload == hex_block(doc, "example-compact-payload")
    claims = decode_claims(msg.payload)
    assert claims.variant == Variant.COMPACT and claims.chip_uid == COMPACT_UID
    assert (claims.family_name, claims.given_name, claims.birth_days, claims.photo) == (None,) * 4
    assert claims.entitlements == ("library",) and claims.status_uri == "1"
    assert FAMILY_NAME.encode() not in data and GIVEN_NAME.encode() not in data
    ndef = hex_block(doc, "example-compact-ndef")
    assert ndef == ndef_message(data) and credential_from_ndef(ndef) == data
    assert len(ndef) <= COMPACT_NDEF_CAPACITY
    assert annotated_hex(doc, "example-compact-annotated-payload") == msg.payload.hex()
    assert cbor.dumps(cbor.loads_strict(msg.payload)) == msg.payload


def test_compact_example_goes_through_the_reference_verifier(doc: str) -> None:
    """Read from its chip with its key trusted: only the status list is missing; on another
    chip it is a copy."""
    key = load_public_pem(block(doc, "example-compact-public-key").encode("ascii"))
    trusted = TrustedKey(
        kid_for(key), key, KeyPurpose.ISSUE, "kiosk-1", EXAMPLE_NOW - 300, EXAMPLE_NOW + 86400
    )
    uris = ("https://cc.example/status/1",)
    verifier = Verifier(TrustList(1, "demo-city", EXAMPLE_NOW, (trusted,), uris))
    data = hex_block(doc, "example-compact-cose")
    res, _ = verifier.check_chip(data, COMPACT_UID, None, EXAMPLE_NOW + 60)
    assert res.verdict is Verdict.STATUS_UNAVAILABLE
    res, _ = verifier.check_chip(data, b"\x04" * 7, None, EXAMPLE_NOW + 60)
    assert res.verdict is Verdict.CLONE_SUSPECTED
    assert verifier.verify_qr(to_qr(data), EXAMPLE_NOW + 60).verdict is Verdict.MALFORMED


def test_entitlement_number_table_is_the_decoders_table(doc: str) -> None:
    start = doc.index("| number | code | number | code |")
    rows = re.findall(r"\| (\d+) \| `([a-z0-9-]+)` ", doc[start : doc.index("\n\n", start)])
    table = {int(n): code for n, code in rows}
    assert tuple(table[i] for i in range(len(table))) == ENTITLEMENT_CODES
    assert f"entitlement-number = 0..{len(ENTITLEMENT_CODES) - 1} " in doc
