"""A simulated Evolis card printer with a contactless encoding station, on a loopback TCP port.

It answers the escape commands `printer.evolis` sends (ESC command CR; `Db` carries its bitmap
of a length fixed by its parameters) the way the printer's programming guide describes, keeps
the mechanics honest (one card inside at a time; a card must be at the station to be rejected)
and records what a test wants to check: `moves` (every card movement, e.g. "feeder ->
contactless", "contactless -> reject", "contactless -> output") and `printed` (the panels
printed on each card that reached the output hopper).

The feeder holds `blanks`: each blank may carry a chip (any `CardModel`, e.g. a
`VirtualType4Card`). When a blank reaches the contactless station the simulator calls
`station.present(chip)`, and `station.remove()` when it leaves, so the chip appears in the
station's reader (in tests: a vpcd slot behind the real pcscd).

States to inject, at any time: `feeder` (the blanks left), `ribbon_left` (0 = ribbon out),
`cover_open`, `jam` (the next card movement jams). Errors are answered as a real printer
does: FEEDER EMPTY, ERROR RIBBON, COVER OPEN, CARD JAM.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import usb.backend
import usb.core
from PIL import Image

from hardware.card_model import CardModel
from printer.evolis_bitmap import BITMAP_LINE_PIXELS, BITMAP_LINES, bitmap_size, unpack_panel

__all__ = [
    "Blank",
    "ContactlessStation",
    "EvolisSimulator",
    "FakeEvolisUsbBackend",
    "PrintedCard",
]

ESC, CR = 0x1B, 0x0D


class ContactlessStation(Protocol):
    def present(self, chip: CardModel) -> None: ...

    def remove(self) -> None: ...


@dataclass
class Blank:
    """A blank card in the feeder; `chip` is what the station's reader will find on it."""

    chip: CardModel | None = None
    label: str = ""


@dataclass
class PrintedCard:
    """A card that left through the output hopper, with the panels printed on it."""

    blank: Blank
    panels: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (side, panel) -> values

    def panel_image(self, side: str, panel: str) -> Image.Image:
        """The panel as a landscape card image (black = where the panel was laid down)."""
        values = self.panels[(side, panel)]
        peak = max(values) or 1
        img = Image.frombytes("L", (BITMAP_LINE_PIXELS, BITMAP_LINES), bytes(255 - v * 255 // peak for v in values))
        return img.transpose(Image.Transpose.ROTATE_90)


class EvolisSimulator:
    """Serves one connection at a time on 127.0.0.1:`port` (0 = any free port)."""

    def __init__(
        self,
        blanks: Iterable[Blank] = (),
        *,
        station: ContactlessStation | None = None,
        ribbon_left: int = 200,
        firmware: str = "1.9.47",
        model: str = "Primacy 2",
        port: int = 0,
    ) -> None:
        self.feeder: list[Blank] = list(blanks)
        self.station = station
        self.ribbon_left = ribbon_left
        self.cover_open = False
        self.jam = False
        self.firmware = firmware
        self.model = model
        self.moves: list[str] = []
        self.commands: list[str] = []
        self.printed: list[PrintedCard] = []
        self.rejected: list[Blank] = []
        self.card: Blank | None = None
        self.position: str | None = None  # "contactless" or "print" while a card is inside
        self._panels: dict[tuple[str, str], bytes] = {}
        self._side = "front"
        self._in_sequence = False
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", port))
        self.port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="evolis-sim", daemon=True)
        self._conn: socket.socket | None = None
        self._buf = bytearray()

    # -- lifecycle --

    def start(self) -> EvolisSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        with contextlib.suppress(OSError):
            self._server.close()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        if self.position == "contactless" and self.station is not None:
            self.station.remove()

    def __enter__(self) -> EvolisSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the wire --

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._server.accept()
            except OSError:
                return
            self._conn = conn
            try:
                self._session(conn)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    conn.close()
                self._conn = None

    def _session(self, conn: socket.socket) -> None:
        self._buf = bytearray()
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            answers = self.feed(chunk)
            if answers:
                conn.sendall(answers)

    def feed(self, data: bytes) -> bytes:
        """Take bytes as the printer's port would; return the answers to every complete frame
        (each answer ends with CR). Transports other than TCP (a fake USB backend) use this."""
        buf = self._buf
        buf += data
        out = bytearray()
        while True:
            if ESC not in buf:
                buf.clear()  # padding NULs and noise before a frame
                return bytes(out)
            del buf[: buf.index(ESC)]
            parsed = _next_command(buf[1:])
            if parsed is None:
                return bytes(out)
            command, payload, used = parsed
            del buf[: used + 1]
            with self._lock:
                answer = self._handle(command, payload)
            out += answer.encode("ascii") + b"\r"

    # -- the printer --

    def _move(self, what: str) -> str | None:
        """Record a movement; a pending jam stops it (the card stays where it was)."""
        if self.cover_open:
            return "COVER OPEN"
        if self.jam:
            return "CARD JAM"
        self.moves.append(what)
        return None

    def _leave_station(self) -> None:
        if self.position == "contactless" and self.station is not None:
            self.station.remove()

    def _feed(self, to: str) -> str | None:
        if self.card is not None:
            return None  # already a card inside
        if not self.feeder:
            return "FEEDER EMPTY"
        error = self._move(f"feeder -> {to}")
        if error:
            return error
        self.card = self.feeder.pop(0)
        self.position = to
        if to == "contactless" and self.station is not None and self.card.chip is not None:
            self.station.present(self.card.chip)
        return None

    def _handle(self, command: str, data: bytes) -> str:
        self.commands.append(command if not command.startswith("Db;") else command + f"<{len(data)} bytes>")
        name, *params = command.split(";")
        if name == "Pem" or name == "Pr" or name == "Pc" or name == "Pmi":
            return "OK"
        if name == "Rfv":
            return self.firmware
        if name == "Rtp":
            return self.model
        if name == "Rsn":
            return "SIM00001"
        if name == "Rlr" and params[:1] == ["p"]:
            return {None: "OK", "contactless": "CONTACTLESS CARD", "print": "CARD"}[self.position]
        if name == "Rse" and params[:1] == ["o"]:
            return "0,00 Volts" if self.cover_open else "5,00 Volts"
        if name == "Rse" and params[:1] == ["f"]:
            return "5,00 Volts" if self.feeder else "0,00 Volts"
        if name == "Rrt" and params[:1] == ["count"]:
            return str(self.ribbon_left) if self.ribbon_left > 0 else "ERR RIB DETECTION"
        if name == "Sic":
            if self.card is not None:
                return "ERROR CARD PRESENT" if self.position != "contactless" else "OK"
            return self._feed("contactless") or "OK"
        if name == "Ser":
            if self.card is None:
                return "ERROR NO CARD"
            error = self._move(f"{self.position} -> reject")
            if error:
                return error
            self._leave_station()
            self.rejected.append(self.card)
            self.card, self.position = None, None
            return "OK"
        if name == "Ss":
            self._in_sequence, self._panels, self._side = True, {}, "front"
            return "OK"
        if name in ("Sr", "Sv"):
            self._side = "front" if name == "Sr" else "back"
            return "OK"
        if name == "Db":
            if len(params) < 3 or not data or params[0] not in ("y", "m", "c", "k", "o"):
                return "ERROR PARAMETRES"
            self._panels[(self._side, params[0])] = unpack_panel(data, int(params[1]))
            return "OK"
        if name == "Se":
            return self._end_sequence()
        return "ERROR CDE"

    def _end_sequence(self) -> str:
        panels, self._panels = self._panels, {}
        printing = self._in_sequence and bool(panels)
        self._in_sequence = False
        if printing:
            if self.ribbon_left <= 0:
                return "ERROR RIBBON"
            if self.card is None:
                error = self._feed("print")
                if error:
                    return error
            if self.position == "contactless":
                error = self._move("contactless -> print")
                if error:
                    return error
                self._leave_station()
                self.position = "print"
            self.ribbon_left -= 1
        if self.card is None:
            return "ERROR NO CARD"
        error = self._move(f"{self.position} -> output")
        if error:
            return error
        if self.position == "contactless":
            self._leave_station()
        self.printed.append(PrintedCard(self.card, panels if printing else {}))
        self.card, self.position = None, None
        return "OK"


def _next_command(buf: bytearray) -> tuple[str, bytes, int] | None:
    """(command, bitmap data, bytes used) of the frame at the start of `buf` (after ESC), or
    None when more bytes are needed. A Db frame carries exactly `bitmap_size(levels)` bytes."""
    if buf.startswith(b"Db;") and buf.count(b";") >= 3:
        head_end = _nth(buf, b";", 3) + 1
        parts = bytes(buf[:head_end]).decode("ascii", errors="replace").split(";")
        if parts[2].isdigit() and int(parts[2]) in (2, 32, 64, 128, 256):
            size = bitmap_size(int(parts[2]))
            if len(buf) < head_end + size + 1:
                return None
            if buf[head_end + size] != CR:
                return "Db;malformed", b"", head_end + size + 1
            return bytes(buf[:head_end]).decode("ascii"), bytes(buf[head_end : head_end + size]), head_end + size + 1
    if CR in buf:
        end = buf.index(CR)
        return bytes(buf[:end]).decode("ascii", errors="replace"), b"", end + 1
    return None


def _nth(buf: bytearray, sep: bytes, n: int) -> int:
    index = -1
    for _ in range(n):
        index = buf.index(sep, index + 1)
    return index


# -- USB -------------------------------------------------------------------------------------------


class FakeEvolisUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """A pyusb backend (`usb.backend.IBackend` duck type) with one Evolis printer on it: bulk
    OUT bytes go to `simulator.feed`, bulk IN returns its answers. Pass it as `backend=` to
    `printer.evolis_transport.UsbTransport`; the simulator need not be started (no TCP is involved)."""

    VENDOR, PRODUCT = 0x0F49, 0x1006  # Evolis, a Primacy-class product id
    EP_OUT, EP_IN = 0x01, 0x82

    def __init__(self, simulator: EvolisSimulator, *, kernel_driver: bool = True) -> None:
        self.simulator = simulator
        self.kernel_driver = kernel_driver
        self.pending = bytearray()
        self.configuration = 0
        self.claimed: set[int] = set()
        self.detached = False
        self.writes = 0

    def enumerate_devices(self) -> Iterable[str]:
        yield "evolis-sim"

    def get_device_descriptor(self, dev: object) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=self.VENDOR, idProduct=self.PRODUCT,
            bcdDevice=0x0100, iManufacturer=0, iProduct=0, iSerialNumber=0, bNumConfigurations=1,
            address=5, bus=1, port_number=1, port_numbers=(1,), speed=3,
        )

    def get_configuration_descriptor(self, dev: object, config: int) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(
            bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
            bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0, bMaxPower=1,
            extra_descriptors=b"",
        )

    def get_interface_descriptor(self, dev: object, intf: int, alt: int, config: int) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(
            bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0,
            bNumEndpoints=2, bInterfaceClass=7, bInterfaceSubClass=1, bInterfaceProtocol=2,
            iInterface=0, extra_descriptors=b"",
        )

    def get_endpoint_descriptor(self, dev: object, ep: int, intf: int, alt: int, config: int) -> object:
        from types import SimpleNamespace

        return SimpleNamespace(
            bLength=7, bDescriptorType=5, bEndpointAddress=(self.EP_OUT, self.EP_IN)[ep],
            bmAttributes=2, wMaxPacketSize=512, bInterval=0, bRefresh=0, bSynchAddress=0,
            extra_descriptors=b"",
        )

    def open_device(self, dev: object) -> str:
        return "handle"

    def close_device(self, handle: object) -> None:
        return None

    def set_configuration(self, handle: object, value: int) -> None:
        self.configuration = value

    def get_configuration(self, handle: object) -> int:
        return self.configuration

    def set_interface_altsetting(self, handle: object, intf: int, alt: int) -> None:
        return None

    def claim_interface(self, handle: object, intf: int) -> None:
        if self.kernel_driver and not self.detached:
            raise usb.core.USBError("Resource busy (usblp owns the interface)", errno=16)
        self.claimed.add(intf)

    def release_interface(self, handle: object, intf: int) -> None:
        self.claimed.discard(intf)

    def is_kernel_driver_active(self, handle: object, intf: int) -> bool:
        return self.kernel_driver and not self.detached

    def detach_kernel_driver(self, handle: object, intf: int) -> None:
        self.detached = True

    def attach_kernel_driver(self, handle: object, intf: int) -> None:
        self.detached = False

    def bulk_write(self, handle: object, ep: int, intf: int, data: Sequence[int], timeout: int) -> int:
        self.writes += 1
        self.pending += self.simulator.feed(bytes(data))
        return len(data)

    def bulk_read(self, handle: object, ep: int, intf: int, buff: Any, timeout: int) -> int:
        if not self.pending:
            raise usb.core.USBTimeoutError("Operation timed out", errno=110)
        n = min(len(buff), len(self.pending))
        for i in range(n):
            buff[i] = self.pending[i]
        del self.pending[:n]
        return n

    def clear_halt(self, handle: object, ep: int) -> None:
        return None
