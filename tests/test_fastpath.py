"""The verify hot path, compiled (cardio/_fastpath.c) and in Python (cardio/_fastpath_py.py),
against readable references and against each other.

`reference_claims` below decodes credential claims the slow, obvious way (cbor2, then one check
per rule, then the Holder and Credential constructors) and is the specification both decoders
are held to: on issued credentials, on byte-level mutations of them, and on claim maps with
fields dropped, added or given values of the wrong type. The name rule is compared with its
definition in unicodedata; sign1 with cardio.cose.parse_sign1; iso_day with datetime. Every such
test runs once per implementation (`impl`); the tests at the end hold the two to the same
values, exceptions and messages on the same inputs, and check how cardio.fastpath chooses.
"""

from __future__ import annotations

import array
import itertools
import json
import os
import pickle
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardio import _fastpath_py, cbor, cose, fastpath
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

from .fastpath_impls import compiled as _compiled
from .fastpath_impls import over_implementations

ENTITLEMENT_CODES = _fastpath_py.ENTITLEMENT_CODES
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
    card = claims.get(-65537)
    if type(card) is dict and _is_int(card.get(0)) and card[0] == 2:
        return reference_compact_claims(claims)
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


_LIST_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,7}")


def reference_compact_claims(claims: dict[Any, Any]) -> tuple[object, ...] | None:
    """Compact claims (card variant 2) as the Claims tuple, or None where citycard refuses them."""
    if claims.keys() != {1, 4, 6, 7, -65537}:
        return None
    card = claims[-65537]
    if not all(_is_int(k) for k in card) or card.keys() not in ({0, 1, 9, 10}, {0, 1, 7, 9, 10}):
        return None
    cti, status, uid = claims[7], card[10], card[9]
    if type(cti) is not bytes or not cti.isascii() or type(uid) is not bytes:
        return None
    if not all(_is_int(v) for v in (claims[4], claims[6])):
        return None
    if type(status) is not list or len(status) != 2:
        return None
    list_id, idx = status
    if type(list_id) is not str or not _LIST_ID.fullmatch(list_id) or not _is_int(idx):
        return None
    numbers = card.get(7, [0])
    if type(numbers) is not list or not 1 <= len(numbers) <= 16:
        return None
    if not all(_is_int(n) and 0 <= n < len(ENTITLEMENT_CODES) for n in numbers):
        return None
    if numbers != sorted(set(numbers)):
        return None
    codes = tuple(ENTITLEMENT_CODES[n] for n in card.get(7, []))
    try:
        Credential(
            claims[1], cti.decode(), claims[6], claims[4], idx, list_id,
            Holder(card[1], "X", "X", date(1990, 1, 1), entitlements=codes),
            Variant.COMPACT, ChipBinding(uid=uid),
        )  # fmt: skip
    except (MalformedError, TypeError, ValueError, OverflowError):
        return None
    return (
        claims[1], cti.decode(), claims[6], claims[4], idx, list_id, 2, card[1], None, None,
        None, None, codes, (), None, uid, None,
    )  # fmt: skip


def fast_claims(impl: ModuleType, payload: bytes) -> tuple[object, ...] | None:
    try:
        return tuple(impl.claims(payload))
    except ValueError:
        return None


# -- strategies ----------------------------------------------------------------------------

_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=100
).filter(lambda s: fastpath.name_ok(s))
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


@st.composite
def compact_credentials(draw: st.DrawFn) -> Credential:
    """Compact chip credentials: any list id and entitlements the table holds."""
    holder = Holder(
        draw(_codes),
        draw(_names),
        draw(_names),
        date(1990, 1, 2),
        entitlements=tuple(draw(st.lists(st.sampled_from(ENTITLEMENT_CODES), max_size=16))),
    )
    list_id = draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,7}", fullmatch=True))
    base = draw(st.sampled_from(["", "https://cc.example/status/", "https://x.example/a/b/"]))
    issued = draw(st.integers(min_value=0, max_value=_YEAR_10000 - 2))
    return Credential(
        draw(st.text(min_size=1, max_size=64)),
        draw(st.from_regex(r"[A-Z0-9-]{4,24}", fullmatch=True)),
        issued,
        draw(st.integers(min_value=issued + 1, max_value=_YEAR_10000 - 1)),
        draw(st.integers(min_value=0, max_value=2**32 - 1)),
        base + list_id,
        holder,
        Variant.COMPACT,
        ChipBinding(uid=draw(st.binary(min_size=4, max_size=10)), compact=draw(st.booleans())),
    )


def _payload(cred: Credential) -> bytes:
    return cbor.dumps(cred.to_claims())


# -- claims ----------------------------------------------------------------------------------


@over_implementations
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(cred=credentials())
def test_issued_claims_decode_to_what_was_issued(impl: ModuleType, cred: Credential) -> None:
    payload = _payload(cred)
    fields = impl.claims(payload)
    assert fields == cred.to_fields() == decode_claims(payload)
    assert tuple(fields) == reference_claims(payload)
    assert Credential.from_payload(payload) == cred
    assert display(fields) == cred.display()


@over_implementations
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(cred=compact_credentials())
def test_compact_claims_decode_to_what_was_issued(impl: ModuleType, cred: Credential) -> None:
    payload = _payload(cred)
    fields = impl.claims(payload)
    assert fields == cred.to_fields() == decode_claims(payload)
    assert tuple(fields) == reference_claims(payload)
    assert fields.variant == 2 and fields.chip_uid == cred.binding.uid  # type: ignore[union-attr]
    assert (fields.family_name, fields.given_name, fields.birth_days, fields.photo) == (None,) * 4
    assert set(fields.entitlements) == set(cred.holder.entitlements)
    shown = display(fields)
    assert shown == cred.display() and shown["compare_printed_card"] is True
    assert not {"family_name", "given_name", "birth_date", "photo_base64"} & shown.keys()
    with pytest.raises(MalformedError, match="compact credential"):
        Credential.from_payload(payload)


_edits = st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete", "set"]), st.integers(0), st.integers(0, 255)),
    min_size=1,
    max_size=4,
)


def _mutated(data: bytearray, edits: list[tuple[str, int, int]]) -> bytes:
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
    return bytes(data)


@over_implementations
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(cred=credentials() | compact_credentials(), edits=_edits)
def test_mutated_claims_decode_as_the_reference_does(
    impl: ModuleType, cred: Credential, edits: list[tuple[str, int, int]]
) -> None:
    data = _mutated(bytearray(_payload(cred)), edits)
    assert fast_claims(impl, data) == reference_claims(data)


_WRONG_VALUES: list[object] = [
    None, True, 1.0, -1, 0, 2**32, _YEAR_10000, b"", b"x" * 40, "", "F", "x" * 101, [], ["de"], {},
    cbor2.CBORTag(1, 0),
]  # fmt: skip


_EDIT_WHERE = ["top", "card", "status", "cnf"]
_EDIT_KEYS: list[object] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 65535, -65537, "1", "idx", "uri"]
_DROP = object()


def _edit_target(claims: dict[Any, Any], where: str) -> dict[Any, Any] | None:
    """The map of the claims that `where` names; None for a "cnf" the claims do not have."""
    if where == "top":
        return claims
    if where == "card":
        return claims[-65537]
    if where == "status":
        return claims[65535]["status_list"]
    return claims[8][1] if 8 in claims else None


def _edited_field(claims: dict[Any, Any], where: str, key: object, value: object) -> bytes | None:
    """The claims with one field dropped (value `_DROP`) or replaced, encoded; None where there
    is no such field to drop."""
    target = _edit_target(claims, where)
    if target is None:
        return None
    if value is _DROP:
        if key not in target:
            return None
        del target[key]
    else:
        target[key] = value
    return cbor.dumps(claims)


@st.composite
def edited_claims(draw: st.DrawFn) -> bytes:
    """The claims of an issued credential with one field dropped or given a wrong value."""
    claims: dict[Any, Any] = draw(credentials()).to_claims()
    # Drawn from what the claims have, not filtered afterwards: most credentials lack most
    # optional fields, and filtering that much fails Hypothesis's health check (seen in CI).
    where = draw(st.sampled_from([w for w in _EDIT_WHERE if _edit_target(claims, w)]))
    target = _edit_target(claims, where)
    assert target
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(target, key=repr)))
        payload = _edited_field(claims, where, key, _DROP)
    else:
        key = draw(st.sampled_from(_EDIT_KEYS))
        payload = _edited_field(claims, where, key, draw(st.sampled_from(_WRONG_VALUES)))
    assert payload is not None
    return payload


@over_implementations
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(payload=edited_claims())
def test_claims_with_fields_dropped_or_replaced_decode_as_the_reference_does(
    impl: ModuleType, payload: bytes
) -> None:
    assert fast_claims(impl, payload) == reference_claims(payload)


_WRONG_COMPACT_VALUES: list[object] = [
    *_WRONG_VALUES, 2, [0], [26], [27], [3, 2], [1, 1], list(range(17)), [-1], ["1", 7],
    ["x" * 8, 0], ["x" * 9, 0], ["UP", 0], ["-1", 0], ["1", 2**32], ["1"], [1, 7], ["1", 7, 0],
    {"status_list": {"idx": 1, "uri": "u"}},
]  # fmt: skip


@st.composite
def edited_compact_claims(draw: st.DrawFn) -> bytes:
    """The claims of a compact credential with one field dropped, added or given a wrong value."""
    claims: dict[Any, Any] = draw(compact_credentials()).to_claims()
    target = claims if draw(st.booleans()) else claims[-65537]
    if target and draw(st.booleans()):  # drop one it has (drawn, not filtered: see above)
        del target[draw(st.sampled_from(sorted(target, key=repr)))]
    else:
        target[draw(st.sampled_from(_EDIT_KEYS))] = draw(st.sampled_from(_WRONG_COMPACT_VALUES))
    return cbor.dumps(claims)


@over_implementations
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(payload=edited_compact_claims())
def test_compact_claims_edited_decode_as_the_reference_does(
    impl: ModuleType, payload: bytes
) -> None:
    assert fast_claims(impl, payload) == reference_claims(payload)


_COMPACT = Credential(
    "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/status/1",
    Holder("demo", "Example", "Mira", date(1990, 1, 2), entitlements=("library", "pool")),
    Variant.COMPACT, ChipBinding(uid=b"\x04" * 7, compact=True),
)  # fmt: skip


@over_implementations
@pytest.mark.parametrize(
    ("what", "edit", "reason"),
    [
        ("status claim as well", {65535: {"status_list": {"idx": 7, "uri": "u"}}}, "missing or unexpected claims"),
        ("chip key as well", {8: {1: {}}}, "missing claims"),
        ("a name", {-65537: {0: 2, 1: "demo", 2: "Example", 9: b"\x04" * 7, 10: ["1", 7]}}, "compact card claim"),
        ("no status", {-65537: {0: 2, 1: "demo", 7: [1], 9: b"\x04" * 7}}, "compact card claim"),
        ("status on a chip card", {-65537: {0: 1, 1: "d", 2: "E", 3: "M", 4: 1, 9: b"\x04" * 4, 10: ["1", 7]}}, "unexpected claim"),
        ("unknown entitlement number", {-65537: {0: 2, 1: "d", 7: [27], 9: b"\x04" * 4, 10: ["1", 7]}}, "entitlement numbers"),
        ("entitlements out of order", {-65537: {0: 2, 1: "d", 7: [3, 2], 9: b"\x04" * 4, 10: ["1", 7]}}, "entitlement numbers"),
        ("empty entitlements", {-65537: {0: 2, 1: "d", 7: [], 9: b"\x04" * 4, 10: ["1", 7]}}, "entitlement numbers"),
        ("list id too long", {-65537: {0: 2, 1: "d", 9: b"\x04" * 4, 10: ["123456789", 7]}}, "compact status"),
        ("variant 3", {-65537: {0: 3, 1: "d", 9: b"\x04" * 4, 10: ["1", 7]}}, "variant is not 0, 1 or 2"),
    ],
)
def test_compact_refusals_carry_a_reason(
    impl: ModuleType, what: str, edit: dict[int, object], reason: str
) -> None:
    claims = _COMPACT.to_claims()
    claims.update(edit)
    payload = cbor.dumps(claims)
    with pytest.raises(ValueError, match=reason):
        impl.claims(payload)
    assert reference_claims(payload) is None, what


@over_implementations
def test_compact_limits_hold_exactly_at_their_boundary(impl: ModuleType) -> None:
    claims = _COMPACT.to_claims()
    card = claims[-65537]
    last = len(ENTITLEMENT_CODES) - 1
    for field, good, bad in [
        (7, list(range(16)), list(range(17))),
        (7, [last], [last + 1]),
        (10, ["a" * 8, 2**32 - 1], ["a" * 9, 2**32 - 1]),
        (10, ["a-b", 0], ["a-b", 2**32]),
        (9, b"\x04" * 10, b"\x04" * 11),
    ]:
        original = card[field]
        for value, accepted in ((good, True), (bad, False)):
            card[field] = value
            payload = cbor.dumps(claims)
            assert (fast_claims(impl, payload) is not None) is accepted, (field, value)
            assert fast_claims(impl, payload) == reference_claims(payload)
        card[field] = original


def test_both_implementations_share_the_entitlement_table() -> None:
    if _compiled is not None:
        assert _compiled.ENTITLEMENT_CODES == _fastpath_py.ENTITLEMENT_CODES
    assert fastpath.ENTITLEMENT_CODES == _fastpath_py.ENTITLEMENT_CODES
    assert len(set(ENTITLEMENT_CODES)) == len(ENTITLEMENT_CODES)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", code) for code in ENTITLEMENT_CODES)


@over_implementations
def test_fixed_refusals_carry_a_reason(impl: ModuleType) -> None:
    cred = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2)),
    )  # fmt: skip
    payload = _payload(cred)
    assert fast_claims(impl, payload) is not None
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
        with pytest.raises(ValueError, match=reason):
            impl.claims(data)
    with pytest.raises(MalformedError, match="larger than"):
        decode_claims(b"\x00" * (64 * 1024 + 1))
    with pytest.raises(ValueError, match="larger than 65536 bytes"):
        impl.claims(b"\x00" * (64 * 1024 + 1))
    with pytest.raises(MalformedError):
        decode_claims("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes-like object is required, not 'str'"):
        impl.claims("text")
    assert impl.claims(memoryview(payload)) == impl.claims(payload)
    assert impl.claims(bytearray(payload)) == impl.claims(payload)


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


@over_implementations
@pytest.mark.parametrize(("what", "path", "good", "bad"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_limits_hold_exactly_at_their_boundary(
    impl: ModuleType, what: str, path: tuple[Any, ...], good: object, bad: object
) -> None:
    base = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2)),
    )  # fmt: skip
    for value, accepted in ((good, True), (bad, False)):
        payload = cbor.dumps(_edit(base.to_claims(), path, value))
        assert (fast_claims(impl, payload) is not None) is accepted, (what, value)
        assert fast_claims(impl, payload) == reference_claims(payload)


@over_implementations
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
def test_chip_fields_at_their_limits(
    impl: ModuleType, what: str, card_edits: dict[int, object], accepted: bool
) -> None:
    base = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2)),
    )  # fmt: skip
    claims = base.to_claims()
    claims[-65537].update(card_edits)
    payload = cbor.dumps(claims)
    assert (fast_claims(impl, payload) is not None) is accepted, what
    assert fast_claims(impl, payload) == reference_claims(payload)


@over_implementations
@given(data=st.binary(max_size=512))
def test_random_bytes_decode_as_the_reference_does(impl: ModuleType, data: bytes) -> None:
    assert fast_claims(impl, data) == reference_claims(data)


# -- the name rule ---------------------------------------------------------------------------

_NAME_EXCEPTIONS = {0x200C, 0x200D}  # ZWNJ and ZWJ: Persian and Indic names need them


def _bad_by_definition(cp: int) -> bool:
    return (
        unicodedata.category(chr(cp)) in {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
        and cp not in _NAME_EXCEPTIONS
    )


@over_implementations
def test_name_rule_matches_its_unicode_definition(impl: ModuleType) -> None:
    wrong = [
        hex(cp)
        for cp in range(0x110000)
        if impl.name_ok("A" + chr(cp)) == _bad_by_definition(cp)
    ]
    assert wrong == []


@over_implementations
def test_name_rule_limits(impl: ModuleType) -> None:
    assert impl.name_ok("Nguyễn") and impl.name_ok("ت" * 100)
    assert not impl.name_ok("x" * 101) and not impl.name_ok("")
    assert not impl.name_ok(" \u3000\t") and not impl.name_ok(b"bytes")
    assert impl.name_ok("می\u200cخواهم")  # ZWNJ


# -- sign1 -------------------------------------------------------------------------------------


def _prepared_slowly(data: bytes) -> tuple[bytes, bytes, bytes, bytes] | None:
    try:
        msg = cose.parse_sign1(data)
    except MalformedError:
        return None
    return msg.kid, cose.sig_structure(msg.protected, msg.payload), der_from_raw(msg.signature), msg.payload


@over_implementations
@settings(max_examples=300)
@given(payload=st.binary(max_size=70_000))
def test_sign1_reads_what_parse_sign1_reads(impl: ModuleType, payload: bytes) -> None:
    data = cose.sign1(SIGNER, payload)
    fast = impl.sign1(data)
    if len(data) > cbor.MAX_INPUT:
        assert fast is None
    else:
        assert fast == _prepared_slowly(data)
    assert (cose.prepare_sign1(data) if fast else _prepared_slowly(data)) == _prepared_slowly(data)


_sign1_edits = {
    "payload": st.binary(max_size=400),
    "at": st.integers(0),
    "value": st.integers(0, 255),
    "cut": st.integers(0, 3),
}


def _edited_sign1(payload: bytes, at: int, value: int, cut: int) -> bytes:
    data = bytearray(cose.sign1(SIGNER, payload))
    data[at % len(data)] = value
    return bytes(data[: len(data) - cut])


@over_implementations
@settings(max_examples=500)
@given(**_sign1_edits)
def test_sign1_never_accepts_what_parse_sign1_refuses(
    impl: ModuleType, payload: bytes, at: int, value: int, cut: int
) -> None:
    data = _edited_sign1(payload, at, value, cut)
    fast = impl.sign1(data)
    slow = _prepared_slowly(bytes(data))
    if fast is not None:
        assert fast == slow
    try:
        prepared: object = cose.prepare_sign1(bytes(data))
    except MalformedError:
        prepared = None
    assert prepared == slow


@over_implementations
def test_sign1_signatures_with_short_or_high_integers(impl: ModuleType) -> None:
    """DER needs a leading zero for a high bit and none for leading zero bytes."""
    for raw in (
        b"\x00" * 64,
        b"\x80" + b"\x00" * 31 + b"\x00" * 31 + b"\x01",
        b"\x00" * 5 + b"\xff" * 27 + b"\x7f" * 32,
    ):
        data = cose.sign1(SIGNER, b"payload")[:-64] + raw
        assert impl.sign1(data) == _prepared_slowly(data)
    assert impl.sign1(bytearray(cose.sign1(SIGNER, b"x"))) is None  # bytes only


# -- iso_day -----------------------------------------------------------------------------------


@over_implementations
def test_iso_day_matches_datetime(impl: ModuleType) -> None:
    for day in [*range(-719_162, 2_932_897, 367), -719_162, 2_932_896, -1, 0, 59, 60, -25_567]:
        assert impl.iso_day(day) == (_EPOCH + timedelta(days=day)).isoformat()
    for day in (-719_163, 2_932_897, 2**70):
        with pytest.raises((ValueError, OverflowError)):
            impl.iso_day(day)


@over_implementations
def test_a_signed_credential_goes_through_the_fast_path(impl: ModuleType) -> None:
    cred = Credential(
        "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
        Holder("demo", "Example", "Mira", date(1990, 1, 2), photo=b"\xff\xd8"),
        Variant.CHIP, ChipBinding(uid=b"\x04\x01\x02\x03"),
    )  # fmt: skip
    data = sign_credential(SIGNER, cred)
    parts = impl.sign1(data)
    assert parts is not None and parts[0] == SIGNER.kid
    assert Credential.from_payload(parts[3]) == cred


# -- the two implementations agree -------------------------------------------------------------

needs_compiled = pytest.mark.skipif(_compiled is None, reason="C extension not built")


def _outcome(function: Callable[[Any], object], argument: object) -> tuple[str, str, str]:
    """What a call gives, strictly: the value's repr (tuple(...) for Claims, whose class names
    differ), or the exception's type and message."""
    try:
        value = function(argument)
    except Exception as exc:
        return "raises", type(exc).__name__, str(exc)
    if isinstance(value, _compiled.Claims | _fastpath_py.Claims):
        value = tuple(value)
    return "returns", type(value).__name__, repr(value)


def _same_outcome(name: str, argument: object) -> None:
    assert _outcome(getattr(_compiled, name), argument) == _outcome(getattr(_fastpath_py, name), argument)


_claims_inputs = (
    st.binary(max_size=512)
    | st.builds(_payload, credentials())
    | st.builds(lambda cred, edits: _mutated(bytearray(_payload(cred)), edits), credentials(), _edits)
    | edited_claims()
)


@needs_compiled
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=_claims_inputs)
def test_both_decode_claims_alike(data: bytes) -> None:
    _same_outcome("claims", data)


@needs_compiled
def test_both_refuse_every_single_field_edit_alike() -> None:
    """Every field of three credentials (print; chip bound by UID with every optional field;
    chip bound by key) dropped or given each wrong value, exhaustively."""
    holder = Holder("demo", "Example", "Mira", date(1990, 1, 2))
    full = replace(holder, sex="F", entitlements=("pool",), languages=("de",), photo=b"\xff\xd8")
    bases = [
        Credential("demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1", holder),
        Credential(
            "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1", full,
            Variant.CHIP, ChipBinding(uid=b"\x04\x01\x02\x03"),
        ),
        Credential(
            "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1", holder,
            Variant.CHIP, ChipBinding(key=CHIP_KEY),
        ),
    ]  # fmt: skip
    for base in bases:
        _same_outcome("claims", _payload(base))
        for where, key, value in itertools.product(_EDIT_WHERE, _EDIT_KEYS, [_DROP, *_WRONG_VALUES]):
            payload = _edited_field(base.to_claims(), where, key, value)
            if payload is not None:
                _same_outcome("claims", payload)


@needs_compiled
@settings(max_examples=300)
@given(data=st.binary(max_size=200) | st.builds(_edited_sign1, **_sign1_edits))
def test_both_read_sign1_alike(data: bytes) -> None:
    _same_outcome("sign1", data)


@needs_compiled
@given(text=st.text(max_size=120) | st.text(st.characters(codec="utf-8"), max_size=8))
def test_both_judge_names_alike(text: str) -> None:
    _same_outcome("name_ok", text)


@needs_compiled
@given(day=st.integers() | st.integers(-800_000, 3_000_000) | st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1]))
def test_both_format_days_alike(day: int) -> None:
    _same_outcome("iso_day", day)


@needs_compiled
def test_both_refuse_other_types_alike() -> None:
    payload = _payload(
        Credential(
            "demo-city", "DEV00000018", 1_700_000_000, 1_800_000_000, 7, "https://cc.example/s/1",
            Holder("demo", "Example", "Mira", date(1990, 1, 2)),
        )
    )  # fmt: skip
    signed = cose.sign1(SIGNER, payload)
    odd: list[object] = [
        None, 0, 1.5, "text", b"", bytearray(payload), memoryview(payload), memoryview(payload)[::2],
        memoryview(payload[:4]).cast("i"), array.array("B", payload), bytearray(signed),
        memoryview(signed), True, 2**70, -(2**70), 3.0, "x", ["A"], "\ud800",
    ]  # fmt: skip
    for argument in odd:
        for name in ("claims", "sign1", "name_ok", "iso_day"):
            _same_outcome(name, argument)


@needs_compiled
def test_both_claims_types_behave_alike() -> None:
    values = tuple(range(17))
    c, py = _compiled.Claims(values), _fastpath_py.Claims(values)
    assert c == py == values and hash(c) == hash(py)
    assert repr(c).replace("cardio._fastpath.", "") == repr(py).replace("cardio._fastpath_py.", "")
    assert (c.n_fields, c.n_sequence_fields, c.n_unnamed_fields) == (py.n_fields, py.n_sequence_fields, py.n_unnamed_fields)
    assert type(c).__match_args__ == type(py).__match_args__
    for name in type(py).__match_args__:
        assert getattr(c, name) == getattr(py, name)
        for claims in (c, py):
            with pytest.raises(AttributeError, match="readonly attribute"):
                setattr(claims, name, 0)
            with pytest.raises(AttributeError, match="readonly attribute"):
                delattr(claims, name)
    assert pickle.loads(pickle.dumps(py)) == py and type(pickle.loads(pickle.dumps(py))) is type(py)
    assert _fastpath_py.Claims(iter(values)) == c == _compiled.Claims(iter(values))
    for wrong in ((1, 2), 5):
        errors = []
        for cls in (_compiled.Claims, _fastpath_py.Claims):
            with pytest.raises(TypeError) as info:
                cls(wrong)
            errors.append(str(info.value).replace("_fastpath_py.", "_fastpath."))
        assert errors[0] == errors[1]


# -- choosing one ------------------------------------------------------------------------------

_VERIFY_IN_A_FRESH_INTERPRETER = """
import json, sys
from datetime import date
from pathlib import Path

from api.issuer.service import Issuer
from cardio import fastpath
from cardio.credential import ChipBinding, Holder
from cardio.published import load_verifier

NOW = 1_790_000_000
issuer = Issuer.init(Path(sys.argv[1]) / "issuer", now=NOW)
holder = Holder("demo", "Beispiel", "Mira", date(1990, 1, 1), "X", ("library",), ("de",))
issued = issuer.issue(holder, date(2030, 12, 31), ChipBinding(uid=bytes.fromhex("04A1B2C3")), now=NOW)
issuer.publish(NOW)
verifier, problems = load_verifier(issuer.dir)
assert problems == [], problems
results = [verifier.verify(issued.print_cose, NOW + 60), verifier.verify(issued.chip_cose, NOW + 60)]
print(json.dumps({
    "implementation": fastpath.IMPLEMENTATION,
    "compiled_loaded": "cardio._fastpath" in sys.modules,
    "verdicts": [r.verdict.name for r in results],
    "claims": [r.claims for r in results],
}))
"""


def _verify_in_a_fresh_interpreter(tmp_path: Path, pure_python: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != fastpath.PURE_PYTHON_ENV}
    if pure_python is not None:
        env[fastpath.PURE_PYTHON_ENV] = pure_python
    out = subprocess.run(
        [sys.executable, "-c", _VERIFY_IN_A_FRESH_INTERPRETER, str(tmp_path)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_the_environment_variable_makes_cardio_verify_use_python(tmp_path: Path) -> None:
    pure = _verify_in_a_fresh_interpreter(tmp_path / "pure", "1")
    assert pure["implementation"] == "python" and pure["compiled_loaded"] is False
    assert pure["verdicts"] == ["VALID", "VALID"]
    assert pure["claims"][0]["family_name"] == "Beispiel" and pure["claims"][1]["variant"] == "chip"
    if _compiled is not None:
        compiled = _verify_in_a_fresh_interpreter(tmp_path / "compiled", None)
        assert compiled["implementation"] == "c" and compiled["compiled_loaded"] is True
        assert compiled["verdicts"] == pure["verdicts"]
        assert compiled["claims"] == pure["claims"]


def test_the_compiled_module_is_active_unless_python_is_asked_for() -> None:
    """`make` installs gcc, so a test run without the C module means its build broke
    (setup.py lets the build go on without it); set CITYCARD_PURE_PYTHON=1 where that is meant."""
    if os.environ.get(fastpath.PURE_PYTHON_ENV, "") not in ("", "0"):
        assert fastpath.IMPLEMENTATION == "python" and fastpath.claims is _fastpath_py.claims
    else:
        assert fastpath.IMPLEMENTATION == "c", "cardio/_fastpath.c was not built"
        assert fastpath.claims is _compiled.claims and fastpath.Claims is _compiled.Claims
