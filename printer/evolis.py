"""Evolis card printers with a contactless encoding station, over USB or TCP.

Evolis printers (Primacy, Zenius, KC200, Agilia, ...) take "escape commands": ESC, the
command and its parameters separated by ';', then CR; the printer answers with text ("OK",
a value, or an error such as "FEEDER EMPTY"). This module speaks the commands citycard needs,
as described by the Evolis programming guide and public drivers (our own code):

| command | meaning | answer |
| --- | --- | --- |
| `Pem;2` | the host handles errors (the printer does not retry on its own) | OK |
| `Rfv` / `Rtp` / `Rsn` | firmware version / model / serial number | text |
| `Rlr;p` | where the card is | OK (none), CARD, CONTACTLESS CARD, SMART CARD |
| `Rse;o` / `Rse;f` | cover / feeder sensor | "5,00 Volts" (closed / cards) or "0,00 Volts" |
| `Rrt;count` | prints left on the ribbon | a number, or ERR RIB DETECTION |
| `Sic` | take a blank from the feeder to the contactless station | OK |
| `Sis` | the same to the contact (ISO 7816) station (not used by citycard) | OK |
| `Ser` | move the card in the printer to the reject bin | OK |
| `Se` | end of sequence: print what was downloaded (if anything) and eject | OK |
| `Pr;ymcko` | the ribbon type | OK |
| `Ss` / `Sr` / `Sv` | start a print sequence / front (recto) / back (verso) | OK |
| `Db;p;l;DATA` | download the bitmap of panel p (y, m, c, k, o) with l levels | OK |

Errors answered instead of OK become typed errors: FEEDER EMPTY -> OutOfCardsError, ERROR
RIBBON (and other ribbon answers) -> RibbonError, COVER OPEN -> CardCoverOpenError, CARD JAM ->
CardJamError, anything else starting with ERROR -> CardPrinterError.

Bitmaps (`printer.evolis_bitmap`): a panel is 1016 x 648 pixels, 1 or 5 bits per pixel; a
YMCKO ribbon prints the front in colour and the back in black. Transports
(`printer.evolis_transport`): TCP port 9100 or USB (vendor 0F49).

`encode_and_print` is the encoding-station job: blank to the contactless station, encode the
chip (a callback that talks to the station's PC/SC reader), then print and eject; a blank
whose chip cannot be encoded goes to the reject bin and the next blank is tried.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from cardio.errors import CitycardError, ReaderNotFoundError

from .card_printer import (
    CardCoverOpenError,
    CardJamError,
    CardJobResult,
    CardPrinterError,
    CardPrinterOfflineError,
    EncodingCardPrinter,
    OutOfCardsError,
    PrinterStatus,
    RibbonError,
    check_png,
)
from .evolis_bitmap import panels_for
from .evolis_transport import EVOLIS_VENDOR_ID, EvolisTransport, TcpTransport, UsbTransport, frame

__all__ = ["EncodingFailedError", "EvolisPrinter", "encode_and_print"]

log = logging.getLogger(__name__)

_ANSWER_ERRORS: tuple[tuple[str, type[CardPrinterError], str], ...] = (
    ("FEEDER EMPTY", OutOfCardsError, "The card printer has no blank cards; load cards into the feeder."),
    ("ERROR RIBBON", RibbonError, "The card printer's ribbon is used up or missing; replace the ribbon."),
    ("ERR RIB", RibbonError, "The card printer's ribbon is used up or missing; replace the ribbon."),
    ("RIBBON", RibbonError, "The card printer's ribbon is used up or not one it accepts; replace the ribbon."),
    ("COVER OPEN", CardCoverOpenError, "The card printer's cover is open; close it."),
    ("CARD JAM", CardJamError, "A card is jammed in the card printer; open it, remove the card and close it."),
)


class EncodingFailedError(CardPrinterError):
    """Every blank tried could not be encoded; they are in the reject bin."""


@dataclass(frozen=True)
class _Sensors:
    position: str
    cover_open: bool
    feeder_empty: bool
    ribbon_left: int | None


def _volts(answer: str) -> float:
    try:
        return float(answer.split()[0].replace(",", "."))
    except (ValueError, IndexError):
        return 0.0


class EvolisPrinter:
    """An Evolis printer with a contactless station, implementing EncodingCardPrinter."""

    def __init__(
        self,
        transport: EvolisTransport,
        *,
        timeout: float = 10.0,
        move_timeout: float = 20.0,
        print_timeout: float = 90.0,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.move_timeout = move_timeout
        self.print_timeout = print_timeout
        self._ready = False

    @classmethod
    def tcp(cls, host: str, port: int = 9100, **kwargs: float) -> EvolisPrinter:
        return cls(TcpTransport(host, port), **kwargs)

    @classmethod
    def usb(cls, vendor: int = EVOLIS_VENDOR_ID, product: int | None = None, **kwargs: float) -> EvolisPrinter:
        return cls(UsbTransport(vendor, product), **kwargs)

    def __repr__(self) -> str:
        return f"EvolisPrinter({self.transport!r})"

    def close(self) -> None:
        self.transport.close()

    # -- commands --

    def command(self, command: str, data: bytes = b"", *, timeout: float | None = None) -> str:
        """Send one escape command; return its answer, or raise the typed error it names."""
        raw = self.transport.exchange(frame(command, data), self.timeout if timeout is None else timeout)
        answer = raw.decode("ascii", errors="replace").strip("\x00\r\n ")
        upper = answer.upper()
        for marker, error, sentence in _ANSWER_ERRORS:
            if upper.startswith(marker):
                raise error(sentence)
        if upper.startswith("ERROR") or upper.startswith("ERR "):
            raise CardPrinterError(
                f"The card printer refused the command {command.split(';')[0]} ({answer}); check "
                "the printer's display and try again."
            )
        return answer

    def _ok(self, command: str, data: bytes = b"", *, timeout: float | None = None) -> None:
        answer = self.command(command, data, timeout=timeout)
        if answer.upper() != "OK":
            raise CardPrinterError(
                f"The card printer answered {answer!r} to {command.split(';')[0]} instead of OK; "
                "check the printer and try again."
            )

    def _setup(self) -> None:
        if not self._ready:
            self._ok("Pem;2")  # errors are the host's to handle: no automatic retries
            self._ready = True

    def firmware_version(self) -> str:
        return self.command("Rfv")

    def model(self) -> str:
        return self.command("Rtp")

    def _sensors(self) -> _Sensors:
        position = self.command("Rlr;p").upper()
        cover_open = _volts(self.command("Rse;o")) < 1.0
        feeder_empty = _volts(self.command("Rse;f")) < 1.0
        try:
            ribbon = self.command("Rrt;count")
        except RibbonError:
            ribbon_left: int | None = 0
        else:
            digits = ribbon.isascii() and ribbon.isdigit() and len(ribbon) < 10
            ribbon_left = int(ribbon) if digits else None
        return _Sensors(position, cover_open, feeder_empty, ribbon_left)

    def status(self) -> PrinterStatus:
        try:
            s = self._sensors()
        except CardPrinterOfflineError as exc:
            return PrinterStatus(False, "offline", ("offline",), str(exc))
        reasons = []
        if s.cover_open:
            reasons.append("cover-open")
        if s.feeder_empty:
            reasons.append("media-empty")
        if s.ribbon_left == 0:
            reasons.append("marker-supply-empty")
        details = {"card": s.position.lower(), "ribbon-left": str(s.ribbon_left)}
        if reasons:
            return PrinterStatus(False, "stopped", tuple(reasons), "The card printer needs attention.", details)
        state = "idle" if s.position == "OK" else "processing"
        return PrinterStatus(True, state, (), "Ready.", details)

    def _check_ready(self) -> None:
        s = self._sensors()
        if s.cover_open:
            raise CardCoverOpenError("The card printer's cover is open; close it.")
        if s.ribbon_left == 0:
            raise RibbonError("The card printer's ribbon is used up or missing; replace the ribbon.")

    def insert_to_contactless(self) -> None:
        self._setup()
        self._check_ready()
        self._ok("Sic", timeout=self.move_timeout)

    def eject(self) -> None:
        self._setup()
        self._ok("Se", timeout=self.move_timeout)

    def reject(self) -> None:
        self._setup()
        self._ok("Ser", timeout=self.move_timeout)

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        """Print the card at the station (or a blank from the feeder) and eject it."""
        front = check_png(front_png, "front")
        back = check_png(back_png, "back")
        self._setup()
        self._check_ready()
        sent = 0
        self._ok("Pr;ymcko")
        self._ok("Ss")
        side = ""
        for which, panel, levels, data in panels_for(front, back):
            if which != side:
                self._ok("Sr" if which == "front" else "Sv")
                side = which
            self._ok(f"Db;{panel};{levels};", data, timeout=self.print_timeout)
            sent += len(data)
        self._ok("Se", timeout=self.print_timeout)
        return CardJobResult(
            printer=repr(self.transport),
            job_id=None,
            document_format="application/vnd.evolis.escape-ymcko",
            bytes_sent=sent,
        )


# -- the encoding-station job -------------------------------------------------------------------


def encode_and_print(
    printer: EncodingCardPrinter,
    encode: Callable[[], None],
    front: bytes,
    back: bytes,
    max_attempts: int = 3,
) -> CardJobResult:
    """Blank to the contactless station, `encode()` the chip, print and eject.

    When `encode()` raises a CitycardError the blank goes to the reject bin and the next one
    is tried, up to `max_attempts` blanks (EncodingFailedError after that). A missing reader
    (ReaderNotFoundError) is not the card's fault: that blank is rejected and the error
    raised at once. Printer conditions (no cards, ribbon, cover, jam) propagate as they are.
    If printing fails after the chip was written, the card is moved to the reject bin (best
    effort) so that no half-made card leaves the printer, and the error propagates.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    rejected = 0
    last: CitycardError | None = None
    for attempt in range(1, max_attempts + 1):
        printer.insert_to_contactless()
        try:
            encode()
        except CardPrinterError:
            raise
        except ReaderNotFoundError:
            printer.reject()
            raise
        except CitycardError as exc:
            log.info("blank %d could not be encoded (%s); to the reject bin", attempt, type(exc).__name__)
            printer.reject()
            rejected += 1
            last = exc
            continue
        except Exception as exc:
            # Not the card's fault and not the printer's (the PC/SC daemon died, a bug): the
            # blank may be half written, so it goes to the reject bin, never to the next job.
            log.warning("encoding failed (%s); the blank goes to the reject bin", type(exc).__name__)
            with contextlib.suppress(CardPrinterError):
                printer.reject()
            raise EncodingFailedError(
                "The chip could not be written because of a fault in the kiosk's card reader "
                "connection; the blank card is in the reject bin. Restart the kiosk, then try "
                "again.",
                during_job=True,
            ) from exc
        try:
            result = printer.print_card(front, back)
        except CardPrinterError:
            with contextlib.suppress(CardPrinterError):
                printer.reject()
            raise
        return replace(result, rejected=rejected, attempts=attempt)
    raise EncodingFailedError(
        f"{max_attempts} blank cards in a row could not be encoded (last: {last}); they are in "
        "the reject bin. Check that the feeder holds the right chip cards, then try again.",
        during_job=True,
    ) from last

