"""The wallet verifier's fast path and caches (docs/benchmarks.md, "Wallet presentations").

`b64u_decode`, `der_signature` and `b64encode` of cardio/_fastpath.c and cardio/_fastpath_py.py
are held to their readable references (`cardio.jwk.b64u_decode`, `cardio.keys.der_from_raw`,
`base64.b64encode`) and to each other, on well-formed and malformed input; `mso` to cbor2's reading of an MSO and, through
`mdoc._read_mso`, to the verdicts without it. The caches of what a presentation's issued part says
(keyed by its exact text or bytes) must never let another text pass, nor skip the issuer's key
and signature.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from types import ModuleType

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from api.issuer.service import Issuer
from cardio import _fastpath_py, jws, mdoc, sdjwt, sdjwt_vc
from cardio.credential import Holder
from cardio.errors import MalformedError
from cardio.jwk import b64u, b64u_decode
from cardio.keys import SoftwareSigner, der_from_raw, p256_xy
from cardio.presentation import VenueRequest, present_mdoc, present_sdjwt
from cardio.presentation_errors import PresentationError, PresentationReason
from cardio.verdict import Verdict

from .conftest import NOW
from .fastpath_impls import compiled as _compiled
from .fastpath_impls import needs_compiled, over_implementations
from .test_presentation import Wallet, pool_request

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# base64url texts, and texts with what a hostile token puts in them: padding, the standard
# alphabet's + and /, white space, non-ASCII, NUL
_texts = (
    st.text(_ALPHABET, max_size=40)
    | st.text(_ALPHABET + "+/= \n\t\x00é€\ud800", max_size=24)
    | st.text(max_size=24)
    | st.binary(max_size=200).map(b64u)
)


def _reference(text: object) -> bytes | None:
    try:
        return b64u_decode(text)
    except MalformedError:
        return None


@over_implementations
@settings(max_examples=600)
@given(text=_texts)
def test_b64u_decode_matches_the_reference(impl: ModuleType, text: str) -> None:
    assert impl.b64u_decode(text) == _reference(text)


@over_implementations
@given(data=st.binary(max_size=3000))
def test_b64u_decode_reads_back_what_b64u_wrote(impl: ModuleType, data: bytes) -> None:
    assert impl.b64u_decode(b64u(data)) == data


@over_implementations
def test_b64u_decode_refuses_every_non_canonical_last_character(impl: ModuleType) -> None:
    for prefix in ("", "QUJD"):
        for tail in (2, 3):
            for last in _ALPHABET:
                text = prefix + "A" * (tail - 1) + last
                value = _ALPHABET.index(last)
                canonical = not value & (0x0F if tail == 2 else 0x03)
                assert (impl.b64u_decode(text) is not None) is canonical, text
    for odd in (None, b"QUJD", 5, ["QUJD"], "QUJD=", "QUJ", "Q", "QUJD\n"):
        assert impl.b64u_decode(odd) == _reference(odd)


@over_implementations
@given(
    raw=st.binary(min_size=64, max_size=64)
    | st.tuples(st.integers(0, 31), st.integers(0, 31), st.binary(min_size=64, max_size=64)).map(
        lambda t: b"\x00" * t[0] + t[2][t[0] : 32] + b"\x00" * t[1] + t[2][32 + t[1] :]
    )
)
def test_der_signature_matches_the_reference(impl: ModuleType, raw: bytes) -> None:
    assert impl.der_signature(raw) == der_from_raw(raw)


@over_implementations
def test_der_signature_refuses_other_lengths_and_types(impl: ModuleType) -> None:
    for odd in (b"", b"\x01" * 63, b"\x01" * 65, bytearray(64), "x" * 64, None, 64):
        assert impl.der_signature(odd) is None
    assert impl.der_signature(b"\x00" * 64) == der_from_raw(b"\x00" * 64) == bytes.fromhex("3006020100020100")
    assert impl.der_signature(b"\xff" * 64) == der_from_raw(b"\xff" * 64)


@over_implementations
@given(data=st.binary(max_size=5000))
def test_b64encode_is_the_base64_modules(impl: ModuleType, data: bytes) -> None:
    assert impl.b64encode(data) == base64.b64encode(data).decode("ascii")


@over_implementations
def test_b64encode_takes_only_bytes(impl: ModuleType) -> None:
    for other in (bytearray(b"ab"), memoryview(b"ab"), "ab", None, 5):
        with pytest.raises(TypeError):
            impl.b64encode(other)


@needs_compiled
@settings(max_examples=600)
@given(value=_texts | st.binary(max_size=80) | st.none() | st.integers())
def test_both_implementations_agree(value: object) -> None:
    assert _compiled.b64u_decode(value) == _fastpath_py.b64u_decode(value)
    assert _compiled.der_signature(value) == _fastpath_py.der_signature(value)


# -- the caches of a presentation's issued part ---------------------------------------------


@pytest.fixture
def wallet(issuer: Issuer, holder: Holder) -> Wallet:
    return Wallet(issuer, holder)


def _sd_answer(wallet: Wallet, request: VenueRequest | None = None) -> str:
    return present_sdjwt(wallet.sd_jwt, request or pool_request(), wallet.device, NOW + 40)


def _issuer_lookup(key: ec.EllipticCurvePublicKey) -> Callable[[bytes], ec.EllipticCurvePublicKey]:
    return lambda _kid: key


def test_sdjwt_cache_still_checks_the_issuer_signature(wallet: Wallet) -> None:
    answer = sdjwt.SdJwt.parse(_sd_answer(wallet))
    good = _issuer_lookup(wallet.kiosk.public_key)
    claims, _ = sdjwt_vc.read_vc(answer, good)
    assert answer.signed in sdjwt_vc._read  # the issued part is now cached
    # the same text, but the trust list now gives another key for the kid: refused
    other = _issuer_lookup(SoftwareSigner.generate().public_key)
    with pytest.raises(PresentationError) as refused:
        sdjwt_vc.read_vc(answer, other)
    assert refused.value.reason is PresentationReason.BAD_ISSUER_SIGNATURE
    # and a key the trust list no longer has is unknown, cached or not
    def gone(_kid: bytes) -> ec.EllipticCurvePublicKey:
        raise PresentationError(PresentationReason.UNKNOWN_KEY)

    with pytest.raises(PresentationError) as unknown:
        sdjwt_vc.read_vc(answer, gone)
    assert unknown.value.reason is PresentationReason.UNKNOWN_KEY
    assert sdjwt_vc.read_vc(answer, good)[0] == claims


def test_sdjwt_edits_after_a_cached_verify_are_refused(wallet: Wallet) -> None:
    request = pool_request()
    answer = _sd_answer(wallet, request)
    assert wallet.check(answer, request).verdict is Verdict.VALID
    # the compiled pass reads a genuine answer without the caches; the general path, which
    # reads every edit below, caches what it read of the genuine one
    parsed = sdjwt.SdJwt.parse(answer)
    sdjwt_vc.read_vc(parsed, _issuer_lookup(wallet.kiosk.public_key))
    assert parsed.signed in sdjwt._parsed and parsed.signed in sdjwt_vc._read
    jwt, *disclosures, kb = answer.split("~")
    photo = max(disclosures, key=len)
    rest = [*(d for d in disclosures if d != photo), kb]
    # one character of the photo disclosure changed: its digest is no longer signed
    flipped = photo[:100] + ("A" if photo[100] != "A" else "B") + photo[101:]
    changed = wallet.check("~".join([jwt, flipped, *rest]), request)
    assert changed.verdict is not Verdict.VALID
    # a disclosure dropped after the holder signed: sd_hash no longer matches
    dropped = wallet.check("~".join([jwt, *rest]), request)
    assert dropped.reason is PresentationReason.DISCLOSURES_CHANGED
    # the issuer's signature changed in its last character
    head, body, sig = jwt.split(".")
    forged = ".".join([head, body, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BA")])
    bad = wallet.check("~".join([forged, photo, *rest]), request)
    assert bad.verdict is not Verdict.VALID
    assert wallet.check(answer, request).verdict is Verdict.VALID


def test_sdjwt_built_from_parts_never_reuses_a_parsed_text(wallet: Wallet) -> None:
    answer = sdjwt.SdJwt.parse(_sd_answer(wallet))
    assert answer.signed is not None and answer.without_key_binding() == answer.signed
    fewer = dataclasses.replace(answer, disclosures=answer.disclosures[1:])
    assert fewer.signed is None
    assert fewer.without_key_binding() == "".join(
        [answer.jwt, "~", *(d.encoded + "~" for d in answer.disclosures[1:])]
    )
    rebuilt = sdjwt.SdJwt(answer.jwt, answer.disclosures, answer.kb_jwt)
    assert rebuilt.without_key_binding() == answer.signed and rebuilt == answer


def test_mdoc_cache_still_checks_the_issuer_signature(wallet: Wallet) -> None:
    signed = mdoc.IssuerSigned.parse(wallet.mdoc)
    good = _issuer_lookup(wallet.kiosk.public_key)
    claims, _ = mdoc.read_issuer_signed(signed, good)
    assert signed.issuer_auth[2] in mdoc._mso_cache
    other = _issuer_lookup(SoftwareSigner.generate().public_key)
    with pytest.raises(PresentationError) as refused:
        mdoc.read_issuer_signed(signed, other)
    assert refused.value.reason is PresentationReason.BAD_ISSUER_SIGNATURE
    assert mdoc.read_issuer_signed(signed, good)[0] == claims


def test_mdoc_element_swapped_after_a_cached_verify_is_refused(wallet: Wallet) -> None:
    request = pool_request()
    answer = present_mdoc(wallet.mdoc, request, wallet.device)
    assert wallet.check(answer, request).verdict is Verdict.VALID  # MSO now cached
    # another card's photo element (a digest this MSO never signed) in this card's answer
    other = Wallet(wallet.issuer, dataclasses.replace(wallet.cred.holder, given_name="Erika"))
    theirs = mdoc.IssuerSigned.parse(other.mdoc)
    mine = mdoc.IssuerSigned.parse(wallet.mdoc)
    mixed = mdoc.IssuerSigned(
        {**mine.items, "photo": theirs.items["photo"]}, mine.issuer_auth,
        {**mine.elements, "photo": theirs.elements["photo"]},
    )  # fmt: skip
    swapped = mdoc.device_response(mixed, lambda item: item in request.items, wallet.device,
                                   request.transcript())  # fmt: skip
    result = wallet.check(swapped, request)
    assert result.reason is PresentationReason.UNSIGNED_DISCLOSURE


def test_caches_stay_bounded(wallet: Wallet) -> None:
    jwt = wallet.sd_jwt.split("~")[0]
    for i in range(sdjwt._CACHE_SIZE + 10):  # distinct issued parts, each read once
        sdjwt.SdJwt.parse(f"{jwt}~{sdjwt.Disclosure.new('n', i).encoded}~")
        assert len(sdjwt._parsed) <= sdjwt._CACHE_SIZE
    parsed = sdjwt.SdJwt.parse(f"{jwt}~{sdjwt.Disclosure.new('n', -1).encoded}~")
    assert sdjwt._parsed[parsed.without_key_binding()] == (parsed.jwt, parsed.disclosures)


# -- an mdoc's MSO read without cbor2 ---------------------------------------------------------

def _tdate(d: datetime) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


_tdates = st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)).map(_tdate)


_POINTS = [p256_xy(SoftwareSigner.generate().public_key) for _ in range(3)]
_points = st.sampled_from(_POINTS) | st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))


@st.composite
def _msos(draw: st.DrawFn) -> bytes:
    """issuerAuth payloads of MSOs in the shape mdoc.issue_mdoc writes, their parts drawn."""
    mso = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "docType": mdoc.DOCTYPE,
        "valueDigests": {mdoc.NAMESPACE: draw(st.dictionaries(st.integers(0, 2**64 - 1), st.binary(max_size=40), max_size=20))},
        "deviceKeyInfo": {"deviceKey": {1: 2, -1: 1, **dict(zip((-2, -3), draw(_points), strict=True))}},
        "validityInfo": {k: cbor2.CBORTag(0, draw(_tdates)) for k in ("signed", "validFrom", "validUntil")},
        "status": {"status_list": {"idx": draw(st.integers(0, 2**64 - 1)), "uri": draw(st.text(max_size=60))}},
    }  # fmt: skip
    return cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso, canonical=True)), canonical=True)


@st.composite
def _mangled_msos(draw: st.DrawFn) -> bytes:
    """An MSO payload with one byte changed, a piece cut out or bytes put in."""
    data = bytearray(draw(_msos()))
    at = draw(st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["set", "cut", "insert"]))
    if how == "set":
        data[at] = draw(st.integers(0, 255))
    elif how == "cut":
        del data[at : at + draw(st.integers(1, 8))]
    else:
        data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


def _cbor2_reading(payload: bytes) -> tuple[object, ...]:
    mso = cbor2.loads(cbor2.loads(payload).value)
    key = mso["deviceKeyInfo"]["deviceKey"]
    valid = mso["validityInfo"]
    status = mso["status"]["status_list"]
    return (mso["valueDigests"][mdoc.NAMESPACE], key[-2], key[-3],
            *(_tdate(valid[k]) for k in ("signed", "validFrom", "validUntil")),
            status["idx"], status["uri"])  # fmt: skip


@over_implementations
@settings(max_examples=300, deadline=None)
@given(payload=_msos())
def test_mso_reads_what_cbor2_reads(impl: ModuleType, payload: bytes) -> None:
    assert impl.mso(payload) == _cbor2_reading(payload)


@needs_compiled
@settings(max_examples=400, deadline=None)
@given(payload=_mangled_msos() | _msos() | st.binary(max_size=120) | st.none() | st.text(max_size=8))
def test_mso_both_implementations_agree(payload: object) -> None:
    assert _compiled.mso(payload) == _fastpath_py.mso(payload)


def _read_mso_outcome(payload: bytes) -> object:
    try:
        digests, key, *rest = mdoc._read_mso(payload)
    except PresentationError as exc:
        return exc.reason
    return (digests, key.public_numbers(), *rest)


@settings(max_examples=300, deadline=None)
@given(payload=_mangled_msos() | _msos())
def test_mso_fast_path_decides_as_cbor2_does(payload: bytes) -> None:
    """Whatever the fast path reads, _read_mso returns what it returns through cbor2 (the same
    values, or a refusal for the same reason): it can only be faster, never another verdict."""
    fast = _read_mso_outcome(payload)
    patch = pytest.MonkeyPatch()
    patch.setattr(mdoc.fastpath, "mso", lambda _payload: None)
    try:
        slow = _read_mso_outcome(payload)
    finally:
        patch.undo()
    assert fast == slow


# -- JSON in the form citycard writes, read in one pass ------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**19), 10**19) | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@st.composite
def _json_texts(draw: st.DrawFn) -> bytes:
    """JSON as citycard writes it, sometimes with a byte changed, cut or put in."""
    data = bytearray(jws.json_bytes(draw(_json_values)))
    if data and draw(st.booleans()):
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["set", "cut", "insert"]))
        if how == "set":
            data[at] = draw(st.sampled_from(b'{}[],:"\\ -0123456789.eEtrufalsn\x00\x1f\xc3\xa9\xff'))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 4))]
        else:
            data[at:at] = draw(st.sampled_from([b" ", b",", b'"a":1,', b"\\", b"{", b"]", b"\xed\xa0\x80"]))
    return bytes(data)


def _loads_outcome(data: bytes) -> str:
    try:
        return repr(jws.loads_json(data))  # repr: True is not 1, and members keep their order
    except MalformedError as exc:
        return f"refused: {exc}"


@over_implementations
@settings(max_examples=500, deadline=None)
@given(value=_json_values)
def test_json_reads_what_the_json_module_reads(impl: ModuleType, value: object) -> None:
    text = jws.json_bytes(value)
    read = impl.json(text)
    if read is not None:
        assert repr(read[0]) == repr(json.loads(text))


@over_implementations
def test_json_reads_citycard_tokens(impl: ModuleType) -> None:
    for value in ({"alg": "ES256", "typ": "kb+jwt"}, ["salt", "photo", "QUJD"], [],
                  {"a": [1, -2, True, False, None, {"b": "Müller 名"}]}, 123456789012345678, "x"):  # fmt: skip
        assert impl.json(jws.json_bytes(value)) == (value,)
    for odd in (b'{"a":1,"a":2}', b'{"a": 1}', b'"a\\u0041"', b"1.5", b"01", b"1234567890123456789",
                b"NaN", b"[1,]", b'{"a":1}x', b"", b'"\xed\xa0\x80"', b"[" * 33 + b"]" * 33):  # fmt: skip
        assert impl.json(odd) is None, odd
    assert impl.json(b"[" * 32 + b"]" * 32) is not None


@needs_compiled
@settings(max_examples=600, deadline=None)
@given(data=_json_texts() | st.binary(max_size=40) | st.none() | st.text(max_size=8))
def test_json_both_implementations_agree(data: object) -> None:
    assert repr(_compiled.json(data)) == repr(_fastpath_py.json(data))


@settings(max_examples=400, deadline=None)
@given(data=_json_texts())
def test_loads_json_decides_as_the_json_module_does(data: bytes) -> None:
    """jws.loads_json returns the same value, or refuses with the same message, with the fast
    path and without it."""
    fast = _loads_outcome(data)
    patch = pytest.MonkeyPatch()
    patch.setattr(jws.fastpath, "json", lambda _data: None)
    try:
        slow = _loads_outcome(data)
    finally:
        patch.undo()
    assert fast == slow
