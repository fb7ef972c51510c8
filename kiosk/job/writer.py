"""The card writer: a PC/SC reader the blank card is put on, and a connection that reports
how far the chip is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from cardio.connection import Connection, ConnectionProxy


class CardWriter(Protocol):
    def connect(self) -> Connection:
        """Wait for a card on the writer and connect to it (NoCardError when none comes)."""
        ...


class PcscWriter:
    """The card writer on PC/SC: the first reader whose name contains `reader` (any reader
    for None); waits up to `timeout` seconds for a card."""

    def __init__(self, reader: str | None = None, timeout: float = 10.0) -> None:
        self.reader = reader
        self.timeout = timeout

    def connect(self) -> Connection:
        from cardio.pcsc import PcscConnection  # pyscard loads only where a writer is used

        return PcscConnection.wait(self.reader, timeout=self.timeout)


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

