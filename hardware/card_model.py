"""What a simulated card is, whatever transport carries it (vpcd, nfcpy udp, PN532 pty).

A card model answers command APDUs exactly as the chip would; transports only frame bytes.
"""

from __future__ import annotations

from typing import Protocol


class CardModel(Protocol):
    """A contactless smart card as seen by the reader after activation."""

    @property
    def uid(self) -> bytes:
        """NFCID1 (4, 7 or 10 bytes) used in anticollision and reported by GET DATA FF CA."""
        ...

    @property
    def atr(self) -> bytes:
        """The ATR a PC/SC reader builds for this contactless card (PC/SC part 3)."""
        ...

    @property
    def historical_bytes(self) -> bytes:
        """Historical bytes of the ATS (ISO/IEC 14443-4), for RATS answers."""
        ...

    def power_on(self) -> bytes:
        """Field on / card presented: reset volatile state, return the ATR."""
        ...

    def power_off(self) -> None:
        """Field off / card removed: volatile state is lost, persistent memory stays."""
        ...

    def process(self, apdu: bytes) -> bytes:
        """One command APDU in, one response APDU (data + SW1 SW2) out."""
        ...
