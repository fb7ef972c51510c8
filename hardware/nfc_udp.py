"""An ISO/IEC 14443-4 (ISO-DEP) Type 4A card on nfcpy's simulated `udp` radio.

nfcpy can read Type 4 tags but cannot emulate one, so this module is the card side (the
PICC) of what nfcpy's reader side sends. `NfcUdpTarget` carries the frames of a
`hardware.type_a_picc.TypeAPicc` (the radio-independent card: activation, RATS, ISO-DEP
blocks, waiting time) over nfcpy's UDP protocol; `hardware.pn532_pty` puts the same card
behind a simulated PN532.

nfcpy's UDP radio (nfc/clf/udp.py), as found in nfcpy 1.0.4
-------------------------------------------------------------
* One datagram is one frame: ``b"<brty> <hex>"`` with brty one of ``106A``, ``212A``,
  ``424A`` (also B/F types), and the frame bytes in hexadecimal (nfcpy sends lower case).
  There is no CRC, no parity and no timing: the bit rate is only a label, which the reader
  filters on, so the card answers with the label it was addressed with. The reader reads
  datagrams of at most 1024 bytes, so a frame carries at most 509 bytes.
* ``b"RFOFF"`` from the reader is the field going off. nfcpy sends it when it mutes the
  field after having received anything, i.e. after every sense and on close.
* The reader opens a fresh socket (a new source port) for every sense cycle, so a frame from
  a new address is a new field: the card is powered down and up again.
* Activation as nfcpy's ``sense_tta`` does it: SENS_REQ ``26`` -> SENS_RES (ATQA, 2 bytes,
  on-air order); per cascade level SDD_REQ ``93 20`` / ``95 20`` / ``97 20`` -> 4 UID bytes
  (or ``88`` + 3 bytes) + BCC; SEL_REQ ``93 70`` + those 5 bytes -> SEL_RES (SAK, 1 byte,
  cascade bit 0x04 while levels follow). nfcpy waits 1 s for SENS_RES and 0.5 s for the rest.
* Then ``nfc.tag.tt4.Type4ATag`` sends RATS ``E0 80`` (FSD 256, CID 0) and waits 30 ms for
  the ATS, then exchanges ISO-DEP blocks (PCB + INF) with ``timeout = FWT + 3.6 ms``, NAKs and
  retries up to 5 times, and uses R(NAK) as the presence check.

Run standalone (tests that must kill the card use this); stop with SIGTERM or SIGINT::

    python -m hardware.nfc_udp --port 0 --profile t4t        # prints udp:127.0.0.1:<port>
    python -m hardware.nfc_udp --port 5000 --delay 0.3       # a slow card (WTX)
    python -m hardware.nfc_udp --port 5000 --card mypackage.cards:make_card
"""

from __future__ import annotations

import argparse
import logging
import select
import socket
import sys
import time

from hardware.card_cli import add_card_arguments, load_card, stop_on_signals
from hardware.card_model import CardModel
from hardware.picc_server import PiccServer
from hardware.type_a_picc import (
    SAK_ISO_DEP,
    TypeAPicc,
)

# The card and the command-line helpers moved to type_a_picc and card_cli; pn532_pty and
# picc_server still import them from here.
__all__ = ["NfcUdpTarget", "main"]

log = logging.getLogger(__name__)


class NfcUdpTarget(PiccServer):
    """A TypeAPicc on nfcpy's UDP radio: `udp:<host>:<port>` for nfc.ContactlessFrontend.

    Use as a context manager, or start()/stop(). With `airtime`, every answer is delayed by
    the frame bytes' time on air at the addressed bit rate (9 bits per byte, both frames,
    CRC included); nfcpy's radio itself does not model the bit rate at all.
    """

    def __init__(
        self,
        card: CardModel | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        airtime: bool = False,
        present: bool = True,
        fsci: int = 8,
        fwi: int = 8,
        atqa: bytes | None = None,
        sak: int = SAK_ISO_DEP,
    ) -> None:
        self.picc = TypeAPicc(card, present=present, fsci=fsci, fwi=fwi, atqa=atqa, sak=sak)
        self.airtime = airtime
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self._peer: tuple[str, int] | None = None
        super().__init__()
        self.frames_in = 0
        self.frames_out = 0

    @property
    def host(self) -> str:
        return str(self._sock.getsockname()[0])

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def path(self) -> str:
        """The nfcpy device path that reaches this card."""
        return f"udp:{self.host}:{self.port}"

    @property
    def thread_name(self) -> str:
        return f"nfc-udp-target:{self.port}"

    def _close(self) -> None:
        if self._sock.fileno() >= 0:
            self._sock.close()

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._sock], [], [], 0.1)
                if not readable:
                    continue
                data, addr = self._sock.recvfrom(4096)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                raise
            try:
                self._datagram(data, (str(addr[0]), int(addr[1])))
            except OSError as exc:  # the reader's socket went away mid-answer
                log.debug("udp send failed: %s", exc)

    def _datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.startswith(b"RFOFF"):
            if addr == self._peer:
                self.picc.field_off()
                self._peer = None
            return
        parts = data.split()
        if len(parts) != 2:
            return
        brty, hexdata = parts
        try:
            frame = bytes.fromhex(hexdata.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return
        if addr != self._peer:  # a new reader socket is a new field
            self.picc.field_off()
            self.picc.field_on()
            self._peer = addr
        self.frames_in += 1
        answer = self.picc.handle(frame)
        if answer is None:
            return
        if self.airtime:
            kbps = int(brty[:-1]) if brty[:-1].isdigit() else 106
            time.sleep((len(frame) + len(answer) + 4) * 9 / (kbps * 1000.0))
        self._sock.sendto(brty + b" " + answer.hex().encode("ascii"), addr)
        self.frames_out += 1


# -- command line ------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware.nfc_udp",
        description="A Type 4A card (ISO-DEP) on nfcpy's udp radio. Prints the nfcpy path.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=54321, help="UDP port (0 = any free one)")
    parser.add_argument("--airtime", action="store_true", help="delay answers by their air time")
    add_card_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    card = load_card(args.profile, args.card, args.uid, args.delay)
    target = NfcUdpTarget(
        card, host=args.host, port=args.port, airtime=args.airtime, fsci=args.fsci, fwi=args.fwi
    )
    stop_on_signals(target.request_stop)
    print(target.path, flush=True)
    try:
        target.serve_forever()
    finally:
        target.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
