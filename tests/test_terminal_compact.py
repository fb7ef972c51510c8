"""The staff screen and POST /verify with a compact chip credential (a 256-byte chip holds no
name or photo): the verdict, and a line sending staff to the name and photo printed on the card."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from api.issuer.service import Issuer
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.chip import CardProfile, bind, personalise
from cardio.credential import Holder
from cardio.terminal_config import TerminalConfig
from cardio.type4 import ndef_message
from cardio.verify import COMPARE_PRINTED_CARD
from hardware.local import LocalConnection
from hardware.local_issuer import IssuerAllocator
from hardware.virtual_t4t import VirtualType4Card

from .conftest import synthetic_photo
from .terminal_fixtures import city_api, live_issuer, provision

NOTE = "Compare the name and photo printed on the card with the holder"


@pytest.fixture
def live(tmp_path: Path) -> Issuer:
    return live_issuer(tmp_path / "issuer")


@pytest.fixture
def api(live: Issuer) -> Iterator[Any]:
    with city_api(live) as server:
        yield server


def _compact_card(issuer: Issuer, holder: Holder) -> tuple[VirtualType4Card, bytes]:
    """A compact card as a kiosk makes it (KioskKeySigner), published after."""
    card = VirtualType4Card(profile="compact")
    local = IssuerAllocator.ensure_kiosk(issuer, "kiosk-1")
    now = int(time.time()) - 60
    with LocalConnection(card) as conn:
        signed = local.kiosk_signer().sign(
            local.allocate("terminal-compact-1"),
            replace(holder, photo=synthetic_photo(3072)),
            bind(conn, CardProfile.COMPACT),
            now,
            now + 86400 * 365,
        )
        assert signed.chip_cose is not None
        personalise(conn, signed.chip_cose)
    card.power_off()
    issuer.publish()
    return card, signed.chip_cose


def test_a_compact_card_on_the_staff_screen(
    tmp_path: Path, live: Issuer, api: Any, holder: Holder
) -> None:
    card, cose = _compact_card(live, holder)
    config = TerminalConfig(
        trust=provision(tmp_path / "terminal", live), api=api.url, venue="pool", no_reader=True
    )
    terminal = Terminal.from_config(config)
    client = create_terminal_app(terminal).test_client()
    assert client.post("/sync").get_json()["ok"]

    with LocalConnection(card) as conn:  # a tap on the reader
        terminal.on_card(conn)
    page = client.get("/").get_data(as_text=True)
    assert 'data-verdict="VALID"' in page and 'id="compare-printed"' in page and NOTE in page
    assert COMPARE_PRINTED_CARD not in page  # said once, as the line above the holder
    assert holder.family_name not in page and "Read from the chip" in page

    body = client.post("/verify", data=ndef_message(cose), content_type="application/cbor")
    got = body.get_json()
    assert got["verdict"] == "VALID" and COMPARE_PRINTED_CARD in got["warnings"]
    assert got["photo_base64"] is None and "family_name" not in (got["claims"] or {})
