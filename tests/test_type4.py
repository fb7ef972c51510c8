"""cardio.type4 against hardware.virtual_t4t, in process through hardware.local.LocalConnection."""

from __future__ import annotations

import contextlib
import math
import os
import time

import ndef
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from cardio.apdu import (
    ApduProcessor,
    ConditionsNotSatisfiedError,
    SecurityStatusError,
    WrongLengthError,
    WrongParametersError,
)
from cardio.credential import MEDIA_TYPE
from cardio.errors import CardRemovedError, CitycardError
from cardio.type4 import (
    CC_FILE,
    NDEF_AID,
    CapabilityContainer,
    CardLockedError,
    CardTooSmallError,
    MalformedCardError,
    NdefApplication,
    NoCredentialError,
    NotType4Error,
    credential_from_ndef,
    minimum_read_apdus,
    ndef_message,
)
from hardware.local import LocalConnection
from hardware.virtual_t4t import (
    AUTH_AID,
    AUTH_DOMAIN,
    PROFILES,
    Faults,
    VirtualType4Card,
)

PHOTO_SIZED = 3500  # a chip credential with a 3 KB photo


def connect(
    card: VirtualType4Card, *, extended: bool = False, record: bool = False
) -> tuple[LocalConnection, ApduProcessor, NdefApplication]:
    conn = LocalConnection(card, extended_length=extended, record=record)
    proc = ApduProcessor(conn)
    return conn, proc, NdefApplication(proc)


def cwt(size: int, fill: int = 0xC5) -> bytes:
    return bytes([fill]) * size


def read_back(card: VirtualType4Card, *, extended: bool = False) -> bytes:
    conn, _, app = connect(card, extended=extended)
    try:
        return app.read_ndef()
    finally:
        conn.close()


# -- capability container ------------------------------------------------------------------------


def test_cc_mapping_2_0_parse_and_serialise() -> None:
    raw = bytes.fromhex("000F 20 00FF 00FF 04 06 E104 2000 00 00")
    cc = CapabilityContainer.parse(raw)
    assert (cc.mapping_version, cc.mle, cc.mlc, cc.file_id, cc.max_size) == (
        "2.0",
        255,
        255,
        0xE104,
        8192,
    )
    assert cc.nlen_size == 2 and cc.capacity == 8190 and cc.readable and cc.writable
    assert not cc.read_only and cc.write_access_offset == 14
    assert cc.serialise() == raw
    locked = CapabilityContainer.parse(raw[:-1] + b"\xff")
    assert locked.read_only and not locked.writable


def test_cc_mapping_3_0_extended_tlv_parse_and_serialise() -> None:
    raw = bytes.fromhex("0011 30 1000 1000 06 08 E104 00012000 00 FF")
    cc = CapabilityContainer.parse(raw)
    assert cc.mapping_version == "3.0" and cc.extended_tlv and cc.nlen_size == 4
    assert (cc.mle, cc.mlc, cc.max_size) == (0x1000, 0x1000, 0x12000)
    assert cc.read_only and cc.capacity == 0x12000 - 4 and cc.write_access_offset == 16
    assert cc.serialise() == raw


def test_cc_mapping_3_0_may_keep_the_2_byte_tlv_and_further_tlvs_are_ignored() -> None:
    raw = bytes.fromhex("0017 30 00FF 00FF 04 06 E104 0100 00 00 05 06 E105 0040 00 00")
    cc = CapabilityContainer.parse(raw)
    assert cc.mapping_version == "3.0" and not cc.extended_tlv and cc.max_size == 256


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("000F2000FF00FF0406E1042000", MalformedCardError),  # 13 bytes
        ("000E2000FF00FF0406E104200000 00", MalformedCardError),  # CCLEN 14
        ("000F1000FF00FF0406E10420000000", NotType4Error),  # mapping 1.0
        ("000F4000FF00FF0406E10420000000", NotType4Error),  # mapping 4.0
        ("00112000FF00FF0608E104000020000000", MalformedCardError),  # ENDEF in 2.0
        ("000F20000E00FF0406E10420000000", MalformedCardError),  # MLe 14
        ("000F2000FF00000406E10420000000", MalformedCardError),  # MLc 0
        ("000F2000FF00FF0506E10420000000", MalformedCardError),  # not an NDEF TLV
        ("000F2000FF00FF0407E10420000000", MalformedCardError),  # wrong L
        ("000F2000FF00FF0406E10320000000", MalformedCardError),  # NDEF file = CC file id
        ("000F2000FF00FF0406E104FFFF0000", MalformedCardError),  # size FFFF
        ("000F2000FF00FF0406E10400040000", MalformedCardError),  # size 4
        ("00113000FF00FF0608E1040000200000", MalformedCardError),  # TLV cut short
    ],
)
def test_cc_refuses_malformed(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        CapabilityContainer.parse(bytes.fromhex(raw))


@settings(max_examples=500)
@given(st.binary(min_size=0, max_size=40))
def test_cc_parse_of_random_bytes_raises_only_typed_errors(raw: bytes) -> None:
    try:
        cc = CapabilityContainer.parse(raw)
    except (MalformedCardError, NotType4Error):
        return
    assert CapabilityContainer.parse(cc.serialise()) == cc


@st.composite
def mutated_ccs(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(valid_ccs()).serialise())
    for _ in range(draw(st.integers(1, 3))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw[: draw(st.integers(0, len(raw)))]) if draw(st.booleans()) else bytes(raw)


@st.composite
def valid_ccs(draw: st.DrawFn) -> CapabilityContainer:
    extended = draw(st.booleans())
    major = 3 if extended else draw(st.sampled_from([2, 3]))
    file_id = draw(
        st.integers(0x0001, 0xFFFE).filter(lambda f: f not in (0xE102, 0xE103, 0x3F00, 0x3FFF))
    )
    return CapabilityContainer(
        version=(major << 4) | draw(st.integers(0, 15)),
        mle=draw(st.integers(0x0F, 0xFFFF)),
        mlc=draw(st.integers(1, 0xFFFF)),
        file_id=file_id,
        max_size=draw(st.integers(7, 0xFFFFFFFE) if extended else st.integers(5, 0xFFFE)),
        read_access=draw(st.integers(0, 255)),
        write_access=draw(st.integers(0, 255)),
        extended_tlv=extended,
    )


@settings(max_examples=500)
@given(mutated_ccs())
def test_cc_parse_of_mutated_ccs_raises_only_typed_errors(raw: bytes) -> None:
    try:
        cc = CapabilityContainer.parse(raw)
    except (MalformedCardError, NotType4Error):
        return
    assert CapabilityContainer.parse(cc.serialise()) == cc


@given(valid_ccs())
def test_cc_round_trip(cc: CapabilityContainer) -> None:
    raw = cc.serialise()
    assert len(raw) == cc.cc_len == int.from_bytes(raw[:2], "big")
    assert CapabilityContainer.parse(raw) == cc


@pytest.mark.parametrize("mapping", ["2.0", "3.0"])
@pytest.mark.parametrize("extended", [False, True])
def test_virtual_card_cc_reads_back(mapping: str, extended: bool) -> None:
    card = VirtualType4Card("t4t", mapping_version=mapping, extended=extended)
    cc = connect(card, extended=extended)[2].read_cc()
    assert cc.mapping_version == mapping and cc.extended_tlv is (mapping == "3.0")
    assert cc.max_size == 8192 and cc.file_id == 0xE104 and cc.writable
    assert cc.mle == (0x1000 if extended else 0xFF) and cc.mlc == cc.mle
    assert cc.serialise() == card.cc_file


# -- NDEF write and read -------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("mapping", ["2.0", "3.0"])
@pytest.mark.parametrize(
    ("card_ext", "reader_ext"), [(False, False), (True, True), (True, False), (False, True)]
)
def test_write_then_read_round_trip(
    profile: str, mapping: str, card_ext: bool, reader_ext: bool
) -> None:
    card = VirtualType4Card(profile, mapping_version=mapping, extended=card_ext)
    conn, _, app = connect(card, extended=reader_ext)
    credential = os.urandom(min(PHOTO_SIZED, app.capacity - 40))
    message = ndef_message(credential)
    app.write_ndef(message)
    assert app.read_ndef() == message  # same session
    conn.close()
    assert credential_from_ndef(read_back(card, extended=reader_ext)) == credential  # power cycle


@pytest.mark.parametrize("size", [0, 1, 100, 253, 254, 255, 500, 509, 510, 3000, 8190])
@pytest.mark.parametrize("extended", [False, True])
def test_full_read_uses_the_minimum_apdu_count(size: int, extended: bool) -> None:
    card = VirtualType4Card("t4t", extended=extended)
    connect(card, extended=extended)[2].write_ndef(os.urandom(size))
    _, proc, app = connect(card, extended=extended)
    assert len(app.read_ndef()) == size
    chunk = 0x1000 if extended else 255
    assert app.read_chunk == chunk
    # 3 SELECTs + 1 CC read + ceil((NLEN + 2) / chunk) READ BINARYs (at least 1)
    expected = 4 + max(1, math.ceil((size + 2) / chunk))
    assert proc.apdu_count == expected == minimum_read_apdus(size, chunk)


def test_photo_sized_read_counts_and_bytes() -> None:
    card = VirtualType4Card("t4t")
    connect(card)[2].write_ndef(os.urandom(PHOTO_SIZED))
    _, proc, app = connect(card)
    app.read_ndef()
    assert proc.apdu_count == 4 + math.ceil((PHOTO_SIZED + 2) / 255) == 18
    # the reads carry only the file's first ceil(...)*255 bytes plus headers and SWs
    assert proc.bytes_received <= PHOTO_SIZED + 2 + 255 + 2 * proc.apdu_count + 15


def test_mapping_3_0_read_counts_the_second_cc_read() -> None:
    card = VirtualType4Card("t4t", mapping_version="3.0")
    connect(card)[2].write_ndef(os.urandom(1000))
    _, proc, app = connect(card)
    app.read_ndef()
    assert (
        proc.apdu_count == minimum_read_apdus(1000, 255, nlen_size=4) == 5 + math.ceil(1004 / 255)
    )


def test_reader_limit_caps_the_chunk() -> None:
    card = VirtualType4Card("t4t", extended=True)  # MLe 4096, but a short-only reader
    _, proc, app = connect(card, extended=False)
    assert app.read_chunk == 256 and app.write_chunk == 255
    app.write_ndef(os.urandom(2000))
    proc.reset_counters()
    app.read_ndef()  # the NDEF file is still selected: only the READ BINARYs
    assert proc.apdu_count == math.ceil(2002 / 256)


def test_write_uses_the_torn_write_safe_order() -> None:
    card = VirtualType4Card("t4t")
    conn, _, app = connect(card, record=True)
    message = os.urandom(600)
    app.write_ndef(message)
    updates = [c for c, _ in conn.exchanges if c[1] == 0xD6]
    assert updates[0] == bytes.fromhex("00D6000002") + b"\x00\x00"
    assert [int.from_bytes(u[2:4], "big") for u in updates[1:-1]] == [2, 257, 512]
    assert updates[-1] == bytes.fromhex("00D6000002") + (600).to_bytes(2, "big")
    assert card.ndef_file[:602] == (600).to_bytes(2, "big") + message


def test_write_then_read_reuses_the_selection() -> None:
    card = VirtualType4Card("t4t")
    _, proc, app = connect(card)
    app.write_ndef(b"abc")
    proc.reset_counters()
    assert app.read_ndef() == b"abc"
    assert proc.apdu_count == 1


def test_another_select_on_the_same_processor_is_noticed() -> None:
    card = VirtualType4Card("t4t-auth")
    _, proc, app = connect(card)
    app.write_ndef(b"abc")
    proc.send(0x00, 0xA4, 0x04, 0x00, AUTH_AID)
    assert app.read_ndef() == b"abc"


def test_empty_message_reads_back_empty() -> None:
    card = VirtualType4Card("compact")
    assert read_back(card) == b""
    with pytest.raises(NoCredentialError):
        credential_from_ndef(b"")


# -- refusals and faults -------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_message_larger_than_the_file_is_refused_before_writing(profile: str) -> None:
    card = VirtualType4Card(profile)
    conn, _, app = connect(card, record=True)
    with pytest.raises(CardTooSmallError, match="holds") as info:
        app.write_ndef(b"\x00" * (app.capacity + 1))
    assert isinstance(info.value, CitycardError)
    assert not [c for c, _ in conn.exchanges if c[1] == 0xD6]
    app.write_ndef(b"\x01" * app.capacity)  # exactly full is fine
    assert read_back(card) == b"\x01" * app.capacity


def test_too_small_card_refuses_a_photo_credential() -> None:
    card = VirtualType4Card("t4t", ndef_size=1024)
    with pytest.raises(CardTooSmallError):
        connect(card)[2].write_ndef(ndef_message(cwt(PHOTO_SIZED)))


def test_write_protected_card_refuses() -> None:
    card = VirtualType4Card("t4t", faults=Faults(write_protected=True))
    app = connect(card)[2]
    assert app.read_cc().read_only
    with pytest.raises(CardLockedError):
        app.write_ndef(b"abc")


def test_not_a_type4_tag() -> None:
    card = VirtualType4Card("t4t", faults=Faults(not_type4=True))
    with pytest.raises(NotType4Error, match="Type 4"):
        connect(card)[2].read_ndef()


@pytest.mark.parametrize("profile", PROFILES)
def test_lock_then_write_is_refused(profile: str) -> None:
    card = VirtualType4Card(profile)
    conn, _, app = connect(card)
    message = ndef_message(cwt(100))
    app.write_ndef(message)
    app.lock()
    assert app.cc is not None and app.cc.read_only
    with pytest.raises(CardLockedError):
        app.write_ndef(b"other")
    conn.close()
    _, _, fresh = connect(card)
    assert fresh.read_cc().read_only
    with pytest.raises(CardLockedError):
        fresh.write_ndef(b"other")
    assert fresh.read_ndef() == message
    assert card.locked


@pytest.mark.parametrize("profile", ["t4t", "t4t-auth"])
def test_java_card_lock_command_alone_locks_the_file(profile: str) -> None:
    card = VirtualType4Card(profile)
    conn, proc, app = connect(card)
    app.write_ndef(b"abc")  # the CC still says writable in app.cc
    proc.send(0x80, 0xF0, 0x00, 0x00)  # LOCK only, the CC write access byte untouched
    with pytest.raises(CardLockedError):
        app.write_ndef(b"xyz")  # cached CC says writable: the card's 6982 is what refuses
    with pytest.raises(SecurityStatusError):  # the CC cannot be made writable again
        proc.send(0x00, 0xA4, 0x00, 0x0C, CC_FILE.to_bytes(2, "big"))
        proc.send(0x00, 0xD6, 0x00, 14, b"\x00")
    conn.close()
    assert read_back(card) == b"abc"


def test_compact_has_no_lock_command() -> None:
    card = VirtualType4Card("compact")
    _, proc, app = connect(card)
    app.select()
    with pytest.raises(CitycardError) as info:
        proc.send(0x80, 0xF0, 0x00, 0x00)
    assert getattr(info.value, "sw", None) == 0x6E00
    with pytest.raises(CitycardError):
        app.lock(proprietary=True)


def _pull_cases() -> list[tuple[str, int, int]]:
    cases = []
    for mapping, size in (("2.0", 600), ("2.0", 200), ("3.0", 600)):
        writes = 2 + math.ceil(size / 255)
        cases += [(mapping, size, n) for n in range(1, writes + 1)]
    return cases


@pytest.mark.parametrize(("mapping", "size", "pull_at"), _pull_cases())
def test_pull_mid_write_never_leaves_a_half_message(mapping: str, size: int, pull_at: int) -> None:
    card = VirtualType4Card("t4t", mapping_version=mapping)
    old = ndef_message(cwt(300, 0x11))
    connect(card)[2].write_ndef(old)
    card.arm_pull(pull_at)
    new = ndef_message(cwt(size - 40, 0x22))
    assert pull_at <= 2 + math.ceil(len(new) / 255)  # NLEN 0, the chunks, NLEN
    with pytest.raises(CardRemovedError):
        connect(card)[2].write_ndef(new)
    assert card.pulled
    card.reinsert()
    assert read_back(card) in (b"", old)
    # personalising the torn card again completes
    conn, _, app = connect(card)
    app.write_ndef(new)
    conn.close()
    assert read_back(card) == new


def test_pull_fires_once_and_the_removed_connection_stays_dead() -> None:
    card = VirtualType4Card("compact", faults=Faults(pull_after_writes=2))
    _, proc, app = connect(card)
    with pytest.raises(CardRemovedError):
        app.write_ndef(b"x" * 100)
    with pytest.raises(CardRemovedError):
        proc.send(0x00, 0xA4, 0x04, 0x00, NDEF_AID)
    card.reinsert()
    connect(card)[2].write_ndef(b"y" * 100)
    assert read_back(card) == b"y" * 100


def test_corrupt_reads_flip_a_bit_inside_the_message() -> None:
    card = VirtualType4Card("t4t")
    message = ndef_message(cwt(50))
    connect(card)[2].write_ndef(message)
    card.faults.corrupt_reads = True
    got = read_back(card)
    assert len(got) == len(message) and got != message
    assert sum(bin(a ^ b).count("1") for a, b in zip(got, message, strict=True)) == 1


def test_slow_card_delays_every_answer() -> None:
    card = VirtualType4Card("compact", faults=Faults(delay=0.02))
    _, proc, app = connect(card)
    start = time.monotonic()
    app.read_ndef()
    assert time.monotonic() - start >= 0.02 * proc.apdu_count


def test_persistent_memory_survives_power_cycles_selection_does_not() -> None:
    card = VirtualType4Card("t4t")
    conn, _, app = connect(card)
    app.write_ndef(b"hello")
    conn.close()
    conn2 = LocalConnection(card)
    with pytest.raises(CitycardError) as info:  # nothing selected after power on
        ApduProcessor(conn2).send(0x00, 0xB0, 0x00, 0x00, le=7)
    assert getattr(info.value, "sw", None) == 0x6986
    assert NdefApplication(ApduProcessor(conn2)).read_ndef() == b"hello"


# -- the virtual card's answers ------------------------------------------------------------------


def _ndef_selected(card: VirtualType4Card, extended: bool = False) -> ApduProcessor:
    _, proc, _ = connect(card, extended=extended)
    proc.send(0x00, 0xA4, 0x04, 0x00, NDEF_AID, le=256)
    proc.send(0x00, 0xA4, 0x00, 0x0C, b"\xe1\x04")
    return proc


def test_virtual_card_status_words() -> None:
    card = VirtualType4Card("t4t", ndef_size=1000)
    proc = _ndef_selected(card)
    with pytest.raises(WrongParametersError) as info:
        proc.send(0x00, 0xB0, 0x03, 0xE8, le=1)  # offset 1000 = end of file
    assert info.value.sw == 0x6B00
    with pytest.raises(WrongLengthError):
        proc.send(0x00, 0xB0, 0x00, 0x00, le=256)  # beyond MLe 255
    with pytest.raises(CitycardError) as eof:
        proc.send(0x00, 0xB0, 0x03, 0xE0, le=16)  # 8 bytes left
    assert getattr(eof.value, "sw", None) == 0x6282
    with pytest.raises(CitycardError) as mem:
        proc.send(0x00, 0xD6, 0x03, 0xE0, b"\x00" * 9)
    assert getattr(mem.value, "sw", None) == 0x6A84
    with pytest.raises(CitycardError) as fid:
        proc.send(0x00, 0xA4, 0x00, 0x0C, b"\xe1\x05")
    assert getattr(fid.value, "sw", None) == 0x6A82
    assert proc.send(0x00, 0xA4, 0x00, 0x00, b"\xe1\x03") == b""  # P2 00 is accepted too
    assert len(proc.send(0x00, 0xB0, 0x00, 0x00, le=15)) == 15


def test_short_card_refuses_extended_apdus() -> None:
    card = VirtualType4Card("t4t")
    proc = _ndef_selected(card, extended=True)
    with pytest.raises(WrongLengthError):
        proc.send(0x00, 0xB0, 0x00, 0x00, le=300)


def test_get_data_answers_the_uid() -> None:
    uid = bytes.fromhex("04A1B2C3D4E5F6")
    card = VirtualType4Card("compact", uid=uid)
    _, proc, _ = connect(card)
    assert proc.send(0xFF, 0xCA, 0x00, 0x00, le=256) == uid
    assert proc.send(0xFF, 0xCA, 0x00, 0x00, le=2) == uid  # 6C07 then resent with Le 07
    assert proc.apdu_count == 3


def test_random_uid_and_atr() -> None:
    card = VirtualType4Card()
    assert len(card.uid) == 7 and card.uid[0] == 0x04
    assert card.uid != VirtualType4Card().uid
    atr = card.atr
    assert atr[:4] == bytes((0x3B, 0x80 | len(card.historical_bytes), 0x80, 0x01))
    check = 0
    for b in atr[1:]:
        check ^= b
    assert check == 0


def test_print_profile_has_no_chip() -> None:
    with pytest.raises(ValueError):
        VirtualType4Card("print")


# -- t4t-auth ------------------------------------------------------------------------------------


def _auth(card: VirtualType4Card) -> ApduProcessor:
    _, proc, _ = connect(card)
    proc.send(0x00, 0xA4, 0x04, 0x00, AUTH_AID)
    return proc


def _verify(point: bytes, challenge: bytes, sig: bytes) -> None:
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    public.verify(der, AUTH_DOMAIN + challenge, ec.ECDSA(hashes.SHA256()))


def test_chip_authentication_generate_and_sign() -> None:
    card = VirtualType4Card("t4t-auth")
    proc = _auth(card)
    with pytest.raises(ConditionsNotSatisfiedError):
        proc.send(0x80, 0x88, 0x00, 0x00, os.urandom(32), le=256)  # no key yet
    with pytest.raises(ConditionsNotSatisfiedError):
        proc.send(0x80, 0x47, 0x81, 0x00, le=256)  # no public key yet
    point = proc.send(0x80, 0x47, 0x80, 0x00, le=256)
    assert len(point) == 65 and point[0] == 0x04
    assert proc.send(0x80, 0x47, 0x81, 0x00, le=256) == point
    with pytest.raises(ConditionsNotSatisfiedError):
        proc.send(0x80, 0x47, 0x80, 0x00, le=256)  # a key exists
    for size in (16, 32, 64):
        challenge = os.urandom(size)
        sig = proc.send(0x80, 0x88, 0x00, 0x00, challenge, le=256)
        assert len(sig) == 64
        _verify(point, challenge, sig)
        with pytest.raises(InvalidSignature):
            _verify(point, os.urandom(size), sig)
    for size in (15, 65):
        with pytest.raises(WrongLengthError):
            proc.send(0x80, 0x88, 0x00, 0x00, os.urandom(size), le=256)


def test_chip_key_survives_power_cycle_and_lock_stops_generation() -> None:
    card = VirtualType4Card("t4t-auth")
    point = _auth(card).send(0x80, 0x47, 0x80, 0x00, le=256)
    card.power_off()
    proc = _auth(card)
    proc.send(0x80, 0xF0, 0x00, 0x00)
    assert proc.send(0x80, 0x47, 0x81, 0x00, le=256) == point
    challenge = os.urandom(16)
    _verify(point, challenge, proc.send(0x80, 0x88, 0x00, 0x00, challenge, le=64))
    assert card.locked


def test_locked_card_refuses_key_generation() -> None:
    card = VirtualType4Card("t4t-auth")
    conn, _, app = connect(card)
    app.write_ndef(b"abc")
    app.lock()
    conn.close()
    with pytest.raises(ConditionsNotSatisfiedError):
        _auth(card).send(0x80, 0x47, 0x80, 0x00, le=256)


@pytest.mark.parametrize("profile", ["t4t", "compact"])
def test_auth_applet_only_on_t4t_auth(profile: str) -> None:
    with pytest.raises(CitycardError) as info:
        _auth(VirtualType4Card(profile))
    assert getattr(info.value, "sw", None) == 0x6A82


# -- NDEF message --------------------------------------------------------------------------------


def test_ndeflib_parses_our_message() -> None:
    for size in (10, 255, 256, 3500):
        payload = os.urandom(size)
        msg = ndef_message(payload)
        records = list(ndef.message_decoder(msg))
        assert len(records) == 1
        assert records[0].type == MEDIA_TYPE == "application/vnd.citycard+cwt"
        assert bytes(records[0].data) == payload
        assert credential_from_ndef(msg) == payload


def test_credential_found_among_other_records() -> None:
    records = [ndef.UriRecord("https://example.org"), ndef.Record(MEDIA_TYPE, "", b"cwt")]
    assert credential_from_ndef(b"".join(ndef.message_encoder(records))) == b"cwt"


def test_credential_absent_or_twice() -> None:
    text = b"".join(ndef.message_encoder([ndef.TextRecord("hello")]))
    with pytest.raises(NoCredentialError):
        credential_from_ndef(text)
    twice = b"".join(ndef.message_encoder([ndef.Record(MEDIA_TYPE, "", b"a")] * 2))
    with pytest.raises(MalformedCardError):
        credential_from_ndef(twice)


def test_broken_ndef_is_malformed() -> None:
    msg = ndef_message(b"x" * 100)
    with pytest.raises(MalformedCardError):
        credential_from_ndef(msg[:50])
    with pytest.raises(MalformedCardError):
        credential_from_ndef(b"\x07")  # TNF 7


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_credential_from_random_bytes_raises_only_typed_errors(raw: bytes) -> None:
    with contextlib.suppress(NoCredentialError, MalformedCardError):
        credential_from_ndef(raw)
