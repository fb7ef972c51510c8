"""`terminal.toml` values the terminal must refuse at start, with a sentence, rather than fail on
later (exploratory testing): NaN and infinite times, a port out of range, an API address that is
not one; and a venue profile file named relative to the configuration file.
"""

from __future__ import annotations

import math
import shutil
import tomllib
from pathlib import Path

import pytest

from api.terminal import cli as reader_cli
from cardio.keys import load_public_pem
from cardio.published import ROOT_KEY_FILE
from cardio.terminal_config import TerminalConfig, TerminalConfigError, load_terminal_config
from cardio.trust_sync import TrustSync
from cardio.venues import VENUES_DIR, load_venue
from tests.test_cli import error_sentence, run

from .terminal_fixtures import live_issuer, provision


def _write(path: Path, text: str) -> Path:
    path.write_text('trust = "trust"\n' + text)
    return path


@pytest.mark.parametrize("key", ["sync_interval", "max_backoff", "display_seconds"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-5", "1e300"])
def test_times_that_are_not_finite_positive_seconds_are_refused(tmp_path: Path, key: str, value: str) -> None:
    """Was: max_backoff = nan a traceback, sync_interval = nan in /health as NaN (not JSON),
    display_seconds = inf accepted (a verdict and its photo on the screen for ever)."""
    with pytest.raises(TerminalConfigError) as caught:
        load_terminal_config(_write(tmp_path / "terminal.toml", f"{key} = {value}\n"))
    message = str(caught.value)
    written = tomllib.loads(f"x = {value}")["x"]
    written = float(written) if key == "sync_interval" else written  # the loader makes it a float
    assert message.startswith(f"{key} = {written!r} is not usable; times in the terminal configuration must be positive")
    assert message.endswith(".")
    with pytest.raises(TerminalConfigError, match=key):
        TerminalConfig(trust=tmp_path, **{key: float(value)})  # type: ignore[arg-type]


def test_good_times_still_load(tmp_path: Path) -> None:
    config = load_terminal_config(
        _write(tmp_path / "terminal.toml", "sync_interval = 5\nmax_backoff = 60.5\ndisplay_seconds = 20\n")
    )
    assert (config.sync_interval, config.max_backoff, config.display_seconds) == (5.0, 60.5, 20.0)
    assert all(math.isfinite(v) for v in (config.sync_interval, config.max_backoff, config.display_seconds))


def test_serve_refuses_a_nan_time_with_a_sentence(tmp_path: Path) -> None:
    config = _write(tmp_path / "terminal.toml", "max_backoff = nan\nno_reader = true\n")
    line = error_sentence(run(reader_cli.main, ["serve", "--config", config]))
    assert line.startswith("Error: max_backoff = nan is not usable;")


def test_a_port_out_of_range_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(TerminalConfigError) as caught:
        load_terminal_config(_write(tmp_path / "terminal.toml", "port = 99999\n"))
    assert str(caught.value) == (
        "The port 99999 is not a TCP port; give a number from 1 to 65535 (the terminal's default is 8470)."
    )


@pytest.mark.parametrize("api", ["not a url", "http://[::1", "ftp://cards.city.example", "https://", "http://h:port"])
def test_an_api_address_that_is_not_one_is_refused_at_start(tmp_path: Path, api: str) -> None:
    """Was: the sync failed as "trust sync failed unexpectedly (ValueError)", POST /sync answered
    500, /health said nothing."""
    config = _write(tmp_path / "terminal.toml", f'api = "{api}"\nno_reader = true\n')
    with pytest.raises(TerminalConfigError) as caught:
        load_terminal_config(config)
    assert str(caught.value) == (
        f"api = {api!r} is not the address of the city API; give it as http(s)://host[:port], e.g. "
        "https://cards.city.example."
    )
    line = error_sentence(run(reader_cli.main, ["serve", "--config", config]))
    assert "is not the address of the city API" in line
    line = error_sentence(run(reader_cli.main, ["serve", "--trust", tmp_path, "--api", api, "--no-reader"]))
    assert "is not the address of the city API" in line


@pytest.mark.parametrize("api", ["not a url", "http://[::1"])
def test_a_sync_with_a_bad_address_fails_with_a_sentence_not_an_exception(tmp_path: Path, api: str) -> None:
    """`_http_get` built urllib's Request outside its error handling: a bare ValueError."""
    issuer = live_issuer(tmp_path / "issuer")
    store = provision(tmp_path / "terminal", issuer)
    sync = TrustSync(store, load_public_pem((store / ROOT_KEY_FILE).read_bytes()), api)
    report = sync.sync_once()
    assert not report.ok
    assert report.problems[0].startswith(f"The city API at {api}") and "cannot be reached" in report.problems[0]
    assert sync.status()["last_error"] == report.problems[0]


def test_a_venue_file_is_relative_to_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: `venue = "myvenue.toml"` was looked up in the directory the terminal was started in."""
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(VENUES_DIR / "museum.toml", etc / "myvenue.toml")
    (etc / "profiles").mkdir()
    shutil.copy(VENUES_DIR / "library.toml", etc / "profiles" / "front-desk.toml")
    monkeypatch.chdir("/")  # as systemd starts it
    for venue, name in (("myvenue.toml", "museum"), ("profiles/front-desk.toml", "library"), ("pool", "pool")):
        config = load_terminal_config(_write(etc / "terminal.toml", f'venue = "{venue}"\n'))
        assert load_venue(config.venue, config.venues_dir).name == name, venue
    absolute = etc / "myvenue.toml"
    config = load_terminal_config(_write(etc / "terminal.toml", f'venue = "{absolute}"\n'))
    assert config.venue == str(absolute)
    # a flag is the operator's own path: left as given
    assert load_terminal_config(etc / "terminal.toml", venue="other.toml").venue == "other.toml"
