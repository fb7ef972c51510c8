"""Typed printer errors: each one carries a sentence telling the attendant what to do next.

`PrinterError` is the base of every printer problem (receipt printers here; card printers may
subclass it too). The kiosk shows `str(error)` as it is. An error raised after the job was sent
(`during_job`) says that the print-out may be incomplete: print it again (for a receipt: with a
new revocation code, since the old one may be half printed).
"""

from __future__ import annotations

from cardio.errors import CitycardError

__all__ = [
    "CoverOpenError",
    "NotEscposPrinterError",
    "PaperOutError",
    "PrinterError",
    "PrinterOfflineError",
    "PrinterUnreachableError",
]


class PrinterError(CitycardError):
    """A printer that cannot print (or did not confirm that it printed)."""

    default = "The printer reported a problem: check it, then print again."

    def __init__(self, message: str | None = None, *, during_job: bool = False) -> None:
        self.during_job = during_job
        if message is None:
            message = self.default
            if during_job:
                message += " The last print-out may be incomplete: print it again."
            else:
                message += " Nothing was printed."
        super().__init__(message)


class PaperOutError(PrinterError):
    """The paper roll has run out."""

    default = (
        "The receipt printer is out of paper: load a new paper roll, close the cover, "
        "then print again."
    )


class CoverOpenError(PrinterError):
    """The printer cover (paper compartment) is open."""

    default = (
        "The receipt printer's cover is open: close it firmly until it clicks, then print again."
    )


class PrinterOfflineError(PrinterError):
    """The printer is connected but offline (an error, a jam) or does not answer."""

    default = (
        "The receipt printer is offline: switch it off and on again and wait for its light to "
        "stay on; if it stays offline, call technical support."
    )


class PrinterUnreachableError(PrinterError):
    """The printer cannot be reached over its cable or network."""

    default = (
        "The receipt printer cannot be reached: check that it is switched on and that its "
        "cable (USB, serial or network) is plugged in at both ends, then print again."
    )


class NotEscposPrinterError(PrinterUnreachableError):
    """Something answers at the printer's address, but not as an ESC/POS printer does (a web
    server or proxy at a mistyped address, a printer in another emulation, a wrong baud rate).
    The message names the address; paper, cover and the like cannot be known."""

    default = (
        "The device at the receipt printer's address does not answer like an ESC/POS receipt "
        "printer: check the address in the station file's [receipt_printer] section and that "
        "the printer is set to ESC/POS mode, then print again."
    )
