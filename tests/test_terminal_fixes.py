"""The reader terminal's fixes after exploratory testing (/tmp/explore-reader/REPORT.md): the
age-restricted venue's verdict, venue entitlements that programmes issue, every text staff see
in the screen's language, a no-JavaScript screen that keeps a scanner's input, the lists' line
of a terminal without a city API, `verify FILE --request`, the remote screen's forms and the
local-only check on every path. Residents here are fictional.
"""

from __future__ import annotations

import html
import json
import time
import tomllib
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask, g

from api.issuer.service import Issuer
from api.terminal import cli as reader_cli
from api.terminal.reader_loop import ReaderLoop
from api.terminal.reader_text import CARD_NOT_READ, NO_TRUST_LIST
from api.terminal.screen_state import STARTING
from api.terminal.screen_text import sentence
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder, to_qr
from cardio.errors import CitycardError, NoCardError
from cardio.presentation import present_sdjwt, request_items, response_qr, venue_request
from cardio.published import STATUS_DIR
from cardio.terminal_config import TerminalConfig
from cardio.venues import (
    PROGRAMS_DIR,
    REFUSALS,
    VENUES_DIR,
    VenueError,
    VenueProfile,
    load_venue,
)

from .terminal_fixtures import live_issuer, provision, wallet_card

NOON = datetime(2026, 12, 7, 12, 0).timestamp()
MINOR = "2009-06-01"  # 17 on 2026-12-07


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    issuer = live_issuer(tmp_path_factory.mktemp("fixes") / "issuer")
    issuer.publish()
    return issuer


def _holder(born: str) -> Holder:
    return Holder(
        program="zurich",
        family_name="Testperson",
        given_name="Fictia",
        birth_date=date.fromisoformat(born),
        sex="X",
        entitlements=("culture-discount", "sport-discount"),
        languages=("de",),
    )


def _terminal(issuer: Issuer, venue: str = "event", **kw: Any) -> Terminal:
    return Terminal.from_config(
        TerminalConfig(trust=issuer.dir, venue=venue, no_reader=True, **kw)
    )


def _qr(issuer: Issuer, born: str) -> str:
    issued = issuer.issue(_holder(born), now=int(time.time()) - 60)
    issuer.publish()
    return to_qr(issued.print_cose)


# -- 1. the age-restricted venue -------------------------------------------------------------


def test_event_profile_shows_whether_the_holder_is_over_18_never_the_birth_date() -> None:
    event = load_venue("event")
    assert event.require == ("age_over_18",)
    minor = event.present({"birth_date": MINOR, "photo_base64": "/9j/4AAQ"}, NOON)
    assert minor is not None
    assert minor["fields"] == [{"key": "age_over_18", "label": "Over 18", "value": False}]
    assert MINOR not in json.dumps(minor)
    adult = event.present({"birth_date": "2008-12-07"}, NOON)  # 18 today
    assert adult is not None and adult["fields"][0]["value"] is True
    # a wallet answer: a disclosed "yes" (it can only stay true); a disclosed "no" was worked
    # out on the wallet card's issue day and may be years stale: cannot be known, as a compact
    # chip
    wallet = event.present({"age_over_18": False, "photo_base64": "/9j/4AAQ"}, NOON)
    assert wallet is not None and wallet["fields"][0]["value"] is None
    over = event.present({"age_over_18": True}, NOON)
    assert over is not None and over["fields"][0]["value"] is True
    stale = event.refusal({"age_over_18": False}, NOON)
    assert stale is not None and stale[0] == "AGE_UNKNOWN"
    assert event.refusal({"birth_date": "not a date", "age_over_18": False}, NOON) is not None
    compact = event.present({"document_number": "X1", "compare_printed_card": True}, NOON)
    assert compact is not None and compact["fields"][0]["value"] is None
    assert event.refusal({"birth_date": MINOR}, NOON) is not None
    assert event.refusal({"age_over_18": True}, NOON) is None
    unknown = event.refusal({"document_number": "X1"}, NOON)
    assert unknown is not None and unknown[0] == "AGE_UNKNOWN"
    with pytest.raises(VenueError, match="require"):
        VenueProfile.from_dict({"name": "x", "require": ["birth_date"]})
    with pytest.raises(VenueError, match="require"):  # a nested list: a sentence, no TypeError
        VenueProfile.from_dict({"name": "x", "require": [["age_over_18"]]})


def test_event_terminal_refuses_a_minor_on_every_path(city: Issuer) -> None:
    terminal = _terminal(city)
    client = create_terminal_app(terminal).test_client()
    body = client.post("/verify", json={"qr": _qr(city, MINOR)}).get_json()
    assert body["verdict"] == "UNDER_AGE" and body["valid"] is False
    assert body["claims"] == {"age_over_18": False}
    assert MINOR not in json.dumps(body)
    page = html.unescape(client.get("/?lang=de").get_data(as_text=True))
    assert 'data-verdict="UNDER_AGE"' in page
    english = REFUSALS["UNDER_AGE"] % {"age": 18}
    assert english not in page and "Über 18" in page
    body = client.post("/verify", json={"qr": _qr(city, "1990-01-01")}).get_json()
    assert body["verdict"] == "VALID" and body["claims"] == {"age_over_18": True}


def _wallet_answer_verified(city: Issuer, tmp_path: Path, holder: Holder, venue: str) -> Any:
    """POST /verify's answer for `holder`'s wallet card answering `venue`'s own request."""
    now = int(time.time())
    sd_jwt, device = wallet_card(city, holder, now)
    store = provision(tmp_path / "terminal", city)
    for name in ("trust-list.cose", f"{STATUS_DIR}/1.cwt"):
        (store / name).parent.mkdir(parents=True, exist_ok=True)
        (store / name).write_bytes((city.dir / "public" / name).read_bytes())
    terminal = Terminal.from_config(TerminalConfig(trust=store, venue=venue, no_reader=True))
    request = venue_request(terminal.venue, now)
    answer = response_qr(present_sdjwt(sd_jwt, request, device, now))
    client = create_terminal_app(terminal).test_client()
    return client.post("/verify", json={"qr": answer, "request": request.to_qr()}).get_json()


def test_event_terminal_reads_the_wallets_disclosed_age(city: Issuer, tmp_path: Path) -> None:
    body = _wallet_answer_verified(city, tmp_path, _holder(MINOR), "event")
    # the wallet card was issued at 17: its "no" may no longer hold, so never TOO YOUNG
    assert body["verdict"] == "AGE_UNKNOWN" and body["claims"] == {"age_over_18": None}


# -- 3. venue entitlements are codes programmes issue ----------------------------------------


def test_every_shipped_venue_entitlement_is_issued_by_some_programme() -> None:
    issued: set[str] = set()
    for path in PROGRAMS_DIR.glob("*.toml"):
        issued |= set(tomllib.loads(path.read_text("utf-8")).get("entitlements", {}))
    for path in sorted(VENUES_DIR.glob("*.toml")):
        for entitlement in load_venue(path).entitlements:
            for code in entitlement.codes:
                assert code in issued, f"{path.name}: no programme issues {code!r}"


def test_a_venue_entitlement_may_name_several_programme_codes() -> None:
    museum = load_venue("museum")
    pres = museum.present({"entitlements": ["culture-discount"]}, NOON)
    assert pres is not None
    assert [e["held"] for e in pres["entitlements"]] == [False, True]
    pool = load_venue("pool").present({"entitlements": ["sport-discount", "pool"]}, NOON)
    assert pool is not None and all(e["held"] for e in pool["entitlements"])
    # a wallet is asked for every code of each line: the one the card carries is among them
    assert request_items(load_venue("library"))[-5:] == (
        "entitlement:library",
        "entitlement:culture-discount",
        "entitlement:culture-free",
        "entitlement:culture",
        "entitlement:culture-offers",
    )


def test_a_wallet_holder_is_asked_for_a_lines_later_code(city: Issuer, tmp_path: Path) -> None:
    holder = replace(_holder("1990-01-01"), entitlements=("culture-free",))
    body = _wallet_answer_verified(city, tmp_path, holder, "museum")
    assert body["verdict"] == "VALID", body
    # culture-free is the "Free museum entry" line's second code: held, not "not shared"
    assert [e["held"] for e in body["entitlements"]] == [True, False], body
    # "did not share" names the line it held nothing of once, not each of its codes
    assert body["warnings"] == ["The holder did not share: entitlement:culture-discount."]
    museum = load_venue("museum")
    missing = ("given_name", "entitlement:museum", "entitlement:culture-discount",
               "entitlement:culture", "entitlement:culture-offers")  # fmt: skip
    assert museum.not_shared(missing, ["culture-free"]) == (
        "given_name", "entitlement:culture-discount",
    )  # fmt: skip
    assert museum.not_shared(missing, None) == missing[:3]


# -- 6. the terminal's own sentences in the screen's language --------------------------------


class _OddCard:
    description = "a card that fails oddly"

    def __init__(self) -> None:
        self.given = False

    def wait_card(self, timeout: float) -> Any:
        if self.given:
            time.sleep(min(timeout, 0.01))
            raise NoCardError("none")
        self.given = True
        return _Conn()

    def wait_removed(self, conn: Any, timeout: float) -> bool:
        return True


class _Conn:
    def __enter__(self) -> _Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_no_trust_list_starting_and_odd_card_errors_are_translated() -> None:
    app = Flask("x")
    with app.test_request_context():
        g.terminal_language = "de"
        for text in (NO_TRUST_LIST, STARTING, CARD_NOT_READ):
            assert sentence(text) != text, text
    problems: list[str] = []

    def odd(conn: Any) -> None:
        raise CitycardError("APDU 6A82 at offset 0x40 (driver detail)")

    loop = ReaderLoop(_OddCard(), odd, lambda s, ok: None, problems.append, retry=0.01)
    loop._once()
    assert problems == [CARD_NOT_READ]


def test_a_tap_without_a_trust_list_says_so_in_the_screens_language(tmp_path: Path) -> None:
    store = tmp_path / "empty"
    store.mkdir()
    issuer_dir = tmp_path / "issuer"
    issuer = live_issuer(issuer_dir)
    provision(store, issuer)
    terminal = Terminal.from_config(TerminalConfig(trust=store, venue="pool", no_reader=True))
    with pytest.raises(CitycardError) as err:
        terminal.verify_qr("CC1:x")
    assert str(err.value) == NO_TRUST_LIST


# -- 5. a failed scan on the staff screen -----------------------------------------------------


def test_a_failed_scan_from_the_form_says_try_again_on_the_screen(
    city: Issuer, tmp_path: Path
) -> None:
    # not ready (no trust list): TRY AGAIN on the screen, in its language
    store = provision(tmp_path / "bare", city)
    bare = Terminal.from_config(TerminalConfig(trust=store, venue="pool", no_reader=True))
    bare_client = create_terminal_app(bare).test_client()
    form = bare_client.post("/scan", data={"qr": "CC1:x"}, headers={"Accept": "text/html"})
    assert form.status_code == 303 and form.headers["Location"].endswith("/")
    shown = bare.board.snapshot().view
    assert shown is not None and shown.verdict == "NOT_READ" and shown.message == NO_TRUST_LIST
    page = html.unescape(bare_client.get("/?lang=de").get_data(as_text=True))
    assert "NOCHMALS VERSUCHEN" in page
    script = bare_client.post("/scan", data={"qr": "CC1:x"}, headers={"Accept": "application/json"})
    assert script.status_code == 503 and script.get_json()["code"] == "not_ready"


def test_a_blank_scan_leaves_the_verdict_on_the_screen(city: Issuer) -> None:
    # a stray Enter, or a scanner's second line ending, while the holder is still at the door
    terminal = _terminal(city, "pool")
    client = create_terminal_app(terminal).test_client()
    client.post("/scan", data={"qr": _qr(city, "1990-01-01")}, headers={"Accept": "text/html"})
    valid = terminal.board.snapshot().view
    assert valid is not None and valid.verdict == "VALID"
    for blank in ("", "  ", "\r\n"):
        form = client.post("/scan", data={"qr": blank}, headers={"Accept": "text/html"})
        assert form.status_code == 303 and form.headers["Location"].endswith("/")
        assert terminal.board.snapshot().view is valid
    script = client.post("/scan", data={"qr": " "}, headers={"Accept": "application/json"})
    assert script.status_code == 400 and "into the box" in script.get_json()["message"]
    assert terminal.board.snapshot().view is valid
    # the screen does not post an empty box at all
    screen = (Path(create_terminal_app.__code__.co_filename).parent / "static" / "terminal" / "screen.js")
    assert "if (!text.trim()) return;" in screen.read_text("utf-8")


# -- 2. the no-JavaScript screen keeps a scanner's input --------------------------------------


def test_the_page_with_the_scanner_box_never_reloads_itself(city: Issuer) -> None:
    client = create_terminal_app(_terminal(city, "pool")).test_client()
    page = client.get("/").get_data(as_text=True)
    assert 'id="scan-input"' in page and "http-equiv" not in page
    assert 'src="/panel' in page
    panel = client.get("/panel?lang=de")
    assert panel.status_code == 200 and 'http-equiv="refresh"' in panel.get_data(as_text=True)
    assert 'id="scan-input"' not in panel.get_data(as_text=True)
    assert "frame-ancestors 'self'" in panel.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/").headers["Content-Security-Policy"]


# -- 7. a terminal without a city API ---------------------------------------------------------


def test_a_terminal_without_api_says_its_lists_are_never_refreshed(city: Issuer) -> None:
    page = create_terminal_app(_terminal(city, "pool")).test_client().get("/?lang=fr")
    text = page.get_data(as_text=True)
    assert 'id="lists-problem"' in text and 'data-problem="no-api"' in text
    assert 'action="/sync"' not in text


# -- 8. verify FILE --request ------------------------------------------------------------------


def test_verify_file_refuses_a_bad_request_as_qr_does(city: Issuer, tmp_path: Path) -> None:
    path = tmp_path / "qr.txt"
    path.write_text(_qr(city, "1990-01-01"), "ascii")
    args = ["verify", "--trust", str(city.dir), str(path), "--request", "garbage"]
    result = CliRunner().invoke(reader_cli.main, args)
    assert result.exit_code == 2 and "CCQ1" in result.output


# -- 4. the remote staff screen's forms ---------------------------------------------------------


def test_the_screen_lets_its_forms_carry_their_origin(city: Issuer) -> None:
    config = {"allow_remote_screen": True, "host": "0.0.0.0"}
    client = create_terminal_app(_terminal(city, "pool", **config)).test_client()
    remote = {"base_url": "http://192.0.2.2:8470", "environ_base": {"REMOTE_ADDR": "192.0.2.9"}}
    page = client.get("/", **remote)  # type: ignore[arg-type]
    assert page.headers["Referrer-Policy"] == "same-origin"
    posted = client.post(
        "/sync", data={"from": "screen"}, headers={"Origin": "http://192.0.2.2:8470"}, **remote  # type: ignore[arg-type]
    )
    assert posted.status_code == 303
    assert client.get("/health", **remote).headers["Referrer-Policy"] == "no-referrer"  # type: ignore[arg-type]


# -- 9. every path is local only ---------------------------------------------------------------


def test_static_files_and_unknown_paths_are_local_only(city: Issuer) -> None:
    client = create_terminal_app(_terminal(city, "pool", host="0.0.0.0")).test_client()
    lan = {"environ_base": {"REMOTE_ADDR": "192.0.2.9"}}
    assert client.get("/static/terminal/screen.js", **lan).status_code == 403  # type: ignore[arg-type]
    assert client.get("/nope", **lan).status_code == 403  # type: ignore[arg-type]
    evil = client.get("/static/terminal/screen.js", headers={"Host": "evil.example"})
    assert evil.status_code == 403
    assert client.get("/static/terminal/screen.js").status_code == 200
    assert client.get("/nope").status_code == 404


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_read_refuses_a_timeout_that_is_no_wait(tmp_path: Path, timeout: str) -> None:
    """'No card within -1 s' after trying a reader: refused as an option, before any reader."""
    result = CliRunner().invoke(reader_cli.main, ["read", "--trust", str(tmp_path), "--timeout", timeout])
    assert result.exit_code == 2 and "--timeout" in result.output and "within" not in result.output
