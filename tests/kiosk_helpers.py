"""Shared pieces for the kiosk job tests (a helper module, not a test file)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from api.issuer.registry import CardRecord
from api.issuer.service import Issuer
from cardio.chip import CardProfile
from cardio.connection import Connection
from cardio.credential import Holder
from hardware.card_model import CardModel
from hardware.local import LocalConnection
from hardware.local_issuer import IssuerAllocator
from kiosk.demo import synthetic_portrait
from kiosk.job import Enrolment, Station
from kiosk.journal import Journal
from kiosk.photo import CHIP_SIZE, PRINT_SIZE, prepare_photo
from kiosk.printing import FileReceiptSink
from printer.card_printer import CardPrinter, FileCardPrinter


class LocalWriter:
    """A card writer with the card model in this process (no transport): fast job tests."""

    def __init__(self, card: CardModel | None) -> None:
        self.card = card

    def connect(self) -> Connection:
        if self.card is None:
            from cardio.errors import NoCardError

            raise NoCardError("No card was presented to the writer within 0 s; place the card.")
        return LocalConnection(self.card)


@dataclass
class Kiosk:
    issuer: Issuer
    allocator: IssuerAllocator
    station: Station
    receipts: FileReceiptSink
    out: Path

    def cards(self) -> list[CardRecord]:
        with self.issuer.registry.read() as s:
            rows = list(s.query(CardRecord).order_by(CardRecord.document_number))
            for row in rows:
                s.expunge(row)
            return rows


def make_kiosk(
    tmp: Path,
    writer: object,
    issuer: Issuer | None = None,
    card_printer: CardPrinter | None = None,
) -> Kiosk:
    issuer = issuer or Issuer.init(tmp / "issuer")
    allocator = IssuerAllocator.ensure_kiosk(issuer)
    receipts = FileReceiptSink(tmp / "out")
    station = Station(
        allocator,
        allocator.kiosk_signer(),
        Journal.in_dir(tmp / "kiosk"),
        writer,  # type: ignore[arg-type]
        card_printer or FileCardPrinter(tmp / "out"),
        receipts,
    )
    return Kiosk(issuer, allocator, station, receipts, tmp / "out")


_UPLOAD: bytes | None = None


def upload() -> bytes:
    global _UPLOAD
    if _UPLOAD is None:
        _UPLOAD = synthetic_portrait()
    return _UPLOAD


def enrolment(
    profile: CardProfile = CardProfile.T4T,
    family: str = "Beispiel-Musterfrau",
    given: str = "Mira",
    birth: date = date(1987, 3, 14),
    photo: bytes | None = None,
) -> Enrolment:
    holder = Holder(
        program="zurich",
        family_name=family,
        given_name=given,
        birth_date=birth,
        sex="X",
        entitlements=("library", "pool"),
        languages=("de", "en"),
    )
    data = photo if photo is not None else upload()
    chip = prepare_photo(data, 3072, size=CHIP_SIZE).jpeg if profile.photo_on_chip else None
    printed = prepare_photo(data, 40_000, size=PRINT_SIZE).jpeg
    return Enrolment(holder, profile, chip, printed, expires=date(2030, 6, 30))
