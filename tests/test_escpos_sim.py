"""The simulated TCP receipt printer (status bytes, faults) and the ESC/POS decoder."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
from escpos.printer import Network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.escpos_sim import EscposSimulator
from printer.escpos_decode import (
    Cut,
    EscposDecodeError,
    LineFeed,
    QrCode,
    Raster,
    StatusQuery,
    TextRun,
    Unknown,
    decode,
    next_command,
)
from printer.paper import PAPER_80MM

from .escpos_fixtures import fixture_sim  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def _connect(sim: EscposSimulator) -> socket.socket:
    conn = socket.create_connection(sim.address, timeout=2)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _ask(conn: socket.socket, query: bytes, count: int = 1) -> bytes:
    conn.sendall(query)
    got = b""
    while len(got) < count:
        got += conn.recv(16)
    return got


def _status(conn: socket.socket) -> list[int]:
    return list(_ask(conn, b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04", 4))


# --- the simulator -------------------------------------------------------------------------


def test_status_bytes_follow_epson(sim: EscposSimulator) -> None:
    with _connect(sim) as conn:
        assert _status(conn) == [0x12, 0x12, 0x12, 0x12]
        sim.paper_near_end()
        assert _status(conn) == [0x12, 0x12, 0x12, 0x1E]
        sim.run_out_of_paper()
        assert _status(conn) == [0x1A, 0x32, 0x12, 0x7E]
        sim.load_paper()
        sim.open_cover()
        assert _status(conn) == [0x1A, 0x16, 0x12, 0x12]
        sim.close_cover()
        sim.go_offline()
        assert _status(conn) == [0x1A, 0x52, 0x52, 0x12]
        sim.recover()
        sim.jam_cutter()
        assert _status(conn) == [0x1A, 0x52, 0x1A, 0x12]
        sim.recover()
        assert _status(conn) == [0x12, 0x12, 0x12, 0x12]
    assert sim.status_queries == 28


def test_gs_r_waits_until_the_printer_can_print_again(sim: EscposSimulator) -> None:
    with _connect(sim) as conn:
        assert _ask(conn, b"\x1dr\x01") == b"\x00"
        sim.run_out_of_paper()
        conn.sendall(b"more text\n\x1dr\x01")
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(16)
        assert _ask(conn, b"\x10\x04\x04") == b"\x7e"  # real-time status still answers
        sim.load_paper()
        conn.settimeout(2)
        assert conn.recv(16) == b"\x00"  # answered once paper is in, with the new status
    assert b"more text" in sim.unprinted and b"more text" not in sim.printed


def test_status_bytes_inside_image_data_are_not_queries(sim: EscposSimulator) -> None:
    # A raster whose bits contain 10 04 01: a stream parser must not answer it.
    image = b"\x1dv0\x00\x02\x00\x02\x00" + b"\x10\x04\x01\x00"
    with _connect(sim) as conn:
        conn.sendall(image)
        assert _ask(conn, b"\x1dr\x01") == b"\x00"  # the only answer is the sync's
    assert sim.status_queries == 0
    (raster,) = sim.decoded().rasters
    assert (raster.width, raster.height) == (16, 2)


def test_fault_strikes_after_the_armed_byte_count(sim: EscposSimulator) -> None:
    sim.run_out_of_paper(after_bytes=20)
    with _connect(sim) as conn:
        conn.sendall(b"0123456789\n" * 4)
        assert _ask(conn, b"\x10\x04\x04") == b"\x7e"
    assert sim.printed == b"0123456789\n"
    assert len(sim.unprinted) == 33  # the command that crossed the mark did not print


def test_python_escpos_network_printer_reads_status(sim: EscposSimulator) -> None:
    p = Network(sim.host, sim.port, timeout=2, profile=PAPER_80MM.escpos_profile())
    p.open()
    try:
        assert p.is_online()
        assert p.paper_status() == 2
        sim.paper_near_end()
        assert p.paper_status() == 1
        sim.run_out_of_paper()
        assert p.paper_status() == 0
        assert not p.is_online()
    finally:
        p.close()
    assert sim.connections == 1


def test_silent_printer_answers_nothing(sim: EscposSimulator) -> None:
    sim.stop_answering()
    with _connect(sim) as conn:
        conn.sendall(b"\x10\x04\x01\x1dr\x01")
        conn.settimeout(0.3)
        with pytest.raises(TimeoutError):
            conn.recv(16)


# --- the decoder ---------------------------------------------------------------------------


def test_decoder_reports_text_images_qr_cuts_and_alignment() -> None:
    data = (
        b"\x1b@"
        + b"\x1bt\x10"  # CP1252
        + b"\x1ba\x01\x1b!\x30\x1bE\x01Caf\xe9\n"
        + b"\x1bE\x00\x1b!\x00\x1ba\x02right\n"
        + b"\x1bd\x03"
        + b"\x1ba\x00\x1dv0\x00\x01\x00\x02\x00\xf0\x0f"
        + b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x05\x1d(k\x03\x001E1"
        + b"\x1d(k\x09\x001P0CC1:AB\x1d(k\x03\x001Q0"
        + b"\x1dV\x42\x00"
        + b"\x10\x04\x04\x1dr\x01"
    )
    d = decode(data, strict=True)
    assert d.initialised == 1
    assert d.items[0] == TextRun("Café", "center", True, 2, 2, "CP1252")
    assert d.items[1] == LineFeed(1)
    assert d.items[2] == TextRun("right", "right", False, 1, 1, "CP1252")
    assert d.items[4] == LineFeed(3)
    raster = d.items[5]
    assert isinstance(raster, Raster) and (raster.width, raster.height) == (8, 2)
    assert raster.to_image().getpixel((0, 0)) == 0 and raster.to_image().getpixel((7, 0)) == 255
    assert d.items[6] == QrCode(b"CC1:AB", 5, "M", 2, "left")
    assert d.items[7] == Cut(partial=True, feed=0)
    assert d.status_queries == [StatusQuery("DLE EOT", 4), StatusQuery("GS r", 1)]
    assert d.lines == ["Café", "right"]


def test_decoder_graphics_and_code_pages() -> None:
    bits = b"\xff" * 4
    header = b"0p0\x01\x011" + (16).to_bytes(2, "little") + (2).to_bytes(2, "little")
    store = b"\x1d(L" + (len(header) + len(bits)).to_bytes(2, "little") + header + bits
    data = store + b"\x1d(L\x02\x0002" + b"\x1bt\x11\x8f\xe0\n"  # CP866: "Пр"
    d = decode(data, strict=True)
    assert [(r.width, r.height) for r in d.rasters] == [(16, 2)]
    assert d.lines == ["Пр"]


def test_decoder_errors_are_typed() -> None:
    with pytest.raises(EscposDecodeError, match="cut off"):
        decode(b"\x1dv0\x00\x10\x00\x10\x00abc")
    with pytest.raises(EscposDecodeError, match="Unknown"):
        decode(b"\x1b\x01", strict=True)
    assert decode(b"\x1b\x01").unknown == [Unknown(b"\x1b\x01")]
    with pytest.raises(EscposDecodeError, match="no stored data"):
        decode(b"\x1d(k\x03\x001Q0")


def test_next_command_waits_for_the_rest() -> None:
    assert next_command(b"\x1dv0\x00\x01\x00\x02\x00\xf0") is None
    cmd = next_command(b"\x1dv0\x00\x01\x00\x02\x00\xf0\x0fX")
    assert cmd is not None and cmd.name == "GS v 0" and cmd.end == 10


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.booleans())
def test_decoder_never_raises_anything_but_its_own_error(data: bytes, strict: bool) -> None:
    try:
        decoded = decode(data, strict=strict)
    except EscposDecodeError:
        return
    assert isinstance(decoded.text, str)
    for raster in decoded.rasters:
        assert len(raster.data) == (raster.width + 7) // 8 * raster.height


_COMMANDS = st.sampled_from(
    [
        b"\x1b",
        b"\x1d",
        b"\x10",
        b"\x1c",
        b"\x1dv0",
        b"\x1d(k",
        b"\x1d(L",
        b"\x1d8L",
        b"\x1b*",
        b"\x1dk",
        b"\x1bt",
        b"\x1d(H",
        b"\n",
        b"\x1bD",
        b"\x1dV",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_COMMANDS, st.binary(max_size=8)), max_size=40))
def test_decoder_on_command_shaped_noise(parts: list[bytes]) -> None:
    with contextlib.suppress(EscposDecodeError):
        decode(b"".join(parts))


@settings(max_examples=50, deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF).filter(
            lambda c: not 0x7F <= ord(c) <= 0x9F
        ),
        max_size=60,
    )
)
def test_text_round_trips_through_python_escpos(text: str) -> None:
    from escpos.printer import Dummy

    p = Dummy(profile=PAPER_80MM.escpos_profile())
    p.text(text)
    assert decode(p.output, strict=True).text == text


def test_simulator_stops_cleanly() -> None:
    started = time.monotonic()
    with EscposSimulator() as s, _connect(s) as conn:
        conn.sendall(b"x")
    assert time.monotonic() - started < 3
