"""docs/credential.md: its worked example must be a real credential the reference code accepts.

The example blocks are found between HTML comments such as `<!-- example-cose -->` and
`<!-- /example-cose -->`. If the example is regenerated with
docs/examples/make_credential_example.py, every marked block must be replaced from the same run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cardio import cbor, cose
from cardio.credential import Credential, Variant, from_qr
from cardio.keys import fingerprint, kid_for, load_public_pem
from cardio.trustlist import KeyPurpose, TrustedKey, TrustList
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
