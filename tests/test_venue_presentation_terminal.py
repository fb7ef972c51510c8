"""The reader terminal's `POST /verify` checks a phone wallet's answer against the venue
request it answers, through `cardio.presentation`: VALID with only the venue's view of what
was disclosed, a replay to another request refused with a typed reason, a bad request QR a
400 with a sentence."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder
from cardio.presentation import present_sdjwt, response_qr, split_qr, venue_request
from cardio.terminal_config import TerminalConfig
from cardio.venues import load_venue

from .terminal_fixtures import city_api, live_issuer, provision, wallet_card


def test_post_verify_checks_a_wallet_answer_against_its_request(
    tmp_path: Path, holder: Holder
) -> None:
    issuer = live_issuer(tmp_path / "issuer")
    now = int(time.time())
    sd_jwt, device = wallet_card(issuer, holder, now)
    request = venue_request(load_venue("pool"), now)
    answer = "\n".join(split_qr(response_qr(present_sdjwt(sd_jwt, request, device, now))))
    with city_api(issuer) as api:
        store = provision(tmp_path / "terminal", issuer)
        config = TerminalConfig(trust=store, api=api.url, venue="pool", no_reader=True)
        client: Any = create_terminal_app(Terminal.from_config(config)).test_client()
        assert client.post("/sync").get_json()["ok"] is True

        body = client.post("/verify", json={"qr": answer, "request": request.to_qr()}).get_json()
        assert body["verdict"] == "VALID", body
        assert body["photo_base64"] is not None
        assert body["claims"] == {}  # the pool's profile shows the given name: not asked for
        assert {e["code"]: e["held"] for e in body["entitlements"]}["pool"] is True
        text = str(body)
        assert holder.given_name not in text and holder.family_name not in text

        other = venue_request(load_venue("pool"), now)
        replayed = client.post("/verify", json={"qr": answer, "request": other.to_qr()})
        assert replayed.get_json()["verdict"] == "CLONE_SUSPECTED"

        bad = client.post("/verify", json={"qr": answer, "request": "CCQ1:nope"})
        assert bad.status_code == 400 and bad.get_json()["code"] == "bad_request"
        assert client.post("/verify", json={"qr": answer, "request": 7}).status_code == 400
