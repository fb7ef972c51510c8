"""Quiet logs: a terminal waiting for a card polls its reader several times a second, and a
missing reader is logged once, then again only when the reader's state changes.

The reader loop runs over nfcpy for real: a serial path with no device behind it (the missing
reader) and nfcpy's UDP radio (a reader that is there, with no card on it).
"""

from __future__ import annotations

import logging
import time

import pytest

from api.terminal.reader_loop import WAITING, NfcBackend, ReaderLoop
from hardware.nfc_udp import NfcUdpTarget
from hardware.virtual_t4t import VirtualType4Card

from .terminal_fixtures import wait_for

MISSING = "tty:pts/nonexistent-citycard:pn532"


def _records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


@pytest.mark.timeout(240)
def test_missing_reader_is_logged_once_and_again_when_it_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    statuses: list[tuple[str, bool]] = []
    backend = NfcBackend(MISSING)
    loop = ReaderLoop(
        backend,
        lambda conn: None,
        lambda sentence, ok: statuses.append((sentence, ok)),
        lambda sentence: None,
        poll=0.05,
        retry=0.01,
    )
    loop.start()
    try:
        wait_for(lambda: len(statuses) >= 100, timeout=20)  # a hundred polls, reader missing
        missing = _records(caplog, "No NFC reader at")
        assert len(missing) == 1, [r.getMessage() for r in missing]
        assert missing[0].levelno == logging.WARNING

        with NfcUdpTarget(VirtualType4Card(), present=False) as radio:  # the reader is plugged in
            backend.path = radio.path
            wait_for(lambda: _records(caplog, "reader ready"), timeout=30)
            seen = len(statuses)
            # polls with no card (each opens nfcpy's radio: slow on a busy machine)
            wait_for(lambda: len(statuses) >= seen + 5, timeout=60)
            assert statuses[-1] == (WAITING, True)
            assert len(_records(caplog, "reader ready")) == 1
            backend.path = MISSING  # unplugged again
            wait_for(lambda: len(_records(caplog, "No NFC reader at")) == 2, timeout=30)
        time.sleep(0.5)
    finally:
        loop.stop()
    assert len(_records(caplog, "No NFC reader at")) == 2
    assert len(_records(caplog, "reader ready")) == 1
    # nfcpy's own announcement of every open ("searching for reader on path ...") is kept out
    assert not _records(caplog, "searching for reader")
    assert not _records(caplog, "no reader available")
    assert len(caplog.records) < 10, [r.getMessage() for r in caplog.records]
