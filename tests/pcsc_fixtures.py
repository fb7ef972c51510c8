"""pcscd + vpcd fixtures (a helper module, not a test file).

- `pcscd_service` (session): a pcscd with the vpcd driver, reused when one runs, else started
  for the session and stopped at its end. The teardown checks that no card process and no
  pcscd of ours is left.
- `vpcd_cards` (function): `vpcd_cards.attach(slot, card=None)` presents a card in a vpcd slot in
  a background thread; every card is taken away (and pcscd has seen it leave) after the test.
- `card_processes` (function): `card_processes.start(slot, uid=...)` runs
  `python -m hardware.vpcd` as a separate process that a test may kill.

`UidEchoCard` is the smallest CardModel: it answers GET DATA FF CA 00 00 00 with its UID and
echoes any other command APDU followed by 90 00.

To use them, import the fixture functions into a test module (or conftest.py); pytest finds
them by their fixture names (pcscd_service, vpcd_cards, card_processes):
    from tests.pcsc_fixtures import (  # noqa: F401 - fixtures
        fixture_card_processes, fixture_pcscd_service, fixture_vpcd_cards,
    )
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.card_model import CardModel
from hardware.pcscd import PcscdService, ensure_pcscd, pcscd_path, wait_card
from hardware.vpcd import VpcdCard

REPO = Path(__file__).resolve().parent.parent

requires_pcscd = pytest.mark.skipif(
    pcscd_path() is None,
    reason="pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)",
)

# Contactless ATR of PC/SC part 3 for an ISO 14443-4 card without historical bytes.
# 3B 80 80 01 01: T0 = 80, TD1 = 80, TD2 = 01 (T=1), TCK = 01.
ATR_14443_4 = bytes.fromhex("3B80800101")


class UidEchoCard:
    """A card that reports its UID to FF CA and echoes every other command APDU with 90 00."""

    def __init__(self, uid: bytes = bytes.fromhex("04A1B2C3D4E5F6")) -> None:
        self._uid = uid
        self.powered = False
        self.power_ons = 0
        self.commands: list[bytes] = []

    @property
    def uid(self) -> bytes:
        return self._uid

    @property
    def atr(self) -> bytes:
        return ATR_14443_4

    @property
    def historical_bytes(self) -> bytes:
        return b""

    def power_on(self) -> bytes:
        self.powered = True
        self.power_ons += 1
        return self.atr

    def power_off(self) -> None:
        self.powered = False

    def process(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        if apdu == bytes.fromhex("FFCA000000"):
            return self._uid + b"\x90\x00"
        return apdu + b"\x90\x00"


def wait_reader(reader: str, present: bool, timeout: float = 5.0) -> None:
    """Wait until pcscd reports a card in `reader` (present=True) or none (False)."""
    if not wait_card(reader, present, timeout):
        raise AssertionError(
            f"pcscd still reports {'no ' if present else 'a '}card in {reader!r} after {timeout} s"
        )


_card_pids: list[subprocess.Popen[str]] = []  # every card process of this session


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="session", name="pcscd_service")
def fixture_pcscd_service() -> Iterator[PcscdService]:
    service = ensure_pcscd()
    pid = service.pid  # None when an already running pcscd is reused
    try:
        yield service
    finally:
        leftovers = [p.pid for p in _card_pids if p.poll() is None]
        for proc in _card_pids:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        service.stop()
    assert not leftovers, f"card processes were left running: {leftovers}"
    assert pid is None or not _alive(pid), f"the pcscd we started (pid {pid}) still runs"


class VpcdCards:
    """Cards presented in vpcd slots during one test."""

    def __init__(self, service: PcscdService) -> None:
        self.service = service
        self.cards: list[VpcdCard] = []

    def attach(self, slot: int, card: CardModel | None = None, *, wait: bool = True) -> VpcdCard:
        vcard = VpcdCard(card if card is not None else UidEchoCard(), slot).start()
        self.cards.append(vcard)
        if wait:
            wait_reader(self.service.vpcd_reader(slot), True)
        return vcard

    def remove(self, vcard: VpcdCard, *, wait: bool = True) -> None:
        vcard.remove()
        if wait:
            wait_reader(self.service.vpcd_reader(vcard.slot), False)

    def close(self) -> None:
        for vcard in self.cards:
            vcard.stop()
        for vcard in self.cards:
            wait_reader(self.service.vpcd_reader(vcard.slot), False)


@pytest.fixture(name="vpcd_cards")
def fixture_vpcd_cards(pcscd_service: PcscdService) -> Iterator[VpcdCards]:
    cards = VpcdCards(pcscd_service)
    try:
        yield cards
    finally:
        cards.close()


class CardProcesses:
    """Cards served by `python -m hardware.vpcd` processes during one test."""

    def __init__(self, service: PcscdService) -> None:
        self.service = service
        self.procs: list[tuple[int, subprocess.Popen[str]]] = []

    def start(
        self,
        slot: int,
        uid: str = "04A1B2C3D4E5F6",
        *,
        model: str | None = "tests.pcsc_fixtures:UidEchoCard",
        profile: str = "t4t",
        wait: bool = True,
    ) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "hardware.vpcd", "--slot", str(slot), "--uid", uid]
        command += ["--model", model] if model else ["--profile", profile]
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _card_pids.append(proc)
        self.procs.append((slot, proc))
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "ready" not in line:
            proc.kill()
            _out, err = proc.communicate()
            raise AssertionError(f"card process did not start: {line!r} {err[-2000:]}")
        if wait:
            wait_reader(self.service.vpcd_reader(slot), True)
        return proc

    def close(self) -> None:
        for _slot, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout:
                proc.stdout.close()
            if proc.stderr:
                proc.stderr.close()
        for slot in sorted({slot for slot, _proc in self.procs}):
            wait_reader(self.service.vpcd_reader(slot), False)


@pytest.fixture(name="card_processes")
def fixture_card_processes(pcscd_service: PcscdService) -> Iterator[CardProcesses]:
    procs = CardProcesses(pcscd_service)
    try:
        yield procs
    finally:
        procs.close()
