"""The staff screen in every language the kiosk offers, rendered in Debian's Chromium: idle, a
valid card (the library's view), a revoked card and a card of another city. No English text of
the screen's catalogue may be left on it, neither a whole message nor one of its words (names,
numbers, dates and the product name citycard are allowed; the language list names every
language in itself and is left out).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from api.issuer.service import Issuer
from api.terminal import i18n
from api.terminal.catalogues import load_po
from api.terminal.server import create_terminal_app
from api.terminal.service import Terminal
from cardio.credential import Holder, to_qr
from cardio.terminal_config import TerminalConfig

from .browser import ARTIFACTS, chromium, requires_chromium
from .terminal_fixtures import ServedApp, city_api, live_issuer, provision

pytestmark = [requires_chromium]

PLACEHOLDER = re.compile(r"%\(\w+\)s")
WORD = re.compile(r"[A-Za-z]{3,}")
ALLOWED = {"citycard"}
# Everything a person reads: the text, and the attributes a browser shows or speaks.
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelector('#language').remove();
  copy.querySelectorAll('dd').forEach((d) => d.remove());   // the holder's own data
  const attrs = [...document.querySelectorAll('[placeholder],[title],[alt],[data-text]')]
    .map((e) => [e.getAttribute('placeholder'), e.getAttribute('title'), e.getAttribute('alt'),
                 e.getAttribute('data-text')].filter(Boolean).join(' '));
  return [document.title, copy.textContent, ...attrs].join('\\n');
}"""


def _english() -> tuple[list[str], set[str]]:
    """The catalogue's English messages (split at placeholders) and their words."""
    fragments: list[str] = []
    for message in load_po("en"):
        if message.id:
            fragments += [f.strip() for f in PLACEHOLDER.split(str(message.id)) if len(f.strip()) > 3]
    words = {w.lower() for f in fragments for w in WORD.findall(f)}
    return fragments, words


def _own_words(code: str) -> set[str]:
    """Latin-script words a translation itself uses (a loanword such as "kiosk" or "QR")."""
    return {
        w.lower()
        for m in load_po(code)
        if m.id and isinstance(m.string, str)
        for w in WORD.findall(m.string)
    }


def test_staff_screen_in_every_language_has_no_english_left(tmp_path: Path, holder: Holder) -> None:
    live = live_issuer(tmp_path / "issuer")
    now = int(time.time())
    valid = live.issue(holder, now=now - 60)
    revoked = live.issue(holder, now=now - 60)
    live.set_status(revoked.status_index, "revoked")
    live.publish()
    foreign = Issuer.init(tmp_path / "other", now=now - 120).issue(holder, now=now - 60)
    fragments, english_words = _english()
    with city_api(live) as api:
        store = provision(tmp_path / "terminal", live)
        terminal = Terminal.from_config(
            TerminalConfig(
                trust=store, api=api.url, venue="library", no_reader=True, display_seconds=600
            )
        )
        assert terminal.sync.sync_once().ok
        states: list[tuple[str, Any]] = [
            ("idle", None),
            ("VALID", to_qr(valid.print_cose)),
            ("REVOKED", to_qr(revoked.print_cose)),
            ("UNKNOWN_KEY", to_qr(foreign.print_cose)),
        ]
        left: list[str] = []
        with ServedApp(create_terminal_app(terminal)) as served, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for state, qr in states:
                if qr is None:
                    terminal.board.clear()
                else:
                    assert terminal.verify_qr(qr).verdict == state
                for lang in i18n.LANGUAGES:
                    page.goto(f"{served.url}/?lang={lang.code}")
                    page.wait_for_selector(f'#verdict[data-verdict="{"NONE" if qr is None else state}"]')
                    assert page.get_attribute("html", "lang") == lang.code
                    assert page.get_attribute("html", "dir") == lang.dir
                    text = page.evaluate(VISIBLE_TEXT)
                    if lang.code == "en":
                        assert "Hold the card on the reader" in text or state != "idle"
                        continue
                    own = _own_words(lang.code)
                    for fragment in fragments:  # whole words: Italian VALIDA is not VALID
                        if re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text):
                            left.append(f"{lang.code} {state}: {fragment!r}")
                    for word in WORD.findall(text):
                        lower = word.lower()
                        if lower in english_words and lower not in own and lower not in ALLOWED:
                            left.append(f"{lang.code} {state}: word {word!r}")
                    if state == "VALID" and lang.code in ("ar", "de", "zh-Hant", "am"):
                        page.screenshot(
                            path=str(ARTIFACTS / f"staff-screen-{lang.code}.png"), full_page=True
                        )
        assert not left, "\n".join(sorted(set(left)))
