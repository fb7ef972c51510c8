"""A terminal whose clock is wrong says to check the clock, and keeps its good lists.

Exploratory testing (clock two hours behind, the city API reachable): the staff screen said "The
city API cannot be reached: this reader uses the lists it last confirmed 0 s ago" beside "Lists
checked 0 s ago", every verdict warned "The reader has no revocation list 1", the good list on
disk was renamed 1.cwt.refused, and a card issued today read NOT_YET_VALID without a word about
the clock.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.issuer.service import Issuer
from api.terminal import i18n
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder, to_qr
from cardio.published import STATUS_DIR
from cardio.terminal_config import TerminalConfig
from cardio.trust_sync import CLOCK_WRONG

from .terminal_fixtures import city_api, live_issuer, provision

BEHIND = 7200.0


def _behind() -> float:
    return time.time() - BEHIND


def _terminal(store: Path, api_url: str | None, clock: Callable[[], float] = time.time) -> Terminal:
    return Terminal.from_config(TerminalConfig(trust=store, api=api_url, venue="pool", no_reader=True, clock=clock))


def _lists_line(client: Any, lang: str = "en") -> str:
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    found = re.search(r'<p class="lists".*?</p>', page, re.S)
    assert found is not None
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(0)))


def _status_files(store: Path) -> list[str]:
    return sorted(p.name for p in (store / STATUS_DIR).iterdir())


def test_a_clock_behind_the_city_says_to_check_the_clock_and_keeps_the_lists(tmp_path: Path, holder: Holder) -> None:
    live: Issuer = live_issuer(tmp_path / "issuer")
    issued = live.issue(holder, now=int(time.time()) - 60)
    live.publish()
    qr = to_qr(issued.print_cose)
    with city_api(live) as api:
        store = provision(tmp_path / "terminal", live)
        assert _terminal(store, api.url).sync.sync_once().ok  # set up with a right clock
        good = (store / STATUS_DIR / "1.cwt").read_bytes()

        terminal = _terminal(store, api.url, _behind)  # the clock then falls two hours behind
        client = create_terminal_app(terminal).test_client()
        report = terminal.sync.sync_once()
        assert not report.ok and any("Check the reader's clock" in p for p in report.problems)

        assert _status_files(store) == ["1.cwt"]  # not set aside as damaged
        assert (store / STATUS_DIR / "1.cwt").read_bytes() == good

        health = client.get("/health").get_json()
        assert health["sync"]["clock_wrong"] is True
        assert BEHIND - 60 < health["sync"]["clock_offset"] < BEHIND + 60
        assert health["warnings"] == [CLOCK_WRONG]  # not "no revocation list 1"

        body = client.post("/verify", json={"qr": qr}).get_json()
        assert body["verdict"] == "NOT_YET_VALID"
        assert CLOCK_WRONG in body["warnings"]
        assert not any("no revocation list" in w for w in body["warnings"])

        line = _lists_line(client)
        assert CLOCK_WRONG in line
        assert "cannot be reached" not in line and "Lists checked" not in line
        page = html.unescape(client.get("/").get_data(as_text=True))
        assert page.count(CLOCK_WRONG) == 1  # once, in the lists' line
        german = i18n.translations("de").pgettext("warning", CLOCK_WRONG)
        assert german != CLOCK_WRONG and german in _lists_line(client, "de")

    # the clock put right, offline: the list kept on disk is used at once
    right = _terminal(store, None)
    assert right.verify_qr(qr).verdict == "VALID"
    assert right.sync.warnings() == [] and not right.sync.clock_wrong()


def test_offline_a_clock_behind_is_noticed_from_what_is_held(tmp_path: Path, holder: Holder) -> None:
    live = live_issuer(tmp_path / "issuer")
    live.issue(holder, now=int(time.time()) - 60)
    live.publish()
    with city_api(live) as api:
        store = provision(tmp_path / "terminal", live)
        assert _terminal(store, api.url).sync.sync_once().ok
    terminal = _terminal(store, "http://127.0.0.1:9", _behind)  # the API cannot be reached
    assert not terminal.sync.sync_once().ok
    assert terminal.sync.clock_offset() is None
    assert terminal.sync.clock_wrong()  # the lists were last refreshed "in the future"
    assert terminal.sync.warnings() == [CLOCK_WRONG]
    assert _status_files(store) == ["1.cwt"]
    line = _lists_line(create_terminal_app(terminal).test_client())
    assert CLOCK_WRONG in line and "cannot be reached" not in line


def test_a_right_clock_is_not_called_wrong(tmp_path: Path, holder: Holder) -> None:
    live = live_issuer(tmp_path / "issuer")
    live.issue(holder, now=int(time.time()) - 60)
    live.publish()
    with city_api(live) as api:
        terminal = _terminal(provision(tmp_path / "terminal", live), api.url)
        assert terminal.sync.sync_once().ok
        offset = terminal.sync.clock_offset()
        assert offset is not None and abs(offset) < 5
        assert not terminal.sync.clock_wrong() and terminal.sync.warnings() == []
        assert terminal.sync.status()["clock_wrong"] is False
        line = _lists_line(create_terminal_app(terminal).test_client())
        assert "Lists checked" in line and CLOCK_WRONG not in line
