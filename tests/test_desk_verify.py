"""The desk and the lost-card page against the real issuer and the real reader: each change
reaches `citycard-reader verify` through the published status list, and afterwards the
registry, its audit log, the issuer's files and the log hold no name, birth date or photo."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.terminal import cli as reader_cli
from cardio.credential import Holder, to_qr
from kiosk.photo import CHIP_SIZE, prepare_photo
from tests.api_fixtures import Api, fixture_api, fixture_database_url  # noqa: F401
from tests.desk_helpers import desk_post, issued_card, login_with_token, post_form, text_of
from tests.test_zero_retention import Resident, files_under, scan

# An obviously fictional resident.
RESIDENT = Resident("Quellbrunn-Ablewhite", "Ottilie", date(1987, 3, 14), 21)


def verdict(public: Path, qr: str) -> str:
    result = CliRunner().invoke(reader_cli.main, ["verify", "--trust", str(public), "--qr", qr, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return str(json.loads(result.stdout)["verdict"])


@pytest.fixture(name="card")
def fixture_card(api: Api) -> tuple[str, str]:
    """A card with the fictional resident's name, birth date and photo: (number, QR text)."""
    photo = prepare_photo(RESIDENT.upload, 3072, size=CHIP_SIZE).jpeg
    holder = Holder(
        program="demo",
        family_name=RESIDENT.family,
        given_name=RESIDENT.given,
        birth_date=RESIDENT.birth,
        sex="X",
        photo=photo,
    )
    issued = api.issuer.issue(holder)
    api.issuer.publish()
    number = str(issued.credential.document_number)
    return number, to_qr(issued.print_cose)


def test_desk_changes_reach_the_reader_and_nothing_personal_stays(
    api: Api, card: tuple[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    number, qr = card
    public = api.dir / "public"
    assert verdict(public, qr) == "VALID"
    login_with_token(api)
    assert desk_post(api.client, f"/desk/cards/{number}/suspend").status_code == 303
    assert verdict(public, qr) == "SUSPENDED"
    assert desk_post(api.client, f"/desk/cards/{number}/reinstate").status_code == 303
    assert verdict(public, qr) == "VALID"
    # A new receipt code at the desk, used on the holder's lost-card page.
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    res = api.client.get(res.headers["Location"])  # the code, shown once
    code = text_of(res).split('id="new-code">', 1)[1].split("<", 1)[0]
    res = post_form(api.client, "/lost", "/lost", {"doc": number, "code": code, "action": "suspend"})
    assert res.status_code == 303
    assert verdict(public, qr) == "SUSPENDED"
    res = desk_post(api.client, f"/desk/cards/{number}/revoke", {"confirm": "yes"})
    assert res.status_code == 303
    assert verdict(public, qr) == "REVOKED"
    api.client.get(f"/desk/card?number={number}")
    api.client.get("/desk/audit")

    # The zero-retention scan: the registry (every table, the audit log among them), every
    # file of the issuer, and what was logged.
    dump = tmp_path / "registry-dump.json"
    dump.write_text(json.dumps(api.issuer.registry.dump(), ensure_ascii=False), "utf-8")
    log = tmp_path / "log.txt"
    log.write_text(caplog.text, "utf-8")
    assert any(e["action"] == "desk-new-code" for e in api.issuer.registry.dump()["audit_events"])
    paths = [dump, log, *files_under(api.dir)]
    assert scan(paths, [RESIDENT]) == []
    # The scan finds what it looks for.
    witness = tmp_path / "witness.txt"
    witness.write_text(f"{RESIDENT.given} {RESIDENT.birth.isoformat()}", "utf-8")
    assert len(scan([witness], [RESIDENT])) == 2


def test_a_kiosk_card_revoked_on_the_lost_page_is_revoked_in_its_status_list(api: Api) -> None:
    number, code = issued_card(api)
    info = api.issuer.card(number)
    res = post_form(api.client, "/lost", f"/lost?doc={number}", {"doc": number, "code": code, "action": "revoke"})
    assert res.status_code == 303
    assert api.issuer.status_list(info.status_list).get(info.status_index) == 1  # INVALID
