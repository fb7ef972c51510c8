"""`POST /verify` with bytes reads them as `citycard-reader verify FILE` reads a file
(docs/reader-terminal.md), and refuses an oversized body with the documented `too_large`.

Exploratory testing found the demo's wallet/card.mdoc and qr.txt VALID from the command line
but MALFORMED from POST /verify (application/cbor, application/octet-stream), and a 200 KB body
answered 413 `request_entity_too_large` with werkzeug's words.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from api.terminal import cli as reader_cli
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio import cose
from cardio.credential import ChipBinding, Credential, Holder, to_qr
from cardio.keys import SoftwareSigner
from cardio.mdoc import issue_mdoc
from cardio.sdjwt_vc import issue_vc
from cardio.terminal_config import TerminalConfig
from cardio.type4 import ndef_message

from .conftest import synthetic_photo
from .terminal_fixtures import live_issuer

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An issuer, its published files as a reader's trust directory, and the demo's files."""
    base = tmp_path_factory.mktemp("city")
    issuer = live_issuer(base / "issuer")
    now = int(time.time())
    holder = Holder("demo", "Fiktiv-Beispielperson", "Quilla", date(1984, 2, 29), "X", ("library",), ("en",))
    chip = ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6"))
    issued = issuer.issue(replace(holder, photo=synthetic_photo()), None, chip, now=now - 60)
    issuer.publish()
    assert issued.chip_cose is not None
    card = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
    kiosk = issuer.keystore.signer("kiosk-1")
    device = SoftwareSigner.generate()
    qr = to_qr(issued.print_cose)
    files = {
        "qr.txt": qr.encode("ascii"),
        "qr-lf.txt": (qr + "\n").encode("ascii"),
        "qr-bom.txt": BOM + (qr + "\r\n").encode("ascii"),
        "card.sd-jwt": issue_vc(kiosk, card, device.public_key).compact().encode("ascii"),
        "card.mdoc": issue_mdoc(kiosk, card, device.public_key),
        "chip.ndef": ndef_message(issued.chip_cose),
        "print.cose": issued.print_cose,
    }
    return {"issuer": issuer, "files": files, "base": base}


def _client(city: dict[str, Any], venue: str = "library") -> Any:
    terminal = Terminal.from_config(TerminalConfig(trust=city["issuer"].dir, venue=venue, no_reader=True))
    return create_terminal_app(terminal).test_client()


@pytest.mark.parametrize("name", ["qr.txt", "qr-lf.txt", "qr-bom.txt", "card.sd-jwt", "card.mdoc", "chip.ndef", "print.cose"])
@pytest.mark.parametrize("media", ["application/cbor", "application/octet-stream"])
def test_bytes_get_the_verdict_the_command_line_gives_the_file(city: dict[str, Any], name: str, media: str) -> None:
    data = city["files"][name]
    path = city["base"] / name
    path.write_bytes(data)
    cli = CliRunner().invoke(reader_cli.main, ["verify", "--trust", str(city["issuer"].dir), "--json", str(path)])
    by_cli = json.loads(cli.stdout)
    answer = _client(city).post("/verify", data=data, content_type=media)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    by_api = answer.get_json()
    assert by_cli["verdict"] == by_api["verdict"] == "VALID", (name, by_cli["verdict"], by_api["verdict"])
    assert by_api["warnings"] == by_cli["warnings"]


def test_qr_text_as_bytes_keeps_the_rule_for_whitespace(city: dict[str, Any]) -> None:
    qr = city["files"]["qr.txt"]
    client = _client(city)
    for data in (qr + b"\n\n", b" " + qr, qr[:-3]):
        body = client.post("/verify", data=data, content_type="application/octet-stream").get_json()
        assert body["verdict"] == "MALFORMED", data[-4:]


def test_an_oversized_request_is_too_large_with_a_sentence(city: dict[str, Any]) -> None:
    client = _client(city)
    for body, media in ((b"\x00" * 200_000, "application/cbor"), (json.dumps({"qr": "A" * 200_000}).encode(), "application/json")):
        answer = client.post("/verify", data=body, content_type=media)
        assert answer.status_code == 413
        error = answer.get_json()
        assert error["code"] == "too_large"
        assert error["message"].startswith("The request is larger than the terminal takes (")
        assert error["message"].endswith("; send one credential or the text of one QR code.")
    # below the request limit but above a credential's: the route's own sentence
    answer = client.post("/verify", data=b"\x00" * 70_000, content_type="application/cbor")
    assert answer.status_code == 413 and answer.get_json()["code"] == "too_large"
