"""A kiosk on simulated hardware, asked for explicitly: `citycard-kiosk serve --simulate`,
`recover --simulate`, the demo and the tests.

The one kiosk module (with kiosk.demo) that imports the simulators (`hardware`): a card writer
fed with blank virtual cards through the real pcscd, printers that write files or keep nothing,
and — unless `--api` names the city's issuer — an issuer in this process under DATA_DIR/issuer.
A production kiosk (`serve --station FILE --api URL ...`) never loads this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from cardio.chip import CardProfile
from hardware.kiosk_devices import CardFeeder, DiscardingCardPrinter, DiscardingReceipts
from hardware.local_issuer import KIOSK_ID, IssuerAllocator, open_issuer
from printer.card_printer import CardPrinter, FileCardPrinter

from .allocator import Allocator, CredentialSigner
from .job import Station
from .journal import Journal
from .printing import FileReceiptSink
from .registry_options import RegistryOptions
from .station import api_numbers

BANNER = "SIMULATED HARDWARE — development kiosk, cards made here are not real cards"
"""What the kiosk's pages and its console say while it runs on simulated devices."""


def local_numbers(
    stack: ExitStack, data_dir: Path, program_id: str
) -> tuple[IssuerAllocator, CredentialSigner]:
    """Numbers and signing from an issuer in this process under DATA_DIR/issuer."""
    issuer = open_issuer(data_dir / "issuer", program_id)
    stack.callback(issuer.close)
    local = IssuerAllocator.ensure_kiosk(issuer, KIOSK_ID)
    return local, local.kiosk_signer()


def numbers(
    stack: ExitStack, data_dir: Path, program_id: str, registry: RegistryOptions | None
) -> tuple[Allocator, CredentialSigner]:
    """The city's issuer API when `registry` names one, else a local issuer."""
    if registry is not None and registry.api is not None:
        return api_numbers(registry)
    return local_numbers(stack, data_dir, program_id)


@contextmanager
def simulated_station(
    data_dir: Path,
    program: Any,
    *,
    printer_dir: Path | None = None,
    slot: int = 0,
    registry: RegistryOptions | None = None,
) -> Iterator[Station]:
    """A station on simulated devices for `program` (a kiosk.programs.Program).

    Cards go through the real pcscd to blank virtual cards in vpcd `slot`; the card printer and
    the receipt printer write to PRINTER_DIR (the last card and receipt, as printed ones would
    be), or keep nothing without one."""
    data_dir = Path(data_dir)
    profile: CardProfile = program.card.profile
    with ExitStack() as stack:
        allocator, signer = numbers(stack, data_dir, program.id, registry)
        journal = Journal.in_dir(data_dir / "kiosk")
        card_printer: CardPrinter
        receipts: Any
        if printer_dir is not None:
            card_printer, receipts = FileCardPrinter(printer_dir), FileReceiptSink(printer_dir)
        else:
            card_printer, receipts = DiscardingCardPrinter(), DiscardingReceipts()
        writer = None
        if profile.has_chip:
            writer = CardFeeder(profile, slot)
            stack.callback(writer.close)
        yield Station(allocator, signer, journal, writer, card_printer, receipts)
