"""The compiled verify path (cardio/_fastpath.c) against readable references.

`reference_claims` below decodes credential claims the slow, obvious way (cbor2, then one check
per rule, then the Holder and Credential constructors) and is the specification the C decoder
is held to: on issued credentials, on byte-level mutations of them, and on claim maps with
fields dropped, added or given values of the wrong type. The name rule is compared with its
definition in unicodedata; sign1 with cardio.cose.parse_sign1; iso_day with datetime.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cardio import _fastpath, cbor, cose
from cardio.credential import (
    ChipBinding,
    Credential,
    Holder,
    Variant,
    decode_claims,
    display,
    sign_credential,
)
from cardio.errors import MalformedError
from cardio.keys import SoftwareSigner, der_from_raw

SIGNER = SoftwareSigner.generate()
CHIP_KEY = SoftwareSigner.generate().public_key
_EPOCH = date(1970, 1, 1)
_YEAR_10000 = 253_402_300_800

# -- the reference decoder -----------------------------------------------------------------

_TOP_REQUIRED = {1, 4, 6, 7, 65535, -65537}
_CARD_REQUIRED = {0, 1, 2, 3, 4}
_CARD_OPTIONAL = {5, 6, 7, 8, 9}


def _is_int(value: object) -> bool:
    return type(value) is int  # bool and float compare equal to ints; they are not ints here


def reference_claims(payload: bytes) -> tuple[object, ...] | None:
    """The claims as the Claims tuple, or None where citycard refuses them."""
    try:
        claims = cbor2.loads(payload, allow_duplicate_keys=False, allow_indefinite=False)
        if cbor2.dumps(claims, canonical=True) != payload:
            return None  # not the deterministic encoding (or trailing bytes)
    except Exception:
        return None
    if type(claims) is not dict or not all(_is_int(k) for k in claims):
        return None
    if not _TOP_REQUIRED <= claims.keys() <= _TOP_REQUIRED | {8}:
        return None
    card, status = claims[-65537], claims[65535]
    if type(card) is not dict or not all(_is_int(k) for k in card):
        return None
    if not _CARD_REQUIRED <= card.keys() <= _CARD_REQUIRED | _CARD_OPTIONAL:
        return None
    if type(status) is not dict or status.keys() != {"status_list"}:
        return None
    ref = status["status_list"]
    if type(ref) is not dict or ref.keys() != {"idx", "uri"}:
        return None
    cti = claims[7]
    if type(cti) is not bytes or not cti.isascii():
        return None
    for value in (claims[4], claims[6], ref["idx"], card[0], card[4]):
        if not _is_int(value):
            return None
    for key in (2, 3):
        if type(card[key]) is not str:
            return None
    if card[0] not in (0, 1) or not -25567 <= card[4] <= 99999:
        return None
    optional_types = {5: str, 6: bytes, 7: list, 8: list, 9: bytes}
    for key, kind in optional_types.items():
        if key in card and type(card[key]) is not kind:
            return None
    for key in (7, 8):
        if not all(type(item) is str for item in card.get(key, [])):
            return None
    key_xy = None
    if 8 in claims:
        cnf = claims[8]
        if type(cnf) is not dict or cnf.keys() != {1} or type(cnf[1]) is not dict:
            return None
        cose_key = cnf[1]
        if cose_key.keys() != {1, -1, -2, -3} or not all(_is_int(cose_key[k]) for k in (1, -1)):
            return None
        if (cose_key[1], cose_key[-1]) != (2, 1):
            return None
        x, y = cose_key[-2], cose_key[-3]
        if not (type(x) is bytes and type(y) is bytes and len(x) == len(y) == 32):
            return None
        key_xy = (x, y)
    try:
        binding = None
        if 9 in card and key_xy is not None:
            return None
        if 9 in card:
            binding = ChipBinding(uid=card[9])
        elif key_xy is not None:
            binding = ChipBinding(key=CHIP_KEY)  # the point itself is checked when it is used
        holder = Holder(
            card[1],
            card[2],
            card[3],
            _EPOCH + timedelta(days=card[4]),
            card.get(5),
            tuple(card.get(7, ())),
            tuple(card.get(8, ())),
            card.get(6),
        )
        Credential(
            claims[1], cti.decode(), claims[6], claims[4], ref["idx"], ref["uri"], holder,
            Variant(card[0]), binding,
        )
    except (MalformedError, TypeError, ValueError, OverflowError):
        return None
    return (
        claims[1], cti.decode(), claims[6], claims[4], ref["idx"], ref["uri"], card[0], card[1],
        card[2], card[3], card[4], card.get(5), tuple(card.get(7, ())), tuple(card.get(8, ())),
        card.get(6), card.get(9), key_xy,
    )  # fmt: skip


def compiled_claims(payload: bytes) -> tuple[object, ...] | None:
    try:
        return tuple(_fastpath.claims(payload))
    except ValueError:
        return None


# -- strategies ----------------------------------------------------------------------------

_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=100
).filter(lambda s: _fastpath.name_ok(s))
_codes = st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True)
_langs = st.from_regex(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}", fullmatch=True)


@st.composite
def credentials(draw: st.DrawFn) -> Credential:
    variant = draw(st.sampled_from([Variant.PRINT, Variant.CHIP]))
    binding = None
    photo = None
    if variant is Variant.CHIP:
        photo = draw(st.none() | st.binary(min_size=1, max_size=300))
        if draw(st.booleans()):
            binding = ChipBinding(uid=draw(st.binary(min_size=4, max_size=10)))
        else:
            binding = ChipBinding(key=CHIP_KEY)
    holder = Holder(
        draw(_codes),
        draw(_names),
        draw(_names),
        draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2243, 10, 17))),
        draw(st.none() | st.sampled_from(["F", "M", "X"])),
        tuple(draw(st.lists(_codes, max_size=16))),
        tuple(draw(st.lists(_langs, max_size=8))),
        photo,
    )
    issued = draw(st.integers(min_value=0, max_value=_YEAR_10000 - 2))
    return Credential(
        draw(st.text(min_size=1, max_size=64)),
        draw(st.from_regex(r"[A-Z0-9-]{4,24}", fullmatch=True)),
        issued,
        draw(st.integers(min_value=issued + 1, max_value=_YEAR_10000 - 1)),
        draw(st.integers(min_value=0, max_value=2**32 - 1)),
        draw(st.text(min_size=1, max_size=200)),
        holder,
        variant,
        binding,
    )


def _payload(cred: Credential) -> bytes:
    return cbor.dumps(cred.to_claims())


# -- claims ----------------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(cred=credentials())
def test_issued_claims_decode_to_what_was_issued(cred: Credential) -> None:
    payload = _payload(cred)
    fields = decode_claims(payload)
    assert fields == cred.to_fields()
    assert tuple(fields) == reference_claims(payload)
    assert Credential.from_payload(payload) == cred
    assert display(fields) == cred.display()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    cred=credentials(),
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete", "set"]), st.integers(0), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_claims_decode_as_the_reference_does(
    cred: Credential, edits: list[tuple[str, int, int]]
) -> None:
    data = bytearray(_payload(cred))
    for op, at, value in edits:
        at %= len(data) + 1
        if op == "insert":
            data.insert(at, value)
        elif at < len(data):
            if op == "delete":
                del data[at]
            elif op == "flip":
                data[at] ^= 1 << (value % 8)
            else:
                data[at] = value
        if not data:
            data.append(value)
    assert compiled_claims(bytes(data)) == reference_claims(bytes(data))


_WRONG_VALUES: list[object] = [
    None, True, 1.0, -1, 0, 2**32, _YEAR_10000, b"", b"x" * 40, "", "F", "x" * 101, [], ["de"], {},
    cbor2.CBORTag(1, 0),
]  # fmt: skip


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    cred=credentials(),
    where=st.sampled_from(["top", "card", "status", "cnf"]),
    key=st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 65535, -65537, "1", "idx", "uri"]),
    action=st.sampled_from(["drop", "replace"]),
    value=st.sampled_from(_WRONG_VALUES),
)
def test_claims_with_fields_dropped_or_replaced_decode_as_the_reference_does(
    cred: Credential, where: str, key: object, action: str, value: object
) -> None:
    claims: dict[Any, Any] = cred.to_claims()
    target: dict[Any, Any]
    if where == "top":
        target = claims
    elif where == "card":
        target = claims[-65537]
    elif where == "status":
        target = claims[65535]["status_list"]
    else:
        assume(8 in claims)
        target = claims[8][1]
    if action == "drop":
        assume(key in target)
        del target[key]
    else:
        target[key] = value
    payload = cbor.dumps(claims)
    assert compiled_claims(payload) == reference_claims(payload)


def test_fixed_refusals_carry_a_reason() -> None:
    cred = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2)),
    )  # fmt: skip
    payload = _payload(cred)
    assert compiled_claims(payload) is not None
    cases = {
        payload + b"\x00": "trailing",
        payload[:-1]: "truncated",
        b"\xbf" + payload[1:] + b"\xff": "indefinite",
        b"\xa1\x01\x00": "missing or unexpected claims",
        b"\xa6\x18\x01\x00": "deterministic",
        b"\x80": "not a map",
        b"\xa6\x1a\x00\x00\x00\x01\x00": "deterministic",
        cbor.dumps({**cred.to_claims(), 100: "XX"}): "unexpected claim",
    }
    for data, reason in cases.items():
        with pytest.raises(MalformedError, match=reason):
            decode_claims(data)
    with pytest.raises(MalformedError, match="larger than"):
        decode_claims(b"\x00" * (64 * 1024 + 1))
    with pytest.raises(MalformedError):
        decode_claims("text")  # type: ignore[arg-type]
    assert _fastpath.claims(memoryview(payload)) == _fastpath.claims(payload)


def _edit(claims: dict[Any, Any], path: tuple[Any, ...], value: object) -> dict[Any, Any]:
    target = claims
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return claims


_CARD, _STATUS = (-65537,), (65535, "status_list")
# (what, path in the claims, value accepted at the limit, value refused just past it)
BOUNDARIES = [
    ("issuer length", (1,), "i" * 64, "i" * 65),
    ("expiry after issue", (4,), 1_700_000_001, 1_700_000_000),
    ("expiry before the year 10000", (4,), _YEAR_10000 - 1, _YEAR_10000),
    ("document number shortest", (7,), b"AB-1", b"AB1"),
    ("document number longest", (7,), b"A" * 24, b"A" * 25),
    ("status index", (*_STATUS, "idx"), 2**32 - 1, 2**32),
    ("status URI length", (*_STATUS, "uri"), "u" * 200, "u" * 201),
    ("programme id length", (*_CARD, 1), "p" * 32, "p" * 33),
    ("family name length", (*_CARD, 2), "N" * 100, "N" * 101),
    ("given name not blank", (*_CARD, 3), " x ", " \u3000 "),
    ("born on 1900-01-01", (*_CARD, 4), -25_567, -25_568),
    ("born before day 100000", (*_CARD, 4), 99_999, 100_000),
    ("sex", (*_CARD, 5), "X", "x"),
    ("entitlements", (*_CARD, 7), ["e"] * 16, ["e"] * 17),
    ("languages", (*_CARD, 8), ["de"] * 8, ["de"] * 9),
    ("language subtags", (*_CARD, 8), ["de-a-b-c"], ["de-a-b-c-d"]),
    ("language subtag length", (*_CARD, 8), ["de-12345678"], ["de-123456789"]),
    ("language primary tag", (*_CARD, 8), ["ber"], ["berb"]),
]


@pytest.mark.parametrize(("what", "path", "good", "bad"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_limits_hold_exactly_at_their_boundary(what: str, path: tuple[Any, ...], good: object, bad: object) -> None:
    base = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2)),
    )  # fmt: skip
    for value, accepted in ((good, True), (bad, False)):
        payload = cbor.dumps(_edit(base.to_claims(), path, value))
        assert (compiled_claims(payload) is not None) is accepted, (what, value)
        assert compiled_claims(payload) == reference_claims(payload)


@pytest.mark.parametrize(
    ("what", "card_edits", "accepted"),
    [
        ("photo of 8192 bytes", {0: 1, 6: b"p" * 8192, 9: b"\x04" * 4}, True),
        ("photo of 8193 bytes", {0: 1, 6: b"p" * 8193, 9: b"\x04" * 4}, False),
        ("empty photo", {0: 1, 6: b"", 9: b"\x04" * 4}, False),
        ("UID of 10 bytes", {0: 1, 9: b"\x04" * 10}, True),
        ("UID of 11 bytes", {0: 1, 9: b"\x04" * 11}, False),
        ("UID of 3 bytes", {0: 1, 9: b"\x04" * 3}, False),
        ("chip variant unbound", {0: 1}, False),
        ("print variant with a UID", {9: b"\x04" * 4}, False),
        ("print variant with a photo", {6: b"p"}, False),
    ],
)
def test_chip_fields_at_their_limits(what: str, card_edits: dict[int, object], accepted: bool) -> None:
    base = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2)),
    )  # fmt: skip
    claims = base.to_claims()
    claims[-65537].update(card_edits)
    payload = cbor.dumps(claims)
    assert (compiled_claims(payload) is not None) is accepted, what
    assert compiled_claims(payload) == reference_claims(payload)


@given(data=st.binary(max_size=512))
def test_random_bytes_decode_as_the_reference_does(data: bytes) -> None:
    assert compiled_claims(data) == reference_claims(data)


# -- the name rule ---------------------------------------------------------------------------

_NAME_EXCEPTIONS = {0x200C, 0x200D}  # ZWNJ and ZWJ: Persian and Indic names need them


def _bad_by_definition(cp: int) -> bool:
    return (
        unicodedata.category(chr(cp)) in {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
        and cp not in _NAME_EXCEPTIONS
    )


def test_name_rule_matches_its_unicode_definition() -> None:
    wrong = [
        hex(cp)
        for cp in range(0x110000)
        if _fastpath.name_ok("A" + chr(cp)) == _bad_by_definition(cp)
    ]
    assert wrong == []


def test_name_rule_limits() -> None:
    assert _fastpath.name_ok("Nguyễn") and _fastpath.name_ok("ت" * 100)
    assert not _fastpath.name_ok("x" * 101) and not _fastpath.name_ok("")
    assert not _fastpath.name_ok(" \u3000\t") and not _fastpath.name_ok(b"bytes")
    assert _fastpath.name_ok("می\u200cخواهم")  # ZWNJ


# -- sign1 -------------------------------------------------------------------------------------


def _prepared_slowly(data: bytes) -> tuple[bytes, bytes, bytes, bytes] | None:
    try:
        msg = cose.parse_sign1(data)
    except MalformedError:
        return None
    return msg.kid, cose.sig_structure(msg.protected, msg.payload), der_from_raw(msg.signature), msg.payload


@settings(max_examples=300)
@given(payload=st.binary(max_size=70_000))
def test_sign1_reads_what_parse_sign1_reads(payload: bytes) -> None:
    data = cose.sign1(SIGNER, payload)
    fast = _fastpath.sign1(data)
    if len(data) > cbor.MAX_INPUT:
        assert fast is None
    else:
        assert fast == _prepared_slowly(data)
    assert (cose.prepare_sign1(data) if fast else _prepared_slowly(data)) == _prepared_slowly(data)


@settings(max_examples=500)
@given(
    payload=st.binary(max_size=400),
    at=st.integers(0),
    value=st.integers(0, 255),
    cut=st.integers(0, 3),
)
def test_sign1_never_accepts_what_parse_sign1_refuses(
    payload: bytes, at: int, value: int, cut: int
) -> None:
    data = bytearray(cose.sign1(SIGNER, payload))
    data[at % len(data)] = value
    data = data[: len(data) - cut]
    fast = _fastpath.sign1(bytes(data))
    slow = _prepared_slowly(bytes(data))
    if fast is not None:
        assert fast == slow
    try:
        prepared: object = cose.prepare_sign1(bytes(data))
    except MalformedError:
        prepared = None
    assert prepared == slow


def test_sign1_signatures_with_short_or_high_integers() -> None:
    """DER needs a leading zero for a high bit and none for leading zero bytes."""
    for raw in (
        b"\x00" * 64,
        b"\x80" + b"\x00" * 31 + b"\x00" * 31 + b"\x01",
        b"\x00" * 5 + b"\xff" * 27 + b"\x7f" * 32,
    ):
        data = cose.sign1(SIGNER, b"payload")[:-64] + raw
        assert _fastpath.sign1(data) == _prepared_slowly(data)
    assert _fastpath.sign1(bytearray(cose.sign1(SIGNER, b"x"))) is None  # bytes only


# -- iso_day -----------------------------------------------------------------------------------


def test_iso_day_matches_datetime() -> None:
    for day in [*range(-719_162, 2_932_897, 367), -719_162, 2_932_896, -1, 0, 59, 60, -25_567]:
        assert _fastpath.iso_day(day) == (_EPOCH + timedelta(days=day)).isoformat()
    for day in (-719_163, 2_932_897, 2**70):
        with pytest.raises((ValueError, OverflowError)):
            _fastpath.iso_day(day)


def test_a_signed_credential_goes_through_the_compiled_path() -> None:
    cred = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2), photo=b"\xff\xd8"),
        Variant.CHIP, ChipBinding(uid=b"\x04\x01\x02\x03"),
    )  # fmt: skip
    data = sign_credential(SIGNER, cred)
    parts = _fastpath.sign1(data)
    assert parts is not None and parts[0] == SIGNER.kid
    assert Credential.from_payload(parts[3]) == cred
