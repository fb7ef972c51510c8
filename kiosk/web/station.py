"""The personalisation station behind `citycard-kiosk serve`: simulated, or the kiosk's devices.

`simulated_station` builds a `kiosk.job.Station` as `citycard-kiosk demo` does: the issuer and
its registry under DATA_DIR/issuer, the journal under DATA_DIR/kiosk, the chip written through
the real pcscd with a blank virtual card fed into a vpcd slot for each job (`CardFeeder`), the
card "printed" by the file card printer and the receipt's ESC/POS bytes written to PRINTER_DIR
(the simulated printers' output: it holds the last card, as a printed card does). Without a
printer directory, cards and receipts go to printers that keep nothing.

With `registry` naming an issuer API (`--api URL --kiosk-credential FILE --kiosk-key KEY`),
numbers come from that server over signed HTTP (kiosk.http_allocator) and the kiosk signs with
its own key; DATA_DIR then holds only the kiosk's journal.

`configured_station` builds the same station on the devices a station file names
(kiosk.station_config): the PC/SC writer the attendant puts each blank card on, an IPP card
printer (or a spool directory) and an ESC/POS receipt printer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from cardio.chip import CardProfile
from cardio.connection import Connection
from kiosk.job import PcscWriter, Station
from kiosk.printing import EscposReceiptSink, FileReceiptSink, Receipt, ReceiptSink
from kiosk.registry_options import RegistryOptions
from kiosk.station_config import (
    CardPrinterConfig,
    ReceiptPrinterConfig,
    StationConfig,
    StationConfigError,
)
from printer.card_printer import CardJobResult, CardPrinter, FileCardPrinter, PrinterStatus


class CardFeeder:
    """A card writer whose card stock is simulated: each `connect()` presents a new blank
    virtual card of `profile` in vpcd `slot` (taking the previous one away) and connects to
    it through pcscd, as a card printer's encoder does with the next card from its hopper."""

    def __init__(self, service: Any, slot: int, profile: CardProfile) -> None:
        self.service = service
        self.slot = slot
        self.profile = profile
        self.fed = 0
        self._card: Any = None
        self._lock = threading.Lock()

    def connect(self) -> Connection:
        from hardware.virtual_t4t import VirtualType4Card
        from hardware.vpcd import VpcdCard

        with self._lock:
            if self._card is not None:
                self._card.stop()
            self._card = VpcdCard(VirtualType4Card(self.profile.value), self.slot).start()
            self.fed += 1
        return PcscWriter(self.service.vpcd_reader(self.slot), timeout=10).connect()

    def close(self) -> None:
        with self._lock:
            if self._card is not None:
                self._card.stop()
                self._card = None


class DiscardingCardPrinter:
    """A card printer that prints nowhere and keeps nothing (serve without a printer dir)."""

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
    def __init__(self) -> None:
        self.printed = 0

    def print_receipt(self, receipt: Receipt) -> None:
        self.printed += 1


def _numbers_and_signer(
    stack: ExitStack, data_dir: Path, program: Any, registry: RegistryOptions | None
) -> tuple[Any, Any]:
    """The allocator and credential signer: the issuer API's, or a local issuer's in DATA_DIR."""
    from kiosk.allocator import IssuerAllocator
    from kiosk.demo import KIOSK_ID, open_issuer

    if registry is not None and registry.api is not None:
        from kiosk.http_allocator import connect

        assert registry.credential is not None and registry.kiosk_key is not None
        return connect(registry.api, registry.credential, registry.kiosk_key, registry.timeout)
    issuer = open_issuer(data_dir / "issuer", program.id)
    stack.callback(issuer.close)
    local = IssuerAllocator.ensure_kiosk(issuer, KIOSK_ID)
    return local, local.kiosk_signer()


@contextmanager
def simulated_station(
    data_dir: Path,
    program: Any,
    *,
    printer_dir: Path | None = None,
    slot: int = 0,
    registry: RegistryOptions | None = None,
) -> Iterator[Station]:
    """A station on simulated devices for `program` (a kiosk.programs.Program); see module doc."""
    from hardware.pcscd import ensure_pcscd
    from kiosk.journal import Journal

    data_dir = Path(data_dir)
    profile: CardProfile = program.card.profile
    with ExitStack() as stack:
        allocator, signer = _numbers_and_signer(stack, data_dir, program, registry)
        journal = Journal.in_dir(data_dir / "kiosk")
        card_printer: CardPrinter
        receipts: Any
        if printer_dir is not None:
            card_printer, receipts = FileCardPrinter(printer_dir), FileReceiptSink(printer_dir)
        else:
            card_printer, receipts = DiscardingCardPrinter(), DiscardingReceipts()
        writer = None
        if profile.has_chip:
            service = ensure_pcscd()
            stack.callback(service.stop)
            writer = CardFeeder(service, slot, profile)
            stack.callback(writer.close)
        yield Station(allocator, signer, journal, writer, card_printer, receipts)


@contextmanager
def configured_station(
    data_dir: Path,
    program: Any,
    config: StationConfig,
    *,
    registry: RegistryOptions | None = None,
) -> Iterator[Station]:
    """A station on the devices `config` names, for `program` (see kiosk.station_config)."""
    from kiosk.journal import Journal

    data_dir = Path(data_dir)
    if program.card.profile.has_chip and config.writer is None:
        raise StationConfigError(
            f"{config.path}: writer: {program.name('en')} cards have a chip; add a [writer] "
            "section naming the PC/SC reader that writes them."
        )
    with ExitStack() as stack:
        allocator, signer = _numbers_and_signer(stack, data_dir, program, registry)
        journal = Journal.in_dir(data_dir / "kiosk")
        writer = None
        if program.card.profile.has_chip and config.writer is not None:
            writer = PcscWriter(config.writer.reader, timeout=config.writer.wait)
        yield Station(
            allocator,
            signer,
            journal,
            writer,
            card_printer_for(config.card_printer),
            receipts_for(config.receipt_printer),
        )


def card_printer_for(config: CardPrinterConfig) -> CardPrinter:
    if config.ipp is not None:
        from printer.ipp import IppCardPrinter

        return IppCardPrinter(config.ipp)
    assert config.directory is not None
    return FileCardPrinter(config.directory)


def receipts_for(config: ReceiptPrinterConfig) -> ReceiptSink:
    from printer.escpos_printer import ReceiptPrinter
    from printer.paper import PAPER_58MM, PAPER_80MM

    paper = PAPER_58MM if config.paper == 58 else PAPER_80MM
    if config.network is not None:
        return EscposReceiptSink(ReceiptPrinter.network(*config.network, profile=paper))
    if config.usb is not None:
        return EscposReceiptSink(ReceiptPrinter.usb(*config.usb, profile=paper))
    if config.serial is not None:
        return EscposReceiptSink(ReceiptPrinter.serial(config.serial, profile=paper))
    assert config.directory is not None
    return FileReceiptSink(config.directory)
