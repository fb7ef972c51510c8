"""What the personalisation job prints, and the seams to the printers (printer/).

- The **card**: `render_card_images` draws both sides with `printer.card_layout.render_card`
  from the programme's design (`card_design`, which bridges `kiosk.programs.CardDesignSpec` to
  `printer.card_layout.CardDesign`) and the signed print credential; a
  `printer.card_printer.CardPrinter` prints them (`printer.card_printer.FileCardPrinter` writes
  card-front.png / card-back.png for the demo).
- The **receipt**: a `ReceiptSink` prints a `Receipt` (programme, document number, expiry, the
  one-time revocation code, what the card is not). `FileReceiptSink` writes the ESC/POS bytes
  to receipt.escpos.

  The receipt is laid out by printer.receipt (raster for scripts the code pages lack) and
  rendered to bytes through printer.escpos_printer; a network sink for a real printer is
  `printer.escpos_printer.ReceiptPrinter.network`.

`DelayedCardPrinter` / the `delay` of `FileReceiptSink` make the simulated printers take as
long as real ones (the benchmark and the crash test use them).

The receipt holds no name, birth date or photo: only the document number, dates and the
revocation code. Card images hold the resident's data and exist only in memory and at the
printer (for the file printer: its output directory, which the caller owns).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cardio.credential import Credential, to_qr
from cardio.files import write_atomic
from printer.card_layout import CardData, render_card
from printer.card_layout import CardDesign as LayoutDesign
from printer.card_printer import CardJobResult, CardPrinter, PrinterStatus
from printer.errors import PaperOutError, PrinterError
from printer.paper import PAPER_80MM, PaperProfile

from .i18n_rules import render
from .programs import FIELDS, Program, Requirement

if TYPE_CHECKING:
    from printer.escpos_printer import ReceiptPrinter
    from printer.receipt import ReceiptLayout

RECEIPT_FILE = "receipt.escpos"
DISCLAIMER = "Not a residence permit. Not a travel document."


# -- the card ------------------------------------------------------------------------------------


def card_design(program: Program | None, program_id: str, language: str = "en") -> LayoutDesign:
    """The layout design of a programme (`kiosk.programs.Program`), or a plain one when the
    programme has no profile yet."""
    if program is None:
        return LayoutDesign(
            display_name=program_id.replace("-", " ").title() + " City Card",
            primary="#1F4E79",
            secondary="#DCE6F0",
            disclaimer=DISCLAIMER,
        )
    design = program.card.design
    printed = design.languages[0] if design.languages else language
    fields = {"entitlements", "languages"}
    if program.fields.requirement("sex") is not Requirement.FORBIDDEN:
        fields.add("sex")
    if design.signature:
        fields.add("signature")
    arms = design.arms if design.arms.suffix.lower() == ".png" else None
    collected = (*program.fields.required, *program.fields.optional)
    return LayoutDesign(
        display_name=design.display_name.get(printed),
        primary=design.primary_colour,
        secondary=design.secondary_colour,
        disclaimer=design.disclaimer.get(printed),
        arms=arms,
        fields=frozenset(fields),
        entitlement_names={e.code: e.names.get(printed) for e in program.entitlements},
        field_labels={
            code: field_label(code, printed) for code in collected if code in PRINTED_ONLY_FIELDS
        },
    )


# Fields printed on the card only (Enrolment.printed_fields): never in the chip or QR
# credential. The others a programme collects are the credential's (names, birth date, sex,
# photo) or the signature. What a programme collects is printed (an optional emergency contact
# too, on the back, as IDNYC and San Francisco do): nothing is asked only to be dropped.
PRINTED_ONLY_FIELDS = frozenset(FIELDS) - {
    "family_name",
    "given_name",
    "birth_date",
    "photo",
    "signature",
    "sex",
}


def field_label(code: str, language: str) -> str:
    """The label of a field code as printed on a card in `language` (English when the rules
    texts have no such language), starting with a capital."""
    label = render(f"field.{code}", {}, language)
    return label[:1].upper() + label[1:]


def render_card_images(
    design: LayoutDesign,
    credential: Credential,
    print_cose: bytes,
    photo: bytes | None,
    signature: bytes | None,
    extra_fields: tuple[tuple[str, str], ...] = (),
) -> tuple[bytes, bytes]:
    """(front PNG, back PNG) of one card; raises printer.card_layout.CardLayoutError.

    `extra_fields` are (field code, value) pairs printed on the card only (labelled by the
    design's `field_labels`); they are in neither credential."""
    data = CardData.from_credential(
        credential, to_qr(print_cose), photo, signature, extra_fields=extra_fields
    )
    rendered = render_card(design, data)
    return rendered.front_png, rendered.back_png


class DelayedCardPrinter:
    """A simulated card printer that takes `seconds` per card, then hands on to `inner`."""

    def __init__(self, inner: CardPrinter, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        time.sleep(self.seconds)
        return self.inner.print_card(front_png, back_png)

    def status(self) -> PrinterStatus:
        return self.inner.status()


# -- the receipt ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the receipt says. No name, no birth date, no photo."""

    programme: str
    document_number: str
    issued: date
    expires: date
    language: str = "en"
    revocation_code: str | None = field(default=None, repr=False)
    disclaimer: str = DISCLAIMER
    report_lost: str = (
        "Lost your card? Report it at the city office or online with this document number and "
        "the code above; the card then stops working everywhere."
    )


class ReceiptSink(Protocol):
    def print_receipt(self, receipt: Receipt) -> None:
        """Print one receipt; return only once the printer took it, else raise PrinterError."""
        ...


def receipt_document(receipt: Receipt, paper: PaperProfile = PAPER_80MM) -> ReceiptLayout:
    """The receipt laid out for a roll of `paper` (printer.receipt layout).

    Texts come from printer.receipt's `RECEIPT_TEXTS` for the resident's language (every kiosk
    language has a set; English for any other); scripts the code pages lack are drawn as
    raster images.
    """
    from printer.receipt import (
        RECEIPT_TEXTS,
        ReceiptContent,
        RevocationCode,
        build_receipt,
        normalise_code,
    )

    language = receipt.language if receipt.language in RECEIPT_TEXTS else "en"
    code = RevocationCode(normalise_code(receipt.revocation_code or ""), digest="")
    content = ReceiptContent(
        programme_name=receipt.programme,
        document_number=receipt.document_number,
        expires=receipt.expires,
        revocation_code=code,
        card_is_and_is_not=f"{receipt.disclaimer} {receipt.report_lost}",
        contacts=(),
        language=language,
        text=RECEIPT_TEXTS[language],
    )
    return build_receipt(content, paper)


def escpos_receipt(receipt: Receipt) -> bytes:
    """The receipt as the ESC/POS bytes an 80 mm printer receives."""
    from escpos.printer import Dummy

    from printer.escpos_printer import ReceiptPrinter

    device = Dummy(profile=PAPER_80MM.escpos_profile())
    ReceiptPrinter(device, PAPER_80MM).print_receipt(receipt_document(receipt, PAPER_80MM))
    return bytes(device.output)


class EscposReceiptSink:
    """Receipts on an ESC/POS printer (network, USB or serial): `print_receipt` returns once the
    printer took the receipt, and raises the printer's typed error (paper out, cover open,
    offline) otherwise, so nothing is reported printed that was not."""

    def __init__(self, printer: ReceiptPrinter) -> None:
        self.printer = printer
        self.printed = 0

    def print_receipt(self, receipt: Receipt) -> None:
        self.printer.print_receipt(receipt_document(receipt, self.printer.profile))
        self.printed += 1


class FileReceiptSink:
    """Writes each receipt's ESC/POS bytes to `directory/receipt.escpos` (replacing it).

    `delay` seconds per receipt simulate a real printer; `paper=False` simulates an empty roll
    (PaperOutError, nothing written)."""

    def __init__(self, directory: str | os.PathLike[str], *, delay: float = 0.0) -> None:
        self.directory = Path(directory)
        self.delay = delay
        self.paper = True
        self.printed = 0

    def print_receipt(self, receipt: Receipt) -> None:
        if not self.paper:
            raise PaperOutError()
        data = escpos_receipt(receipt)
        if self.delay:
            time.sleep(self.delay)
        try:
            # 0600: the receipt holds the one-time revocation code.
            write_atomic(self.directory / RECEIPT_FILE, data, mode=0o600)
        except OSError as exc:
            raise PrinterError(
                f"The receipt could not be written to {self.directory} ({exc.strerror}); check "
                "the directory and its free space."
            ) from exc
        self.printed += 1


def use_escpos_cache(directory: Path) -> None:
    """Keep python-escpos's printer-database pickle in `directory`.

    Unless ESCPOS_CAPABILITIES_PICKLE_DIR is set, importing escpos makes a *new* temporary
    directory every time (tempfile.mkdtemp) and leaves a pickle in it: a file outside the
    kiosk's data directory per process (and it calls logging.basicConfig(), undone here).
    This imports escpos now (it reads the variable once,
    at import), with the variable set only meanwhile; it does nothing when escpos was already
    imported or the variable is set.
    """
    if "escpos.capabilities" in sys.modules or _PICKLE_DIR in os.environ:
        return
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = logging.getLogger()
    handlers = list(root.handlers)
    os.environ[_PICKLE_DIR] = str(directory)
    try:
        import escpos.capabilities  # noqa: F401 - imported for its side effect
    finally:
        os.environ.pop(_PICKLE_DIR, None)
        # escpos.capabilities also calls logging.basicConfig(): undo the stderr handler it adds
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)


_PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def utc_day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()
