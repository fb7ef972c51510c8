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

Bitmaps: a panel is 1016 x 648 pixels (the card at 300 dpi with a little overscan), sent as
648-pixel lines (the card rotated a quarter turn), 1016 lines, packed MSB first: 1 bit per
pixel for 2 levels (k, o: 1 = lay the panel down), 5 bits per pixel for 32 levels (y, m, c).
A YMCKO ribbon prints the front in colour (y, m, c, black text on k, overlay o) and the back
in black (k, dithered).

`encode_and_print` is the encoding-station job: blank to the contactless station, encode the
chip (a callback that talks to the station's PC/SC reader), then print and eject; a blank
whose chip cannot be encoded goes to the reject bin and the next blank is tried.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from PIL import Image

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

__all__ = [
    "BITMAP_LINES",
    "BITMAP_LINE_PIXELS",
    "EVOLIS_VENDOR_ID",
    "EncodingFailedError",
    "EvolisPrinter",
    "EvolisTransport",
    "TcpTransport",
    "UsbTransport",
    "bitmap_size",
    "encode_and_print",
    "frame",
    "pack_panel",
    "panels_for",
    "unpack_panel",
]

log = logging.getLogger(__name__)

ESC = b"\x1b"
CR = b"\r"
EVOLIS_VENDOR_ID = 0x0F49
BITMAP_LINES = 1016  # along the card's long edge
BITMAP_LINE_PIXELS = 648  # along its short edge
_BITS = {2: 1, 32: 5, 64: 6, 128: 7, 256: 8}

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


def frame(command: str, data: bytes = b"") -> bytes:
    """ESC command [data] CR. The command is ASCII; `data` (bitmaps) is sent as it is."""
    return ESC + command.encode("ascii") + data + CR


def bitmap_size(levels: int) -> int:
    """Bytes of one panel bitmap with `levels` levels (2 -> 82296, 32 -> 411480)."""
    return BITMAP_LINES * BITMAP_LINE_PIXELS * _BITS[levels] // 8


# -- bitmaps ------------------------------------------------------------------------------------


def _or_all(parts: list[bytes], size: int) -> bytes:
    acc = 0
    for part in parts:
        acc |= int.from_bytes(part, "big")
    return acc.to_bytes(size, "big")


def pack_panel(values: bytes, levels: int) -> bytes:
    """Pack one value per pixel (0..levels-1, in line order) MSB first into the panel bytes.

    Groups of 8 pixels make `bits` bytes; each (pixel, byte) pair is one bytes.translate, so
    a panel packs in milliseconds rather than a Python loop per pixel.
    """
    bits = _BITS[levels]
    count = BITMAP_LINES * BITMAP_LINE_PIXELS
    if len(values) != count:
        raise ValueError("a panel has 1016 lines of 648 pixels")
    if bits == 8:
        return bytes(values)
    if bits == 1:
        return Image.frombytes("L", (BITMAP_LINE_PIXELS, BITMAP_LINES), bytes(values)).point(
            lambda v: 255 if v else 0
        ).convert("1", dither=Image.Dither.NONE).tobytes()
    groups = count // 8
    width = 8 * bits
    mask = (1 << bits) - 1
    out = bytearray(groups * bits)
    for k in range(bits):
        parts = []
        for j in range(8):
            shift = width - bits * (j + 1)
            lo, hi = width - 8 * (k + 1), width - 8 * k
            if shift + bits <= lo or shift >= hi:
                continue  # pixel j has no bits in byte k
            table = bytes((((v & mask) << shift) >> lo) & 0xFF for v in range(256))
            parts.append(values[j::8].translate(table))
        out[k::bits] = _or_all(parts, groups)
    return bytes(out)


def unpack_panel(data: bytes, levels: int) -> bytes:
    """The inverse of `pack_panel`: one value per pixel."""
    bits = _BITS[levels]
    count = BITMAP_LINES * BITMAP_LINE_PIXELS
    if bits == 8:
        return bytes(data[:count])
    if bits == 1:
        img = Image.frombytes("1", (BITMAP_LINE_PIXELS, BITMAP_LINES), bytes(data))
        return img.convert("L").point(lambda v: 1 if v else 0).tobytes()
    groups = count // 8
    width = 8 * bits
    mask = (1 << bits) - 1
    data = bytes(data[: groups * bits]).ljust(groups * bits, b"\x00")
    out = bytearray(count)
    for j in range(8):
        shift = width - bits * (j + 1)
        parts = []
        for k in range(bits):
            lo, hi = width - 8 * (k + 1), width - 8 * k
            if shift + bits <= lo or shift >= hi:
                continue
            table = bytes((((b << lo) >> shift) & mask) for b in range(256))
            parts.append(data[k::bits].translate(table))
        out[j::8] = _or_all(parts, groups)
    return bytes(out)


def _to_panel_geometry(img: Image.Image) -> Image.Image:
    """The card side, covering 1016 x 648 (centre crop), turned so that lines are 648 px."""
    from PIL import ImageOps

    fitted = ImageOps.fit(img.convert("RGB"), (BITMAP_LINES, BITMAP_LINE_PIXELS), Image.Resampling.LANCZOS)
    return fitted.transpose(Image.Transpose.ROTATE_270)


def panels_for(front: Image.Image, back: Image.Image | None) -> list[tuple[str, str, int, bytes]]:
    """(side, panel, levels, packed bytes) for a YMCKO ribbon: colour front, black back."""
    f = _to_panel_geometry(front)
    r, g, b = f.split()
    black = Image.eval(f.convert("L"), lambda v: 1 if v < 60 else 0)
    out: list[tuple[str, str, int, bytes]] = []
    for name, channel in (("y", b), ("m", g), ("c", r)):
        levels = channel.point(lambda v: (255 - v) * 31 // 255).tobytes()
        out.append(("front", name, 32, pack_panel(levels, 32)))
    out.append(("front", "k", 2, pack_panel(black.tobytes(), 2)))
    out.append(("front", "o", 2, pack_panel(b"\x01" * (BITMAP_LINES * BITMAP_LINE_PIXELS), 2)))
    if back is not None:
        bk = _to_panel_geometry(back).convert("L").convert("1")  # Floyd-Steinberg dither
        ink = bk.convert("L").point(lambda v: 0 if v else 1).tobytes()
        out.append(("back", "k", 2, pack_panel(ink, 2)))
    return out


# -- transports ---------------------------------------------------------------------------------


class EvolisTransport(Protocol):
    """Carries frames to the printer and its answers back."""

    def exchange(self, data: bytes, timeout: float) -> bytes:
        """Send `data`, then read the answer (up to and including CR, or what came before an
        idle gap); raises CardPrinterOfflineError when the printer does not answer."""
        ...

    def close(self) -> None: ...


def _offline(where: str, exc: BaseException | None = None) -> CardPrinterOfflineError:
    reason = f" ({exc})" if exc else ""
    return CardPrinterOfflineError(
        f"The card printer at {where} does not answer{reason}; check that it is switched on "
        "and connected, then try again."
    )


class TcpTransport:
    """An Evolis printer's raw TCP port (9100 on network models)."""

    IDLE = 0.3  # an answer without CR is taken as complete after this long silence

    def __init__(self, host: str, port: int = 9100, connect_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), self.connect_timeout)
            except OSError as exc:
                raise _offline(repr(self), exc) from exc
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    def exchange(self, data: bytes, timeout: float) -> bytes:
        sock = self._connect()
        answer = bytearray()
        try:
            sock.sendall(data)
            deadline = time.monotonic() + timeout
            while not answer.endswith(CR):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(min(left, self.IDLE) if answer else left)
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    if answer:
                        break
                    continue
                if not chunk:
                    self.close()
                    raise _offline(repr(self), ConnectionResetError("connection closed"))
                answer += chunk
        except OSError as exc:
            self.close()
            raise _offline(repr(self), exc) from exc
        if not answer:
            self.close()
            raise _offline(repr(self), TimeoutError(f"no answer within {timeout:g} s"))
        return bytes(answer)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


class UsbTransport:
    """An Evolis printer on USB (vendor 0F49), through pyusb's bulk endpoints.

    The printer-class interface is claimed (after detaching the kernel's usblp driver, which
    would otherwise own it). `backend` is passed to pyusb (tests give it a fake backend).
    """

    CHUNK = 4096

    def __init__(
        self,
        vendor: int = EVOLIS_VENDOR_ID,
        product: int | None = None,
        *,
        backend: Any = None,
    ) -> None:
        self.vendor = vendor
        self.product = product
        self.backend = backend
        self._dev: Any = None
        self._ep_out: Any = None
        self._ep_in: Any = None
        self._interface = 0

    def __repr__(self) -> str:
        product = f":{self.product:04x}" if self.product is not None else ""
        return f"usb://{self.vendor:04x}{product}"

    def _open(self) -> None:
        if self._dev is not None:
            return
        import usb.core
        import usb.util

        kwargs: dict[str, Any] = {"idVendor": self.vendor, "backend": self.backend}
        if self.product is not None:
            kwargs["idProduct"] = self.product
        try:
            dev = usb.core.find(**kwargs)
        except (usb.core.USBError, usb.core.NoBackendError) as exc:
            raise _offline(repr(self), exc) from exc
        if dev is None:
            raise CardPrinterOfflineError(
                f"No Evolis card printer is attached on USB ({self!r}); plug it in and switch it on."
            )
        try:
            cfg = dev.get_active_configuration() if _configured(dev) else None
            if cfg is None:
                dev.set_configuration()
                cfg = dev.get_active_configuration()
            intf = cfg[(0, 0)]
            self._interface = intf.bInterfaceNumber
            with contextlib.suppress(NotImplementedError, usb.core.USBError):
                if dev.is_kernel_driver_active(self._interface):
                    dev.detach_kernel_driver(self._interface)
            usb.util.claim_interface(dev, self._interface)
            out_dir, in_dir = usb.util.ENDPOINT_OUT, usb.util.ENDPOINT_IN
            self._ep_out = usb.util.find_descriptor(
                intf, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == out_dir
            )
            self._ep_in = usb.util.find_descriptor(
                intf, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == in_dir
            )
        except usb.core.USBError as exc:
            raise _offline(repr(self), exc) from exc
        if self._ep_out is None or self._ep_in is None:
            raise CardPrinterOfflineError(
                f"The USB device {self!r} has no bulk endpoints; it is not an Evolis card printer."
            )
        self._dev = dev

    def exchange(self, data: bytes, timeout: float) -> bytes:
        import usb.core

        self._open()
        ms = max(1, int(timeout * 1000))
        answer = bytearray()
        try:
            self._ep_out.write(data, ms)
            deadline = time.monotonic() + timeout
            while not answer.endswith(CR) and time.monotonic() < deadline:
                try:
                    chunk = self._ep_in.read(self.CHUNK, 200 if answer else ms)
                except usb.core.USBTimeoutError:
                    if answer:
                        break
                    continue
                answer += bytes(chunk)
        except usb.core.USBError as exc:
            self.close()
            raise _offline(repr(self), exc) from exc
        if not answer:
            raise _offline(repr(self), TimeoutError(f"no answer within {timeout:g} s"))
        return bytes(answer)

    def close(self) -> None:
        if self._dev is None:
            return
        import usb.util

        with contextlib.suppress(Exception):
            usb.util.release_interface(self._dev, self._interface)
            usb.util.dispose_resources(self._dev)
        self._dev = None


def _configured(dev: Any) -> bool:
    import usb.core

    try:
        dev.get_active_configuration()
    except usb.core.USBError:
        return False
    return True


# -- the printer --------------------------------------------------------------------------------


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
            ribbon_left = int(ribbon) if ribbon.isdigit() else None
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
