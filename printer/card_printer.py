"""Card printers: one interface for IPP printers, Evolis printers with an encoding station
and the `file` printer of the demo.

`CardPrinter` prints both sides of one card (`print_card(front_png, back_png)`) and reports
`status()`. `EncodingCardPrinter` adds the card moves of a printer with a contactless
encoding station (`insert_to_contactless`, `eject`, `reject`) and `firmware_version()`.
Conditions a person must fix at the printer are typed errors, each with a sentence for the
kiosk screen: OutOfCardsError, RibbonError, CardCoverOpenError, CardJamError, CardPrinterOfflineError
(all CardPrinterError, itself a `printer.errors.PrinterError`).
Nothing is reported printed that the printer did not confirm.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from PIL import Image, UnidentifiedImageError

from cardio.files import write_atomic

from .errors import CoverOpenError, PrinterError, PrinterOfflineError

__all__ = [
    "CardCoverOpenError",
    "CardJamError",
    "CardJobResult",
    "CardPrinter",
    "CardPrinterBusyError",
    "CardPrinterError",
    "CardPrinterOfflineError",
    "EncodingCardPrinter",
    "FileCardPrinter",
    "OutOfCardsError",
    "PrinterStatus",
    "RibbonError",
    "check_png",
]


class CardPrinterError(PrinterError):
    """The card was not printed; the message says what to do."""


class CardPrinterOfflineError(CardPrinterError, PrinterOfflineError):
    """The printer does not answer, or answers something that is not its protocol."""


class CardPrinterBusyError(CardPrinterError):
    """The printer stayed busy through every retry."""


class OutOfCardsError(CardPrinterError):
    """The feeder holds no blank cards."""


class RibbonError(CardPrinterError):
    """The ribbon is used up, missing or not one the printer accepts."""


class CardCoverOpenError(CardPrinterError, CoverOpenError):
    """The printer's cover is open."""


class CardJamError(CardPrinterError):
    """A card is stuck inside the printer."""


@dataclass(frozen=True)
class PrinterStatus:
    """What a printer says about itself. `ready` is True when it can take a card job now."""

    ready: bool
    state: str  # "idle", "processing", "stopped", "offline"
    reasons: tuple[str, ...] = ()
    message: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CardJobResult:
    """A card the printer confirmed printed (and, for encoding printers, how many blanks
    went to the reject bin on the way)."""

    printer: str
    job_id: int | None
    document_format: str
    bytes_sent: int
    state: str = "completed"
    rejected: int = 0
    attempts: int = 1


@runtime_checkable
class CardPrinter(Protocol):
    """A printer that prints both sides of one CR80 card per job."""

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        """Print one card; returns only once the printer confirmed it, else raises."""
        ...

    def status(self) -> PrinterStatus: ...


@runtime_checkable
class EncodingCardPrinter(CardPrinter, Protocol):
    """A card printer with a contactless encoding station (a PC/SC reader inside it)."""

    def insert_to_contactless(self) -> None:
        """Take a blank card from the feeder to the contactless station."""
        ...

    def eject(self) -> None:
        """Move the card in the printer to the output hopper."""
        ...

    def reject(self) -> None:
        """Move the card in the printer to the reject bin."""
        ...

    def firmware_version(self) -> str: ...


def check_png(data: bytes, what: str) -> Image.Image:
    """Decode a card side given as PNG; CardPrinterError when it is not one."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise CardPrinterError(f"The {what} of the card is not a PNG image; render the card again.")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CardPrinterError(f"The {what} of the card is not a readable PNG image; render the card again.") from exc
    return img


class FileCardPrinter:
    """Writes card-front.png and card-back.png into a directory (the demo's card printer).

    Each file is written to a temporary name and renamed, so a reader never sees half a card.
    The files hold a resident's card: the caller removes them when the demo ends.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.jobs = 0

    def __repr__(self) -> str:
        return f"FileCardPrinter({str(self.directory)!r})"

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        check_png(front_png, "front")
        check_png(back_png, "back")
        try:
            for name, data in (("card-front.png", front_png), ("card-back.png", back_png)):
                # 0600: the files hold a resident's card, for the kiosk's user only
                write_atomic(self.directory / name, data, mode=0o600)
        except OSError as exc:
            raise CardPrinterError(
                f"The card could not be written to {self.directory} ({exc.strerror}); check the "
                "directory and its free space."
            ) from exc
        self.jobs += 1
        return CardJobResult(
            printer=f"file:{self.directory}",
            job_id=self.jobs,
            document_format="image/png",
            bytes_sent=len(front_png) + len(back_png),
        )

    def status(self) -> PrinterStatus:
        if self.directory.is_dir() and os.access(self.directory, os.W_OK):
            return PrinterStatus(True, "idle", message=f"Cards are written to {self.directory}.")
        parent = self.directory.parent
        if not self.directory.exists() and parent.is_dir() and os.access(parent, os.W_OK):
            return PrinterStatus(True, "idle", message=f"Cards will be written to {self.directory}.")
        return PrinterStatus(
            False,
            "stopped",
            ("directory-not-writable",),
            f"{self.directory} cannot be written; check the directory.",
        )
