"""A simulated ESC/POS receipt printer on a loopback TCP port (like a printer's port 9100).

It sits below the real stack: python-escpos' own `Network` printer connects to it, and with
`serve_pty()` its `Serial` printer opens the simulator's pseudo-terminal like a serial port. It parses
the byte stream command by command (`printer.escpos_decode.next_command`, so a 0x10 0x04 inside
image data is not mistaken for a status query), keeps every byte it received and, separately,
the commands it *printed*, and answers:

- `DLE EOT n` (n = 1..4) at once, in every state, with Epson's status bytes (fixed bits
  0xx1xx10): 1 printer (bit 3 offline), 2 offline cause (bit 2 cover open, bit 5 stopped by
  paper end, bit 6 error), 3 error cause (bit 3 autocutter, bit 5 unrecoverable, bit 6
  auto-recoverable), 4 roll paper sensor (bits 2-3 near end, bits 5-6 paper end);
- `GS r 1` / `GS ( H` in order, only while it can print: a printer stopped by paper out, an
  open cover or an error answers them once it recovers.

Faults can be set at once or armed to strike after N more bytes of job data (mid-job):
`run_out_of_paper`, `open_cover`, `go_offline`, `jam_cutter`, `paper_near_end`, and
`stop_answering` (a printer that accepts bytes but answers nothing). `load_paper`,
`close_cover` and `recover` clear them; job data received while stopped stays in `unprinted`
(as if the attendant cancelled the job on the printer). Loopback only.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import socket
import threading
import tty
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from printer.escpos_decode import Command, Decoded, decode, next_command

__all__ = ["EscposSimulator"]

_REALTIME = frozenset({"DLE EOT", "DLE ENQ", "DLE DC4"})


class _Channel(Protocol):
    def fileno(self) -> int: ...
    def recv(self, size: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...


class _PtyChannel:
    """The master side of a pseudo-terminal, as the simulator's side of a serial cable."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def recv(self, size: int) -> bytes:
        return os.read(self.fd, size)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]


@dataclass
class _Armed:
    remaining: int
    action: Callable[[], None]


class EscposSimulator:
    """A TCP ESC/POS printer for tests and the demo. Use as a context manager."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, code_pages: Mapping[int, str] | None = None
    ) -> None:
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.1)
        self.host, self.port = self._server.getsockname()[:2]
        self.code_pages = code_pages
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._received = bytearray()
        self._printed = bytearray()
        self._unprinted = bytearray()
        self.connections = 0
        self.status_queries = 0
        # state
        self.paper_out = False
        self.near_end = False
        self.cover_open = False
        self.error = False  # an auto-recoverable error (e.g. head too hot): offline
        self.cutter_jammed = False
        self.silent = False
        self._armed: list[_Armed] = []
        self._pending: list[Command] = []  # GS r / GS ( H waiting for the printer to resume
        self._conn: _Channel | None = None
        self._pty: tuple[int, int] | None = None
        self._pty_thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> EscposSimulator:
        self._thread = threading.Thread(target=self._serve, name="escpos-sim", daemon=True)
        self._thread.start()
        return self

    def serve_pty(self) -> str:
        """Also serve on a pseudo-terminal (a serial printer); returns its device path."""
        master, slave = pty.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self._pty = (master, slave)  # we keep the slave open: the master never sees a hang-up
        channel = _PtyChannel(master)

        def serve() -> None:
            with self._lock:
                self._conn = channel
            self._handle(channel)

        self._pty_thread = threading.Thread(target=serve, name="escpos-sim-pty", daemon=True)
        self._pty_thread.start()
        return os.ttyname(slave)

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._pty_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._server.close()
        if self._pty is not None:
            for fd in self._pty:
                os.close(fd)
            self._pty = None

    def __enter__(self) -> EscposSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    # --- what it got -----------------------------------------------------------------------

    @property
    def received(self) -> bytes:
        """Every byte received, status queries included."""
        with self._lock:
            return bytes(self._received)

    @property
    def printed(self) -> bytes:
        """The commands it printed (not those received while it was stopped)."""
        with self._lock:
            return bytes(self._printed)

    @property
    def unprinted(self) -> bytes:
        """Job data received while stopped (paper out, cover open, error)."""
        with self._lock:
            return bytes(self._unprinted)

    def decoded(self) -> Decoded:
        """What was printed, decoded (strict: every command must be known)."""
        return decode(self.printed, self.code_pages, strict=True)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._printed.clear()
            self._unprinted.clear()
            self.status_queries = 0

    # --- faults ----------------------------------------------------------------------------

    def _arm(self, after_bytes: int, action: Callable[[], None]) -> None:
        with self._lock:
            if after_bytes <= 0:
                action()
            else:
                self._armed.append(_Armed(after_bytes, action))

    def run_out_of_paper(self, after_bytes: int = 0) -> None:
        """The roll ends now, or after `after_bytes` more bytes of job data."""
        self._arm(after_bytes, lambda: setattr(self, "paper_out", True))

    def paper_near_end(self, on: bool = True) -> None:
        with self._lock:
            self.near_end = on

    def open_cover(self, after_bytes: int = 0) -> None:
        self._arm(after_bytes, lambda: setattr(self, "cover_open", True))

    def go_offline(self, after_bytes: int = 0) -> None:
        """An error stops the printer (offline, error bit set)."""
        self._arm(after_bytes, lambda: setattr(self, "error", True))

    def jam_cutter(self, after_bytes: int = 0) -> None:
        self._arm(after_bytes, lambda: setattr(self, "cutter_jammed", True))

    def stop_answering(self, silent: bool = True) -> None:
        """Accept bytes but answer nothing (a hung printer)."""
        with self._lock:
            self.silent = silent

    def load_paper(self) -> None:
        with self._lock:
            self.paper_out = False
            self.near_end = False
        self._resume()

    def close_cover(self) -> None:
        with self._lock:
            self.cover_open = False
        self._resume()

    def recover(self) -> None:
        with self._lock:
            self.error = False
            self.cutter_jammed = False
        self._resume()

    def _resume(self) -> None:
        with self._lock:
            if not self._can_print() or self._conn is None:
                return
            pending, self._pending = self._pending, []
            answers = [self._in_order_answer(cmd) for cmd in pending]
            conn = self._conn
        for answer in answers:
            with contextlib.suppress(OSError):
                conn.sendall(answer)

    # --- status bytes ----------------------------------------------------------------------

    def _can_print(self) -> bool:
        return not (self.paper_out or self.cover_open or self.error or self.cutter_jammed)

    def _status(self, n: int) -> bytes:
        b = 0x12
        if n == 1:
            b |= 0x08 if not self._can_print() else 0
        elif n == 2:
            b |= 0x04 if self.cover_open else 0
            b |= 0x20 if self.paper_out else 0
            b |= 0x40 if (self.error or self.cutter_jammed) else 0
        elif n == 3:
            b |= 0x08 if self.cutter_jammed else 0
            b |= 0x40 if self.error else 0
        elif n == 4:
            b |= 0x0C if (self.near_end or self.paper_out) else 0
            b |= 0x60 if self.paper_out else 0
        else:
            return b""
        return bytes([b])

    def _paper_sensor(self) -> bytes:
        """GS r 1: bits 0-1 near end, bits 2-3 paper end."""
        b = 0
        b |= 0x03 if (self.near_end or self.paper_out) else 0
        b |= 0x0C if self.paper_out else 0
        return bytes([b])

    # --- the server ------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._lock:
                    self.connections += 1
                    self._conn = conn
                self._handle(conn)
                with self._lock:
                    self._conn = None

    def _handle(self, conn: _Channel) -> None:
        buf = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([conn], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._received.extend(chunk)
            buf += chunk
            pos = 0
            while True:
                cmd = next_command(buf, pos)
                if cmd is None:
                    break
                answer = self._process(cmd, buf)
                if answer:
                    with contextlib.suppress(OSError):
                        conn.sendall(answer)
                pos = cmd.end
            buf = buf[pos:]

    def _process(self, cmd: Command, buf: bytes) -> bytes:
        raw = buf[cmd.start : cmd.end]
        with self._lock:
            if cmd.name in _REALTIME:
                if cmd.name == "DLE EOT":
                    self.status_queries += 1
                    return b"" if self.silent else self._status(cmd.args[0])
                return b""
            for armed in list(self._armed):
                armed.remaining -= len(raw)
                if armed.remaining <= 0:
                    armed.action()
                    self._armed.remove(armed)
            if not self._can_print():
                self._unprinted.extend(raw)
                if self._in_order_answer(cmd):
                    self._pending.append(cmd)
                return b""
            self._printed.extend(raw)
            answer = self._in_order_answer(cmd)
            return b"" if self.silent else answer

    def _in_order_answer(self, cmd: Command) -> bytes:
        if cmd.name == "GS r" and cmd.args[0] in (1, 49):
            return self._paper_sensor()
        if cmd.name == "GS r" and cmd.args[0] in (2, 50):
            return b"\x00"
        if cmd.name == "GS ( H" and len(cmd.data) >= 6 and cmd.data[0] == 48:
            return b"\x37\x22" + cmd.data[2:6] + b"\x00"
        return b""
