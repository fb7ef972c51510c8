"""The staff screen when every event stream slot is taken (Debian's Chromium via Playwright).

The terminal caps its open `/events` streams below its web server threads (security review,
finding 4), answering 503 with Retry-After beyond the cap. A browser does not retry a refused
EventSource by itself; the screen's script must, and go live once a slot is free.
"""

from __future__ import annotations

from pathlib import Path

from api.issuer.service import Issuer
from api.terminal.routes import STREAMS_EXTENSION, StreamSlots
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.terminal_config import TerminalConfig

from .browser import chromium, requires_chromium
from .terminal_fixtures import ServedApp, live_issuer, provision

pytestmark = [requires_chromium]


def test_screen_refused_a_stream_connects_again_once_a_slot_is_free(tmp_path: Path) -> None:
    issuer: Issuer = live_issuer(tmp_path / "issuer")
    store = provision(tmp_path / "terminal", issuer)
    terminal = Terminal.from_config(TerminalConfig(trust=store, no_reader=True))
    app = create_terminal_app(terminal, threads=2)  # one stream slot
    slots = app.extensions[STREAMS_EXTENSION]
    assert isinstance(slots, StreamSlots) and slots.limit == 1
    release = slots.take()  # another staff screen holds the only slot
    assert release is not None
    with ServedApp(app, threads=2) as served, chromium() as browser:
        page = browser.new_page()
        statuses: list[int] = []
        page.on(
            "response",
            lambda r: statuses.append(r.status) if r.url.split("?", 1)[0].endswith("/events") else None,
        )
        page.goto(served.url + "/")
        page.wait_for_timeout(1500)
        assert statuses and set(statuses) == {503}
        assert page.get_attribute("body", "data-live") == "off"
        page.evaluate("window.__sameDocument = true")

        release()  # the other screen went away
        page.wait_for_selector('body[data-live="on"]', timeout=20_000)
        assert statuses[-1] == 200
        assert page.evaluate("window.__sameDocument === true")  # reconnected, not reloaded
