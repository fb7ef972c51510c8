"""A simulated NXP PN532 on a pseudo-terminal, for nfcpy's `tty:...:pn532` path.

The simulator holds the pty master; nfcpy (or any PN532 host: libnfc, Adafruit code) opens
the slave as if it were a PN532 behind a USB-serial adapter. The card in the field is a
`hardware.nfc_udp.TypeAPicc` around a CardModel, so anticollision, RATS and the ISO-DEP
blocks are the same card code that serves nfcpy's udp radio.

Host link (PN532 user manual section 6.2, and nfcpy's nfc/clf/pn53x.py which is the peer):
normal frame ``00 00 FF LEN LCS D4 cmd data DCS 00`` (LEN counts TFI..data, LEN + LCS = 0,
TFI + data + DCS = 0); extended frame ``00 00 FF FF FF LENM LENL LCS ...`` for LEN > 254;
ACK ``00 00 FF 00 FF 00``; NACK ``00 00 FF FF 00 00`` (resend the last answer); error frame
``00 00 FF 01 FF 7F 81 00``. Leading zero bytes (nfcpy sends ten) and 0x55 wake-up bytes are
skipped. Every valid command is acknowledged, then answered with ``D5 cmd+1 ...``.

nfcpy's pn532 driver does, at open: GetFirmwareVersion and SAMConfiguration as raw frames,
`stty -F <tty> 921600` and SetSerialBaudrate (the pty takes any speed), Diagnose line test
(a 263-byte extended frame echoed back), GetFirmwareVersion, SetParameters 0x00 (so no
automatic RATS), RFConfiguration items 2, 4, 5, 10..13 and 1 (field off). Per poll:
RFConfiguration 1 (field off), InListPassiveTarget 106A, then ReadRegister/WriteRegister
(CIU_TxMode, CIU_RxMode, CIU_TxAuto), RFConfiguration 2 (timeout) and InCommunicateThru for
RATS and every ISO-DEP block: nfcpy runs ISO-DEP itself. At close: ACK, SetSerialBaudrate
115200, PowerDown. InDataExchange (the firmware's own ISO-DEP, with MI chaining to the host)
is answered too, for hosts that use it.

Run standalone::

    python -m hardware.pn532_pty --profile t4t      # prints tty:/dev/pts/N:pn532
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import select
import sys
import time
import tty

from hardware.card_cli import add_card_arguments, load_card, stop_on_signals
from hardware.card_model import CardModel
from hardware.picc_server import PiccServer
from hardware.type_a_picc import (
    SAK_ISO_DEP,
    SEL_CODES,
    WUPA,
    State,
    TypeAPicc,
    cascade_levels,
    frame_size,
)

log = logging.getLogger(__name__)

ACK = bytes.fromhex("0000FF00FF00")
NACK = bytes.fromhex("0000FFFF0000")
ERROR_FRAME = bytes.fromhex("0000FF01FF7F8100")
STATUS_TIMEOUT = 0x01
STATUS_NOT_ACCEPTABLE = 0x27
MAX_DATA = 262  # data bytes after D5 cmd status in one host frame (LEN <= 265)
AUTO_RATS = 0x10  # SetParameters fAutomaticRATS
RATS_BY_FIRMWARE = b"\xe0\x80"  # FSD 256, CID 0

# CIU registers nfcpy reads (others read as 0x00).
CIU_TX_MODE, CIU_RX_MODE, CIU_TX_CONTROL, CIU_TX_AUTO = 0x6302, 0x6303, 0x6304, 0x6305
CIU_FIFO_DATA, CIU_VERSION = 0x6339, 0x6327


def host_frame(data: bytes) -> bytes:
    """A normal or extended information frame around TFI + payload."""
    n = len(data)
    if n <= 254:  # nfcpy reads LEN = 0xFF as the extended-frame marker
        head = bytes([0x00, 0x00, 0xFF, n, (-n) & 0xFF])
    else:
        hi, lo = n >> 8, n & 0xFF
        head = bytes([0x00, 0x00, 0xFF, 0xFF, 0xFF, hi, lo, (-(hi + lo)) & 0xFF])
    return head + data + bytes([(-sum(data)) & 0xFF, 0x00])


class Pn532Pty(PiccServer):
    """A PN532 (HSU) on a pty, with one Type 4A card in (or out of) its field.

    `firmware` is the (version, revision) GetFirmwareVersion reports; nfcpy accepts any
    version but needs IC 0x32.
    """

    def __init__(
        self,
        card: CardModel | None,
        *,
        firmware: tuple[int, int] = (1, 6),
        ic: int = 0x32,
        support: int = 0x07,
        present: bool = True,
        fsci: int = 8,
        fwi: int = 8,
    ) -> None:
        self.picc = TypeAPicc(card, present=present, fsci=fsci, fwi=fwi)
        self.firmware = firmware
        self.ic = ic
        self.support = support
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or CR mapping before the host configures the port
        os.set_blocking(self._master, False)
        self._path = os.ttyname(self._slave)
        self._buf = bytearray()
        self._last_answer = b""
        super().__init__()
        self._closed = False
        self.commands: list[int] = []  # command codes received, for tests and diagnostics
        self._reset_chip()

    def _reset_chip(self) -> None:
        self._params = 0x14  # power-up default: fAutomaticRATS | fISO14443-4_PICC
        self._regs: dict[int, int] = {
            CIU_TX_MODE: 0x80,
            CIU_RX_MODE: 0x80,
            CIU_TX_CONTROL: 0x80,
            CIU_TX_AUTO: 0x00,
            CIU_VERSION: 0x80,
        }
        self._field = False
        self._timeout_index = 11  # RFConfiguration item 2, non-DEP timeout (~100 ms)
        self._target = False  # a target is listed (Tg 1)
        self._chip_iso_dep = False  # the firmware did RATS, so InDataExchange runs ISO-DEP
        self._fsc = 256
        self._pni = 0
        self._dx_cmd = bytearray()
        self._dx_rest = b""

    # -- life cycle ----------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The slave device, e.g. /dev/pts/5."""
        return self._path

    @property
    def nfc_path(self) -> str:
        """The device path for cardio.nfc_backend (nfcpy's own parser takes no '/')."""
        return f"tty:{self._path}:pn532"

    @property
    def thread_name(self) -> str:
        return f"pn532-pty:{self._path}"

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], 0.1)
            if not readable:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:  # EIO: nobody holds the slave (cannot happen: we do)
                if exc.errno != errno.EIO:
                    raise
                time.sleep(0.05)
                continue
            self._buf += chunk
            self._parse()

    def _write(self, data: bytes) -> None:
        deadline = time.monotonic() + 1.0
        view = memoryview(data)
        while view and time.monotonic() < deadline:
            try:
                n = os.write(self._master, view)
                view = view[n:]
            except BlockingIOError:  # host not reading: wait a little, then drop
                select.select([], [self._master], [], 0.05)
        if view:
            log.warning("host did not read %d bytes; dropped", len(view))

    # -- host frames ---------------------------------------------------------------------
    def _parse(self) -> None:
        buf = self._buf
        while True:
            start = buf.find(b"\x00\xff")
            if start < 0:
                del buf[: max(0, len(buf) - 1)]
                return
            del buf[:start]
            if len(buf) < 4:
                return
            ln, lcs = buf[2], buf[3]
            if ln == 0x00 and lcs == 0xFF:  # ACK from the host: abort (we are never busy)
                del buf[:4]
                continue
            if ln == 0xFF and lcs == 0x00:  # NACK: send the last answer again
                del buf[:4]
                if self._last_answer:
                    self._write(self._last_answer)
                continue
            if ln == 0xFF and lcs == 0xFF:  # extended frame
                if len(buf) < 7:
                    return
                if (buf[4] + buf[5] + buf[6]) & 0xFF:
                    del buf[:1]
                    continue
                n, head = buf[4] << 8 | buf[5], 7
            else:
                if (ln + lcs) & 0xFF:
                    del buf[:1]
                    continue
                n, head = ln, 4
            if len(buf) < head + n + 1:
                return
            data = bytes(buf[head : head + n])
            dcs = buf[head + n]
            del buf[: head + n + 1]
            if (sum(data) + dcs) & 0xFF or len(data) < 2 or data[0] != 0xD4:
                log.debug("bad host frame %s", data.hex())
                self._write(ERROR_FRAME)
                continue
            self._write(ACK)
            self.commands.append(data[1])
            if len(self.commands) > 10000:  # a long-running process keeps the recent ones
                del self.commands[:5000]
            try:
                payload = self._command(data[1], data[2:])
            except Exception:
                log.exception("pn532 simulator failed on command %02x", data[1])
                payload = None
            answer = (
                host_frame(b"\xd5" + bytes([data[1] + 1]) + payload)
                if payload is not None
                else ERROR_FRAME
            )
            self._last_answer = answer
            self._write(answer)

    # -- commands ------------------------------------------------------------------------
    def _command(self, code: int, args: bytes) -> bytes | None:
        """The payload after D5 cmd+1, or None for a syntax error frame."""
        log.debug("pn532 command %02x %s", code, args.hex())
        if code == 0x00:  # Diagnose
            test = args[0] if args else 0
            if test == 0x00:  # communication line test: echo
                return args
            return b"\x00"
        if code == 0x02:  # GetFirmwareVersion
            return bytes([self.ic, self.firmware[0], self.firmware[1], self.support])
        if code == 0x04:  # GetGeneralStatus
            target = b"\x01\x00\x00\x00" if self._target else b""
            return bytes([0x00, int(self._field), int(self._target)]) + target + b"\x00"
        if code == 0x06:  # ReadRegister
            addrs = [args[i] << 8 | args[i + 1] for i in range(0, len(args) - 1, 2)]
            return bytes(self._read_register(a) for a in addrs)
        if code == 0x08:  # WriteRegister
            for i in range(0, len(args) - 2, 3):
                self._regs[args[i] << 8 | args[i + 1]] = args[i + 2]
            return b""
        if code == 0x0C:  # ReadGPIO
            return b"\xff\xff\x00"
        if code in (0x0E, 0x10, 0x14):  # WriteGPIO, SetSerialBaudrate, SAMConfiguration
            return b""
        if code == 0x12:  # SetParameters
            self._params = args[0] if args else 0
            return b""
        if code == 0x16:  # PowerDown: the field goes off
            self._set_field(False)
            return b"\x00"
        if code == 0x32:  # RFConfiguration
            return self._rf_configuration(args)
        if code == 0x4A:  # InListPassiveTarget
            return self._in_list_passive_target(args)
        if code == 0x40:  # InDataExchange
            return self._in_data_exchange(args)
        if code == 0x42:  # InCommunicateThru
            return self._in_communicate_thru(args)
        if code in (0x44, 0x52):  # InDeselect, InRelease
            self._release(keep=code == 0x44)
            return b"\x00"
        if code == 0x54:  # InSelect
            return b"\x00" if self._target else bytes([STATUS_NOT_ACCEPTABLE])
        if code == 0x60:  # InAutoPoll: one 106A ISO 14443-4 target, if present
            data = self._activate()
            return b"\x00" if data is None else bytes([0x01, 0x20, len(data) + 1, 0x01]) + data
        return None  # target mode and the rest: not simulated

    def _read_register(self, addr: int) -> int:
        if addr == CIU_FIFO_DATA:  # nfcpy: 0x26 still in the FIFO = no card answered
            return 0x00 if self._target else 0x26
        if addr == CIU_TX_CONTROL:
            return (self._regs[addr] & 0xFC) | (0x03 if self._field else 0x00)
        return self._regs.get(addr, 0x00)

    def _rf_configuration(self, args: bytes) -> bytes | None:
        if not args:
            return None
        item = args[0]
        if item == 0x01:  # RF field
            self._set_field(bool(args[1] & 0x01) if len(args) > 1 else False)
        elif item == 0x02 and len(args) >= 4:  # RFU, ATR_RES timeout, non-DEP timeout index
            self._timeout_index = args[3]
        return b""

    def _set_field(self, on: bool) -> None:
        if on and not self._field:
            self.picc.field_on()
        elif not on and self._field:
            self.picc.field_off()
            self._target = False
            self._chip_iso_dep = False
        self._field = on

    def _rf_timeout(self) -> float:
        index = self._timeout_index
        return 0.0 if index == 0 else min((100 << (index - 1)) / 1e6, 1.0)

    def _activate(self) -> bytes | None:
        """Field on, WUPA + anticollision (+ RATS if automatic); the target data or None."""
        self._set_field(True)
        self._target = self._chip_iso_dep = False
        picc = self.picc
        atqa = picc.handle(bytes([WUPA]))
        if atqa is None or len(atqa) != 2:
            return None
        uid, sak = bytearray(), 0
        for sel in SEL_CODES:
            cl = picc.handle(bytes([sel, 0x20]))
            answer = picc.handle(bytes([sel, 0x70]) + cl) if cl else None
            if cl is None or answer is None:
                return None
            sak = answer[0]
            if not sak & 0x04:
                uid += cl[0:4]
                break
            uid += cl[1:4]
        ats = b""
        if self._params & AUTO_RATS and sak & SAK_ISO_DEP:
            answer = picc.handle(RATS_BY_FIRMWARE)
            if answer is None:
                return None
            ats = answer
            self._chip_iso_dep = True
            self._fsc = frame_size(ats[1] & 0x0F) if len(ats) > 1 else 32
            self._pni = 0
        self._target = True
        self._dx_cmd.clear()
        self._dx_rest = b""
        return bytes([atqa[1], atqa[0], sak, len(uid)]) + bytes(uid) + ats

    def _in_list_passive_target(self, args: bytes) -> bytes | None:
        if len(args) < 2:
            return None
        brty, wanted = args[1], args[2:]
        if brty != 0x00:  # only 106 kbit/s type A is simulated
            return b"\x00"
        data = self._activate()
        if data is None:
            return b"\x00"
        card = self.picc.card
        if wanted and card is not None and wanted != _uid_with_cascade_tags(bytes(card.uid)):
            self._target = False
            return b"\x00"
        return b"\x01\x01" + data

    def _in_communicate_thru(self, args: bytes) -> bytes:
        answer = self.picc.handle(args) if self._field else None
        if answer is None:
            time.sleep(self._rf_timeout())
            return bytes([STATUS_TIMEOUT])
        return b"\x00" + answer

    def _in_data_exchange(self, args: bytes) -> bytes:
        if not args or args[0] & 0x3F != 0x01 or not self._target:
            return bytes([STATUS_NOT_ACCEPTABLE])
        more, data = bool(args[0] & 0x40), args[1:]
        if self._dx_rest and not data and not more:  # host fetches the next MI chunk
            return self._dx_chunk(self._dx_rest)
        self._dx_cmd += data
        if more:
            return b"\x00"
        apdu = bytes(self._dx_cmd)
        self._dx_cmd.clear()
        if self.picc.state is not State.PROTOCOL:  # the firmware activates ISO-DEP first
            answer = self.picc.handle(RATS_BY_FIRMWARE) if self.picc.state is State.ACTIVE else None
            if answer is None:
                return bytes([STATUS_TIMEOUT])
            self._fsc = frame_size(answer[1] & 0x0F) if len(answer) > 1 else 32
            self._pni = 0
        response = self._iso_dep_exchange(apdu)
        if response is None:
            time.sleep(self._rf_timeout())
            return bytes([STATUS_TIMEOUT])
        return self._dx_chunk(response)

    def _dx_chunk(self, data: bytes) -> bytes:
        self._dx_rest = data[MAX_DATA:]
        return bytes([0x40 if self._dx_rest else 0x00]) + data[:MAX_DATA]

    def _iso_dep_exchange(self, apdu: bytes) -> bytes | None:
        """The PN532 firmware's ISO-DEP initiator: chain out by FSC, collect chained answers."""
        room = self._fsc - 3
        chunks = [apdu[i : i + room] for i in range(0, len(apdu), room)] or [b""]
        pni = self._pni
        answer: bytes | None = None
        for k, chunk in enumerate(chunks):
            last = k == len(chunks) - 1
            answer = self._with_wtx(
                self.picc.handle(bytes([(0x02 if last else 0x12) | pni]) + chunk)
            )
            if answer is None:
                return None
            if not last and answer[0] & 0xF6 != 0xA2:  # expected R(ACK)
                return None
            pni ^= 1
        out = bytearray()
        while answer is not None and answer[0] & 0xE2 == 0x02:
            out += answer[1:]
            if not answer[0] & 0x10:
                self._pni = pni
                return bytes(out)
            answer = self._with_wtx(self.picc.handle(bytes([0xA2 | pni])))
            pni ^= 1
        return None

    def _with_wtx(self, answer: bytes | None) -> bytes | None:
        while answer is not None and answer[0] & 0xF7 == 0xF2:  # S(WTX): grant it
            answer = self.picc.handle(answer)
        return answer

    def _release(self, keep: bool) -> None:
        if self._target:
            if self.picc.state is State.PROTOCOL:
                self.picc.handle(b"\xc2")  # S(DESELECT)
            else:
                self.picc.handle(b"\x50\x00")  # HLTA
        if not keep:
            self._target = False
            self._chip_iso_dep = False


def _uid_with_cascade_tags(uid: bytes) -> bytes:
    return b"".join(level[:4] for level in cascade_levels(uid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware.pn532_pty",
        description="A PN532 on a pty with a Type 4A card. Prints the device path for nfcpy.",
    )
    parser.add_argument(
        "--firmware", default="1.6", help="version.revision GetFirmwareVersion reports (1.6)"
    )
    add_card_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    major, _, minor = args.firmware.partition(".")
    card = load_card(args.profile, args.card, args.uid, args.delay)
    chip = Pn532Pty(card, firmware=(int(major), int(minor or 0)), fsci=args.fsci, fwi=args.fwi)
    stop_on_signals(chip.request_stop)
    print(chip.nfc_path, flush=True)
    try:
        chip.serve_forever()
    finally:
        chip.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
