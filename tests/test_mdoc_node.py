"""Our mdoc presentations verified by `@auth0/mdl` under Node: issuer signature up to the
IACA, element digests, and the device signature over our QR flow's SessionTranscript.

Needs `npm install --prefix tests/node` (the Makefile's test set-up runs it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from cardio import mdoc
from cardio.keys import SoftwareSigner
from cardio.presentation import VenueRequest, present_mdoc
from cardio.x509_iaca import to_pem

from .test_mdoc import Pki, _credential

NODE_DIR = Path(__file__).resolve().parent / "node"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@auth0" / "mdl").is_dir(),
    reason="@auth0/mdl is not installed: run `npm install --prefix tests/node`",
)


def _node_verify(tmp: Path, response: bytes, pki: Pki, request: VenueRequest) -> dict[str, Any]:
    (tmp / "response.cbor").write_bytes(response)
    (tmp / "iaca.pem").write_bytes(to_pem([pki.iaca]))
    # @auth0/mdl takes SessionTranscriptBytes: #6.24(bstr .cbor SessionTranscript)
    transcript = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(request.transcript(), canonical=True)))
    out = subprocess.run(
        ["node", "verify_mdoc.mjs", str(tmp / "response.cbor"), str(tmp / "iaca.pem"),
         transcript.hex()],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _issued(pki: Pki, device: SoftwareSigner) -> bytes:
    chain = [pki.ds.public_bytes(Encoding.DER)]
    return mdoc.issue_mdoc(pki.kiosk, _credential(pki.now), device.public_key, x5chain=chain)


def test_auth0_mdl_verifies_our_device_response(tmp_path: Path) -> None:
    pki, device = Pki(), SoftwareSigner.generate()
    request = VenueRequest.new("event", ("age_over_18", "photo"), pki.now)
    result = _node_verify(tmp_path, present_mdoc(_issued(pki, device), request, device), pki, request)
    assert result["ok"] is True, result
    assert set(result["elements"]) == {"age_over_18", "photo"}
    assert result["elements"]["age_over_18"] is True


def test_auth0_mdl_refuses_a_replay_and_a_tampered_element(tmp_path: Path) -> None:
    pki, device = Pki(), SoftwareSigner.generate()
    request = VenueRequest.new("pool", ("photo", "entitlement:pool"), pki.now)
    answer = present_mdoc(_issued(pki, device), request, device)
    later = VenueRequest.new("pool", request.items, pki.now + 5)
    replay = _node_verify(tmp_path, answer, pki, later)
    assert replay["ok"] is False and "Device signature must be valid" in replay["failed"]
    obj = cbor2.loads(answer)
    items = obj["documents"][0]["issuerSigned"]["nameSpaces"][mdoc.NAMESPACE]
    element = cbor2.loads(items[0].value)
    element["elementValue"] = b"another face" if element["elementIdentifier"] == "photo" else False
    items[0] = cbor2.CBORTag(24, cbor2.dumps(element))
    tampered = _node_verify(tmp_path, cbor2.dumps(obj), pki, request)
    assert tampered["ok"] is False, tampered
