"""The nfcpy backend through nfcpy's real stack (nothing of ours mocked).

- udp: `hardware.nfc_udp.NfcUdpTarget` answers nfcpy's udp radio as an ISO-DEP Type 4A card.
- tty: `hardware.pn532_pty.Pn532Pty` is a PN532 on a pty, driven by nfcpy's pn532 driver.
Both carry `hardware.virtual_t4t.VirtualType4Card`. Card processes that a test kills run as
`python -m hardware.nfc_udp` / `python -m hardware.pn532_pty`.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ndef  # type: ignore[import-untyped, unused-ignore]
import nfc
import nfc.tag.tt4
import pytest
import serial

from cardio.apdu import ApduProcessor
from cardio.credential import MEDIA_TYPE
from cardio.errors import (
    CardConnectionError,
    CardRemovedError,
    NoCardError,
    NotIsoDepCardError,
    NotType4Error,
    ReaderNotFoundError,
)
from cardio.nfc_backend import NfcConnection
from cardio.type4 import NdefApplication, credential_from_ndef, ndef_message
from hardware.nfc_udp import NfcUdpTarget
from hardware.pn532_pty import Pn532Pty, host_frame
from hardware.type_a_picc import State, TypeAPicc, cascade_levels
from hardware.virtual_t4t import Faults, VirtualType4Card

REPO = Path(__file__).resolve().parent.parent
UID7 = bytes.fromhex("04A1B2C3D4E5F6")
UIDS = [bytes.fromhex("08112233"), UID7, bytes.fromhex("04A1B2C3D4E5F60718")[:9] + b"\x29"]
SELECT_NDEF_APP = bytes.fromhex("00A4040007D276000085010100")
SELECT_NDEF_FILE = bytes.fromhex("00A4000C02E104")
OK = b"\x90\x00"


# -- helpers -------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Every simulator thread (and card-process thread) is gone after each test."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not extra, f"threads left behind: {extra}"


@pytest.fixture
def udp_target() -> Iterator[NfcUdpTarget]:
    with NfcUdpTarget(VirtualType4Card(uid=UID7)) as target:
        yield target


@pytest.fixture
def pn532() -> Iterator[Pn532Pty]:
    with Pn532Pty(VirtualType4Card(uid=UID7)) as chip:
        yield chip


def ok(response: bytes) -> bytes:
    assert response[-2:] == OK, response.hex()
    return response[:-2]


def update_binary(conn: NfcConnection, offset: int, data: bytes) -> bytes:
    if len(data) <= 255:
        apdu = bytes([0x00, 0xD6, offset >> 8, offset & 0xFF, len(data)]) + data
    else:
        apdu = bytes([0x00, 0xD6, offset >> 8, offset & 0xFF, 0x00]) + len(data).to_bytes(2, "big")
        apdu += data
    return conn.transmit(apdu)


def read_binary(conn: NfcConnection, offset: int, le: int) -> bytes:
    if le <= 256:
        apdu = bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, le & 0xFF])
    else:
        apdu = bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, 0x00]) + le.to_bytes(2, "big")
    return conn.transmit(apdu)


class CardProcess:
    """`python -m <module> ...` printing its nfcpy path; killed and reaped at teardown."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20.0)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line:
            self.close()
            raise AssertionError(f"{module} did not start: {self.stderr()}")
        self.path = line

    def stderr(self) -> str:
        self.proc.kill()
        _, err = self.proc.communicate(timeout=10)
        return err

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


@pytest.fixture
def card_process() -> Iterator[type[CardProcess]]:
    started: list[CardProcess] = []

    class Tracked(CardProcess):
        def __init__(self, module: str, *args: str) -> None:
            super().__init__(module, *args)
            started.append(self)

    yield Tracked
    for process in started:
        process.close()
    assert all(p.proc.returncode is not None for p in started)


# -- udp: activation, UID, chaining ------------------------------------------------------------
@pytest.mark.parametrize("uid", UIDS, ids=["4-byte", "7-byte", "10-byte"])
def test_udp_reads_uid_of_every_size(uid: bytes) -> None:
    with (
        NfcUdpTarget(VirtualType4Card(uid=uid)) as target,
        NfcConnection.wait(f"udp:localhost:{target.port}", timeout=5) as conn,
    ):
        assert conn.uid == uid
        assert ok(conn.transmit(SELECT_NDEF_APP)) == b""
        assert isinstance(conn, NfcConnection) and "IP-Stack" in conn.reader


def test_udp_short_apdus_longer_than_the_frame(udp_target: NfcUdpTarget) -> None:
    """255-byte command data and 255-byte responses: 260/257 bytes > FSC/FSD - 3 = 253."""
    with NfcConnection.wait(udp_target.path, timeout=5) as conn:
        ok(conn.transmit(SELECT_NDEF_APP))
        ok(conn.transmit(SELECT_NDEF_FILE))
        data = bytes((i * 7) & 0xFF for i in range(255))
        frames = udp_target.frames_in
        ok(update_binary(conn, 2, data))
        assert udp_target.frames_in - frames == 2  # I(chaining) + I
        frames = udp_target.frames_in
        assert ok(read_binary(conn, 2, 255)) == data
        assert udp_target.frames_in - frames == 2  # I, then R(ACK) for the chained answer


def test_udp_extended_apdus_chain_both_ways(udp_target: NfcUdpTarget) -> None:
    udp_target.insert(VirtualType4Card(uid=UID7, extended=True))
    with NfcConnection.wait(udp_target.path, timeout=5) as conn:
        assert conn.extended_length
        ok(conn.transmit(SELECT_NDEF_APP))
        ok(conn.transmit(SELECT_NDEF_FILE))
        data = os.urandom(4000)
        frames = udp_target.frames_in
        ok(update_binary(conn, 2, data))
        assert udp_target.frames_in - frames == 16  # 4007 bytes in 253-byte I-blocks
        frames = udp_target.frames_in
        assert ok(read_binary(conn, 2, 4000)) == data
        assert udp_target.frames_in - frames == 16  # I + 15 R(ACK)


def test_udp_small_fsc_makes_nfcpy_chain_more() -> None:
    with (
        NfcUdpTarget(VirtualType4Card(uid=UID7), fsci=2) as target,  # FSC 32
        NfcConnection.wait(target.path, timeout=5) as conn,
    ):
        assert conn.tag._dep.miu == 29
        ok(conn.transmit(SELECT_NDEF_APP))
        ok(conn.transmit(SELECT_NDEF_FILE))
        frames = target.frames_in
        ok(update_binary(conn, 2, bytes(100)))
        assert target.frames_in - frames == 4  # 105 bytes / 29


def test_udp_slow_card_gets_waiting_time_extensions() -> None:
    card = VirtualType4Card(uid=UID7, faults=Faults(delay=0.25))
    with NfcUdpTarget(card) as target, NfcConnection.wait(target.path, timeout=5) as conn:
        started = time.monotonic()
        ok(conn.transmit(SELECT_NDEF_APP))
        assert time.monotonic() - started >= 0.25
        assert target.picc.wtx_requests >= 1


# -- udp: interop with nfcpy's own Type4Tag ------------------------------------------------------
@pytest.mark.parametrize("mapping", ["2.0", "3.0"])
def test_nfcpy_type4tag_reads_what_our_writer_wrote(mapping: str) -> None:
    cwt = os.urandom(3000)
    card = VirtualType4Card(uid=UID7, mapping_version=mapping)
    with NfcUdpTarget(card) as target:
        with NfcConnection.wait(target.path, timeout=5) as conn:
            NdefApplication(ApduProcessor(conn)).write_ndef(ndef_message(cwt))
        clf = nfc.ContactlessFrontend(target.path)
        try:
            tag = clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: False})
            assert isinstance(tag, nfc.tag.tt4.Type4Tag)
            assert tag.identifier == UID7
            assert tag.ndef is not None and tag.ndef.is_readable
            records = tag.ndef.records
            assert [(r.type, r.data) for r in records] == [(MEDIA_TYPE, cwt)]
            assert bytes(tag.ndef.octets) == ndef_message(cwt)
        finally:
            clf.close()


def test_our_reader_reads_what_nfcpy_wrote(udp_target: NfcUdpTarget) -> None:
    cwt = os.urandom(2000)
    clf = nfc.ContactlessFrontend(udp_target.path)
    try:
        tag = clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: False})
        tag.ndef.records = [ndef.Record(MEDIA_TYPE, "", cwt)]
    finally:
        clf.close()
    with NfcConnection.wait(udp_target.path, timeout=5) as conn:
        message = NdefApplication(ApduProcessor(conn)).read_ndef()
    assert credential_from_ndef(message) == cwt


# -- tty: the PN532 on a pty -------------------------------------------------------------------
@pytest.mark.parametrize("uid", UIDS, ids=["4-byte", "7-byte", "10-byte"])
def test_pn532_reads_uid_and_exchanges_apdus(uid: bytes) -> None:
    card = VirtualType4Card(uid=uid, extended=True)
    with Pn532Pty(card) as chip, NfcConnection.wait(chip.nfc_path, timeout=5) as conn:
        assert conn.uid == uid
        assert "PN532v1.6" in conn.reader
        ok(conn.transmit(SELECT_NDEF_APP))
        ok(conn.transmit(SELECT_NDEF_FILE))
        data = os.urandom(1000)
        ok(update_binary(conn, 2, data))
        assert ok(read_binary(conn, 2, 1000)) == data
    # nfcpy's init: firmware version, SAM configuration, baud rate, line test (an extended
    # frame), SetParameters; then InListPassiveTarget and InCommunicateThru for ISO-DEP.
    assert chip.commands[:6] == [0x02, 0x14, 0x10, 0x00, 0x02, 0x12]
    assert 0x4A in chip.commands and 0x42 in chip.commands
    assert chip.commands[-1] == 0x16  # PowerDown at close


def test_pn532_path_forms_and_firmware_version() -> None:
    with Pn532Pty(VirtualType4Card(uid=UID7), firmware=(1, 4)) as chip:
        short = "tty:" + chip.path.removeprefix("/dev/") + ":pn532"  # tty:pts/N:pn532
        with NfcConnection.wait(short, timeout=5) as conn:
            assert conn.uid == UID7
            assert "PN532v1.4" in conn.reader


def test_pn532_in_data_exchange_with_mi_chaining(pn532: Pn532Pty) -> None:
    """InDataExchange (the firmware's own ISO-DEP), as hosts other than nfcpy use it."""
    pn532.insert(VirtualType4Card(uid=UID7, extended=True))
    port = serial.Serial(pn532.path, 115200, timeout=1.0)

    def command(code: int, data: bytes = b"") -> bytes:
        port.write(b"\x00" * 3 + host_frame(bytes([0xD4, code]) + data))
        assert port.read(6) == bytes.fromhex("0000FF00FF00")
        head: bytes = port.read(5)
        if head[3:5] == b"\xff\xff":
            head += port.read(3)
            n = head[5] << 8 | head[6]
        else:
            n = head[3]
        body: bytes = port.read(n + 2)
        assert body[0] == 0xD5 and body[1] == code + 1 and (sum(body[:-1]) & 0xFF) == 0
        return body[2:-2]

    try:
        assert command(0x02) == bytes([0x32, 1, 6, 7])
        target = command(0x4A, b"\x01\x00")  # automatic RATS is on by default: ATS included
        assert target[:2] == b"\x01\x01" and target[6:13] == UID7 and len(target) > 13
        assert command(0x40, b"\x01" + SELECT_NDEF_APP) == b"\x00" + OK
        assert command(0x40, b"\x01" + SELECT_NDEF_FILE) == b"\x00" + OK
        data = os.urandom(600)
        apdu = bytes.fromhex("00D6000200") + len(data).to_bytes(2, "big") + data
        assert command(0x40, b"\x41" + apdu[:300]) == b"\x00"  # host chaining (MI)
        assert command(0x40, b"\x01" + apdu[300:]) == b"\x00" + OK
        answer = command(0x40, b"\x01" + bytes.fromhex("00B00002000258"))
        chunks = [answer]
        while answer[0] & 0x40:  # MI: the host asks for the rest with an empty InDataExchange
            answer = command(0x40, b"\x01")
            chunks.append(answer)
        assert [len(c) - 1 for c in chunks] == [262, 262, 78]
        assert b"".join(c[1:] for c in chunks) == data + OK
        assert command(0x52, b"\x01") == b"\x00"  # InRelease
    finally:
        port.close()


# -- no card, removed card, wrong card, no reader -------------------------------------------------
def test_udp_no_card_times_out() -> None:
    with NfcUdpTarget(VirtualType4Card(uid=UID7), present=False) as target:
        started = time.monotonic()
        with pytest.raises(NoCardError, match="No card was presented"):
            NfcConnection.wait(target.path, timeout=0.3)
        assert time.monotonic() - started < 3.0


def test_udp_stopped_target_means_no_card() -> None:
    target = NfcUdpTarget(VirtualType4Card(uid=UID7)).start()
    path = target.path
    target.stop()
    with pytest.raises(NoCardError):
        NfcConnection.wait(path, timeout=0.3)


def test_pn532_no_card_times_out() -> None:
    with Pn532Pty(VirtualType4Card(uid=UID7), present=False) as chip:
        started = time.monotonic()
        with pytest.raises(NoCardError):
            NfcConnection.wait(chip.nfc_path, timeout=0.5)
        assert time.monotonic() - started < 3.0


def test_udp_target_killed_mid_exchange(card_process: type[CardProcess]) -> None:
    card = card_process("hardware.nfc_udp", "--port", "0", "--delay", "0.4")
    with NfcConnection.wait(card.path, timeout=5) as conn:
        killer = threading.Timer(0.15, card.proc.kill)
        killer.start()
        try:
            with pytest.raises(CardRemovedError, match="stopped answering"):
                conn.transmit(SELECT_NDEF_APP)  # the card is still thinking (WTX) when killed
        finally:
            killer.join()
        with pytest.raises(CardRemovedError):
            conn.transmit(SELECT_NDEF_APP)


def test_udp_target_process_terminates_cleanly(card_process: type[CardProcess]) -> None:
    card = card_process("hardware.nfc_udp", "--port", "0", "--uid", UID7.hex())
    with NfcConnection.wait(card.path, timeout=5) as conn:
        assert conn.uid == UID7
        ok(conn.transmit(SELECT_NDEF_APP))
    card.proc.terminate()
    assert card.proc.wait(10) == 0


def test_pn532_process(card_process: type[CardProcess]) -> None:
    card = card_process("hardware.pn532_pty", "--uid", UID7.hex(), "--firmware", "1.6")
    with NfcConnection.wait(card.path, timeout=5) as conn:
        assert conn.uid == UID7
        ok(conn.transmit(SELECT_NDEF_APP))
        card.proc.kill()  # the reader itself goes away: not a removed card
        card.proc.wait(10)
        with pytest.raises(CardConnectionError) as caught:
            conn.transmit(SELECT_NDEF_APP)
        assert not isinstance(caught.value, CardRemovedError)


def test_card_pulled_mid_write_then_presented_again() -> None:
    """CardPulled from the card model: the card falls silent; it is back in the next field."""
    card = VirtualType4Card(uid=UID7, faults=Faults(pull_after_writes=2))
    with NfcUdpTarget(card) as target:
        with NfcConnection.wait(target.path, timeout=5) as conn:
            ok(conn.transmit(SELECT_NDEF_APP))
            ok(conn.transmit(SELECT_NDEF_FILE))
            ok(update_binary(conn, 0, b"\x00\x00"))
            with pytest.raises(CardRemovedError):
                update_binary(conn, 2, bytes(range(200)))
        assert target.picc.state is not State.PROTOCOL
        with NfcConnection.wait(target.path, timeout=5) as conn:
            ok(conn.transmit(SELECT_NDEF_APP))
            ok(conn.transmit(SELECT_NDEF_FILE))
            assert ok(read_binary(conn, 0, 102)) == b"\x00\x00" + bytes(range(100))  # torn


def test_pn532_card_pulled_mid_write() -> None:
    card = VirtualType4Card(uid=UID7, faults=Faults(pull_after_writes=1))
    with Pn532Pty(card) as chip, NfcConnection.wait(chip.nfc_path, timeout=5) as conn:
        ok(conn.transmit(SELECT_NDEF_APP))
        ok(conn.transmit(SELECT_NDEF_FILE))
        with pytest.raises(CardRemovedError):
            update_binary(conn, 2, bytes(10))


def test_not_an_iso_dep_card() -> None:
    with NfcUdpTarget(VirtualType4Card(uid=UID7), sak=0x00) as target:  # a Type 2 tag's SAK
        with pytest.raises(NotIsoDepCardError, match="not a citycard") as caught:
            NfcConnection.wait(target.path, timeout=5)
        assert isinstance(caught.value, NotType4Error)


@pytest.mark.parametrize(
    "path",
    [
        "tty:/dev/citycard-no-such-tty:pn532",
        "tty:pts/9999:pn532",
        "tty:USB97:pn532",
        "tty:/dev/null:pn999",
        "udp:no-such-host.invalid:5000",
        "usb:ffff:fffe",
        "bogus",
    ],
)
def test_bogus_device_path(path: str) -> None:
    with pytest.raises(ReaderNotFoundError, match=r"No NFC reader at .*citycard-provision doctor"):
        NfcConnection.wait(path, timeout=0.5)


def test_a_tty_where_no_pn532_answers() -> None:
    master, slave = os.openpty()
    try:
        with pytest.raises(ReaderNotFoundError, match="no PN532 answered"):
            NfcConnection.wait(f"tty:{os.ttyname(slave)}:pn532", timeout=0.5)
    finally:
        os.close(master)
        os.close(slave)


# -- the card side on its own: small FSD, NAK, presence check, DESELECT --------------------------
def test_picc_block_protocol_rules() -> None:
    card = VirtualType4Card(uid=UID7, extended=True)
    picc = TypeAPicc(card)
    picc.field_on()
    assert picc.handle(b"\x26") == b"\x44\x00"
    for sel, cl in zip((0x93, 0x95), cascade_levels(UID7), strict=True):
        assert picc.handle(bytes([sel, 0x20])) == cl
        assert picc.handle(bytes([sel, 0x70]) + cl) == (b"\x04" if sel == 0x93 else b"\x20")
    ats = picc.handle(b"\xe0\x20")  # FSD 32: at most 29 INF bytes per I-block
    assert ats is not None and ats[1] == 0x78 and ats[5:] == card.historical_bytes
    assert picc.handle(b"\x02" + SELECT_NDEF_APP) == b"\x02" + OK
    assert picc.handle(b"\x03" + SELECT_NDEF_FILE) == b"\x03" + OK
    # chained command: I(chaining) is acknowledged with R(ACK) and the block number
    apdu = bytes.fromhex("00D600020A") + bytes(range(10))
    assert picc.handle(b"\x12" + apdu[:8]) == b"\xa2"
    assert picc.handle(b"\x03" + apdu[8:]) == b"\x03" + OK
    # chained answer in 29-byte pieces, R(ACK) to continue, R(ACK) with the same number resends
    first = picc.handle(b"\x02" + bytes.fromhex("00B0000040"))
    assert first is not None and first[0] == 0x12 and len(first) == 30
    assert picc.handle(b"\xa2") == first  # R(ACK) with our block number: lost, resend
    second = picc.handle(b"\xa3")
    assert second is not None and second[0] == 0x13 and len(second) == 30
    third = picc.handle(b"\xa2")
    assert third is not None and third[0] == 0x02
    assert (first[1:] + second[1:] + third[1:])[:-2] == card.ndef_file[:64]
    assert picc.handle(b"\xb2") == third  # R(NAK) with our block number: resend
    assert picc.handle(b"\xb3") == b"\xa2"  # presence check: R(NAK) other number -> R(ACK)
    assert picc.handle(b"\xc2") == b"\xc2"  # DESELECT -> HALT
    assert picc.state is State.HALT
    assert picc.handle(b"\x26") is None  # REQA does not wake a halted card, WUPA does
    assert picc.handle(b"\x52") == b"\x44\x00"
    picc.field_off()
    assert picc.handle(b"\x26") is None
    picc.close()


def test_pn532_exposes_extended_host_frames() -> None:
    assert host_frame(b"\xd5\x03" + bytes(250))[3] == 252
    long = host_frame(b"\xd5\x43" + bytes(253))
    assert long[3:5] == b"\xff\xff" and long[5:7] == (255).to_bytes(2, "big")
    assert (sum(long[5:8]) & 0xFF) == 0


def test_reconnect_after_close_powers_the_card_again(udp_target: NfcUdpTarget) -> None:
    for _ in range(3):
        with NfcConnection.wait(udp_target.path, timeout=5) as conn:
            ok(conn.transmit(SELECT_NDEF_APP))
    with contextlib.suppress(Exception):
        conn.close()  # closing twice is harmless
