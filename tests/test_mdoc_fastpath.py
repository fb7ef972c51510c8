"""An mdoc DeviceResponse read in one pass (`device_response` of cardio/_fastpath.c and of its
twin cardio/_fastpath_wallet_py.py; docs/benchmarks.md, "Wallet presentations").

The fast reader takes only the one deterministic shape citycard's wallets write; the general
path (cbor2, `mdoc.IssuerSigned`) decides everything else. Held here: what either reader
returns is what the general path reads from the same bytes, the two readers agree on every
input (well-formed, mangled, random), and verify_wallet gives the same result, refusal reason
included, with the fast reader and without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from types import ModuleType
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.issuer.service import Issuer
from cardio import _fastpath_py, mdoc, presentation
from cardio.credential import Holder
from cardio.presentation import (
    PresentationResult,
    VenueRequest,
    present_mdoc,
    response_qr,
    verify_wallet,
)
from cardio.presentation_errors import PresentationError, PresentationReason
from cardio.verdict import Verdict
from cardio.verify import Verifier

from .conftest import NOW
from .fastpath_impls import compiled as _compiled
from .fastpath_impls import needs_compiled, over_implementations
from .test_presentation import Wallet

# -- responses in citycard's shape, their parts drawn -----------------------------------------

_NAMES = ["photo", "birth_date", "family_name", "languages", "age_over_18", "entitlement_pool",
          "entitlement_library", "resident_of"]  # fmt: skip
_names = st.sampled_from(_NAMES) | st.text(max_size=20)
_full_dates = st.dates(date(1, 1, 1), date(9999, 12, 31)).map(lambda d: cbor2.CBORTag(1004, d.isoformat()))
# the kinds of value citycard issues (the fast reader takes them all)
_values = (
    st.text(max_size=20) | st.binary(max_size=60) | st.booleans() | _full_dates
    | st.lists(st.text(max_size=6), max_size=4)
)  # fmt: skip
# and kinds it never issues, or dates that are not dates (the general path decides those)
_odd_values = (
    st.integers(-(2**64), 2**64) | st.none() | st.floats(allow_nan=False) | st.lists(st.integers(), min_size=1)
    | st.dictionaries(st.text(max_size=4), st.booleans(), max_size=2)
    | st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)).map(
        lambda t: cbor2.CBORTag(1004, f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"))
    | st.sampled_from([cbor2.CBORTag(1004, "20240203"), cbor2.CBORTag(1004, 5), cbor2.CBORTag(0, "x")])
)  # fmt: skip


def _dumps(obj: object) -> bytes:
    return cbor2.dumps(obj, canonical=True)


def _item(digest_id: object, random: object, name: object, value: object) -> cbor2.CBORTag:
    return cbor2.CBORTag(24, _dumps({"digestID": digest_id, "random": random,
                                     "elementIdentifier": name, "elementValue": value}))  # fmt: skip


def _response(items: list[cbor2.CBORTag], auth: list[Any], device_signature: bytes, status: int = 0) -> bytes:
    return _dumps({
        "version": "1.0",
        "documents": [{
            "docType": mdoc.DOCTYPE,
            "issuerSigned": {"nameSpaces": {mdoc.NAMESPACE: items}, "issuerAuth": auth},
            "deviceSigned": {"nameSpaces": cbor2.CBORTag(24, b"\xa0"),
                             "deviceAuth": {"deviceSignature": [b"\xa1\x01\x26", {}, None, device_signature]}},
        }],
        "status": status,
    })  # fmt: skip


@st.composite
def _responses(draw: st.DrawFn, odd: bool = False) -> bytes:
    """A DeviceResponse in the shape mdoc.device_response writes; with `odd`, one part may be in
    another shape (a value of another kind, a name twice, x5chain as an array, a status or
    device signature citycard's wallets never write)."""
    how = draw(st.sampled_from(["none", "value", "twice", "x5chain", "signature", "status"])) if odd else "none"
    names = draw(st.lists(_names, min_size=how in ("value", "twice"), max_size=6, unique=True))
    if how == "twice":
        names.insert(draw(st.integers(0, len(names))), draw(st.sampled_from(names)))
    values: list[object] = [draw(_values) for _ in names]
    if how == "value":
        values[draw(st.integers(0, len(values) - 1))] = draw(_odd_values)
    items = [_item(draw(st.integers(0, 2**64 - 1)), draw(st.binary(max_size=24)), name, value)
             for name, value in zip(names, values, strict=True)]  # fmt: skip
    unprotected = draw(st.sampled_from([{}, {33: draw(st.binary(max_size=40))}]
                                       + ([{33: [b"cert"]}, {33: b"c", 1: 2}] if how == "x5chain" else [])))  # fmt: skip
    auth = [draw(st.binary(max_size=20)), unprotected, draw(st.binary(max_size=80)), draw(st.binary(max_size=70))]
    signature = draw(st.binary(min_size=63, max_size=65) if how == "signature" else st.binary(min_size=64, max_size=64))
    return _response(items, auth, signature, draw(st.integers(0, 1)) if how == "status" else 0)


def _mangle(data: bytes, draw: st.DrawFn) -> bytes:
    out = bytearray(data)
    at = draw(st.integers(0, len(out) - 1))
    how = draw(st.sampled_from(["set", "cut", "insert"]))
    if how == "set":
        out[at] = draw(st.integers(0, 255))
    elif how == "cut":
        del out[at : at + draw(st.integers(1, 8))]
    else:
        out[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(out)


@st.composite
def _mangled(draw: st.DrawFn) -> bytes:
    """A response with one byte changed, a piece cut out or bytes put in."""
    return _mangle(draw(_responses()), draw)


def _general_reading(data: bytes) -> object:
    """What the general path reads from `data` (mdoc._loads, IssuerSigned.parse), in the fast
    reader's form, or the refusal's reason."""
    try:
        doc = mdoc._loads(data, "mdoc response")["documents"][0]
        signed = mdoc.IssuerSigned.parse(doc["issuerSigned"])
        signature = doc["deviceSigned"]["deviceAuth"]["deviceSignature"][3]
    except PresentationError as exc:
        return exc.reason
    return signed.issuer_auth, signed.rows(), signature


@over_implementations
@settings(max_examples=400, deadline=None)
@given(data=_responses())
def test_device_response_reads_citycard_responses_as_the_general_path(impl: ModuleType, data: bytes) -> None:
    read = impl.device_response(data)
    assert read is not None
    # repr: True is not 1, a date not its text
    assert repr(read) == repr(_general_reading(data))


@over_implementations
@settings(max_examples=400, deadline=None)
@given(data=_mangled() | _responses(odd=True))
def test_device_response_reads_nothing_the_general_path_reads_otherwise(impl: ModuleType, data: bytes) -> None:
    read = impl.device_response(data)
    if read is not None:
        assert repr(read) == repr(_general_reading(data))


@over_implementations
def test_device_response_leaves_other_shapes_to_the_general_path(impl: ModuleType) -> None:
    auth = [b"\xa1\x01\x26", {}, b"payload", b"s" * 64]
    good = _response([_item(1, b"r", "photo", b"jpeg")], auth, b"d" * 64)
    assert impl.device_response(good) is not None
    twice = _response([_item(1, b"r", "photo", b"a"), _item(2, b"r", "photo", b"b")], auth, b"d" * 64)
    assert _general_reading(twice) is PresentationReason.REPEATED_DISCLOSURE
    for odd in (
        twice,
        _response([_item(1, b"r", "birth_date", cbor2.CBORTag(1004, "2023-02-29"))], auth, b"d" * 64),
        _response([_item(-1, b"r", "photo", b"a")], auth, b"d" * 64),
        _response([_item(1, b"r", "photo", None)], auth, b"d" * 64),
        _response([], [auth[0], {33: [b"c"]}, *auth[2:]], b"d" * 64),
        _response([], auth, b"d" * 63),
        _response([], auth, b"d" * 64, status=10),
        good + b"\x00", good[:-1], bytearray(good), good.decode("latin-1"), None,
        cbor2.dumps({k: v for k, v in reversed(cbor2.loads(good).items())}),  # not canonical order
    ):  # fmt: skip
        assert impl.device_response(odd) is None
    assert impl.device_response(_response([_item(1, b"r", "n", "x" * (64 * 1024))], auth, b"")) is None


@needs_compiled
@settings(max_examples=600, deadline=None)
@given(data=_mangled() | _responses(odd=True) | st.binary(max_size=300) | st.none() | st.text(max_size=8))
def test_device_response_both_implementations_agree(data: object) -> None:
    assert repr(_compiled.device_response(data)) == repr(_fastpath_py.device_response(data))


# -- verdicts with the fast reader and without -------------------------------------------------

_ASKED = ("photo", "birth_date", "family_name", "given_name", "languages", "age_over_18",
          "entitlement:pool", "entitlement:library")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _Venue:
    verifier: Verifier
    request: VenueRequest
    answer: bytes
    other_answer: bytes  # another card's, to the same request


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> _Venue:
    holder = Holder("demo", "Beispiel-Musterfrau", "Mira", date(1990, 1, 1), "X", ("library", "pool"),
                    ("de", "en"), None)  # fmt: skip
    issuer = Issuer.init(tmp_path_factory.mktemp("mdoc-fast") / "issuer", now=NOW)
    wallet = Wallet(issuer, holder)
    other = Wallet(issuer, dataclasses.replace(holder, given_name="Erika"))
    request = VenueRequest.new("pool", _ASKED, NOW + 30)
    return _Venue(wallet.verifier(), request, present_mdoc(wallet.mdoc, request, wallet.device),
                  present_mdoc(other.mdoc, request, other.device))  # fmt: skip


def _edits(answer: bytes, other: bytes) -> Iterator[Callable[[Any], object]]:
    """Edits of a decoded response that keep citycard's shape (the fast reader takes them)."""
    theirs = cbor2.loads(other)["documents"][0]["issuerSigned"]

    def spaces(doc: Any) -> list[cbor2.CBORTag]:
        items: list[cbor2.CBORTag] = doc["documents"][0]["issuerSigned"]["nameSpaces"][mdoc.NAMESPACE]
        return items

    def reitem(doc: Any, at: int, **changes: object) -> None:
        items = spaces(doc)
        item = cbor2.loads(items[at % len(items)].value)
        item.update(changes)
        items[at % len(items)] = cbor2.CBORTag(24, _dumps(item))

    def id_of_previous(doc: Any, at: int) -> None:
        reitem(doc, at, digestID=cbor2.loads(spaces(doc)[at - 1].value)["digestID"])

    yield lambda doc: spaces(doc).append(spaces(doc)[0])  # an element twice
    yield lambda doc: spaces(doc).pop(2)
    yield lambda doc: spaces(doc).reverse()
    yield lambda doc: spaces(doc).append(theirs["nameSpaces"][mdoc.NAMESPACE][0])
    yield lambda doc: doc["documents"][0]["issuerSigned"].update(issuerAuth=theirs["issuerAuth"])
    yield lambda doc: doc["documents"][0]["issuerSigned"]["issuerAuth"][1].update({33: b"not a certificate"})
    yield lambda doc: doc["documents"][0]["issuerSigned"]["issuerAuth"].__setitem__(3, bytes(64))
    yield lambda doc: doc["documents"][0]["deviceSigned"]["deviceAuth"]["deviceSignature"].__setitem__(3, bytes(64))
    for at in range(4):
        yield partial(id_of_previous, at=at)
        yield partial(reitem, at=at, elementIdentifier="nickname")
        yield partial(reitem, at=at, elementIdentifier=_NAMES[at])
        yield partial(reitem, at=at, elementValue=[at])
        yield partial(reitem, at=at, elementValue=cbor2.CBORTag(1004, "1990-01-01"))
        yield partial(reitem, at=at, random=b"")


def _outcome(venue: _Venue, data: bytes | str, reader: Callable[[object], object]) -> PresentationResult:
    patch = pytest.MonkeyPatch()
    patch.setattr(mdoc, "fast_response", reader)
    try:
        return verify_wallet(venue.verifier, data, venue.request, NOW + 60)
    finally:
        patch.undo()


def _same_with_and_without(venue: _Venue, impl: ModuleType, data: bytes | str) -> PresentationResult:
    fast = _outcome(venue, data, impl.device_response)
    assert fast == _outcome(venue, data, lambda _data: None)
    return fast


@over_implementations
def test_verdicts_of_edited_responses_are_the_general_paths(venue: _Venue, impl: ModuleType) -> None:
    assert impl.device_response(venue.answer) is not None
    valid = _same_with_and_without(venue, impl, venue.answer)
    assert valid.verdict is Verdict.VALID and len(valid.claims or ()) >= 5
    qr = response_qr(venue.answer, venue.request)  # the QR's DeviceResponse is read the same way
    assert _same_with_and_without(venue, impl, qr).verdict is Verdict.VALID
    reasons, taken = set(), 0
    for edit in _edits(venue.answer, venue.other_answer):
        doc = cbor2.loads(venue.answer)
        edit(doc)
        data = _dumps(doc)
        taken += impl.device_response(data) is not None
        reasons.add(_same_with_and_without(venue, impl, data).reason)
    assert taken >= 15  # most edits keep the shape: the fast reader's verdicts are compared
    assert len(reasons) >= 6, reasons  # and they reach several refusals


@st.composite
def _mangled_of(draw: st.DrawFn, answer: bytes) -> bytes:
    return _mangle(answer, draw)


@over_implementations
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_verdicts_of_mangled_responses_are_the_general_paths(
    venue: _Venue, impl: ModuleType, data: st.DataObject
) -> None:
    _same_with_and_without(venue, impl, data.draw(_mangled_of(venue.answer)))


# -- the lean verify of citycard's own shape (presentation._verify_mdoc_fast) ------------------


def _requests(venue: _Venue) -> dict[str, tuple[VenueRequest, float]]:
    """The venue's request and others the same answer meets, with the venue's time."""
    r = venue.request
    return {
        "its request": (r, NOW + 60),
        "asked for more": (dataclasses.replace(r, items=(*r.items, "given_name")), NOW + 60),
        "asked for less": (dataclasses.replace(r, items=r.items[:2]), NOW + 60),
        "another nonce": (dataclasses.replace(r, nonce="A" * 22), NOW + 60),
        "another venue": (dataclasses.replace(r, venue="library"), NOW + 60),
        "answered too late": (r, r.issued_at + 3600),
        "request from the future": (dataclasses.replace(r, issued_at=NOW + 7200), NOW + 60),
    }


@over_implementations
@pytest.mark.parametrize("form", ["bytes", "qr"])
def test_the_lean_verify_gives_the_general_paths_verdict(venue: _Venue, impl: ModuleType, form: str) -> None:
    """It decides an answer whose binding to the request holds, with the general path's
    verdict (what was asked against what was shared is decided by the _conclude both use), and
    leaves every answer whose binding has a problem to the general path."""
    decided = set()
    for name, (request, when) in _requests(venue).items():
        data: bytes | str = venue.answer if form == "bytes" else response_qr(venue.answer, venue.request)
        general = _general_verdict(venue, data, request, when)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mdoc, "fast_response", impl.device_response)
            parsed = presentation._parse(data)
            lean = presentation._verify_mdoc_fast(venue.verifier, parsed.response, parsed.claimed, request, when)
            assert verify_wallet(venue.verifier, data, request, when) == general, name
        assert lean is None or lean == general, name
        if lean is not None:
            decided.add(name)
    # the binding's problems (nonce, venue, time) are the general path's to name
    assert decided == {"its request", "asked for more", "asked for less"}, decided


def _general_verdict(venue: _Venue, data: bytes | str, request: VenueRequest, when: float) -> PresentationResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mdoc, "fast_response", lambda _data: None)
        return verify_wallet(venue.verifier, data, request, when)


@over_implementations
def test_the_lean_verify_leaves_a_certificate_to_the_general_path(venue: _Venue, impl: ModuleType) -> None:
    """A document-signer certificate beside issuerAuth is compared with the signing key by the
    general path only."""
    doc = cbor2.loads(venue.answer)
    auth = doc["documents"][0]["issuerSigned"]["issuerAuth"]
    read = impl.device_response(venue.answer)
    assert read is not None and read[0][1] == {}  # the answer as the wallet sends it: none
    auth[1] = {33: b"0\x82"}
    edited = impl.device_response(_dumps(doc))
    assert edited is not None
    assert presentation._verify_mdoc_fast(venue.verifier, edited, None, venue.request, NOW + 60) is None
