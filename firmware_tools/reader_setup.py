"""`reader setup`: turn a machine with a card reader into a partner venue's reader terminal.

1. Check the venue profile exists (`cardio.venues.load_venue`).
2. Fetch the city root key from the API and show its fingerprint; it is pinned (written to the
   trust directory by `cardio.trust_sync.pinned_root_key`) only after the technician confirms it
   at the prompt, or when `--yes-fingerprint` matches it exactly.
3. Fetch the trust list and status lists (`TrustSync.sync_once`): they must verify under the
   pinned root.
4. Self-test: read the city's test card on the configured reader (`cardio.chip.read_card`) and
   expect a VALID verdict.
5. Write the terminal configuration (TOML, the keys `cardio.terminal_config.load_terminal_config`
   reads, with the reader's `feedback`, `buzzer`, `led` and `poll_interval`; the trust directory
   and a venue profile file as absolute paths) atomically, and read it back through that loader.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cardio.chip import read_card
from cardio.connection import Connection
from cardio.errors import CitycardError, KeyStoreError
from cardio.files import write_atomic
from cardio.keys import fingerprint, load_public_pem
from cardio.published import ROOT_KEY_FILE
from cardio.terminal_config import (
    DEFAULT_POLL_INTERVAL,
    TerminalConfigError,
    check_poll_interval,
    load_terminal_config,
)
from cardio.trust_sync import MAX_ROOT_KEY, ROOT_KEY_PATH, TrustSync, pinned_root_key
from cardio.urls import http_url
from cardio.venues import load_venue, venue_is_file
from cardio.verify import Verifier


class SetupError(CitycardError):
    """A set-up step that failed (the message says what to do)."""


@dataclass(frozen=True)
class ReaderChoice:
    reader: str | None = None  # PC/SC reader name (or part of it)
    nfc: str | None = None  # nfcpy path
    no_reader: bool = False
    feedback: str = "auto"
    buzzer: bool = True  # beep on a verdict
    led: bool = True  # light the reader's LEDs
    poll_interval: float = DEFAULT_POLL_INTERVAL  # seconds between presence polls

    def __post_init__(self) -> None:
        try:
            check_poll_interval(self.poll_interval)
        except TerminalConfigError as exc:  # before anything is pinned or written
            raise SetupError(str(exc).replace("poll_interval = ", "--poll-interval ", 1)) from exc


def check_api(api_url: str) -> None:
    if http_url(api_url) is not None:
        return
    # An address that is fine but for a space or a pasted newline is told so (`http_url`
    # refuses them: http.client would fail with InvalidURL only when connecting).
    cleaned = "".join(c for c in api_url if c.isprintable() and not c.isspace())
    if cleaned != api_url and http_url(cleaned) is not None:
        raise SetupError(
            f"The city API address {api_url!r} contains spaces or control characters; give it as https://cards.city.example (ask the city for it)."
        )
    raise SetupError(
        f"The city API address {api_url!r} is not an http(s) address; give it as https://cards.city.example (ask the city for it)."
    )


def fetch_root_fingerprint(api_url: str, timeout: float = 10.0) -> str:
    url = api_url.rstrip("/") + ROOT_KEY_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body: bytes = resp.read(MAX_ROOT_KEY + 1)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        # HTTPException: a server that does not speak HTTP, or an address http.client refuses
        raise SetupError(f"The city API at {api_url} cannot be reached ({exc}); check the address and the network.") from exc
    if len(body) > MAX_ROOT_KEY:
        raise SetupError(f"The city API at {api_url} sent an oversized root key; check the address.")
    try:
        return fingerprint(load_public_pem(body))
    except KeyStoreError as exc:  # a captive portal's page, another service's answer
        raise SetupError(
            f"The city API at {api_url} did not send a root key (got something else); check the address (ask the city for it)."
        ) from exc


def normalise_fingerprint(text: str) -> str:
    return text.replace(":", "").replace(" ", "").upper()


def pin_and_sync(trust: Path, api_url: str, confirmed: str) -> TrustSync:
    pinned = trust / ROOT_KEY_FILE
    try:
        pinned_fp = fingerprint(load_public_pem(pinned.read_bytes())) if pinned.exists() else None
    except KeyStoreError as exc:
        raise SetupError(
            f"{pinned} is not a PEM public key (damaged); use a fresh trust directory, or remove {pinned} on purpose and run setup again."
        ) from exc
    if pinned_fp is not None and pinned_fp != normalise_fingerprint(confirmed):
        raise SetupError(
            f"{trust} already holds a different pinned root key; use a fresh trust directory, or remove {pinned} on purpose if the city changed its root key."
        )
    root = pinned_root_key(trust, normalise_fingerprint(confirmed), api_url)
    sync = TrustSync(trust, root, api_url)
    report = sync.sync_once()
    if not report.ok or sync.verifier is None:
        raise SetupError(f"Fetching the trust and status lists failed ({'; '.join(report.problems) or 'no lists'}); check the API and run setup again.")
    return sync


def open_reader(choice: ReaderChoice, timeout: float) -> Connection:
    if choice.nfc:
        from cardio.nfc_backend import NfcConnection

        return NfcConnection.wait(choice.nfc, timeout=timeout)
    from cardio.pcsc import PcscConnection

    return PcscConnection.wait(choice.reader, timeout=timeout)


def self_test(verifier: Verifier, choice: ReaderChoice, timeout: float) -> str:
    with open_reader(choice, timeout) as conn:
        read = read_card(conn, verifier)
    if not read.result.valid:
        raise SetupError(
            f"The test card was read but is not valid here ({read.result.message}); use the city's current test card, or check the trust lists."
        )
    return read.result.verdict.value


def write_config(path: Path, trust: Path, venue: str, api_url: str, root_fp: str, choice: ReaderChoice) -> None:
    # A venue profile file is written as an absolute path, as the trust directory is: the
    # terminal reads it from wherever it is started (systemd starts it in /). A profile name
    # under venues/ stays a name.
    venue_value = str(Path(venue).resolve()) if venue_is_file(venue) else venue
    lines = [
        f"trust = {json.dumps(str(trust.resolve()))}",
        f"venue = {json.dumps(venue_value)}",
        f"api = {json.dumps(api_url)}",
        f"root_fingerprint = {json.dumps(root_fp)}",
        f"feedback = {json.dumps(choice.feedback)}",
        f"buzzer = {json.dumps(choice.buzzer)}",
        f"led = {json.dumps(choice.led)}",
        f"poll_interval = {float(choice.poll_interval)!r}",
    ]
    if choice.reader:
        lines.append(f"reader = {json.dumps(choice.reader)}")
    if choice.nfc:
        lines.append(f"nfc = {json.dumps(choice.nfc)}")
    if choice.no_reader:
        lines.append("no_reader = true")
    write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))
    load_terminal_config(path)  # what the terminal will read must load


def check_venue(venue: str) -> None:
    load_venue(venue)
