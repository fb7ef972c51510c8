"""The card side (PICC) of ISO/IEC 14443-3 type A activation and the ISO-DEP block protocol.

`TypeAPicc` is the radio-independent card: it takes one frame from the reader and returns the
card's answer frame, or None for silence, exactly as the card would put them on air (without
the CRC_A, which the radio adds and checks). `hardware.nfc_udp` carries its frames over
nfcpy's UDP radio; `hardware.pn532_pty` puts it behind a simulated PN532.

Card parameters: ATQA from the UID size, SAK 0x20, ATS ``T0 = 0x70 | FSCI``, TA1 0x33
(212/424 kbit/s both ways), TB1 ``FWI << 4 | SFGI``, TC1 0x02 (CID supported, no NAD), then the
card model's historical bytes. Defaults FSCI 8 (FSC 256 bytes) and FWI 8 (FWT 77 ms); a card
model slower than half the FWT gets S(WTX) requests (WTXM 4) until it answers, which is why
card.process() runs on a short-lived thread per APDU. Responses are chained by the reader's
FSD from RATS, commands arrive chained by our FSC.

A card model that raises `hardware.virtual_t4t.CardPulled` has left the field: the card
answers nothing more (nfcpy gives up after its NAK retries, about 0.5 s with FWI 8) until the
reader's field cycles (RFOFF, or the next sense from a new socket); then it is back, as if
the person had put it on the reader again. `remove()`/`insert()` take it away for good.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable

from hardware.card_model import CardModel
from hardware.virtual_t4t import CardPulled

__all__ = [
    "CASCADE_TAG",
    "FRAME_SIZES",
    "MAX_APDU",
    "REQA",
    "SAK_CASCADE",
    "SAK_ISO_DEP",
    "SEL_CODES",
    "WUPA",
    "State",
    "TypeAPicc",
    "cascade_levels",
    "default_atqa",
    "frame_size",
    "fwt_seconds",
]

log = logging.getLogger(__name__)

#: FSC/FSD in bytes for FSCI/FSDI 0..8 (ISO/IEC 14443-4; 9.. are treated as 256).
FRAME_SIZES = (16, 24, 32, 40, 48, 64, 96, 128, 256)
SAK_ISO_DEP = 0x20
SAK_CASCADE = 0x04
CASCADE_TAG = 0x88
SEL_CODES = (0x93, 0x95, 0x97)
REQA, WUPA = 0x26, 0x52
MAX_APDU = 65536 + 9  # the longest extended command APDU; anything above is dropped


def frame_size(index: int) -> int:
    """FSC or FSD in bytes for an FSCI or FSDI."""
    return FRAME_SIZES[min(index, 8)]


def fwt_seconds(fwi: int) -> float:
    """Frame waiting time for a frame waiting time integer (FWT = 256 * 16 / fc * 2**FWI)."""
    return 4096 / 13.56e6 * (1 << fwi)


def cascade_levels(uid: bytes) -> list[bytes]:
    """The UID as anticollision answers, one 5-byte CLn + BCC per cascade level."""
    if len(uid) == 4:
        parts = [uid]
    elif len(uid) == 7:
        parts = [bytes([CASCADE_TAG]) + uid[:3], uid[3:]]
    elif len(uid) == 10:
        parts = [bytes([CASCADE_TAG]) + uid[:3], bytes([CASCADE_TAG]) + uid[3:6], uid[6:]]
    else:
        raise ValueError(f"a Type A UID has 4, 7 or 10 bytes, not {len(uid)}")
    return [p + bytes([p[0] ^ p[1] ^ p[2] ^ p[3]]) for p in parts]


def default_atqa(uid: bytes) -> bytes:
    """ATQA (SENS_RES, on-air byte order) for the UID size, with bit-frame anticollision."""
    size = {4: 0x00, 7: 0x40, 10: 0x80}[len(uid)]
    return bytes([size | 0x04, 0x00])


class State(enum.Enum):
    """ISO/IEC 14443-3 type A states, plus PROTOCOL once RATS has activated ISO-DEP."""

    OFF = "off"
    IDLE = "idle"
    READY = "ready"
    ACTIVE = "active"
    HALT = "halt"
    PROTOCOL = "protocol"


class _Job:
    """card.process(apdu) on its own thread, so the card can ask for waiting time meanwhile."""

    def __init__(self, process: Callable[[bytes], bytes], apdu: bytes) -> None:
        self._process = process
        self._apdu = apdu
        self.result = b""
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="card-process", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = bytes(self._process(self._apdu))
        except BaseException as exc:  # handed to the radio thread, which decides
            self.error = exc
        finally:
            self.done.set()


class TypeAPicc:
    """The card side of ISO/IEC 14443-3A activation and the ISO-DEP block protocol.

    Frames in and out are without CRC_A. `handle` never blocks longer than about half the
    FWT: a slower card model is answered for with S(WTX) requests. Thread-safe.
    """

    def __init__(
        self,
        card: CardModel | None,
        *,
        present: bool = True,
        atqa: bytes | None = None,
        sak: int = SAK_ISO_DEP,
        fsci: int = 8,
        fwi: int = 8,
        sfgi: int = 0,
        ta1: int = 0x33,
        wtxm: int = 4,
    ) -> None:
        if not 0 <= fsci <= 8:
            raise ValueError("FSCI is 0..8 (FSC 16..256 bytes)")
        if not 0 <= fwi <= 14:
            raise ValueError("FWI is 0..14")
        if not 1 <= wtxm <= 59:
            raise ValueError("WTXM is 1..59")
        self._lock = threading.RLock()
        self._card = card
        self._present = present and card is not None
        self._atqa = atqa
        self._sak = sak
        self._fsci = fsci
        self._fwi = fwi
        self._sfgi = sfgi
        self._ta1 = ta1
        self._wtxm = wtxm
        self._powered = False
        self._gone = False
        self.wtx_requests = 0  # S(WTX) requests sent, for tests and benchmarks
        self.state = State.OFF
        self._halted = False
        self._level = 0
        self._reset_protocol()

    # -- configuration and presence ----------------------------------------------------
    @property
    def card(self) -> CardModel | None:
        return self._card

    @property
    def present(self) -> bool:
        """True while the card is in the field (see insert() and remove())."""
        return self._present

    @property
    def fsc(self) -> int:
        """Largest frame the card accepts (bytes, PCB and CRC included)."""
        return frame_size(self._fsci)

    @property
    def fsd(self) -> int:
        """Largest frame the reader accepts, from its RATS (256 until then)."""
        return self._fsd

    @property
    def fwt(self) -> float:
        return fwt_seconds(self._fwi)

    @property
    def ats(self) -> bytes:
        """The answer to RATS: TL T0 TA1 TB1 TC1 and the card's historical bytes."""
        hist = bytes(self._card.historical_bytes) if self._card is not None else b""
        body = bytes([0x70 | self._fsci, self._ta1, (self._fwi << 4) | self._sfgi, 0x02]) + hist
        return bytes([len(body) + 1]) + body

    def insert(self, card: CardModel | None = None) -> None:
        """Put the card (or another one) into the field."""
        with self._lock:
            if card is not None:
                if self._present:
                    self._power_off()
                self._card = card
            if self._card is None:
                raise ValueError("no card to insert")
            self._present = True
            if self.state is not State.OFF:
                self._power_on()

    def remove(self) -> None:
        """Take the card out of the field: it loses power and answers nothing."""
        with self._lock:
            self._power_off()
            self._present = False

    def field_on(self) -> None:
        """The reader switched its field on (the card, if present, powers up)."""
        with self._lock:
            if self.state is State.OFF:
                self._power_on()

    def field_off(self) -> None:
        """The reader switched its field off: volatile state is lost.

        A card that was pulled (CardPulled) is back in the next field: the person puts it
        on the reader again, as the next poll assumes.
        """
        with self._lock:
            self._power_off()
            self.state = State.OFF
            self._gone = False

    def close(self) -> None:
        self.field_off()

    # -- frames ------------------------------------------------------------------------
    def handle(self, frame: bytes) -> bytes | None:
        """One frame from the reader in; the card's answer out (None = the card stays silent)."""
        with self._lock:
            if not frame or self.state is State.OFF or not self._present or self._card is None:
                return None
            if self._gone:
                return None
            if self.state is State.PROTOCOL:
                return self._protocol(frame)
            return self._activation(frame)

    def _power_on(self) -> None:
        self.state = State.IDLE
        self._halted = False
        self._level = 0
        self._reset_protocol()
        if self._present and self._card is not None and not self._powered:
            self._card.power_on()
            self._powered = True

    def _power_off(self) -> None:
        job = self._job
        if job is not None:  # let a command that is running finish before the power goes
            job.done.wait(10.0)
        self._reset_protocol()
        if self._powered and self._card is not None:
            self._powered = False
            self._card.power_off()
        if self.state is not State.OFF:
            self.state = State.IDLE

    def _reset_protocol(self) -> None:
        self._bn = 1
        self._cid = 0
        self._cid_in = False
        self._fsd = 256
        self._rx = bytearray()
        self._tx_rest: bytes | None = None
        self._last: bytes | None = None
        self._job: _Job | None = None
        self._pps_allowed = False

    def _pulled(self) -> None:
        log.info("the card model was pulled: silent until the reader's field cycles")
        self._job = None
        self._power_off()
        self._gone = True

    # -- ISO/IEC 14443-3 type A ---------------------------------------------------------
    def _activation(self, frame: bytes) -> bytes | None:
        assert self._card is not None
        levels = cascade_levels(bytes(self._card.uid))
        cmd = frame[0]
        if len(frame) == 1 and cmd in (REQA, WUPA):
            if self.state is State.HALT and cmd == REQA:
                return None
            self._halted = self.state is State.HALT
            self.state = State.READY
            self._level = 0
            return self._atqa or default_atqa(bytes(self._card.uid))
        if self.state is State.READY and len(frame) >= 2 and cmd in SEL_CODES:
            level = SEL_CODES.index(cmd)
            if level != self._level or level >= len(levels):
                return self._unexpected()
            cl, nvb = levels[level], frame[1]
            if nvb == 0x70 and len(frame) == 7:  # SEL_REQ with the complete CLn + BCC
                if frame[2:7] != cl:
                    return self._unexpected()
                if level + 1 < len(levels):
                    self._level += 1
                    return bytes([SAK_CASCADE])
                self.state = State.ACTIVE
                return bytes([self._sak & ~SAK_CASCADE & 0xFF])
            if nvb & 0x0F == 0 and 0x20 <= nvb < 0x70:  # SDD_REQ, byte-aligned known part
                known = (nvb >> 4) - 2
                if frame[2 : 2 + known] != cl[:known]:
                    return None  # not us (another UID prefix): keep quiet
                return cl[known:]
            return self._unexpected()
        if self.state is State.ACTIVE:
            if frame == b"\x50\x00":  # HLTA
                self.state = State.HALT
                return None
            if cmd == 0xE0 and len(frame) == 2:  # RATS
                self._reset_protocol()
                self._fsd = frame_size(frame[1] >> 4)
                self._cid = frame[1] & 0x0F
                self._pps_allowed = True
                self.state = State.PROTOCOL
                return self.ats
        return self._unexpected()

    def _unexpected(self) -> bytes | None:
        if self.state in (State.READY, State.ACTIVE):
            self.state = State.HALT if self._halted else State.IDLE
        return None

    # -- ISO/IEC 14443-4 block protocol -------------------------------------------------
    def _protocol(self, frame: bytes) -> bytes | None:
        pcb = frame[0]
        if pcb & 0xF0 == 0xD0 and len(frame) in (2, 3) and (pcb & 0x0F) == self._cid:
            if not self._pps_allowed:  # PPS only straight after the ATS
                return None
            self._pps_allowed = False
            self._cid_in = False
            return bytes([pcb])  # PPS response: PPSS echoed; bit rate is not modelled
        if pcb & 0xE2 == 0x02:
            kind = "I"
        elif pcb & 0xE6 == 0xA2:
            kind = "R"
        elif pcb & 0xC7 == 0xC2:
            kind = "S"
        else:
            return None  # not a block: ignored, as a card does
        pos = 1
        if pcb & 0x08:
            if len(frame) < 2 or frame[1] & 0x0F != self._cid:
                return None
            pos = 2
        elif self._cid != 0:
            return None
        if kind == "I" and pcb & 0x04:  # NAD: not supported (TC1), skip it
            pos += 1
        self._cid_in = bool(pcb & 0x08)
        self._pps_allowed = False
        inf = bytes(frame[pos:])
        if kind == "I":
            return self._i_block(pcb, inf)
        if kind == "R":
            return self._r_block(pcb)
        return self._s_block(pcb, inf)

    def _block(self, pcb: int, inf: bytes = b"") -> bytes:
        head = bytes([pcb | 0x08, self._cid]) if self._cid_in else bytes([pcb])
        self._last = head + inf
        return self._last

    def _i_block(self, pcb: int, inf: bytes) -> bytes | None:
        if self._job is not None:
            return None  # still working on the last command; the reader must wait
        self._bn ^= 1  # rule D: toggle on every I-block
        self._tx_rest = None
        self._rx += inf
        if len(self._rx) > MAX_APDU:
            self._rx.clear()
            return None
        if pcb & 0x10:  # chaining: acknowledge, collect the rest
            return self._block(0xA2 | self._bn)
        apdu = bytes(self._rx)
        self._rx.clear()
        assert self._card is not None
        self._job = _Job(self._card.process, apdu)
        return self._await(self.fwt / 2)

    def _await(self, timeout: float) -> bytes | None:
        job = self._job
        assert job is not None
        if not job.done.wait(timeout):
            self.wtx_requests += 1
            return self._block(0xF2, bytes([self._wtxm]))  # S(WTX) request
        self._job = None
        if job.error is not None:
            if isinstance(job.error, CardPulled):
                self._pulled()
                return None
            log.error("card model failed on a command", exc_info=job.error)
            return self._respond(b"\x6f\x00")
        return self._respond(job.result)

    def _respond(self, data: bytes) -> bytes:
        room = self._fsd - 3 - (1 if self._cid_in else 0)  # PCB, [CID,] CRC_A
        if len(data) > room:
            self._tx_rest = data[room:]
            return self._block(0x12 | self._bn, data[:room])
        self._tx_rest = None
        return self._block(0x02 | self._bn, data)

    def _r_block(self, pcb: int) -> bytes | None:
        number = pcb & 0x01
        if pcb & 0x10:  # R(NAK)
            if number != self._bn:
                return self._block(0xA2 | self._bn)  # rule 12 (nfcpy's presence check)
            if self._job is not None:
                return self._await(self.fwt / 2)
            return self._last  # rule 11: our last block was lost
        if number == self._bn:
            return self._last  # rule 11
        if self._tx_rest is not None:  # rule 13: continue chaining
            self._bn ^= 1  # rule E
            return self._respond(self._tx_rest)
        return None

    def _s_block(self, pcb: int, inf: bytes) -> bytes | None:
        if pcb & 0x30 == 0x00:  # S(DESELECT)
            if self._job is not None:
                self._job.done.wait(10.0)
            answer = self._block(0xC2)
            cid_in = self._cid_in
            self._reset_protocol()
            self._cid_in = cid_in
            self.state = State.HALT
            return answer
        if pcb & 0x30 == 0x30 and self._job is not None:  # S(WTX) response
            multiplier = (inf[0] & 0x3F) if inf else 1
            return self._await(max(1, multiplier) * self.fwt * 0.75)
        return None
