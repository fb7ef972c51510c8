"""The reader terminal's configuration file (`terminal.toml`): its keys, checks and loader.

    trust = "/var/lib/citycard/trust"   # pinned root-key.pem + the last good lists
    api = "https://cards.city.example"
    venue = "pool"
    reader = "ACR122"
    poll_interval = 0.2

Two deployables read and write this format: the terminal (`citycard-reader serve --config`)
runs from it, and the technician's `citycard-provision reader setup` writes one and reads it
back. It lives here, below both, so that neither imports the other.
"""

from __future__ import annotations

import math
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError
from cardio.urls import http_url
from cardio.venues import venue_is_file

DEFAULT_PORT = 8470

FEEDBACK_MODES = ("auto", "acr122", "off")
"""ACR122U LED and buzzer feedback: auto (ACR122-named PC/SC readers), acr122 (every PC/SC
reader), off."""

TIME_LIMITS = {"sync_interval": 86400.0, "max_backoff": 86400.0, "display_seconds": 3600.0}
"""The longest each time setting may be, in seconds: a day between checks of the lists, an hour
for a verdict (and its photo) on the screen. Longer is a mistake, and `inf` or `nan` would keep
a verdict on the screen for ever or break the sync loop's waits."""

DEFAULT_POLL_INTERVAL = 0.2
"""Seconds each wait for a card, and each check whether it has left, lasts (`poll_interval`)."""
POLL_INTERVAL_RANGE = (0.05, 5.0)


class TerminalConfigError(CitycardError):
    """A terminal configuration that cannot be used (the message names the key and the fix)."""


@dataclass
class TerminalConfig:
    """How one terminal runs. `load_terminal_config` reads it from TOML (same names as keys)."""

    trust: Path
    venue: str = "library"
    api: str | None = None
    reader: str | None = None  # PC/SC reader name (or part of it); None = any reader
    nfc: str | None = None  # nfcpy device path instead of PC/SC
    no_reader: bool = False  # QR only (POST /verify), no card reader
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    root_key: Path | None = None
    root_fingerprint: str | None = None
    # Short on purpose: a poll is a conditional GET (304 when nothing changed), and a venue
    # must learn of a revocation within a minute (backoff stays under that while the API is down).
    sync_interval: float = 15.0
    max_backoff: float = 60.0
    display_seconds: float = 20.0
    feedback: str = "auto"  # ACR122U LED and buzzer: auto | acr122 | off
    buzzer: bool = True  # beep on a verdict (when feedback applies)
    led: bool = True  # light the LEDs while reading and for the verdict
    poll_interval: float = DEFAULT_POLL_INTERVAL  # seconds per wait for a card / for it to leave
    venues_dir: Path | None = None
    allow_remote_screen: bool = False  # let other machines see the staff screen (never /verify)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.reader and self.nfc:
            raise TerminalConfigError("Give either a PC/SC reader or an nfcpy path, not both.")
        if not 0 < self.port < 65536:
            raise TerminalConfigError(
                f"The port {self.port} is not a TCP port; give a number from 1 to 65535 "
                f"(the terminal's default is {DEFAULT_PORT})."
            )
        for key, limit in TIME_LIMITS.items():
            setattr(self, key, check_seconds(key, getattr(self, key), limit))
        if self.api is not None and http_url(self.api) is None:
            raise TerminalConfigError(
                f"api = {self.api!r} is not the address of the city API; give it as "
                "http(s)://host[:port], e.g. https://cards.city.example."
            )
        if self.feedback not in FEEDBACK_MODES:
            raise TerminalConfigError(
                f"feedback = {self.feedback!r} is not a feedback mode; use one of "
                f"{', '.join(FEEDBACK_MODES)}."
            )
        self.poll_interval = check_poll_interval(self.poll_interval)


def check_seconds(key: str, value: object, limit: float) -> float:
    """`value` as a time setting in seconds (finite, above 0, at most `limit`), or a
    TerminalConfigError that names the key and says what to give."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or not 0 < number <= limit:
        raise TerminalConfigError(
            f"{key} = {value!r} is not usable; times in the terminal configuration must be "
            f"positive: give the seconds as a number above 0 and at most {limit:g}."
        )
    return float(number)


def check_poll_interval(value: object) -> float:
    """`value` as a poll interval in seconds, or a TerminalConfigError that says what to give."""
    low, high = POLL_INTERVAL_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise TerminalConfigError(
            f"poll_interval = {value!r} is not usable; give the seconds between reader polls "
            f"as a number from {low:g} to {high:g} (default {DEFAULT_POLL_INTERVAL:g})."
        )
    return float(value)


_PATH_KEYS = ("trust", "root_key", "venues_dir")
_CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "trust": str,
    "venue": str,
    "api": str,
    "reader": str,
    "nfc": str,
    "no_reader": bool,
    "host": str,
    "port": int,
    "root_key": str,
    "root_fingerprint": str,
    "sync_interval": (int, float),
    "max_backoff": (int, float),
    "display_seconds": (int, float),
    "feedback": str,
    "buzzer": bool,
    "led": bool,
    "poll_interval": (int, float),
    "venues_dir": str,
    "allow_remote_screen": bool,
}


_KIND_HINT = {
    key: (
        "true or false"
        if kind is bool
        else "a whole number"
        if kind is int
        else "a number"
        if isinstance(kind, tuple)
        else "a quoted string"
    )
    for key, kind in _CONFIG_KEYS.items()
}


def load_terminal_config(path: Path, **overrides: Any) -> TerminalConfig:
    """A TerminalConfig from a TOML file; relative paths are relative to the file.

    `overrides` (not None) win over the file, as command-line flags do.
    """
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise TerminalConfigError(f"There is no terminal configuration at {path}.") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TerminalConfigError(
            f"The terminal configuration {path} cannot be read ({exc})."
        ) from exc
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        raise TerminalConfigError(
            f"{path} has unknown keys {unknown}; the keys are {', '.join(sorted(_CONFIG_KEYS))}."
        )
    for key, kind in _CONFIG_KEYS.items():
        value = data.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        ):
            raise TerminalConfigError(
                f"{path}: '{key}' has the wrong type; write it as {_KIND_HINT.get(key, 'text')}."
            )
    base = Path(path).resolve().parent
    for key in _PATH_KEYS:
        if isinstance(data.get(key), str):
            data[key] = base / data[key]
    venue = data.get("venue")
    if isinstance(venue, str) and venue_is_file(venue):
        data["venue"] = str(base / venue)  # a profile file, like the paths: relative to the file
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "trust" not in data:
        raise TerminalConfigError(
            f"{path} names no 'trust' directory (where the lists are kept)."
        )
    data["trust"] = Path(data["trust"])
    if data.get("sync_interval") is not None:
        data["sync_interval"] = float(data["sync_interval"])
    return TerminalConfig(**data)


__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_PORT",
    "FEEDBACK_MODES",
    "POLL_INTERVAL_RANGE",
    "TIME_LIMITS",
    "TerminalConfig",
    "TerminalConfigError",
    "check_poll_interval",
    "check_seconds",
    "load_terminal_config",
]
