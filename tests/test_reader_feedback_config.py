"""The reader's buzzer, LEDs and poll interval: the APDUs each setting sends, and the config.

Feedback APDUs go through the real pcscd + vpcd to `Acr122Firmware`, which records every
FF 00 40 pseudo-APDU the way an ACR122U would intercept it (as in tests/test_terminal.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.issuer.service import Issuer
from api.terminal.reader_feedback import NOT_VALID, READING, VALID, ReaderFeedback, feedback_apdu
from api.terminal.service import Terminal
from cardio.pcsc import PcscConnection
from cardio.terminal_config import (
    DEFAULT_POLL_INTERVAL,
    TerminalConfig,
    TerminalConfigError,
    load_terminal_config,
)
from hardware.virtual_t4t import VirtualType4Card
from tests.pcsc_fixtures import VpcdCards, requires_pcscd

from .terminal_fixtures import Acr122Firmware, live_issuer, provision

READER = "Virtual PCD 00 00"

# (buzzer, led) -> what "card found", VALID and NOT VALID send (None: nothing).
EXPECTED: dict[tuple[bool, bool], tuple[str | None, str | None, str | None]] = {
    (True, True): ("FF00400F0400000000", "FF0040AE0402010101", "FF00405D0401010301"),
    (False, True): ("FF00400F0400000000", "FF0040AE0402010100", "FF00405D0401010300"),
    (True, False): (None, "FF0040000402010101", "FF0040000401010301"),
    (False, False): (None, None, None),
}


@pytest.mark.parametrize(("buzzer", "led"), list(EXPECTED))
def test_feedback_apdu_for_each_setting(buzzer: bool, led: bool) -> None:
    got = [feedback_apdu(a, buzzer=buzzer, led=led) for a in (READING, VALID, NOT_VALID)]
    assert [None if g is None else g.hex().upper() for g in got] == list(EXPECTED[buzzer, led])


@requires_pcscd
def test_apdus_sent_to_the_reader_for_each_setting(vpcd_cards: VpcdCards) -> None:
    firmware = Acr122Firmware(VirtualType4Card(profile="t4t"))
    vcard = vpcd_cards.attach(0, firmware)
    try:
        with PcscConnection.wait(READER, 10) as conn:
            for (buzzer, led), expected in EXPECTED.items():
                firmware.feedback.clear()
                feedback = ReaderFeedback("acr122", buzzer=buzzer, led=led)
                feedback.reading(conn)
                feedback.verdict(conn, True)
                feedback.reading(conn)
                feedback.verdict(conn, False)
                reading, valid, not_valid = expected
                want = [a for a in (reading, valid, reading, not_valid) if a is not None]
                assert [a.hex().upper() for a in firmware.feedback] == want, (buzzer, led)
                assert feedback.sent == len(want)
            off = ReaderFeedback("off", buzzer=True, led=True)
            firmware.feedback.clear()
            off.reading(conn)
            off.verdict(conn, True)
            assert firmware.feedback == [] and off.sent == 0
    finally:
        vpcd_cards.remove(vcard)


def _write(path: Path, text: str) -> Path:
    path.write_text('trust = "trust"\n' + text)
    return path


def test_config_keys_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "terminal.toml"
    config = load_terminal_config(_write(path, ""))
    assert (config.buzzer, config.led, config.poll_interval) == (True, True, DEFAULT_POLL_INTERVAL)
    config = load_terminal_config(_write(path, "buzzer = false\nled = false\npoll_interval = 1\n"))
    assert (config.buzzer, config.led, config.poll_interval) == (False, False, 1.0)
    assert isinstance(config.poll_interval, float)
    config = load_terminal_config(path, buzzer=True, poll_interval=0.05, led=None)
    assert (config.buzzer, config.led, config.poll_interval) == (True, False, 0.05)
    config = load_terminal_config(_write(path, "poll_interval = 5.0\n"))
    assert config.poll_interval == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('buzzer = "no"\n', r"'buzzer' has the wrong type; write it as true or false\."),
        ("led = 0\n", r"'led' has the wrong type; write it as true or false\."),
        ('poll_interval = "fast"\n', r"'poll_interval' has the wrong type; write it as a number\."),
        ("poll_interval = true\n", r"'poll_interval' has the wrong type"),
        (
            "poll_interval = 0.01\n",
            r"poll_interval = 0\.01 .* number from 0\.05 to 5 \(default 0\.2\)\.",
        ),
        ("poll_interval = 10\n", r"poll_interval = 10 .* from 0\.05 to 5"),
        ("poll_interval = nan\n", r"poll_interval = nan .* from 0\.05 to 5"),
        ("poll_interval = -1\n", r"poll_interval = -1 .* from 0\.05 to 5"),
        ('feedback = "loud"\n', r"feedback = 'loud' .* use one of auto, acr122, off\."),
    ],
)
def test_config_validation_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TerminalConfigError, match=message):
        load_terminal_config(_write(tmp_path / "terminal.toml", text))


def test_config_validation_in_code_and_overrides(tmp_path: Path) -> None:
    with pytest.raises(TerminalConfigError, match="poll_interval = 0 "):
        TerminalConfig(trust=tmp_path, poll_interval=0)
    with pytest.raises(TerminalConfigError, match="poll_interval = 6"):
        load_terminal_config(_write(tmp_path / "terminal.toml", ""), poll_interval=6)


def test_terminal_uses_buzzer_led_and_poll_interval(tmp_path: Path) -> None:
    live: Issuer = live_issuer(tmp_path / "issuer")
    store = provision(tmp_path / "terminal", live)
    config = TerminalConfig(
        trust=store, reader=READER, feedback="acr122", buzzer=False, led=True, poll_interval=0.7
    )
    terminal = Terminal.from_config(config)
    assert (terminal.feedback.mode, terminal.feedback.buzzer, terminal.feedback.led) == (
        "acr122",
        False,
        True,
    )
    assert terminal.loop is not None and terminal.loop.poll == 0.7
    default = Terminal.from_config(TerminalConfig(trust=store, reader=READER))
    assert default.feedback.buzzer and default.feedback.led
    assert default.loop is not None and default.loop.poll == DEFAULT_POLL_INTERVAL
