"""Our CWTs read by python-cwt, a COSE/CWT implementation we did not write, both ways.

python-cwt verifies every credential variant and the status list token with the issuer's public
keys and reads the same claims our decoder reads; it refuses a forged signature and another
kiosk's key. The other way, a COSE_Sign1 that python-cwt signs over our claims is byte for byte
our envelope and VALID to our verifier; a CWT it encodes its own way gets a typed verdict.

python-cwt pins cbor2 below the 6.x citycard needs, so it runs in its own venv, `.venv-interop`
(the Makefile's set-up makes it), through `tests/interop/cwt_tool.py`.
"""

from __future__ import annotations

import json
import subprocess
import zlib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from api.issuer.service import Issuer
from cardio.credential import ChipBinding, Holder, Variant, sign_credential
from cardio.keys import Signer
from cardio.published import load_verifier
from cardio.verdict import Verdict

from .conftest import NOW, synthetic_photo
from .interop.cwt_tool import plain

ROOT = Path(__file__).resolve().parent.parent
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
TOOL = Path(__file__).resolve().parent / "interop" / "cwt_tool.py"
UID = bytes.fromhex("04A1B2C3D4E5F6")


def _cwt_tool(*args: str | Path) -> str:
    if not INTEROP_PYTHON.exists():
        pytest.fail("python-cwt's venv .venv-interop is missing: run `make deps` (make test does)")
    out = subprocess.run([str(INTEROP_PYTHON), str(TOOL), *map(str, args)], capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    return out.stdout


def _verified(
    tmp: Path,
    signer: Signer,
    objects: dict[str, bytes],
    key: ec.EllipticCurvePublicKey | None = None,
) -> dict[str, dict[str, Any]]:
    """python-cwt's reading of each object, by name, with `signer`'s kid and public key (or
    with `key` under that kid)."""
    pem = tmp / "key.pub.pem"
    pem.write_bytes(
        (key or signer.public_key).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    for name, data in objects.items():
        (tmp / name).write_bytes(data)
    out = _cwt_tool("verify", pem, signer.kid.hex(), *(tmp / n for n in objects))
    return dict(zip(objects, json.loads(out), strict=True))


def _payload(signed: bytes) -> bytes:
    payload: bytes = cbor2.loads(signed).value[2]
    return payload


@pytest.fixture(name="cards")
def fixture_cards(issuer: Issuer) -> dict[str, bytes]:
    """Every credential variant of one fictional resident, as a kiosk signs them."""
    longest = Holder("demo", "Wolfeschlegelsteinhausenbergerdorff-Ñúñez", "Maria-Anna Zoë",
                     date(1990, 1, 1), "X", ("library", "pool"), ("de", "en"),
                     synthetic_photo(3072))  # fmt: skip
    with_uid = issuer.issue(longest, date(2030, 12, 31), ChipBinding(uid=UID), now=NOW)
    chip_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with_key = issuer.issue(longest, date(2030, 12, 31), ChipBinding(key=chip_key), now=NOW)
    assert with_uid.chip_cose is not None and with_key.chip_cose is not None
    compact = replace(with_uid.credential, variant=Variant.COMPACT,
                      binding=ChipBinding(uid=UID, compact=True))  # fmt: skip
    issuer.set_status(with_key.credential.status_index, "revoked")
    issuer.publish(NOW)
    return {
        "print.cose": with_uid.print_cose,
        "chip-uid.cose": with_uid.chip_cose,
        "chip-key.cose": with_key.chip_cose,
        "compact.cose": sign_credential(issuer.keystore.signer("kiosk-1"), compact),
    }


def test_python_cwt_verifies_every_credential_variant_and_reads_our_claims(
    issuer: Issuer, cards: dict[str, bytes], tmp_path: Path
) -> None:
    kiosk = issuer.keystore.signer("kiosk-1")
    read = _verified(tmp_path, kiosk, cards)
    for name, signed in cards.items():
        got = read[name]
        assert got["signed"] and got.get("error") is None, (name, got)
        assert (
            got["protected"] == {"1": -7, "4": {"hex": kiosk.kid.hex()}}
            and got["unprotected"] == {}
        )
        assert got["claims"] == plain(cbor2.loads(_payload(signed))), name
    printed = read["print.cose"]["claims"]
    assert printed["1"] == issuer.config["issuer"] and printed["6"] == NOW
    assert printed["-65537"]["2"] == "Wolfeschlegelsteinhausenbergerdorff-Ñúñez"
    assert read["chip-key.cose"]["claims"]["8"]["1"]["1"] == 2  # cnf: an EC2 COSE_Key
    assert set(read["compact.cose"]["claims"]) == {"1", "4", "6", "7", "-65537"}


def test_python_cwt_refuses_a_forged_signature_and_another_kiosks_key(
    issuer: Issuer, cards: dict[str, bytes], tmp_path: Path
) -> None:
    signed, kiosk = cards["print.cose"], issuer.keystore.signer("kiosk-1")
    forged = signed[:-1] + bytes([signed[-1] ^ 1])
    read = _verified(tmp_path, kiosk, {"forged.cose": forged, "genuine.cose": signed})
    assert read["forged.cose"] == {"signed": False, "claims": None, "error": "VerifyError"}
    assert read["genuine.cose"]["signed"]
    # another key under the kiosk key's kid (so python-cwt picks it), as a forger would name it
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    got = _verified(tmp_path, kiosk, {"genuine.cose": signed}, key=stranger)["genuine.cose"]
    assert got == {"signed": False, "claims": None, "error": "VerifyError"}


def test_python_cwt_reads_our_status_list_token_and_the_revoked_card(
    issuer: Issuer, cards: dict[str, bytes], tmp_path: Path
) -> None:
    token = (issuer.dir / "public" / "status" / "1.cwt").read_bytes()
    status_key = issuer.keystore.signer("status-1")
    got = _verified(tmp_path, status_key, {"1.cwt": token})["1.cwt"]
    assert got["protected"]["16"] == "application/statuslist+cwt", got
    claims = got["claims"]
    assert claims["2"] == issuer.status_uri("1") and claims["6"] == NOW
    assert claims["65533"]["bits"] == 2
    statuses = zlib.decompress(bytes.fromhex(claims["65533"]["lst"]["hex"]))
    revoked = cbor2.loads(_payload(cards["chip-key.cose"]))[65535]["status_list"]["idx"]
    valid = cbor2.loads(_payload(cards["print.cose"]))[65535]["status_list"]["idx"]
    two_bits = lambda i: (statuses[i // 4] >> (2 * (i % 4))) & 0b11  # noqa: E731
    assert (two_bits(revoked), two_bits(valid)) == (1, 0)


def test_python_cwt_checks_the_trust_lists_signature_and_it_is_no_cwt_claims_set(
    issuer: Issuer, tmp_path: Path
) -> None:
    """The trust list is a COSE_Sign1 over citycard's own map (docs/credential.md 2), whose
    labels 1-5 are not RFC 8392's claims: python-cwt checks its signature and refuses to read
    it as a claims set, as it should."""
    trust = (issuer.dir / "public" / "trust-list.cose").read_bytes()
    got = _verified(tmp_path, issuer.keystore.signer("root"), {"trust-list.cose": trust})
    assert got["trust-list.cose"]["signed"] and got["trust-list.cose"]["claims"] is None


def test_a_cose_sign1_python_cwt_signs_over_our_claims_is_our_envelope_and_valid(
    issuer: Issuer, cards: dict[str, bytes], tmp_path: Path
) -> None:
    key_pem, kid = issuer.dir / "keys" / "kiosk-1.pem", issuer.keystore.signer("kiosk-1").kid
    verifier, problems = load_verifier(issuer.dir)
    assert problems == []
    for name, variant in (("print.cose", Variant.PRINT), ("chip-uid.cose", Variant.CHIP)):
        ours = cards[name]
        (tmp_path / "payload").write_bytes(_payload(ours))
        _cwt_tool("sign", key_pem, kid.hex(), tmp_path / "payload", tmp_path / "theirs.cose")
        theirs = (tmp_path / "theirs.cose").read_bytes()
        assert theirs[:-64] == ours[:-64] and theirs != ours  # ECDSA signatures differ
        assert verifier.verify(theirs, NOW + 60, variant=variant).verdict is Verdict.VALID, name
        forged = theirs[:-1] + bytes([theirs[-1] ^ 1])
        assert verifier.verify(forged, NOW + 60, variant=variant).verdict is Verdict.BAD_SIGNATURE


def test_a_cwt_python_cwt_encodes_its_own_way_gets_a_typed_verdict(
    issuer: Issuer, cards: dict[str, bytes], tmp_path: Path
) -> None:
    """python-cwt's `encode` puts the kid in the unprotected header, where anyone could swap
    it, and encodes the claims its own way: citycard refuses that envelope as MALFORMED
    (docs/credential.md 1.4), never an exception."""
    key_pem, kid = issuer.dir / "keys" / "kiosk-1.pem", issuer.keystore.signer("kiosk-1").kid
    (tmp_path / "claims.cbor").write_bytes(_payload(cards["print.cose"]))
    _cwt_tool("encode", key_pem, kid.hex(), tmp_path / "claims.cbor", tmp_path / "theirs.cose")
    theirs = (tmp_path / "theirs.cose").read_bytes()
    assert cbor2.loads(theirs).value[1] == {4: kid}
    verifier, _ = load_verifier(issuer.dir)
    assert verifier.verify(theirs, NOW + 60).verdict is Verdict.MALFORMED
