"""The simulated card writer's feeder: a card pulled off mid-write is replaced by a fresh
blank at the next feed (it used to be fed again, absent, so every later resident read "There
is no card on the card writer"). Unit-level: the vpcd card and the PC/SC connection are fakes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from cardio.chip import CardProfile
from hardware import kiosk_devices
from hardware.kiosk_devices import CardFeeder

pytestmark = pytest.mark.vpcd  # it presents cards in the vpcd slots (tests/xdist_groups.py)


class FakeVpcdCard:
    def __init__(self, card: Any, slot: int) -> None:
        self.card = card
        self.present = False

    def start(self) -> FakeVpcdCard:
        self.present = True
        return self

    def stop(self) -> None:
        self.present = False


class FakeWriter:
    def __init__(self, reader: str, timeout: float) -> None:
        pass

    def connect(self) -> str:
        return "connection"


def test_a_card_pulled_mid_write_is_replaced_by_a_fresh_blank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kiosk_devices, "VpcdCard", FakeVpcdCard)
    monkeypatch.setattr(kiosk_devices, "PcscWriter", FakeWriter)
    monkeypatch.setattr(kiosk_devices, "wait_card", lambda *_a, **_k: True)
    feeder = CardFeeder.__new__(CardFeeder)  # no pcscd: only the feeding is under test
    feeder.profile, feeder.slot, feeder.timeout, feeder.reader = CardProfile.T4T, 0, 1.0, "vpcd 0"
    feeder.card, feeder.fed, feeder._vcard, feeder._lock = None, 0, None, threading.Lock()

    feeder.connect()
    first = feeder.card
    feeder.connect()  # a failed attempt's card, still on the writer, is written again
    assert feeder.card is first and feeder.fed == 1
    feeder._vcard.present = False  # pulled off the writer mid-write
    feeder.connect()
    assert feeder.card is not first and feeder.fed == 2 and feeder._vcard.present
