"""`citycard-provision reader setup` against the real city API, pcscd + vpcd and a test card."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.issuer.service import Issuer
from cardio.credential import Holder
from cardio.keys import fingerprint, load_public_pem
from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE
from cardio.terminal_config import load_terminal_config
from firmware_tools import provlog
from firmware_tools.cli import main
from hardware.pcscd import PcscdService
from tests.pcsc_fixtures import (  # noqa: F401 - fixtures
    VpcdCards,
    fixture_pcscd_service,
    fixture_vpcd_cards,
    requires_pcscd,
)
from tests.terminal_fixtures import city_api, live_issuer, personalised_card


@pytest.fixture
def live(tmp_path: Path) -> Issuer:
    return live_issuer(tmp_path / "issuer")


@pytest.fixture
def api(live: Issuer) -> Iterator[Any]:
    live.publish()
    with city_api(live) as server:
        yield server


def _root_fp(issuer: Issuer) -> str:
    return fingerprint(load_public_pem((issuer.dir / "public" / ROOT_KEY_FILE).read_bytes()))


def _setup(tmp_path: Path, api_url: str, *extra: str, input: str | None = None) -> Any:
    args = ["reader", "setup", "--config", str(tmp_path / "terminal.toml"), "--trust", str(tmp_path / "trust"),
            "--venue", "pool", "--api", api_url, "--technician", "T-5", "--log", str(tmp_path / "prov.log"), *extra]  # fmt: skip
    return CliRunner().invoke(main, args, input=input, catch_exceptions=False)


def _error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert line.endswith("."), line
    return line


def _nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "trust" / ROOT_KEY_FILE).exists()
    assert not (tmp_path / "terminal.toml").exists()


def test_fingerprint_must_be_confirmed(tmp_path: Path, live: Issuer, api: Any) -> None:
    line = _error(_setup(tmp_path, api.url, "--no-reader", "--yes-fingerprint", "AB" * 32))
    assert "not the one given with --yes-fingerprint" in line and "nothing was pinned" in line
    _nothing_written(tmp_path)
    r = _setup(tmp_path, api.url, "--no-reader", input="n\n")
    assert _root_fp(live) in r.output and "not confirmed" in _error(r)
    _nothing_written(tmp_path)
    r = _setup(tmp_path, api.url, "--no-reader", input="y\n")
    assert r.exit_code == 0, r.output
    cfg = load_terminal_config(tmp_path / "terminal.toml")
    assert cfg.venue == "pool" and cfg.no_reader and cfg.root_fingerprint == _root_fp(live)
    assert (cfg.feedback, cfg.buzzer, cfg.led, cfg.poll_interval) == ("auto", True, True, 0.2)
    assert (tmp_path / "trust" / TRUST_LIST_FILE).exists()
    rec = provlog.read(tmp_path / "prov.log")[-1]
    assert rec["action"] == "reader.setup" and rec["result"] == "skipped" and rec["venue"] == "pool"
    again = _setup(tmp_path, api.url, "--no-reader", "--yes-fingerprint", _root_fp(live))
    assert again.exit_code == 0, again.output  # re-running with the same root is fine
    other = live_issuer(tmp_path / "other-city")
    other.publish()
    with city_api(other) as server:
        r = _setup(tmp_path, server.url, "--no-reader", "--yes-fingerprint", _root_fp(other))
        assert "already holds a different pinned root key" in _error(r)


def test_setup_writes_buzzer_led_and_poll_interval(tmp_path: Path, live: Issuer, api: Any) -> None:
    r = _setup(tmp_path, api.url, "--no-reader", "--yes-fingerprint", _root_fp(live), "--feedback", "acr122",
               "--no-buzzer", "--led", "--poll-interval", "0.5")  # fmt: skip
    assert r.exit_code == 0, r.output
    text = (tmp_path / "terminal.toml").read_text()
    assert "buzzer = false\n" in text and "led = true\n" in text and "poll_interval = 0.5\n" in text
    cfg = load_terminal_config(tmp_path / "terminal.toml")
    assert (cfg.feedback, cfg.buzzer, cfg.led, cfg.poll_interval) == ("acr122", False, True, 0.5)
    r = _setup(tmp_path, api.url, "--no-reader", "--yes-fingerprint", _root_fp(live), "--buzzer", "--no-led",
               "--poll-interval", "2")  # fmt: skip
    assert r.exit_code == 0, r.output
    cfg = load_terminal_config(tmp_path / "terminal.toml")
    assert (cfg.buzzer, cfg.led, cfg.poll_interval) == (True, False, 2.0)


def test_bad_poll_interval_writes_nothing(tmp_path: Path, live: Issuer, api: Any) -> None:
    for bad in ("0.01", "9", "nan"):
        line = _error(_setup(tmp_path, api.url, "--no-reader", "--yes-fingerprint", _root_fp(live), "--poll-interval", bad))
        assert f"--poll-interval {float(bad)!r} is not usable" in line and "from 0.05 to 5" in line, line
        _nothing_written(tmp_path)


def test_bad_inputs(tmp_path: Path, live: Issuer, api: Any) -> None:
    fp = _root_fp(live)
    assert "cannot be reached" in _error(_setup(tmp_path, "http://127.0.0.1:9", "--no-reader", "--yes-fingerprint", fp))
    r = CliRunner().invoke(main, ["reader", "setup", "--config", str(tmp_path / "t.toml"), "--trust", str(tmp_path / "trust"),
                                  "--venue", "no-such-venue", "--api", api.url, "--technician", "T-5", "--no-reader"])  # fmt: skip
    assert r.exit_code == 2 and "no-such-venue" in r.output
    assert "only one of" in _error(_setup(tmp_path, api.url, "--no-reader", "--reader", "x", "--yes-fingerprint", fp))
    _nothing_written(tmp_path)


@requires_pcscd
def test_setup_with_self_test_on_vpcd(
    tmp_path: Path, live: Issuer, holder: Holder, pcscd_service: PcscdService, vpcd_cards: VpcdCards
) -> None:
    card, _issued = personalised_card(live, holder)
    with city_api(live) as server:
        reader = pcscd_service.vpcd_reader(0)
        empty = tmp_path / "empty"
        empty.mkdir()
        line = _error(_setup(empty, server.url, "--reader", pcscd_service.vpcd_reader(1), "--timeout", "1",
                             "--yes-fingerprint", _root_fp(live)))  # fmt: skip
        assert "card" in line.lower()
        assert not (empty / "terminal.toml").exists()
        vpcd_cards.attach(0, card)
        r = _setup(empty, server.url, "--reader", reader, "--yes-fingerprint", _root_fp(live))
        assert r.exit_code == 0, r.output  # the technician fixes the reader and runs setup again
        r = _setup(tmp_path, server.url, "--reader", reader, "--yes-fingerprint", _root_fp(live).lower())
        assert r.exit_code == 0, r.output
        assert "Self-test passed: the test card reads" in r.output
    cfg = load_terminal_config(tmp_path / "terminal.toml")
    assert cfg.reader == reader and cfg.api == server.url
    rec = provlog.read(tmp_path / "prov.log")[-1]
    assert rec["result"] != "skipped" and rec["reader"] == reader
    assert "Beispiel" not in (tmp_path / "prov.log").read_text() + (tmp_path / "terminal.toml").read_text()
