"""cardio.apdu: encodings of every ISO 7816-4 case, status words, 61xx/6Cxx, chaining, counters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardio.apdu import (
    ApduError,
    ApduFileNotFoundError,
    ApduProcessor,
    ClaNotSupportedError,
    CommandApdu,
    ConditionsNotSatisfiedError,
    InsNotSupportedError,
    NotEnoughMemoryError,
    SecurityStatusError,
    UnexpectedStatusError,
    WrongDataError,
    WrongLengthError,
    WrongParametersError,
    decode_command,
    encode_command,
    error_for_sw,
    raise_for_sw,
)
from cardio.connection import Connection
from cardio.errors import CardConnectionError, CitycardError


class ScriptedConnection(Connection):
    """Answers each transmit with the next scripted response and records what was sent."""

    def __init__(self, responses: list[bytes], *, extended: bool = False) -> None:
        self.responses = list(responses)
        self.sent: list[bytes] = []
        self._extended = extended

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(bytes(apdu))
        return self.responses.pop(0)

    @property
    def uid(self) -> bytes:
        return b"\x04\x01\x02\x03\x04\x05\x06"

    @property
    def extended_length(self) -> bool:
        return self._extended


# -- encoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "00A40400"),  # case 1
        ({"le": 1}, "00A4040001"),  # case 2S
        ({"le": 256}, "00A4040000"),  # case 2S, Ne 256 -> 00
        ({"data": b"\xaa\xbb"}, "00A4040002AABB"),  # case 3S
        ({"data": b"\xaa", "le": 256}, "00A4040001AA00"),  # case 4S
        ({"data": b"\xaa", "le": 16}, "00A4040001AA10"),
        ({"le": 1, "extended": True}, "00A4040000" + "0001"),  # case 2E
        ({"le": 65536, "extended": True}, "00A4040000" + "0000"),  # case 2E, Ne 65536 -> 0000
        ({"le": 257, "extended": True}, "00A4040000" + "0101"),
        ({"data": b"\xaa", "extended": True}, "00A4040000" + "0001AA"),  # case 3E
        ({"data": b"\xaa", "le": 65536, "extended": True}, "00A40400000001AA0000"),  # case 4E
        ({"data": b"\xaa", "le": 300, "extended": True}, "00A40400000001AA012C"),
    ],
)
def test_encode_command_cases(kwargs: dict[str, object], expected: str) -> None:
    assert encode_command(0x00, 0xA4, 0x04, 0x00, **kwargs).hex().upper() == expected  # type: ignore[arg-type]


def test_encode_long_data_is_extended() -> None:
    apdu = encode_command(0x00, 0xD6, 0x00, 0x02, b"\x11" * 300, extended=True)
    assert apdu[:7] == bytes.fromhex("00D6000200012C") and len(apdu) == 307


@pytest.mark.parametrize(
    "kwargs",
    [
        {"le": 0},
        {"le": 257},
        {"le": 65537, "extended": True},
        {"data": b"\x00" * 256},
        {"data": b"\x00" * 65536, "extended": True},
    ],
)
def test_encode_rejects_out_of_range_lengths(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        encode_command(0x00, 0xB0, 0, 0, **kwargs)  # type: ignore[arg-type]


def test_encode_rejects_non_bytes_header() -> None:
    with pytest.raises(ValueError):
        encode_command(0x100, 0xB0, 0, 0)


@pytest.mark.parametrize(
    "apdu",
    [
        "00A404",
        "00A4040002AA",
        "00A4040001AABBCC",
        "00A404000000",
        "00A4040000000000",
        "00A40400000002AA",
    ],
)
def test_decode_rejects_inconsistent_lengths(apdu: str) -> None:
    with pytest.raises(ValueError):
        decode_command(bytes.fromhex(apdu))


@st.composite
def commands(draw: st.DrawFn) -> CommandApdu:
    extended = draw(st.booleans())
    data = draw(st.binary(max_size=600 if extended else 255))
    le = draw(st.none() | st.integers(1, 65536 if extended else 256))
    if not data and le is None:
        extended = False  # case 1 has no length field to tell the forms apart
    byte = st.integers(0, 255)
    return CommandApdu(draw(byte), draw(byte), draw(byte), draw(byte), data, le, extended)


@given(commands())
def test_encode_decode_round_trip(command: CommandApdu) -> None:
    encoded = command.encode()
    assert decode_command(encoded) == command
    assert decode_command(encoded).encode() == encoded


@given(st.binary(max_size=300))
def test_decode_never_raises_anything_but_value_error(raw: bytes) -> None:
    try:
        command = decode_command(raw)
    except ValueError:
        return
    assert command.encode() == raw


# -- status words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sw", "cls"),
    [
        (0x6700, WrongLengthError),
        (0x6982, SecurityStatusError),
        (0x6985, ConditionsNotSatisfiedError),
        (0x6A82, ApduFileNotFoundError),
        (0x6A84, NotEnoughMemoryError),
        (0x6B00, WrongParametersError),
        (0x6A86, WrongParametersError),
        (0x6D00, InsNotSupportedError),
        (0x6E00, ClaNotSupportedError),
        (0x6A80, WrongDataError),
        (0x6F00, UnexpectedStatusError),
        (0x6282, UnexpectedStatusError),
    ],
)
def test_status_words_map_to_typed_errors(sw: int, cls: type[ApduError]) -> None:
    error = error_for_sw(sw)
    assert type(error) is cls
    assert isinstance(error, CitycardError)
    assert error.sw == sw and error.sw1 == sw >> 8 and error.sw2 == sw & 0xFF
    assert f"{sw:04X}" in str(error) and error.sentence.endswith(".")
    with pytest.raises(cls) as info:
        raise_for_sw(sw)
    assert info.value.sw == sw


def test_9000_is_not_an_error() -> None:
    raise_for_sw(0x9000)


def test_send_raises_typed_error_carrying_sw() -> None:
    conn = ScriptedConnection([bytes.fromhex("6A82")])
    with pytest.raises(ApduFileNotFoundError) as info:
        ApduProcessor(conn).send(0x00, 0xA4, 0x04, 0x00, b"\xd2\x76")
    assert info.value.sw == 0x6A82


def test_response_without_status_word_is_a_connection_error() -> None:
    with pytest.raises(CardConnectionError):
        ApduProcessor(ScriptedConnection([b"\x90"])).send(0x00, 0xB0, 0, 0, le=1)


# -- 61xx, 6Cxx, chaining, extended ------------------------------------------------------------


def test_61xx_follows_with_get_response_until_9000() -> None:
    conn = ScriptedConnection(
        [
            b"\x01\x02" + bytes.fromhex("6104"),
            b"\x03\x04\x05\x06" + bytes.fromhex("6100"),
            bytes(range(256)) + bytes.fromhex("9000"),
        ]
    )
    proc = ApduProcessor(conn)
    data = proc.send(0x80, 0x47, 0x81, 0x00, le=256)
    assert data == b"\x01\x02\x03\x04\x05\x06" + bytes(range(256))
    assert conn.sent[1] == bytes.fromhex("00C0000004")
    assert conn.sent[2] == bytes.fromhex("00C0000000")
    assert proc.apdu_count == 3
    assert proc.bytes_sent == sum(map(len, conn.sent))
    assert proc.bytes_received == 4 + 6 + 258


def test_6cxx_resends_the_same_command_with_the_exact_le() -> None:
    conn = ScriptedConnection([bytes.fromhex("6C07"), b"\x04" * 7 + bytes.fromhex("9000")])
    proc = ApduProcessor(conn)
    assert proc.send(0xFF, 0xCA, 0x00, 0x00, le=256) == b"\x04" * 7
    assert conn.sent == [bytes.fromhex("FFCA000000"), bytes.fromhex("FFCA000007")]
    assert proc.apdu_count == 2


def test_6cxx_then_61xx() -> None:
    conn = ScriptedConnection(
        [bytes.fromhex("6C10"), b"\xaa" * 8 + bytes.fromhex("6108"), b"\xbb" * 8 + b"\x90\x00"]
    )
    assert ApduProcessor(conn).send(0x00, 0xB0, 0, 0, le=1) == b"\xaa" * 8 + b"\xbb" * 8
    assert conn.sent[1] == bytes.fromhex("00B0000010")


def test_long_data_is_chained_over_a_short_only_connection() -> None:
    data = bytes(range(256)) * 2 + b"\xee" * 10  # 522 bytes -> 255 + 255 + 12
    conn = ScriptedConnection([b"\x90\x00", b"\x90\x00", b"\x12\x90\x00"])
    proc = ApduProcessor(conn)
    assert proc.send(0x00, 0xDA, 0x01, 0x02, data, le=256) == b"\x12"
    assert [c[0] for c in conn.sent] == [0x10, 0x10, 0x00]
    assert conn.sent[0] == bytes.fromhex("10DA0102FF") + data[:255]
    assert conn.sent[1] == bytes.fromhex("10DA0102FF") + data[255:510]
    assert conn.sent[2] == bytes.fromhex("00DA01020C") + data[510:] + b"\x00"
    assert b"".join(decode_command(c).data for c in conn.sent) == data


def test_chaining_stops_at_the_first_refused_block() -> None:
    conn = ScriptedConnection([bytes.fromhex("6A80")])
    with pytest.raises(WrongDataError):
        ApduProcessor(conn).send(0x00, 0xDA, 0, 0, b"\x00" * 300)
    assert len(conn.sent) == 1


def test_long_data_is_one_extended_apdu_when_the_connection_allows() -> None:
    data = b"\x5a" * 1000
    conn = ScriptedConnection([b"\x90\x00"], extended=True)
    proc = ApduProcessor(conn)
    assert proc.extended and proc.max_command_data == 65535 and proc.max_response == 65536
    proc.send(0x00, 0xD6, 0x00, 0x02, data)
    assert conn.sent == [bytes.fromhex("00D6000200") + (1000).to_bytes(2, "big") + data]


def test_caller_can_refuse_extended_apdus() -> None:
    conn = ScriptedConnection([b"\x90\x00"] * 4, extended=True)
    proc = ApduProcessor(conn, allow_extended=False)
    assert not proc.extended and proc.max_response == 256
    proc.send(0x00, 0xD6, 0x00, 0x02, b"\x00" * 300)
    assert [c[0] for c in conn.sent] == [0x10, 0x00]


def test_large_le_needs_extended() -> None:
    conn = ScriptedConnection([b"\x00" * 1000 + b"\x90\x00"], extended=True)
    assert len(ApduProcessor(conn).send(0x00, 0xB0, 0, 0, le=1000)) == 1000
    assert conn.sent == [bytes.fromhex("00B00000" + "0003E8")]
    with pytest.raises(ValueError):
        ApduProcessor(ScriptedConnection([])).send(0x00, 0xB0, 0, 0, le=1000)


def test_select_count_tracks_selects() -> None:
    proc = ApduProcessor(ScriptedConnection([b"\x90\x00", b"\x01\x90\x00"]))
    proc.send(0x00, 0xA4, 0x04, 0x00, b"\xd2")
    proc.send(0x00, 0xB0, 0x00, 0x00, le=1)
    assert proc.select_count == 1 and proc.apdu_count == 2
