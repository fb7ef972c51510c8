"""An SD-JWT payload's digests replaced in one compiled walk (`unfold` of cardio/_fastpath.c and
of its twin cardio/_fastpath_wallet_py.py; docs/benchmarks.md, "Wallet presentations"), and
its JWS read in one pass (`jws`, held to cardio.jws.parse the same way, at the end).

`cardio.sdjwt._unfold` decides every refusal: the fast walk returns what it returns, and the
digests it used, whenever it does not refuse, and None whenever it does. Held here on payloads
and disclosures drawn with digests in every place RFC 9901 allows them and in places it does
not (named twice, decoys, reserved names, an element's disclosure for a member, overwrites).
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardio import _fastpath_py, fastpath, jws, sdjwt
from cardio.errors import MalformedError
from cardio.jwk import b64u, b64u_decode
from cardio.keys import SoftwareSigner
from cardio.presentation_errors import PresentationError

from .fastpath_impls import compiled as _compiled
from .fastpath_impls import needs_compiled, over_implementations

_member_names = st.sampled_from(["a", "x", "y", "z"])
_odd_member_names = _member_names | st.sampled_from(["...", "_sd_alg", "_sd"])
_disclosure_names = st.sampled_from([None, None, "a", "b", "c", "name", "given_name"])
_leaves = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)


class _Draw:
    """A payload and its disclosures, drawn together: a disclosure's value and the payload can
    reference the digests of the disclosures drawn before them."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw, self.disclosures = draw, list[sdjwt.Disclosure]()
        self.odd = draw(st.booleans())  # else mostly what a walk takes
        self.taken = set[str]()

    def digest(self, member: bool) -> object:
        if self.odd:
            known = [d.digest for d in self.disclosures]
            odd = st.sampled_from(["decoy", "", None, 7, ["x"]])
            return self.draw(st.sampled_from(known) | odd if known else odd)
        # each digest once, of a disclosure of the right kind (a walk then takes them all)
        fits = [d.digest for d in self.disclosures if (d.name is not None) is member and d.digest not in self.taken]
        chosen = self.draw(st.sampled_from([*fits, f"decoy {len(self.taken)}"]))
        self.taken.add(chosen)
        return chosen

    def tree(self, depth: int) -> Any:
        kind = self.draw(st.sampled_from(["leaf", "object", "array"] if depth < 4 else ["leaf"]))
        if kind == "leaf":
            return self.draw(_leaves)
        if kind == "object":
            names = _odd_member_names if self.odd else _member_names
            out = {self.draw(names): self.tree(depth + 1) for _ in range(self.draw(st.integers(0, 3)))}
            if self.draw(st.booleans()):
                out["_sd"] = [self.digest(True) for _ in range(self.draw(st.integers(0, 4)))]
            return out
        items: list[Any] = []
        for _ in range(self.draw(st.integers(0, 3))):
            how = self.draw(st.sampled_from(["tree", "digest", "digest", "digest and more"][: 4 if self.odd else 3]))
            if how == "tree":
                items.append(self.tree(depth + 1))
            else:
                items.append({"...": self.digest(False), **({"b": 1} if how == "digest and more" else {})})
        return items


@st.composite
def _payloads(draw: st.DrawFn) -> tuple[Any, dict[str, sdjwt.Disclosure]]:
    d = _Draw(draw)
    for _ in range(draw(st.integers(0, 5))):
        d.disclosures.append(sdjwt.Disclosure.new(draw(_disclosure_names), d.tree(2), salt="s"))
    node = d.tree(0) if draw(st.booleans()) else {"iss": "x", "_sd": [d.digest(True) for _ in range(3)],
                                                   "list": d.tree(1)}  # fmt: skip
    return node, {x.digest: x for x in d.disclosures}


def _general(node: Any, by_digest: dict[str, sdjwt.Disclosure]) -> tuple[str, set[str]] | None:
    used: set[str] = set()
    try:
        claims = sdjwt._unfold(node, by_digest, used, set())
    except PresentationError:
        return None
    return repr(claims), used


def _fast(impl: ModuleType, node: Any, by_digest: dict[str, sdjwt.Disclosure]) -> tuple[str, set[str]] | None:
    read = impl.unfold(node, by_digest)
    return None if read is None else (repr(read[0]), read[1])


@over_implementations
@settings(max_examples=600, deadline=None)
@given(drawn=_payloads())
def test_unfold_returns_what_the_general_walk_returns_and_refuses_what_it_refuses(
    impl: ModuleType, drawn: tuple[Any, dict[str, sdjwt.Disclosure]]
) -> None:
    node, by_digest = drawn
    if not isinstance(node, dict | list):
        assert impl.unfold(node, by_digest) is None
        return
    assert _fast(impl, node, by_digest) == _general(node, by_digest)


@over_implementations
def test_unfold_of_a_citycard_payload(impl: ModuleType) -> None:
    top, disclosures = sdjwt.conceal({"given_name": "Mira", "photo": "QUJD" * 50}, decoys=3)
    elements, more = sdjwt.conceal_elements(["pool", "library"])
    payload = {"iss": "x", "status": {"status_list": {"idx": 1, "uri": "u"}}, **top, "entitlements": elements}
    by_digest = {d.digest: d for d in [*disclosures, more[1]]}
    claims, used = impl.unfold(payload, by_digest)
    assert claims == {"iss": "x", "status": {"status_list": {"idx": 1, "uri": "u"}}, "entitlements": ["library"],
                      "given_name": "Mira", "photo": "QUJD" * 50}  # fmt: skip
    assert used == set(by_digest)
    for refused in ({**payload, "_sd": [*top["_sd"], top["_sd"][0]]},  # a digest twice
                    {**payload, "entitlements": [{"...": more[1].digest, "b": 1}]},
                    {**payload, "given_name": "Erika"},  # a disclosure would overwrite it
                    {**payload, "_sd": None}, {**payload, "nested": {"_sd_alg": "sha-256"}}):  # fmt: skip
        assert impl.unfold(refused, by_digest) is None
        assert _general(refused, by_digest) is None
    deep: Any = payload
    for _ in range(40):  # deeper than the fast walk goes: the general walk decides
        deep = {"a": deep}
    assert impl.unfold(deep, by_digest) is None and _general(deep, by_digest) is not None
    assert impl.unfold(payload, dict(by_digest.items()) | {"odd": 1}) is not None
    assert impl.unfold(payload, list(by_digest)) is None and impl.unfold("x", by_digest) is None


@needs_compiled
@settings(max_examples=600, deadline=None)
@given(drawn=_payloads())
def test_unfold_both_implementations_agree(drawn: tuple[Any, dict[str, sdjwt.Disclosure]]) -> None:
    node, by_digest = drawn
    assert _fast(_compiled, node, by_digest) == _fast(_fastpath_py, node, by_digest)


# -- a compact JWS read in one pass ---------------------------------------------------------------

_SIGNER = SoftwareSigner.generate()
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=6) | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_headers = st.dictionaries(st.sampled_from(["typ", "kid", "alg", "crit", "x"]), _json, max_size=3)


@st.composite
def _tokens(draw: st.DrawFn) -> str:
    """A JWS as jws.sign writes it (its header's members drawn, alg among them at times), or
    its parts' JSON written otherwise, or the token with a character changed, cut or put in."""
    header, payload = draw(_headers), draw(_json | st.dictionaries(st.text(max_size=5), _json, max_size=4))
    how = draw(st.sampled_from(["signed", "signed", "spaced", "mangled"]))
    if how == "spaced":
        head, body = (b64u(json.dumps(x).encode()) for x in ({"alg": "ES256", **header}, payload))
        return f"{head}.{body}.{b64u(bytes(64))}"
    token = jws.sign(_SIGNER, header, payload)  # type: ignore[arg-type]  # not an object: refused
    if how == "mangled":
        at = draw(st.integers(0, len(token) - 1))
        piece = draw(st.text(_ALPHABET + ".=+/ é", min_size=0, max_size=2))
        token = token[:at] + piece + token[at + draw(st.integers(0, 2)) :]
    return token


def _parsed(token: object) -> str:
    try:
        return repr(jws.parse(token))
    except MalformedError as exc:
        return f"refused: {exc}"


@over_implementations
@settings(max_examples=600, deadline=None)
@given(token=_tokens())
def test_jws_reads_what_jws_parse_reads(impl: ModuleType, token: str) -> None:
    read = impl.jws(token)
    patch = pytest.MonkeyPatch()
    patch.setattr(fastpath, "jws", lambda _token: None)
    try:
        general = _parsed(token)
    finally:
        patch.undo()
    if read is not None:
        assert repr(jws.Jws(*read)) == general
    assert _parsed(token) == general  # and jws.parse decides as it does without the reader


@over_implementations
def test_jws_reads_citycard_tokens(impl: ModuleType) -> None:
    for header, payload in (({"typ": "kb+jwt"}, {"nonce": "n", "aud": "pool", "iat": 1, "sd_hash": "x"}),
                            ({"typ": "dc+sd-jwt", "kid": "00" * 8}, {"iss": "Müller", "_sd": ["a", "b"]})):  # fmt: skip
        token = jws.sign(_SIGNER, header, payload)
        assert impl.jws(token) == (
            {"alg": "ES256", **header}, payload, token.rsplit(".", 1)[0].encode(), b64u_decode(token.rsplit(".", 1)[1])
        )  # fmt: skip
    good = jws.sign(_SIGNER, {}, {"a": 1})
    head, body, sig = good.split(".")
    array = f"{head}.{b64u(b'[1]')}.{sig}"
    for odd in (good + ".", f"{head}.{body}", f"{head}.{body}.{sig}A", f"{head} .{body}.{sig}", good.encode(), None,
                jws.sign(_SIGNER, {"alg": "none"}, {}), jws.sign(_SIGNER, {"crit": []}, {}),
                array, f"{b64u(b'[]')}.{body}.{sig}", f"{head}.{b64u(b' {}')}.{sig}"):  # fmt: skip
        assert impl.jws(odd) is None, odd


@needs_compiled
@settings(max_examples=600, deadline=None)
@given(token=_tokens() | st.text(_ALPHABET + ".", max_size=30) | st.none() | st.binary(max_size=8))
def test_jws_both_implementations_agree(token: object) -> None:
    assert repr(_compiled.jws(token)) == repr(_fastpath_py.jws(token))


# -- an SD-JWT's disclosures read in one pass ----------------------------------------------------

_names_or_none = st.none() | st.sampled_from(["photo", "given_name", "_sd", "...", "_sd_alg", ""]) | st.text(max_size=4)


@st.composite
def _issued_parts(draw: st.DrawFn) -> str:
    """`<JWT>~<disclosure>~...~` with drawn disclosures (some with salts, names or JSON no
    citycard disclosure has), sometimes with a character changed, cut or put in."""
    texts = []
    for _ in range(draw(st.integers(0, 4))):
        salt, name, value = draw(st.text(max_size=3) | st.integers()), draw(_names_or_none), draw(_json)
        parts = [salt, value] if name is None else [salt, name, value]
        how = draw(st.sampled_from(["compact", "compact", "spaced", "not an array"]))
        text = json.dumps(parts, separators=(",", ":") if how == "compact" else (", ", ": "), ensure_ascii=False)
        texts.append(b64u((text if how != "not an array" else json.dumps({"a": parts})).encode()))
    signed = "".join(["eyJ.e30.sig~", *(t + "~" for t in texts)])
    if draw(st.booleans()):
        at = draw(st.integers(0, len(signed) - 1))
        signed = signed[:at] + draw(st.text(_ALPHABET + "~=é", max_size=2)) + signed[at + draw(st.integers(0, 2)) :]
    return signed


def _issued_reading(signed: str) -> str:
    try:
        jwt, found = sdjwt._read_issued(signed)
    except MalformedError as exc:
        return f"refused: {exc}"
    return repr((jwt, [(d.encoded, d.salt, d.name, d.value) for d in found]))


@over_implementations
@settings(max_examples=400, deadline=None)
@given(signed=_issued_parts())
def test_disclosures_reads_what_sdjwt_reads(impl: ModuleType, signed: str) -> None:
    read = impl.disclosures(signed)
    patch = pytest.MonkeyPatch()
    patch.setattr(fastpath, "disclosures", lambda _signed: None)
    try:
        general = _issued_reading(signed)
    finally:
        patch.undo()
    if read is not None:
        assert repr(read) == general
    assert _issued_reading(signed) == general  # and SdJwt.parse decides as it does without it


@over_implementations
def test_disclosures_of_citycard_sd_jwts(impl: ModuleType) -> None:
    made = [sdjwt.Disclosure.new("photo", "QUJD" * 40), sdjwt.Disclosure.new(None, "pool"),
            sdjwt.Disclosure.new("languages", ["de", "en"])]  # fmt: skip
    signed = "".join(["eyJ.e30.sig~", *(d.encoded + "~" for d in made)])
    assert impl.disclosures(signed) == ("eyJ.e30.sig", [(d.encoded, d.salt, d.name, d.value) for d in made])
    assert impl.disclosures("eyJ.e30.sig~") == ("eyJ.e30.sig", [])
    too_many = "eyJ~" + (made[1].encoded + "~") * (sdjwt.MAX_DISCLOSURES + 1)
    for odd in (signed[:-1], signed + "~", signed.replace("~", "~~", 1), too_many, signed.encode(), None,
                "eyJ~" + sdjwt.Disclosure.new("_sd", 1).encoded + "~", "eyJ~" + b64u(b'["", "a", 1]') + "~"):  # fmt: skip
        assert impl.disclosures(odd) is None
    assert impl.disclosures("eyJ~" + (made[1].encoded + "~") * sdjwt.MAX_DISCLOSURES) is not None


@needs_compiled
@settings(max_examples=600, deadline=None)
@given(signed=_issued_parts() | st.text(_ALPHABET + "~.", max_size=30) | st.none())
def test_disclosures_both_implementations_agree(signed: object) -> None:
    assert repr(_compiled.disclosures(signed)) == repr(_fastpath_py.disclosures(signed))
