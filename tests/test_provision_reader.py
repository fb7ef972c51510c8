"""`citycard-provision reader setup` against the real city API, pcscd + vpcd and a test card."""

from __future__ import annotations

import json
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
from cardio.venues import VENUES_DIR, load_venue
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


# -- what is checked before anything is pinned or written --------------------------------------


TORN = b'{"at": "2026-03-01T09:30:00Z", "technician": "T-1", "action": "reader.setup"}\n{"at": "x'


def test_technician_and_log_are_checked_before_anything_is_pinned(tmp_path: Path, live: Issuer, api: Any) -> None:
    """Was: the trust was pinned and terminal.toml written, then exit 2 for a bad --technician or
    an uncreatable --log, with nothing recorded."""
    fp = _root_fp(live)
    args = ["reader", "setup", "--config", str(tmp_path / "terminal.toml"), "--trust", str(tmp_path / "trust"),
            "--venue", "pool", "--api", api.url, "--no-reader", "--yes-fingerprint", fp]  # fmt: skip
    bad_id = CliRunner().invoke(main, [*args, "--technician", "Jane Doe", "--log", str(tmp_path / "p.log")])
    assert "staff id, not your name" in _error(bad_id)
    _nothing_written(tmp_path)
    (tmp_path / "a-file").write_text("x\n")
    bad_log = CliRunner().invoke(main, [*args, "--technician", "T-5", "--log", str(tmp_path / "a-file" / "p.log")])
    assert "cannot be written" in _error(bad_log)
    _nothing_written(tmp_path)
    torn = tmp_path / "torn.log"
    torn.write_bytes(TORN)
    torn_log = CliRunner().invoke(main, [*args, "--technician", "T-5", "--log", str(torn)])
    assert "ends with a torn record" in _error(torn_log)
    _nothing_written(tmp_path)
    assert torn.read_bytes() == TORN
    assert not (tmp_path / "p.log").exists()
    not_a_url = CliRunner().invoke(main, [*args[:9], "not a url", *args[10:], "--technician", "T-5", "--log", str(tmp_path / "p.log")])
    assert "is not an http(s) address" in _error(not_a_url)
    _nothing_written(tmp_path)


def test_no_answer_at_the_fingerprint_prompt_says_what_to_do(tmp_path: Path, live: Issuer, api: Any) -> None:
    """Was: click's "Aborted!" with exit status 1 when stdin was closed at the prompt."""
    r = _setup(tmp_path, api.url, "--no-reader", input="")
    line = _error(r)
    assert "Aborted" not in r.output
    assert line == (
        "Error: No answer to the fingerprint question, nothing was pinned; run the command again and confirm the "
        "fingerprint, or pass --yes-fingerprint with the fingerprint the city gave you."
    )
    _nothing_written(tmp_path)


def test_a_venue_file_is_written_as_an_absolute_path(
    tmp_path: Path, live: Issuer, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: `--venue myvenue.toml` went into terminal.toml as typed, and the terminal started by
    systemd (in /) found "no venue profile 'myvenue.toml'"."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "myvenue.toml").write_text((VENUES_DIR / "pool.toml").read_text("utf-8").replace('"pool"', '"my-pool"', 1))
    monkeypatch.chdir(site)
    config = tmp_path / "etc" / "terminal.toml"
    r = CliRunner().invoke(main, ["reader", "setup", "--config", str(config), "--trust", str(tmp_path / "trust"),
                                  "--venue", "myvenue.toml", "--api", api.url, "--no-reader", "--yes-fingerprint",
                                  _root_fp(live), "--technician", "T-5", "--log", str(tmp_path / "p.log")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"venue = {json.dumps(str(site / 'myvenue.toml'))}\n" in config.read_text()
    monkeypatch.chdir("/")
    cfg = load_terminal_config(config)
    assert load_venue(cfg.venue).name == "my-pool"
