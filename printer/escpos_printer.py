"""`ReceiptPrinter`: prints documents on an ESC/POS printer and reports only what it printed.

It wraps one python-escpos printer: `Usb`, `Serial`, `Network` or `File` (the constructors
`ReceiptPrinter.usb/.serial/.network/.file` build them with sensible time-outs). A job goes:

1. real-time status (`DLE EOT 1`, `2`, `4`) — paper out, cover open, offline and a silent
   printer become typed errors before anything is sent (`printer.errors`);
2. the job (built by `printer.document` through python-escpos);
3. `GS r 1` (transmit paper sensor status), which the printer answers only once it has worked
   through everything before it: a printer that stops mid-job (paper out, cover opened, an
   error) never answers it, so while waiting we poll the real-time status, which it does
   answer, and raise the error it shows (its GS r 1 answer counts wherever it is read, also
   amid a poll's status answers);
4. real-time status again. Only then is a `PrintResult` returned.

Before a job, the three status answers must be the first bytes the device sends: anything
else (a web server or proxy at a mistyped address, a printer in another emulation, a serial
line at the wrong speed) is `NotEscposPrinterError`, never read as a paper or cover state.

A transport that cannot read (a file, a device node without a back channel) gets the job
but its result says `confirmed=False`. Nothing here logs the content of a job.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy, File, Network, Serial, Usb

from .document import Document, emit
from .errors import (
    CoverOpenError,
    NotEscposPrinterError,
    PaperOutError,
    PrinterError,
    PrinterOfflineError,
    PrinterUnreachableError,
)
from .paper import PAPER_80MM, PaperProfile

if TYPE_CHECKING:
    from .paper_card import PaperCard
    from .receipt import ReceiptLayout

__all__ = ["EscposStatus", "PaperLevel", "PrintResult", "ReceiptPrinter"]

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
GS_R_PAPER = b"\x1dr\x01"
_CHUNK = 4096


class PaperLevel(Enum):
    OK = "ok"
    NEAR_END = "near-end"
    OUT = "out"


@dataclass(frozen=True)
class EscposStatus:
    """Decoded real-time status (DLE EOT 1, 2, 4 and, on error, 3)."""

    online: bool
    cover_open: bool
    paper: PaperLevel
    error: bool  # an error stopped the printer (see cutter_error / unrecoverable)
    cutter_error: bool = False
    unrecoverable: bool = False
    raw: bytes = b""

    def raise_for_problem(self, during_job: bool) -> None:
        """Raise the typed error for what stops this printer, if anything does."""
        if self.cover_open:
            raise CoverOpenError(during_job=during_job)
        if self.paper is PaperLevel.OUT:
            raise PaperOutError(during_job=during_job)
        if self.cutter_error:
            raise PrinterOfflineError(
                "The receipt printer's paper cutter is jammed: open the cover, remove the "
                "jammed paper, close the cover, then print again."
                + (" The last print-out may be incomplete." if during_job else ""),
                during_job=during_job,
            )
        if self.error or not self.online:
            raise PrinterOfflineError(during_job=during_job)


@dataclass(frozen=True)
class PrintResult:
    """A job the printer accepted and — when `confirmed` — finished with a clean status."""

    bytes_sent: int
    confirmed: bool  # False: the transport cannot read status (file); nothing could confirm
    paper_near_end: bool
    seconds: float
    raster_images: int = 0


def _is_status_byte(b: int) -> bool:
    """DLE EOT answers have the fixed bits 0xx1xx10."""
    return b & 0x93 == 0x12


def _is_sync_byte(b: int) -> bool:
    """A GS r 1 answer (paper sensor status) has bits 4 and 7 clear."""
    return b & 0x90 == 0


class _Kind(Enum):
    NETWORK = "network"
    SERIAL = "serial"
    USB = "usb"
    NONE = "none"


class ReceiptPrinter:
    """One ESC/POS receipt printer behind a python-escpos transport."""

    def __init__(
        self,
        device: Any,
        profile: PaperProfile = PAPER_80MM,
        *,
        status_timeout: float = 2.0,
        sync_timeout: float = 30.0,
        poll_interval: float = 0.5,
        write_timeout: float = 30.0,
        read_status: bool | None = None,
    ) -> None:
        self.device = device
        self.profile = profile
        self.status_timeout = status_timeout
        self.sync_timeout = sync_timeout
        self.poll_interval = poll_interval
        self.write_timeout = write_timeout
        if isinstance(device, Network):
            self._kind = _Kind.NETWORK
        elif isinstance(device, Serial):
            self._kind = _Kind.SERIAL
        elif isinstance(device, Usb):
            self._kind = _Kind.USB
        else:
            self._kind = _Kind.NONE
        self.can_read = self._kind is not _Kind.NONE if read_status is None else read_status
        self._open = False
        # GS r 1 sent and not yet answered / its answer seen (by any read: see `_read`).
        self._sync_pending = False
        self._synced = False
        self._job_sent = False  # a break from now on may leave a half print-out

    # --- constructors for the four transports ----------------------------------------------

    @classmethod
    def network(
        cls,
        host: str,
        port: int = 9100,
        profile: PaperProfile = PAPER_80MM,
        *,
        connect_timeout: float = 3.0,
        **kwargs: Any,
    ) -> ReceiptPrinter:
        """A printer on TCP port 9100 (raw/JetDirect)."""
        device = Network(host, port=port, timeout=connect_timeout, profile=profile.escpos_profile())
        return cls(device, profile, **kwargs)

    @classmethod
    def usb(
        cls,
        vendor_id: int,
        product_id: int,
        profile: PaperProfile = PAPER_80MM,
        *,
        in_ep: int = 0x82,
        out_ep: int = 0x01,
        write_timeout_ms: int = 10_000,
        **kwargs: Any,
    ) -> ReceiptPrinter:
        """A USB printer (vendor class, bulk endpoints) through pyusb."""
        device = Usb(
            vendor_id,
            product_id,
            timeout=write_timeout_ms,
            in_ep=in_ep,
            out_ep=out_ep,
            profile=profile.escpos_profile(),
        )
        return cls(device, profile, **kwargs)

    @classmethod
    def serial(
        cls,
        devfile: str,
        baudrate: int = 38400,
        profile: PaperProfile = PAPER_80MM,
        **kwargs: Any,
    ) -> ReceiptPrinter:
        """A serial printer (RS-232 or a USB CDC port) with hardware flow control."""
        device = Serial(devfile, baudrate=baudrate, timeout=1, profile=profile.escpos_profile())
        return cls(device, profile, **kwargs)

    @classmethod
    def file(cls, path: str, profile: PaperProfile = PAPER_80MM, **kwargs: Any) -> ReceiptPrinter:
        """A device node such as /dev/usb/lp0, or a plain file: written, never read."""
        device = File(path, profile=profile.escpos_profile())
        return cls(device, profile, **kwargs)

    # --- connection ------------------------------------------------------------------------

    def open(self) -> None:
        if self._open:
            return
        try:
            self.device.open()
        except (DeviceNotFoundError, OSError) as exc:
            raise PrinterUnreachableError() from exc
        except Exception as exc:  # pyusb / pyserial raise their own errors
            raise PrinterUnreachableError() from exc
        if self._kind is _Kind.NETWORK:
            sock = self.device._device
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._open = True
        self._sync_pending = self._synced = self._job_sent = False

    def close(self) -> None:
        if self._open:
            try:
                self.device.close()
            except Exception:  # closing a dead connection: nothing left to do
                log.debug("closing the receipt printer failed", exc_info=True)
        self._open = False

    def __enter__(self) -> ReceiptPrinter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- raw I/O ---------------------------------------------------------------------------

    def _write(self, data: bytes, during_job: bool) -> None:
        try:
            if self._kind is _Kind.NETWORK:
                self.device._device.settimeout(self.write_timeout)
            for i in range(0, len(data), _CHUNK):
                self.device._raw(data[i : i + _CHUNK])
        except PrinterError:
            raise
        except Exception as exc:
            self._open = False
            raise PrinterUnreachableError(
                "The connection to the receipt printer broke off: check its cable or network "
                "and that it is switched on, then print again."
                + (" The last print-out may be incomplete." if during_job else ""),
                during_job=during_job,
            ) from exc

    def _read(self, timeout: float) -> bytes:
        """Whatever the printer sent within `timeout` seconds (b'' if nothing).

        While a GS r 1 is unanswered, its answer is noted here: it may come in the middle of a
        status poll (or be drained before one), and must not be lost there."""
        data = self._read_raw(timeout)
        if self._sync_pending and any(_is_sync_byte(b) for b in data):
            self._sync_pending = False
            self._synced = True
        return data

    def _read_raw(self, timeout: float) -> bytes:
        dev = self.device._device
        try:
            if self._kind is _Kind.NETWORK:
                dev.settimeout(max(timeout, 0.001))
                try:
                    data = dev.recv(64)
                except TimeoutError:
                    return b""
                if not data:
                    raise ConnectionError("the printer closed the connection")
                return bytes(data)
            if self._kind is _Kind.SERIAL:
                dev.timeout = timeout
                first = dev.read(1)
                rest = dev.read(dev.in_waiting) if first and dev.in_waiting else b""
                return bytes(first) + bytes(rest)
            if self._kind is _Kind.USB:
                import usb.core

                try:
                    return bytes(dev.read(self.device.in_ep, 64, max(1, int(timeout * 1000))))
                except usb.core.USBTimeoutError:
                    return b""
        except PrinterError:
            raise
        except Exception as exc:
            self._open = False
            raise PrinterUnreachableError(
                "The connection to the receipt printer broke off: check its cable or network "
                "and that it is switched on, then print again."
                + (" The last print-out may be incomplete." if self._job_sent else ""),
                during_job=self._job_sent,
            ) from exc
        return b""

    def _drain(self) -> None:
        while self._read(0.001):
            pass

    def _status_bytes(
        self, queries: bytes, count: int, timeout: float, *, strict: bool
    ) -> bytes | None:
        """Send DLE EOT queries and collect `count` status bytes.

        `strict` (before a job): the answers must be the first bytes received; any other byte
        means the device is no ESC/POS printer. During a job other bytes (the GS r 1 answer,
        noted by `_read`) are skipped."""
        # a socket that died while the job prints fails here, on the poll's write
        self._write(queries, during_job=self._job_sent)
        got = bytearray()
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for b in self._read(left):
                if _is_status_byte(b):
                    got.append(b)
                elif strict and len(got) < count:
                    raise NotEscposPrinterError(self._not_escpos_message())
        return bytes(got[:count])

    def _not_escpos_message(self) -> str:
        """The sentence for a device that answers, but not like an ESC/POS printer."""
        dev = self.device
        mode = "ESC/POS mode"
        if self._kind is _Kind.NETWORK:
            where, what = f"The device at {dev.host}:{dev.port}", "the address"
        elif self._kind is _Kind.USB:
            ids = getattr(dev, "usb_args", {})
            vid, pid = ids.get("idVendor", 0), ids.get("idProduct", 0)
            where, what = f"The USB device {vid:04x}:{pid:04x}", "the USB ids"
        else:  # a serial line at another speed reads as noise too
            where = f"The device on {getattr(dev, 'devfile', 'the serial port')}"
            what = "the device path"
            if getattr(dev, "baudrate", None):
                mode += f" and {dev.baudrate} baud"
        return (
            f"{where} does not answer like an ESC/POS receipt printer: check {what} in the "
            f"station file's [receipt_printer] section and that the printer is set to {mode}, "
            "then print again. Nothing was printed."
        )

    # --- status ----------------------------------------------------------------------------

    def status(self, *, during_job: bool = False) -> EscposStatus:
        """The printer's real-time status; PrinterOfflineError if it does not answer."""
        if not self.can_read:
            raise PrinterError("This receipt printer's connection cannot report status.")
        self.open()
        self._drain()
        queries = DLE_EOT + b"\x01" + DLE_EOT + b"\x02" + DLE_EOT + b"\x04"
        raw = self._status_bytes(queries, 3, self.status_timeout, strict=not during_job)
        if raw is None:
            raise PrinterOfflineError(
                "The receipt printer does not answer: switch it off and on again and check its "
                "cable; if it still does not answer, call technical support."
                + (
                    " The last print-out may be incomplete."
                    if during_job
                    else " Nothing was printed."
                ),
                during_job=during_job,
            )
        s1, s2, s4 = raw
        cutter = unrecoverable = False
        error = bool(s2 & 0x40)
        if error:
            s3 = self._status_bytes(
                DLE_EOT + b"\x03", 1, self.status_timeout, strict=not during_job
            )
            if s3 is not None:
                cutter = bool(s3[0] & 0x08)
                unrecoverable = bool(s3[0] & 0x20)
                raw += s3
        if s4 & 0x60 == 0x60 or s2 & 0x20:
            paper = PaperLevel.OUT
        elif s4 & 0x0C == 0x0C:
            paper = PaperLevel.NEAR_END
        else:
            paper = PaperLevel.OK
        return EscposStatus(
            online=not s1 & 0x08,
            cover_open=bool(s2 & 0x04),
            paper=paper,
            error=error,
            cutter_error=cutter,
            unrecoverable=unrecoverable,
            raw=raw,
        )

    def _wait_printed(self) -> None:
        """Send GS r 1 and wait for its answer, polling real-time status meanwhile."""
        self._synced = False
        self._sync_pending = True
        self._write(GS_R_PAPER, during_job=True)
        deadline = time.monotonic() + self.sync_timeout
        next_poll = time.monotonic() + self.poll_interval
        while not self._synced:
            now = time.monotonic()
            if now >= deadline:
                break
            self._read(min(deadline, next_poll) - now)
            if not self._synced and time.monotonic() >= next_poll:
                self.status(during_job=True).raise_for_problem(during_job=True)
                next_poll = time.monotonic() + self.poll_interval
        self._sync_pending = False
        if self._synced:
            return
        self.status(during_job=True).raise_for_problem(during_job=True)
        raise PrinterOfflineError(
            f"The receipt printer did not confirm within {self.sync_timeout:.0f} s that it "
            "printed: check whether the print-out came out complete; if not, switch the printer "
            "off and on again and print again.",
            during_job=True,
        )

    # --- printing --------------------------------------------------------------------------

    def print_document(self, document: Document) -> PrintResult:
        """Print one document; returns only after the printer confirmed a clean finish."""
        started = time.perf_counter()
        try:
            self.open()
            if self.can_read:
                self.status().raise_for_problem(during_job=False)
            dummy = Dummy(profile=self.profile.escpos_profile())
            job = emit(document, dummy, self.profile)
            data = bytes(dummy.output)
            self._job_sent = True
            self._write(data, during_job=True)
            if not self.can_read:
                return PrintResult(
                    len(data), False, False, time.perf_counter() - started, job.raster_images
                )
            self._wait_printed()
            after = self.status(during_job=True)
            after.raise_for_problem(during_job=True)
            return PrintResult(
                len(data),
                True,
                after.paper is PaperLevel.NEAR_END,
                time.perf_counter() - started,
                job.raster_images,
            )
        finally:
            self.close()

    def print_receipt(self, receipt: ReceiptLayout) -> PrintResult:
        """Print a `printer.receipt.ReceiptLayout` (laid out for this printer's paper width)."""
        if receipt.profile.dots > self.profile.dots:
            raise PrinterError(
                f"This receipt is laid out for {receipt.profile.width_mm} mm paper but the "
                f"printer has {self.profile.width_mm} mm paper: lay it out for this printer."
            )
        return self.print_document(receipt.document)

    def print_paper_card(self, card: PaperCard) -> PrintResult:
        """Print a `printer.paper_card.PaperCard` document."""
        return self.print_document(card.document)
