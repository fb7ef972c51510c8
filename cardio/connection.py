"""The connection interface every card transport implements (PC/SC, nfcpy, in-process).

Shaped after yubikey-manager's `SmartCardConnection`: one object per presented card, that
sends a command APDU and returns the response APDU (data followed by SW1 SW2). Everything
above it (`cardio.apdu`, `cardio.type4`, `cardio.chip`) only ever sees this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Connection(ABC):
    """One card in one reader."""

    @abstractmethod
    def transmit(self, apdu: bytes) -> bytes:
        """Send a command APDU; return the response APDU (data + SW1 SW2).

        Raises CardRemovedError when the card left the field, CardConnectionError for any
        other transport failure. Status words are not interpreted here.
        """

    @property
    @abstractmethod
    def uid(self) -> bytes:
        """The chip's anticollision identifier (UID / NFCID1) as the reader reports it."""

    @property
    def extended_length(self) -> bool:
        """True when the reader and the transport pass extended-length APDUs."""
        return False

    @property
    def max_response(self) -> int:
        """Largest response data the transport carries in one exchange (Le maximum)."""
        return 65536 if self.extended_length else 256

    def close(self) -> None:  # noqa: B027 - transports without resources need nothing
        """Release the card (and the reader, where the transport holds it)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ConnectionProxy(Connection):
    """A connection that passes everything to `inner`; subclasses watch or time `transmit`.

    It does not own `inner`: `close()` leaves it open unless a subclass says otherwise.
    """

    def __init__(self, inner: Connection) -> None:
        self.inner = inner

    def transmit(self, apdu: bytes) -> bytes:
        return self.inner.transmit(apdu)

    @property
    def uid(self) -> bytes:
        return self.inner.uid

    @property
    def extended_length(self) -> bool:
        return self.inner.extended_length

    @property
    def max_response(self) -> int:
        return self.inner.max_response
