"""The kiosk's personalisation station on its real devices: `citycard-kiosk serve --station`.

`configured_station` builds a `kiosk.job.Station` on the devices a station file names
(kiosk.station_config): the PC/SC writer the attendant puts each blank card on, an IPP card
printer (or a spool directory) and an ESC/POS receipt printer; the journal under
DATA_DIR/kiosk. Numbers and signing come from the city's issuer API (`api_numbers`: signed
HTTP, kiosk.http_allocator; the kiosk signs with its own key), so DATA_DIR holds only the
kiosk's journal. Simulated devices are kiosk.simulate's, and only on request (`--simulate`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.allocator import Allocator, CredentialSigner
from kiosk.job import PcscWriter, Station
from kiosk.printing import EscposReceiptSink, FileReceiptSink, ReceiptSink
from kiosk.registry_options import RegistryOptions
from kiosk.station_config import (
    CardPrinterConfig,
    ReceiptPrinterConfig,
    StationConfig,
    StationConfigError,
)
from printer.card_printer import CardPrinter, FileCardPrinter


def api_numbers(registry: RegistryOptions) -> tuple[Allocator, CredentialSigner]:
    """Numbers from the city's issuer API over signed HTTP; cards signed with the kiosk's key."""
    from kiosk.http_allocator import connect

    if registry.api is None or registry.credential is None or registry.kiosk_key is None:
        raise StationConfigError(
            "A kiosk on its station's devices gets its numbers from the city's issuer API: "
            "give --api URL --kiosk-credential FILE --kiosk-key KEY (or run with --simulate "
            "for a development kiosk)."
        )
    return connect(registry.api, registry.credential, registry.kiosk_key, registry.timeout)


@contextmanager
def configured_station(
    data_dir: Path,
    program: Any,
    config: StationConfig,
    numbers: tuple[Allocator, CredentialSigner],
) -> Iterator[Station]:
    """A station on the devices `config` names, for `program` (see kiosk.station_config), with
    `numbers`: the allocator and signer (`api_numbers` in production)."""
    from kiosk.journal import Journal

    data_dir = Path(data_dir)
    if program.card.profile.has_chip and config.writer is None:
        raise StationConfigError(
            f"{config.path}: writer: {program.name('en')} cards have a chip; add a [writer] "
            "section naming the PC/SC reader that writes them."
        )
    allocator, signer = numbers
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
        from printer.ipp_card_printer import IppCardPrinter

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
