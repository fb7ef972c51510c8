"""A simulated card behind the real pcscd, through vsmartcard's vpcd driver.

The vpcd driver (Debian `vsmartcard-vpcd`) LISTENS on TCP port 35963 + slot; a virtual card
connects to it as a client. While the connection is up pcscd sees a card in "Virtual PCD 00 NN";
when it closes, the card is gone. Every message either way is a 2-byte big-endian length and a
payload. A 1-byte payload from the driver is a control command (0x00 power off, 0x01 power on,
0x02 reset, 0x04 get ATR: only the last one is answered); anything longer is a command APDU,
answered with the response APDU.

`VpcdCard` serves any `CardModel` (hardware.card_model) that way, in a background thread
(`start()` / `stop()`, `remove()` / `insert()` to pull the card out of the field and present it
again), or in its own process for tests that need a card that dies:

    python -m hardware.vpcd --slot 1 --profile t4t --uid 04A1B2C3D4E5F6
    python -m hardware.vpcd --slot 0 --model tests.pcsc_fixtures:UidEchoCard --uid 04A1B2C3

The process prints one line "vpcd card on 127.0.0.1:35963 ready" once connected, then serves
until SIGTERM / SIGINT or until its parent process goes away.

Latency: Linux leaves quick-ack mode after a while and then delays ACKs up to 40 ms; the driver
does not set TCP_NODELAY, so with delayed ACKs each APDU would stall that long. We set
TCP_NODELAY once and TCP_QUICKACK after every receive (the kernel clears it again by itself).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType
from typing import Any

from hardware.card_model import CardModel

log = logging.getLogger(__name__)

VPCD_PORT = 35963
"""Port of slot 0 of the first vpcd reader (CHANNELID 0x8C7B in /etc/reader.conf.d/vpcd)."""

CTRL_OFF = 0x00
CTRL_ON = 0x01
CTRL_RESET = 0x02
CTRL_ATR = 0x04

SW_NO_DIAGNOSIS = b"\x6f\x00"


def port_for_slot(slot: int) -> int:
    """The TCP port the vpcd driver listens on for `slot`."""
    if slot < 0:
        raise ValueError(f"A vpcd slot is a number from 0 up, not {slot}.")
    return VPCD_PORT + slot


def _pulled_types() -> tuple[type[BaseException], ...]:
    """The exception a card model raises when a fault pulls the card mid-exchange.

    `hardware.virtual_t4t.CardPulled` when that module exists; looked up lazily so that this
    module works (and imports) without it.
    """
    try:
        module = importlib.import_module("hardware.virtual_t4t")
    except ImportError:
        return ()
    pulled = getattr(module, "CardPulled", None)
    if isinstance(pulled, type) and issubclass(pulled, BaseException):
        return (pulled,)
    return ()


def _quickack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        # The socket was shut down under us: the next recv says so
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def connect_to_driver(host: str, port: int, timeout: float) -> socket.socket:
    """Connect to the vpcd driver, retrying while it is not listening yet.

    Raises ConnectionError with a sentence when nothing listens within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
            sock.connect((host, port))
        except OSError as exc:
            sock.close()
            if time.monotonic() + delay >= deadline:
                raise ConnectionError(
                    f"No vpcd driver is listening on {host}:{port} ({exc.strerror or exc}); "
                    "start pcscd with the vsmartcard-vpcd driver (hardware.pcscd.ensure_pcscd)."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
            continue
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _quickack(sock)
        return sock


class _Link:
    """One TCP connection to the driver: framed receive with quick ACKs, framed send."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def _fill(self, need: int) -> bool:
        while len(self._buf) < need:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return False
            _quickack(self.sock)  # Linux clears quick-ack mode; set it after every receive
            if not chunk:
                return False
            self._buf += chunk
        return True

    def receive(self) -> bytes | None:
        """The next message's payload; None when the connection closed."""
        if not self._fill(2):
            return None
        (length,) = struct.unpack(">H", self._buf[:2])
        if not self._fill(2 + length):
            return None
        payload = bytes(self._buf[2 : 2 + length])
        del self._buf[: 2 + length]
        return payload

    def send(self, payload: bytes) -> bool:
        if len(payload) > 0xFFFF:
            raise ValueError("A vpcd message carries at most 65535 bytes.")
        try:
            self.sock.sendall(struct.pack(">H", len(payload)) + payload)
        except OSError:
            return False
        return True


class VpcdCard:
    """A `CardModel` presented in a vpcd slot of the running pcscd.

    `insert()` (or `start()`) connects to the driver: pcscd sees the card at its next presence
    poll (within about 0.4 s). `remove()` (or `stop()`) closes the connection: pcscd sees the
    card leave. A card model that raises `hardware.virtual_t4t.CardPulled` from `process()` is
    treated as pulled out mid-exchange: the connection closes without an answer; `insert()`
    presents it again. `pulled` names other exception types to treat that way.
    """

    def __init__(
        self,
        card: CardModel,
        slot: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        connect_timeout: float = 10.0,
        pulled: tuple[type[BaseException], ...] | None = None,
    ) -> None:
        self.card = card
        self.slot = slot
        self.host = host
        self.port = port_for_slot(slot) if port is None else port
        self.connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._link: _Link | None = None
        self._thread: threading.Thread | None = None
        self._pulled = _pulled_types() if pulled is None else pulled
        self.exchanges = 0
        """Command APDUs answered since this object was made (control messages not counted)."""

    # -- presenting and removing -------------------------------------------------------------

    @property
    def present(self) -> bool:
        """True while the card is connected to the driver (in the field)."""
        with self._lock:
            return self._link is not None

    def start(self) -> VpcdCard:
        """Present the card and serve it in a background thread; returns self."""
        self.insert()
        return self

    def stop(self) -> None:
        """Take the card away and stop serving it (same as `remove()`)."""
        self.remove()

    def insert(self, timeout: float | None = None) -> None:
        """Present the card: connect to the driver (retrying until `timeout`) and serve it."""
        with self._lock:
            if self._link is not None:
                return
        self._join()
        sock = connect_to_driver(
            self.host, self.port, self.connect_timeout if timeout is None else timeout
        )
        link = _Link(sock)
        thread = threading.Thread(
            target=self._serve, args=(link,), name=f"vpcd-card-{self.port}", daemon=True
        )
        with self._lock:
            self._link = link
            self._thread = thread
        thread.start()
        log.debug("vpcd card connected to %s:%d", self.host, self.port)

    def remove(self) -> None:
        """Pull the card out of the field: close the connection; volatile state is lost."""
        with self._lock:
            link, self._link = self._link, None
        if link is None:
            self._join()
            return
        with contextlib.suppress(OSError):
            link.sock.shutdown(socket.SHUT_RDWR)  # wakes the serving thread's recv
        self._join()
        link.sock.close()
        self.card.power_off()
        log.debug("vpcd card removed from %s:%d", self.host, self.port)

    def _join(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
            if not thread.is_alive():
                self._thread = None

    def __enter__(self) -> VpcdCard:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------------

    def _serve(self, link: _Link) -> None:
        pulled = self._exchange_until_closed(link)
        with self._lock:
            mine = self._link is link
            if mine:
                self._link = None
        if mine:  # the driver went away or the card was pulled: we own the cleanup
            with contextlib.suppress(OSError):
                link.sock.shutdown(socket.SHUT_RDWR)
            link.sock.close()
            self.card.power_off()
            if pulled:
                log.debug("vpcd card on port %d pulled mid-exchange", self.port)
            else:
                log.debug("vpcd driver on port %d closed the connection", self.port)

    def _exchange_until_closed(self, link: _Link) -> bool:
        """Answer the driver until the connection closes; True when the card was pulled."""
        while True:
            message = link.receive()
            if message is None:
                return False
            if len(message) == 1:
                answer = self._control(message[0])
            elif not message:
                continue
            else:
                try:
                    answer = self.card.process(message)
                except self._pulled:
                    return True
                except Exception as exc:  # a bug in the card model: answer like a confused chip
                    log.warning(
                        "Card model %s failed on a command (%s); answering 6F00.",
                        type(self.card).__name__,
                        type(exc).__name__,
                    )
                    answer = SW_NO_DIAGNOSIS
                self.exchanges += 1
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "vpcd APDU %d bytes -> %d bytes SW %s",
                        len(message),
                        len(answer),
                        answer[-2:].hex().upper(),
                    )
            if answer is not None and not link.send(answer):
                return False

    def _control(self, command: int) -> bytes | None:
        if command == CTRL_ATR:
            return bytes(self.card.atr)
        if command == CTRL_ON:
            self.card.power_on()
        elif command == CTRL_OFF:
            self.card.power_off()
        elif command == CTRL_RESET:
            self.card.power_on()  # power_on resets the volatile state
        else:
            log.debug("vpcd control 0x%02X ignored", command)
        return None


# -- command line: a card in its own process -------------------------------------------------


def _load_model(spec: str) -> Callable[..., CardModel]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"--model wants MODULE:CALLABLE, not {spec!r}.")
    module = importlib.import_module(module_name)
    factory: Any = getattr(module, attr, None)
    if not callable(factory):
        raise SystemExit(f"{spec} is not a callable in {module_name}.")
    return factory  # type: ignore[no-any-return]


def _make_card(args: argparse.Namespace) -> CardModel:
    uid = bytes.fromhex(args.uid)
    if args.model:
        card: CardModel = _load_model(args.model)(uid=uid)
        return card
    module = importlib.import_module("hardware.virtual_t4t")
    faults = module.Faults(
        pull_after_writes=args.pull_after_writes,
        write_protected=args.write_protected,
        not_type4=args.not_type4,
        delay=args.delay,
        corrupt_reads=args.corrupt_reads,
    )
    made: CardModel = module.VirtualType4Card(
        profile=args.profile,
        uid=uid,
        ndef_size=args.ndef_size,
        mapping_version=args.mapping_version,
        extended=args.extended,
        faults=faults,
    )
    return made


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware.vpcd",
        description="Present a virtual card to pcscd through the vpcd driver until killed.",
    )
    parser.add_argument("--slot", type=int, default=0, help="vpcd slot (port 35963 + slot)")
    parser.add_argument("--host", default="127.0.0.1", help="host where pcscd runs")
    parser.add_argument("--port", type=int, help="driver port (overrides --slot)")
    parser.add_argument("--profile", default="t4t", help="VirtualType4Card profile")
    parser.add_argument("--uid", default="04A1B2C3D4E5F6", help="chip UID in hex")
    parser.add_argument(
        "--model",
        help="MODULE:CALLABLE making the card model from uid=bytes (instead of --profile)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to find the driver")
    card = parser.add_argument_group("VirtualType4Card options (with --profile)")
    card.add_argument("--ndef-size", type=int, help="NDEF file size in bytes")
    card.add_argument("--mapping-version", default="2.0", choices=("2.0", "3.0"))
    card.add_argument("--extended", action="store_true", help="the card takes extended APDUs")
    card.add_argument("--pull-after-writes", type=int, help="fault: pulled during write N")
    card.add_argument("--write-protected", action="store_true", help="fault: CC write access FF")
    card.add_argument("--not-type4", action="store_true", help="fault: no NDEF application")
    card.add_argument("--delay", type=float, default=0.0, help="fault: seconds before answers")
    card.add_argument("--corrupt-reads", action="store_true", help="fault: flip a bit on reads")
    args = parser.parse_args(argv)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()

    vcard = VpcdCard(
        _make_card(args), args.slot, host=args.host, port=args.port, connect_timeout=args.timeout
    )
    try:
        vcard.start()
    except ConnectionError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"vpcd card on {vcard.host}:{vcard.port} ready", flush=True)
    try:
        while vcard.present:
            time.sleep(0.1)
    finally:
        vcard.stop()
    print(f"vpcd card on {vcard.host}:{vcard.port}: the driver closed the connection", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
