"""The kiosk's devices, simulated: a card writer with a stack of blank cards, printers that keep
nothing. Used by `citycard-kiosk demo`, `serve --simulate` and the tests; never by a kiosk
that runs on its station's real devices.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cardio.chip import CardProfile
from cardio.connection import Connection
from kiosk.job import PcscWriter
from kiosk.printing import Receipt
from printer.card_printer import CardJobResult, PrinterStatus

from .pcscd import ensure_pcscd, wait_card
from .virtual_t4t import VirtualType4Card
from .vpcd import VpcdCard

log = logging.getLogger(__name__)


class CardFeeder:
    """A PC/SC card writer fed from a stack of blank virtual cards.

    pcscd runs with the vpcd driver (started when none runs). Every `connect()` puts a blank
    card of `profile` on the writer (vpcd `slot`) unless an unlocked one is already there — a
    card left half-written by a failed attempt is written again, as on a real writer; one
    pulled off the writer mid-write is gone, and a fresh blank replaces it — and
    connects to it through pcscd, the same code path as a real writer. `take()` removes the
    card and hands it over (e.g. to a simulated venue reader); `close()` removes it and stops
    what was started.

    A card taken off the writer is gone for pcscd only at its next presence poll of the reader
    (up to about 0.4 s later). Swapping cards faster than that — which no real writer can —
    would leave pcscd believing the previous card still lies there, powered: the next
    connection would reach the new card unpowered and fail as "card taken off the writer".
    So the feeder waits until pcscd has seen the card leave before it puts the next one on.
    """

    def __init__(self, profile: CardProfile, slot: int = 0, timeout: float = 10.0) -> None:
        if not profile.has_chip:
            raise ValueError("The print profile has no chip: it needs no card writer.")
        self.profile = profile
        self.slot = slot
        self.timeout = timeout
        self.service = ensure_pcscd()
        self.reader = self.service.vpcd_reader(slot)
        self.card: VirtualType4Card | None = None
        self.fed = 0
        self._vcard: Any = None
        self._lock = threading.Lock()

    def connect(self) -> Connection:
        with self._lock:
            # A card pulled off mid-write is no longer on the writer (its vpcd link closed):
            # like a person at a real writer, the feeder puts the next blank card on.
            pulled = self._vcard is not None and not self._vcard.present
            if self.card is None or self.card.locked or self._vcard is None or pulled:
                self._remove()
                self.card = VirtualType4Card(self.profile.value)
                self._vcard = VpcdCard(self.card, self.slot).start()
                self.fed += 1
        return PcscWriter(self.reader, self.timeout).connect()

    def take(self) -> VirtualType4Card | None:
        """The card on the writer (None if none), taken off it."""
        with self._lock:
            card = self.card
            self._remove()
            self.card = None
            return card

    def _remove(self, *, seen: bool = True) -> None:
        """Take the card off the writer; with `seen`, wait until pcscd has noticed."""
        if self._vcard is not None:
            self._vcard.stop()
            self._vcard = None
            if seen and not wait_card(self.reader, present=False, timeout=self.timeout):
                log.warning("pcscd still reports a card in %r after %g s", self.reader, self.timeout)

    def close(self) -> None:
        with self._lock:
            self._remove(seen=False)
            self.card = None
        self.service.stop()


class DiscardingCardPrinter:
    """A card printer that prints nowhere and keeps nothing."""

    def __init__(self) -> None:
        self.printed = 0

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        self.printed += 1
        return CardJobResult(
            printer="discarding",
            job_id=self.printed,
            document_format="image/png",
            bytes_sent=len(front_png) + len(back_png),
        )

    def status(self) -> PrinterStatus:
        return PrinterStatus(ready=True, state="idle")


class DiscardingReceipts:
    """A receipt printer that prints nowhere and keeps nothing."""

    def __init__(self) -> None:
        self.printed = 0

    def print_receipt(self, receipt: Receipt) -> None:
        self.printed += 1
