"""An in-process Connection to a CardModel, for fast unit tests.

It sits below the transport interface (`cardio.connection.Connection`) exactly where pcscd or
nfcpy would, so everything above it runs unchanged; the real-stack tests go through pcscd+vpcd
and nfcpy's udp radio instead.
"""

from __future__ import annotations

from cardio.connection import Connection
from cardio.errors import CardConnectionError, CardRemovedError
from hardware.card_model import CardModel
from hardware.virtual_t4t import CardPulled

__all__ = ["LocalConnection"]


def _is_extended(apdu: bytes) -> bool:
    return len(apdu) > 5 and apdu[4] == 0


class LocalConnection(Connection):
    """One card, powered on at creation, reached by direct calls to `card.process()`.

    `extended_length` (settable) says whether this "reader" passes extended APDUs; an extended
    APDU sent when it is False fails with CardConnectionError, as a short-only reader would.
    A card that raises CardPulled turns into CardRemovedError now and for every later transmit.
    `record=True` keeps every (command, response) pair in `exchanges`.
    """

    def __init__(
        self, card: CardModel, *, extended_length: bool = False, record: bool = False
    ) -> None:
        self.card = card
        self._extended = extended_length
        self._removed = False
        self._closed = False
        self.record = record
        self.exchanges: list[tuple[bytes, bytes]] = []
        self.atr = card.power_on()

    @property
    def uid(self) -> bytes:
        return bytes(self.card.uid)

    @property
    def extended_length(self) -> bool:
        return self._extended

    @extended_length.setter
    def extended_length(self, value: bool) -> None:
        self._extended = value

    def transmit(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        if self._closed:
            raise CardConnectionError("This card connection is closed; connect to the card again.")
        if self._removed:
            raise CardRemovedError("The card was removed; present it again.")
        if not self._extended and _is_extended(apdu):
            raise CardConnectionError(
                "This reader does not pass extended-length APDUs; send short APDUs."
            )
        try:
            response = bytes(self.card.process(apdu))
        except CardPulled as exc:
            self._removed = True
            raise CardRemovedError(
                "The card left the reader during an exchange; a write may be incomplete. "
                "Present it again."
            ) from exc
        if self.record:
            self.exchanges.append((apdu, response))
        return response

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if not self._removed:
                self.card.power_off()
