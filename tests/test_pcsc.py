"""The PC/SC backend against the real pcscd with vsmartcard's vpcd driver (nothing mocked).

Virtual cards connect to vpcd's ports (35963 + slot) from a thread (`vpcd_cards`) or from a
separate process that a test kills (`card_processes`); see tests/pcsc_fixtures.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

from cardio.errors import (
    CardConnectionError,
    CardRemovedError,
    NoCardError,
    ReaderNotFoundError,
)
from cardio.pcsc import IOCTL_CCID_ESCAPE, PcscConnection, list_readers, match_readers
from hardware.pcscd import PcscdService, ensure_pcscd
from hardware.virtual_t4t import CC_FILE_ID, NDEF_AID, NDEF_FILE_ID, Faults, VirtualType4Card
from hardware.vpcd import VpcdCard
from tests.pcsc_fixtures import (
    REPO,
    CardProcesses,
    UidEchoCard,
    VpcdCards,
    requires_pcscd,
    wait_reader,
)

pytestmark = [requires_pcscd]

UID0 = bytes.fromhex("04A1B2C3D4E5F6")
UID1 = bytes.fromhex("08112233")
SELECT = bytes.fromhex("00A4040007D2760000850101")


def test_vpcd_readers_are_listed(pcscd_service: PcscdService) -> None:
    readers = list_readers()
    assert "Virtual PCD 00 00" in readers
    assert "Virtual PCD 00 01" in readers
    assert pcscd_service.vpcd_reader(1) == "Virtual PCD 00 01"


def test_cards_in_two_slots(vpcd_cards: VpcdCards) -> None:
    card0 = vpcd_cards.attach(0, UidEchoCard(UID0))
    card1 = vpcd_cards.attach(1, UidEchoCard(UID1))
    with (
        PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn0,
        PcscConnection.wait("Virtual PCD 00 01", timeout=5) as conn1,
    ):
        assert conn0.reader == "Virtual PCD 00 00"
        assert conn1.reader == "Virtual PCD 00 01"
        assert conn0.atr == conn1.atr == bytes.fromhex("3B80800101")
        assert conn0.uid == UID0
        assert conn1.uid == UID1
        assert conn0.transmit(SELECT) == SELECT + b"\x90\x00"
        assert conn1.transmit(b"\x00\xb0\x00\x00\x10") == b"\x00\xb0\x00\x00\x10\x90\x00"
        uid_asks = card0.card.commands.count(bytes.fromhex("FFCA000000"))  # type: ignore[attr-defined]
        assert conn0.uid == UID0
        assert card0.card.commands.count(bytes.fromhex("FFCA000000")) == uid_asks  # type: ignore[attr-defined]
        assert card1.exchanges >= 2
        assert card0.card.power_ons >= 1  # type: ignore[attr-defined]


def test_any_reader_and_loose_names(vpcd_cards: VpcdCards) -> None:
    vpcd_cards.attach(1, UidEchoCard(UID1))
    with PcscConnection.wait(timeout=5) as conn:
        assert conn.reader == "Virtual PCD 00 01"
        assert conn.uid == UID1
    with PcscConnection.wait("virtual pcd", timeout=5) as conn:  # prefix, any case
        assert conn.reader == "Virtual PCD 00 01"
    with PcscConnection.wait("PCD 00 01", timeout=5) as conn:  # substring
        assert conn.uid == UID1


def test_match_readers_prefers_exact_then_prefix_then_substring() -> None:
    readers = ["ACS ACR122U 00 00", "Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert match_readers("virtual pcd 00 00", readers) == ["Virtual PCD 00 00"]
    assert match_readers("Virtual", readers) == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert match_readers("acr122", readers) == ["ACS ACR122U 00 00"]
    assert match_readers("omnikey", readers) == []


def test_no_card_times_out(pcscd_service: PcscdService) -> None:
    wait_reader("Virtual PCD 00 00", False)
    start = time.monotonic()
    with pytest.raises(NoCardError, match=r"No card was presented .*Virtual PCD 00 00.* 0\.6 s"):
        PcscConnection.wait("Virtual PCD 00 00", timeout=0.6)
    assert 0.55 <= time.monotonic() - start < 3.0


def test_unknown_reader_names_the_attached_ones(pcscd_service: PcscdService) -> None:
    with pytest.raises(ReaderNotFoundError) as caught:
        PcscConnection.wait("Omnikey 5422", timeout=5)
    message = str(caught.value)
    assert "'Omnikey 5422'" in message
    assert "'Virtual PCD 00 00'" in message and "'Virtual PCD 00 01'" in message


def test_connection_is_exclusive(vpcd_cards: VpcdCards) -> None:
    vpcd_cards.attach(0)
    with (
        PcscConnection.wait("Virtual PCD 00 00", timeout=5),
        pytest.raises(CardConnectionError, match="in use by another program"),
    ):
        PcscConnection.wait("Virtual PCD 00 00", timeout=1)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as again:
        assert again.uid == UID0
    vpcd_cards.attach(1, UidEchoCard(UID1))
    with (
        PcscConnection.wait("Virtual PCD 00 00", timeout=5),  # holds slot 0
        PcscConnection.wait("Virtual PCD", timeout=5) as other,  # skips the busy one
    ):
        assert other.reader == "Virtual PCD 00 01"


def test_card_removed_between_apdus_then_reconnect(vpcd_cards: VpcdCards) -> None:
    vcard = vpcd_cards.attach(0, UidEchoCard(UID0))
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        assert conn.uid == UID0
        vpcd_cards.remove(vcard)  # pcscd has noticed: SCARD_W_REMOVED_CARD
        with pytest.raises(CardRemovedError, match="left the reader 'Virtual PCD 00 00'"):
            conn.transmit(SELECT)
        with pytest.raises(NoCardError):
            conn.reconnect(timeout=0.3)
        vcard.card = UidEchoCard(UID1)  # another card is presented in its place
        vcard.insert()
        conn.reconnect(timeout=5)
        assert conn.transmit(SELECT) == SELECT + b"\x90\x00"
        assert conn.uid == UID1  # asked afresh after reconnect


def test_card_removed_before_pcscd_noticed(vpcd_cards: VpcdCards) -> None:
    vcard = vpcd_cards.attach(0)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        conn.transmit(SELECT)
        vcard.remove()  # no wait: the driver finds out during the exchange
        with pytest.raises(CardRemovedError):
            conn.transmit(SELECT)
        vcard.insert()
        conn.reconnect(timeout=5)
        assert conn.transmit(SELECT) == SELECT + b"\x90\x00"


class _Pulled(Exception):
    pass


class _PullOnWrite(UidEchoCard):
    """Pulled out of the field on the first UPDATE BINARY, like a fault-injected card."""

    def process(self, apdu: bytes) -> bytes:
        if apdu[1:2] == b"\xd6":
            raise _Pulled
        return super().process(apdu)


def test_card_pulled_mid_exchange(vpcd_cards: VpcdCards, pcscd_service: PcscdService) -> None:
    vcard = VpcdCard(_PullOnWrite(UID0), 0, pulled=(_Pulled,)).start()
    vpcd_cards.cards.append(vcard)
    wait_reader("Virtual PCD 00 00", True)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        conn.transmit(SELECT)
        with pytest.raises(CardRemovedError, match="a write may be incomplete"):
            conn.transmit(bytes.fromhex("00D6000002CAFE"))
        assert not vcard.present
        vcard.insert()
        conn.reconnect(timeout=5)
        assert conn.uid == UID0


def test_card_process_killed(card_processes: CardProcesses) -> None:
    proc = card_processes.start(1, UID1.hex())
    with PcscConnection.wait("Virtual PCD 00 01", timeout=5) as conn:
        assert conn.uid == UID1
        assert conn.transmit(SELECT) == SELECT + b"\x90\x00"
        proc.kill()
        proc.wait()
        with pytest.raises(CardRemovedError):
            conn.transmit(SELECT)
        with pytest.raises(NoCardError):
            conn.reconnect(timeout=0.5)
        card_processes.start(1, UID0.hex())
        conn.reconnect(timeout=5)
        assert conn.uid == UID0


def test_apdu_round_trip_is_fast(vpcd_cards: VpcdCards) -> None:
    """Without TCP_QUICKACK on the card's socket each APDU takes about 44 ms here."""
    vpcd_cards.attach(0)
    command = bytes.fromhex("00B00000FF")
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        conn.transmit(command)
        start = time.perf_counter()
        for _ in range(50):
            conn.transmit(command)
        average_ms = (time.perf_counter() - start) / 50 * 1000
    print(f"vpcd APDU round trip: {average_ms:.2f} ms average over 50")
    assert average_ms < 15, f"{average_ms:.1f} ms per APDU: is TCP_QUICKACK set?"


def test_control_unsupported_by_vpcd_is_a_sentence(vpcd_cards: VpcdCards) -> None:
    vpcd_cards.attach(0)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        assert IOCTL_CCID_ESCAPE == 0x42000000 + 3500
        with pytest.raises(CardConnectionError, match=r"refused control code 0x42000DAC"):
            conn.control(IOCTL_CCID_ESCAPE, b"\xff\x00\x48\x00\x00")
        assert conn.transmit(SELECT) == SELECT + b"\x90\x00"  # still usable


def test_extended_length_only_when_configured(vpcd_cards: VpcdCards) -> None:
    vpcd_cards.attach(0)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        assert not conn.extended_length
        assert conn.max_response == 256
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5, extended_length=True) as conn:
        assert conn.extended_length
        assert conn.max_response == 65536
        big = b"\x00\xd6\x00\x00\x00\x04\x00" + bytes(1024)
        assert conn.transmit(big) == big + b"\x90\x00"


def test_closed_connection_refuses(vpcd_cards: VpcdCards) -> None:
    vpcd_cards.attach(0)
    conn = PcscConnection.wait("Virtual PCD 00 00", timeout=5)
    conn.close()
    conn.close()
    with pytest.raises(CardConnectionError, match="closed; connect again"):
        conn.transmit(SELECT)


def test_no_apdu_data_is_logged(vpcd_cards: VpcdCards, caplog: pytest.LogCaptureFixture) -> None:
    vpcd_cards.attach(0)
    secret = bytes.fromhex("00DA0000085EC12E7DA7AB1E")
    with caplog.at_level(logging.DEBUG), PcscConnection.wait("Virtual PCD 00 00", 5) as conn:
        conn.transmit(secret)
        conn.uid  # noqa: B018 - asks the card
    text = "\n".join(r.getMessage() for r in caplog.records).upper()
    assert "5EC12E7DA7AB1E" not in text
    assert UID0.hex().upper() not in text
    assert all(r.levelno <= logging.DEBUG for r in caplog.records if "APDU" in r.getMessage())


def test_running_pcscd_is_reused_not_stopped(pcscd_service: PcscdService) -> None:
    again = ensure_pcscd()
    assert not again.started
    again.stop()
    assert "Virtual PCD 00 00" in list_readers()


def test_no_service_is_a_sentence(pcscd_service: PcscdService, tmp_path: object) -> None:
    """The client library finds pcscd through PCSCLITE_CSOCK_NAME: point it at nothing."""
    env = dict(os.environ, PCSCLITE_CSOCK_NAME="/nonexistent/pcscd.comm")
    code = (
        "from cardio.pcsc import list_readers\n"
        "from cardio.errors import CardConnectionError\n"
        "try:\n    list_readers()\nexcept CardConnectionError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )
    assert "The PC/SC service (pcscd) is not running; start it with" in out.stdout
    assert "Traceback" not in out.stderr


# -- the citycard chip model (hardware.virtual_t4t) behind pcscd ------------------------------


def _select_file(conn: PcscConnection, file_id: int) -> None:
    assert conn.transmit(b"\x00\xa4\x04\x00\x07" + NDEF_AID + b"\x00")[-2:] == b"\x90\x00"
    assert conn.transmit(b"\x00\xa4\x00\x0c\x02" + file_id.to_bytes(2, "big")) == b"\x90\x00"


def test_virtual_t4t_card_through_pcscd(vpcd_cards: VpcdCards) -> None:
    chip = VirtualType4Card(profile="t4t", uid=UID0)
    vpcd_cards.attach(0, chip)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        assert conn.atr == chip.atr
        assert conn.uid == UID0
        _select_file(conn, CC_FILE_ID)
        assert conn.transmit(bytes.fromhex("00B000000F")) == chip.cc_file[:15] + b"\x90\x00"
        _select_file(conn, NDEF_FILE_ID)
        start = time.perf_counter()
        for offset in (i * 255 % (chip.ndef_size - 255) for i in range(50)):
            response = conn.transmit(bytes([0, 0xB0, offset >> 8, offset & 0xFF, 0xFF]))
            assert response == chip.ndef_file[offset : offset + 255] + b"\x90\x00"
        average_ms = (time.perf_counter() - start) / 50 * 1000
    print(f"vpcd READ BINARY 255 bytes: {average_ms:.2f} ms average over 50")
    assert average_ms < 15


def test_virtual_t4t_extended_read(vpcd_cards: VpcdCards) -> None:
    chip = VirtualType4Card(profile="t4t", uid=UID0, extended=True)
    vpcd_cards.attach(0, chip)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5, extended_length=True) as conn:
        _select_file(conn, NDEF_FILE_ID)
        response = conn.transmit(bytes.fromhex("00B00000001000"))  # extended Le 4096
        assert response == chip.ndef_file[:4096] + b"\x90\x00"


def test_virtual_t4t_pulled_mid_write_then_presented_again(vpcd_cards: VpcdCards) -> None:
    chip = VirtualType4Card(profile="t4t", uid=UID0, faults=Faults(pull_after_writes=2))
    vcard = vpcd_cards.attach(0, chip)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        _select_file(conn, NDEF_FILE_ID)
        assert conn.transmit(bytes.fromhex("00D60000020000")) == b"\x90\x00"  # NLEN 0
        with pytest.raises(CardRemovedError, match="a write may be incomplete"):
            conn.transmit(b"\x00\xd6\x00\x02\x08" + b"ABCDEFGH")
        assert not vcard.present
        vcard.insert()
        conn.reconnect(timeout=5)
        assert conn.uid == UID0
        _select_file(conn, NDEF_FILE_ID)
        torn = conn.transmit(bytes.fromhex("00B000000A"))
        assert torn == b"\x00\x00ABCD\x00\x00\x00\x00\x90\x00"  # half of the write landed


def test_ndef_round_trip_through_pcscd(vpcd_cards: VpcdCards) -> None:
    from cardio.apdu import ApduProcessor
    from cardio.type4 import NdefApplication

    chip = VirtualType4Card(profile="t4t", uid=UID0)
    vpcd_cards.attach(0, chip)
    message = bytes(range(256)) * 12  # 3 KB
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        NdefApplication(ApduProcessor(conn)).write_ndef(message)
    with PcscConnection.wait("Virtual PCD 00 00", timeout=5) as conn:
        assert NdefApplication(ApduProcessor(conn)).read_ndef() == message


def test_virtual_t4t_card_process_killed(card_processes: CardProcesses) -> None:
    proc = card_processes.start(1, UID1.hex(), model=None, profile="t4t")
    with PcscConnection.wait("Virtual PCD 00 01", timeout=5) as conn:
        assert conn.uid == UID1
        _select_file(conn, CC_FILE_ID)
        proc.kill()
        proc.wait()
        with pytest.raises(CardRemovedError):
            conn.transmit(bytes.fromhex("00B000000F"))


def test_vpcd_slots_are_locked_for_other_processes(pcscd_service: PcscdService) -> None:
    code = (
        "from hardware.pcscd import ensure_pcscd\n"
        "from cardio.errors import CardConnectionError\n"
        "try:\n    ensure_pcscd(lock_timeout=0.3)\nexcept CardConnectionError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert f"Another program (pid {os.getpid()}) is using the vpcd slots" in out.stdout
