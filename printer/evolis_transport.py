"""How escape commands reach an Evolis printer: a raw TCP port or pyusb's bulk endpoints.

A command is framed as ESC, the command and its parameters separated by ';', then CR
(`frame`). A transport sends it and reads the answer up to and including CR, or what came
before an idle gap; a printer that does not answer is a CardPrinterOfflineError.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any, Protocol

from .card_printer import CardPrinterOfflineError

__all__ = ["EVOLIS_VENDOR_ID", "EvolisTransport", "TcpTransport", "UsbTransport", "frame"]

ESC = b"\x1b"
CR = b"\r"
EVOLIS_VENDOR_ID = 0x0F49


def frame(command: str, data: bytes = b"") -> bytes:
    """ESC command [data] CR. The command is ASCII; `data` (bitmaps) is sent as it is."""
    return ESC + command.encode("ascii") + data + CR


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
