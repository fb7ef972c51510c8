"""The demo's wallet files end to end: `citycard-kiosk demo` writes them, `citycard-reader
verify` accepts them and the holder's presentations, and code we did not write reads them
against the published jwks.json and iaca.pem."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cbor2
import pytest
from click.testing import CliRunner
from pymdoccbor.mdoc.verifier import MdocCbor

from api.terminal.cli import main as reader
from cardio import jws, sdjwt
from cardio.jwk import signer_from_jwk
from cardio.keys import load_public_pem
from cardio.mdoc import DOCTYPE
from cardio.presentation import VenueRequest, present_mdoc, present_sdjwt, response_qr
from cardio.x509_iaca import check_document_signer, load_pem
from kiosk.cli import main as kiosk
from tests.pcsc_fixtures import requires_pcscd

pytestmark = [pytest.mark.vpcd, requires_pcscd, pytest.mark.timeout(300)]



@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory, pcscd_service: object) -> Path:
    # In this process: the session's pcscd holds the vpcd slots' machine lock, which a
    # subprocess would wait for in vain; the lock is reentrant within the process.
    base = tmp_path_factory.mktemp("wallet-demo")
    out = base / "out"
    run = CliRunner().invoke(
        kiosk, ["demo", "--program", "zurich", "--data", str(base / "data"), "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    return out


def _verify(out: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(reader, ["verify", "--trust", str(out / "trust"), "--json", *args])
    return result.exit_code, json.loads(result.output)


def test_demo_writes_the_wallet_files(demo_out: Path) -> None:
    wallet = demo_out / "wallet"
    assert sorted(p.name for p in wallet.iterdir()) == ["card.mdoc", "card.sd-jwt", "holder-key.jwk"]
    assert (wallet / "holder-key.jwk").stat().st_mode & 0o077 == 0
    text = (wallet / "card.sd-jwt").read_text("ascii")
    assert text.endswith("~") and len(sdjwt.SdJwt.parse(text).disclosures) >= 11
    issued = cbor2.loads((wallet / "card.mdoc").read_bytes())
    assert set(issued) == {"nameSpaces", "issuerAuth"}


@pytest.mark.parametrize("name", ["card.sd-jwt", "card.mdoc"])
def test_reader_verifies_the_issued_wallet_files(demo_out: Path, name: str) -> None:
    code, res = _verify(demo_out, str(demo_out / "wallet" / name))
    assert code == 0 and res["verdict"] == "VALID", res
    claims = res["claims"]
    assert isinstance(claims, dict) and claims["family_name"] and claims["photo_base64"]


@pytest.mark.parametrize("fmt", ["sd-jwt", "mdoc"])
def test_reader_verifies_a_pool_presentation_and_refuses_its_replay(
    demo_out: Path, fmt: str, tmp_path: Path
) -> None:
    wallet = demo_out / "wallet"
    device = signer_from_jwk(json.loads((wallet / "holder-key.jwk").read_text("ascii")))
    request = VenueRequest.new("pool", ("photo", "entitlement:pool"))
    answer: str | bytes
    if fmt == "sd-jwt":
        answer = present_sdjwt((wallet / "card.sd-jwt").read_text("ascii"), request, device)
    else:
        answer = present_mdoc((wallet / "card.mdoc").read_bytes(), request, device)
    path = tmp_path / "answer"
    path.write_bytes(answer.encode("ascii") if isinstance(answer, str) else answer)
    code, res = _verify(demo_out, str(path), "--request", request.to_qr())
    assert code == 0 and res["verdict"] == "VALID", res
    assert isinstance(res["claims"], dict)
    assert set(res["claims"]) == {"format", "issued", "expires", "photo_base64", "entitlements"}
    assert res["claims"]["entitlements"] == ["pool"]
    code, res = _verify(demo_out, "--qr", response_qr(answer, request), "--request", request.to_qr())
    assert code == 0 and res["verdict"] == "VALID", res
    later = VenueRequest.new("pool", request.items, time.time())
    code, res = _verify(demo_out, "--qr", response_qr(answer, request), "--request", later.to_qr())
    assert code == 1 and res["verdict"] == "CLONE_SUSPECTED" and res["reason"] == "wrong_nonce"
    assert res["claims"] is None


def test_trust_directory_jwks_and_iaca(demo_out: Path) -> None:
    trust = demo_out / "trust"
    jwks = json.loads((trust / "jwks.json").read_text("utf-8"))
    header = jws.parse(sdjwt.SdJwt.parse((demo_out / "wallet" / "card.sd-jwt").read_text()).jwt).header
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in jwks["keys"])
    iaca, *signers = load_pem((trust / "iaca.pem").read_bytes())
    root = load_public_pem((trust / "root-key.pem").read_bytes())
    for cert in signers:
        check_document_signer(cert, iaca, root)
    # pymdoccbor checks the card's mdoc against the published IACA, through its x5chain
    issued = cbor2.loads((demo_out / "wallet" / "card.mdoc").read_bytes())
    doc = MdocCbor()
    doc.loads(cbor2.dumps({"version": "1.0", "status": 0,
                           "documents": [{"docType": DOCTYPE, "issuerSigned": issued}]}))  # fmt: skip
    assert doc.verify(trusted_root_certs=[iaca]) is True
