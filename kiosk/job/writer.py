"""The card writer: a PC/SC reader the blank card is put on, and a connection that reports
how far the chip is written."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from cardio.connection import Connection, ConnectionProxy
from cardio.errors import CardConnectionError

log = logging.getLogger(__name__)


class CardWriter(Protocol):
    def connect(self) -> Connection:
        """Wait for a card on the writer and connect to it (NoCardError when none comes)."""
        ...


class PcscWriter:
    """The card writer on PC/SC: the first reader whose name contains `reader` (any reader
    for None); waits up to `timeout` seconds for a card that answers.

    pcscd learns that a card came or went only at its next presence poll of the reader. When
    the finished card is swapped for a blank one faster than that, pcscd still believes the old
    card lies there, powered: it connects at once without powering the new card, whose first
    command then fails. So `connect()` asks the card for its UID before the job goes on (and
    takes a number): a card that does not answer is let go with a reset — pcscd then powers the
    card on the writer anew — and connected again, up to `tries` times within the timeout.
    """

    def __init__(self, reader: str | None = None, timeout: float = 10.0, tries: int = 3) -> None:
        self.reader = reader
        self.timeout = timeout
        self.tries = max(1, tries)

    def connect(self) -> Connection:
        from cardio.pcsc import GET_UID, PcscConnection  # pyscard loads only where a writer is used

        deadline = time.monotonic() + self.timeout
        tried = 1
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            connection = PcscConnection.wait(self.reader, timeout=remaining)
            try:
                connection.transmit(GET_UID)  # any answer will do: the card is powered
            except CardConnectionError:
                connection.close()  # resets the card: pcscd powers it anew on the next connect
                if tried >= self.tries or time.monotonic() >= deadline:
                    raise
                tried += 1
                log.info("the card on the writer did not answer; connecting to it again")
                continue
            except BaseException:
                connection.close()
                raise
            return connection


class ObservedConnection(ConnectionProxy):
    """Passes APDUs through and reports the chip step's progress by bytes written and read."""

    def __init__(self, inner: Connection, expected: int, report: Callable[[float], None]) -> None:
        super().__init__(inner)
        self.expected = max(1, expected)
        self.report = report
        self.moved = 0

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        if len(apdu) > 5 and apdu[1] == 0xD6:
            self.moved += len(apdu) - 5
        elif len(apdu) >= 4 and apdu[1] == 0xB0:
            self.moved += max(0, len(response) - 2)
        self.report(min(1.0, self.moved / self.expected))
        return response

