"""The one-pass reader of an SD-JWT VC presentation (`sd_presentation`, cardio/_fastpath.c and
its Python twin cardio/_fastpath_sdjwt_py.py) and the verifier path that uses it.

It may only ever be faster: for every text, `verify_wallet` must give the same result with it
as without it (the general path, cardio.sdjwt and cardio.sdjwt_vc, then reads and decides).
The forgeries below are signed by the issuing key and the holder's key, so that the checks
after the signatures are what decides; random edits of a genuine answer cover the rest. The C
reader and its twin are held equal on all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.issuer.service import Issuer
from cardio import _fastpath_py, cose, fastpath, jws, presentation, sdjwt, sdjwt_vc, wallet_claims
from cardio.credential import ChipBinding, Credential, Holder
from cardio.jwk import b64u, from_jwk, public_jwk
from cardio.keys import Signer, SoftwareSigner, der_from_raw, p256_xy
from cardio.presentation import PresentationResult, VenueRequest, present_sdjwt, verify_wallet
from cardio.presentation_errors import PresentationError, PresentationReason
from cardio.published import load_verifier
from cardio.verdict import Verdict
from cardio.verify import EXPIRY_GRACE, Verifier

from .conftest import NOW, synthetic_photo
from .fastpath_impls import compiled as _compiled
from .fastpath_impls import needs_compiled, over_implementations

POOL = ("photo", "entitlement:pool")


@dataclass
class Card:
    verifier: Verifier
    kiosk: Signer
    device: SoftwareSigner
    sd_jwt: str  # as issued, every disclosure
    request: VenueRequest

    def answer(self, items: tuple[str, ...] = POOL) -> str:
        request = replace(self.request, items=items)
        return present_sdjwt(self.sd_jwt, request, self.device, request.issued_at + 5)


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Card:
    issuer = Issuer.init(tmp_path_factory.mktemp("sdp") / "issuer", now=NOW)
    holder = Holder("demo", "Beispiel-Musterfrau", "Mira", date(1990, 1, 1), "X", ("library", "pool"),
                    ("de", "en"), synthetic_photo())  # fmt: skip
    issued = issuer.issue(holder, date(2030, 12, 31), ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6")), now=NOW)
    issuer.publish(NOW)
    assert issued.chip_cose is not None
    cred = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
    kiosk = issuer.keystore.signer("kiosk-1")
    device = SoftwareSigner.generate()
    verifier, problems = load_verifier(issuer.dir, now=NOW)
    assert problems == []
    sd = sdjwt_vc.issue_vc(kiosk, cred, device.public_key).compact()
    return Card(verifier, kiosk, device, sd, VenueRequest.new("pool", POOL, NOW + 30))


def _general(card: Card, text: object, monkeypatch: pytest.MonkeyPatch) -> PresentationResult:
    with monkeypatch.context() as m:
        m.setattr(presentation, "_verify_sd_jwt_fast", lambda *_: None)
        return verify_wallet(card.verifier, text, card.request, NOW + 60)  # type: ignore[arg-type]


def _both_paths_agree(card: Card, text: str, monkeypatch: pytest.MonkeyPatch) -> PresentationResult:
    fast = verify_wallet(card.verifier, text, card.request, NOW + 60)
    assert fast == _general(card, text, monkeypatch)
    return fast


# -- forgeries signed by the real keys ------------------------------------------------------


@dataclass(frozen=True)
class Forgery:
    """Edits of the issuer's header and payload, of the disclosures, and of the KB-JWT, each
    re-signed with the key that signs it (another key for the two signature forgeries)."""

    header: Callable[[dict[str, Any]], None] = lambda h: None
    payload: Callable[[dict[str, Any]], None] = lambda p: None
    disclosures: Callable[[list[sdjwt.Disclosure]], list[sdjwt.Disclosure]] = lambda d: d
    kb: Callable[[dict[str, Any]], None] = lambda k: None
    kb_header: Callable[[dict[str, Any]], None] = lambda h: None
    issuer_key: Signer | None = None
    holder_key: Signer | None = None


def _forge(card: Card, f: Forgery) -> str:
    issued = sdjwt.SdJwt.parse(card.sd_jwt)
    token = jws.parse(issued.jwt)
    header = {k: v for k, v in token.header.items() if k != "alg"}
    payload = dict(token.payload)
    f.header(header)
    f.payload(payload)
    kept = [d for d in issued.disclosures if sdjwt_vc.item_of(d) in POOL]
    shown = f.disclosures(kept)
    jwt = jws.sign(f.issuer_key or card.kiosk, header, payload)
    signed = "".join([jwt, "~", *(d.encoded + "~" for d in shown)])
    kb_payload: dict[str, Any] = {"iat": card.request.issued_at + 5, "aud": card.request.venue,
                                  "nonce": card.request.nonce, "sd_hash": sdjwt.digest(signed)}  # fmt: skip
    kb_header: dict[str, Any] = {"typ": "kb+jwt"}
    f.kb(kb_payload)
    f.kb_header(kb_header)
    return signed + jws.sign(f.holder_key or card.device, kb_header, kb_payload)


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.update(values)


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(name)


def _disclose(name: str | None, value: Any) -> Callable[[list[sdjwt.Disclosure]], list[sdjwt.Disclosure]]:
    """The pool answer's disclosures plus one more, its digest added to the signed `_sd`."""
    return lambda ds: [*ds, sdjwt.Disclosure.new(name, value)]


def _signed_too(f: Forgery, name: str | None, value: Any) -> Forgery:
    """`f` with a disclosure of (name, value) that the issuer signed: its digest in `_sd` (or
    as an entitlements element)."""
    extra = sdjwt.Disclosure.new(name, value, salt="c2FsdHNhbHRzYWx0")

    def payload(p: dict[str, Any]) -> None:
        f.payload(p)
        if name is None:
            p["entitlements"] = [*p.get("entitlements", []), {"...": extra.digest}]
        else:
            p["_sd"] = [*p["_sd"], extra.digest]

    return replace(f, payload=payload, disclosures=lambda ds: [*f.disclosures(ds), extra])


OTHER_KEY = SoftwareSigner.generate()

FORGERIES: dict[str, Forgery] = {
    "genuine": Forgery(),
    "header typ jwt": Forgery(header=_set(typ="jwt")),
    "header kid upper case": Forgery(header=lambda h: h.update(kid=h["kid"].upper())),
    "header kid unknown": Forgery(header=_set(kid="00" * 8)),
    "header kid a number": Forgery(header=_set(kid=7)),
    "header without kid": Forgery(header=_drop("kid")),
    "sd_alg sha-512": Forgery(payload=_set(_sd_alg="sha-512")),
    "sd_alg missing": Forgery(payload=_drop("_sd_alg")),
    "sd_alg a list": Forgery(payload=_set(_sd_alg=["sha-256"])),
    "vct other": Forgery(payload=_set(vct="urn:other")),
    "vct missing": Forgery(payload=_drop("vct")),
    "status missing": Forgery(payload=_drop("status")),
    "status a list": Forgery(payload=_set(status=[1])),
    "status_list a string": Forgery(payload=_set(status={"status_list": "x"})),
    "idx negative": Forgery(payload=lambda p: p["status"]["status_list"].update(idx=-1)),
    "idx 2**40": Forgery(payload=lambda p: p["status"]["status_list"].update(idx=2**40)),
    "idx text": Forgery(payload=lambda p: p["status"]["status_list"].update(idx="5")),
    "idx true": Forgery(payload=lambda p: p["status"]["status_list"].update(idx=True)),
    "uri a number": Forgery(payload=lambda p: p["status"]["status_list"].update(uri=5)),
    "iss missing": Forgery(payload=_drop("iss")),
    "iss a number": Forgery(payload=_set(iss=5)),
    "iss another city": Forgery(payload=_set(iss="elsewhere")),
    "iat text": Forgery(payload=_set(iat="1790000000")),
    "exp past": Forgery(payload=_set(exp=NOW - EXPIRY_GRACE - 10)),
    "iat future": Forgery(payload=_set(iat=NOW + 86400)),
    "cnf missing": Forgery(payload=_drop("cnf")),
    "cnf a list": Forgery(payload=_set(cnf=[1])),
    "cnf without jwk": Forgery(payload=_set(cnf={"kid": "x"})),
    "jwk null": Forgery(payload=_set(cnf={"jwk": None})),
    "jwk with d": Forgery(payload=lambda p: p["cnf"]["jwk"].update(d="AAAA")),
    "jwk P-384": Forgery(payload=lambda p: p["cnf"]["jwk"].update(crv="P-384")),
    "jwk x not base64url": Forgery(payload=lambda p: p["cnf"]["jwk"].update(x="a+b=")),
    "jwk of another key": Forgery(payload=_set(cnf={"jwk": public_jwk(OTHER_KEY.public_key)})),
    # the reader hands over the holder key's coordinates, so it checks the JWK as from_jwk does
    "jwk kty OKP": Forgery(payload=lambda p: p["cnf"]["jwk"].update(kty="OKP")),
    "jwk crv missing": Forgery(payload=lambda p: p["cnf"]["jwk"].pop("crv")),
    "jwk x 31 bytes": Forgery(payload=lambda p: p["cnf"]["jwk"].update(x=b64u(b"\1" * 31))),
    "jwk y 33 bytes": Forgery(payload=lambda p: p["cnf"]["jwk"].update(y=b64u(b"\1" * 33))),
    "jwk y missing": Forgery(payload=lambda p: p["cnf"]["jwk"].pop("y")),
    "jwk y a number": Forgery(payload=lambda p: p["cnf"]["jwk"].update(y=5)),
    "jwk x not ASCII": Forgery(payload=lambda p: p["cnf"]["jwk"].update(x="é" * 43)),
    "jwk x unused bits set": Forgery(payload=lambda p: p["cnf"]["jwk"].update(x=p["cnf"]["jwk"]["x"][:-1] + "B")),
    "jwk point off the curve": Forgery(payload=_set(cnf={"jwk": {**public_jwk(OTHER_KEY.public_key), "y": b64u(b"\2" * 32)}})),
    "jwk with a kid": Forgery(payload=lambda p: p["cnf"]["jwk"].update(kid="holder-1")),
    "visible claim unknown": Forgery(payload=_set(nationality="xx")),
    "visible claim an item": Forgery(payload=_set(given_name="Mira")),
    "entitlements a dict": Forgery(payload=_set(entitlements={"a": 1})),
    "entitlements plain upper case": Forgery(payload=_set(entitlements=["Pool"])),
    "entitlements plain code": Forgery(payload=_set(entitlements=["gym"])),
    "entitlements plain 33 characters": Forgery(payload=_set(entitlements=["a" * 33])),
    "entitlements plain non-ASCII": Forgery(payload=_set(entitlements=["pööl"])),
    "entitlements missing": Forgery(payload=_drop("entitlements")),
    "_sd a string": Forgery(payload=_set(_sd="x")),
    "_sd holds a number": Forgery(payload=lambda p: p["_sd"].append(5)),
    "_sd names one digest twice": Forgery(payload=lambda p: p["_sd"].append(p["_sd"][0])),
    "disclosure repeated": Forgery(disclosures=lambda ds: [*ds, ds[0]]),
    "disclosure unsigned": Forgery(disclosures=_disclose("given_name", "Eve")),
    "disclosure dropped": Forgery(disclosures=lambda ds: ds[1:]),
    "no disclosures": Forgery(disclosures=lambda ds: []),
    "kb typ jwt": Forgery(kb_header=_set(typ="jwt")),
    "kb sd_hash other": Forgery(kb=_set(sd_hash=b64u(b"\0" * 32))),
    "kb sd_hash missing": Forgery(kb=_drop("sd_hash")),
    "kb nonce a number": Forgery(kb=_set(nonce=5)),
    "kb nonce other": Forgery(kb=_set(nonce="another")),
    "kb aud missing": Forgery(kb=_drop("aud")),
    "kb aud other": Forgery(kb=_set(aud="library")),
    "kb iat text": Forgery(kb=_set(iat="5")),
    "kb iat true": Forgery(kb=_set(iat=True)),
    "kb iat too late": Forgery(kb=_set(iat=NOW + 3600)),
    "kb signed by another key": Forgery(holder_key=OTHER_KEY),
    "issuer signed by another key": Forgery(issuer_key=OTHER_KEY),
}
SIGNED_DISCLOSURES: dict[str, tuple[str | None, Any]] = {
    "signed visible claim disclosed": ("iss", "demo-city"),
    "signed entitlements disclosed": ("entitlements", ["pool"]),
    "signed unknown item": ("nationality", "xx"),
    "signed photo a number": ("photo", 5),
    "signed photo cut": ("photo", "abc"),
    "signed name empty": ("given_name", ""),
    "signed name 101 characters": ("given_name", "a" * 101),
    "signed name 100 characters": ("given_name", "a" * 100),
    "signed languages of numbers": ("languages", [1]),
    "signed languages a string": ("languages", "de"),
    "signed age text": ("age_over_18", "yes"),
    "signed age true": ("age_over_65", True),
    "signed age 1": ("age_over_65", 1),
    "signed element a number": (None, 5),
    "signed element upper case": (None, "GYM"),
    "signed element gym": (None, "gym"),
    "signed element an object": (None, {"a": "b"}),
    "signed member as nested digests": ("sex", {"_sd": []}),
    "signed name overwrite": ("program", "other"),
}
for _name, (_claim, _value) in SIGNED_DISCLOSURES.items():
    FORGERIES[_name] = _signed_too(Forgery(), _claim, _value)
# an always-visible claim made disclosable instead (the issuer's own mistake, or a forger's)
FORGERIES["iss disclosable, not visible"] = _signed_too(Forgery(payload=_drop("iss")), "iss", "demo-city")
FORGERIES["status disclosable, not visible"] = _signed_too(
    Forgery(payload=_drop("status")), "status", {"status_list": {"idx": 1, "uri": "https://x.example/s"}})  # fmt: skip


@pytest.fixture(scope="module")
def forged(card: Card) -> dict[str, str]:
    return {name: _forge(card, f) for name, f in FORGERIES.items()}


def test_the_genuine_forgery_is_genuine(card: Card, forged: dict[str, str]) -> None:
    """The forging itself changes nothing when it edits nothing: each forgery differs from a
    genuine answer only by its edit."""
    res = verify_wallet(card.verifier, forged["genuine"], card.request, NOW + 60)
    assert res.verdict is Verdict.VALID, res
    assert res.claims is not None and set(res.claims) == {"format", "issued", "expires", "photo_base64",
                                                          "entitlements"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_verdict_is_the_general_paths(
    card: Card, forged: dict[str, str], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = _both_paths_agree(card, forged[name], monkeypatch)
    # each edit is refused, except those that change nothing a verifier checks and a holder
    # sharing less than was asked (which the result says)
    valid = ("genuine", "sd_alg missing", "disclosure dropped", "no disclosures", "jwk with a kid")
    assert (res.verdict is Verdict.VALID) == (name in valid), res


KEYED = {PresentationReason.UNKNOWN_KEY, PresentationReason.BAD_ISSUER_SIGNATURE,
         PresentationReason.BAD_KEY_BINDING}
"""What the reader leaves to its caller: the kid's form and key, the two signatures."""


@over_implementations
@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_reader_reads_only_what_the_general_path_accepts(
    impl: ModuleType, card: Card, forged: dict[str, str], name: str
) -> None:
    """Where the reader reads, the general readers find the same claims, or refuse for a
    reason that needs a key (or the holder's JWK, which the caller loads); where they refuse
    for anything else, the reader does not read."""
    read = impl.sd_presentation(forged[name])
    sd = sdjwt.SdJwt.parse(forged[name])
    try:
        claims, jwk = sdjwt_vc.read_vc(sd, presentation._issuer_key(card.verifier))
        kb = sdjwt.verify_key_binding(sd, jwk)
    except PresentationError as exc:
        if read is not None:
            holder_key = exc.reason is PresentationReason.MALFORMED and "holder key" in str(exc)
            assert exc.reason in KEYED or holder_key, (name, exc)
        return
    assert read is not None, name
    (kid, issuer_input, issuer_der, iss, iat, exp, idx, uri, disclosed, entitlements, holder_xy,
     kb_input, kb_der, nonce, aud, kb_iat) = read  # fmt: skip
    assert (bytes.fromhex(kid), iss, iat, exp, idx, uri, disclosed, entitlements, holder_xy) == (
        claims.kid, claims.issuer, claims.issued_at, claims.expires_at, claims.status_index,
        claims.status_uri, claims.disclosed, claims.entitlements, b"".join(p256_xy(from_jwk(jwk))))  # fmt: skip
    assert (nonce, aud, kb_iat) == (kb.nonce, kb.audience, kb.issued_at)
    issuer_token, kb_token = jws.parse(sd.jwt), jws.parse(sd.kb_jwt)
    assert (issuer_input, kb_input) == (issuer_token.signing_input, kb_token.signing_input)
    assert (issuer_der, kb_der) == (der_from_raw(issuer_token.signature), der_from_raw(kb_token.signature))


@over_implementations
@pytest.mark.parametrize("name", sorted(n for n in FORGERIES if n.startswith("jwk")))
def test_reader_hands_over_only_coordinates_from_jwk_reads(
    impl: ModuleType, forged: dict[str, str], name: str
) -> None:
    """The holder key leaves the reader as its 64 coordinate bytes, so the reader reads only a
    JWK that from_jwk reads; whether the point is on the curve stays the caller's load."""
    read = impl.sd_presentation(forged[name])
    if name in ("jwk of another key", "jwk with a kid", "jwk point off the curve"):
        assert read is not None and len(read[10]) == 64
    else:
        assert read is None


@needs_compiled
@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_both_implementations_agree_on_forgeries(forged: dict[str, str], name: str) -> None:
    assert _compiled.sd_presentation(forged[name]) == _fastpath_py.sd_presentation(forged[name])


def test_constants_are_the_verifiers() -> None:
    for impl in (_fastpath_py, *([_compiled] if _compiled is not None else [])):
        assert sdjwt_vc._VISIBLE == impl.SD_VISIBLE
        assert frozenset(wallet_claims.ITEMS) == impl.SD_ITEMS
    # vct, typ, kb+jwt and sha-256: the genuine answers are read, the forgeries of each are not


# -- answers as a wallet sends them --------------------------------------------------------


ITEM_SETS = [POOL, ("given_name", "entitlement:library"), ("age_over_18", "photo"), (),
             (*wallet_claims.ITEMS, "entitlement:pool", "entitlement:library")]  # fmt: skip


@pytest.mark.parametrize("items", ITEM_SETS, ids=lambda items: "+".join(items) or "nothing")
def test_genuine_answers_take_the_one_pass_and_say_what_the_general_path_says(
    card: Card, items: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = replace(card.request, items=items)
    text = card.answer(items)
    general = _general(replace(card, request=request), text, monkeypatch)
    if fastpath.IMPLEMENTATION == "c":
        # the general path's readers are not called at all
        monkeypatch.setattr(sdjwt_vc, "read_vc", _not_called)
        monkeypatch.setattr(sdjwt.SdJwt, "parse", _not_called)
    fast = verify_wallet(card.verifier, text, request, NOW + 60)
    assert fast == general
    assert fast.verdict is Verdict.VALID, fast


def _not_called(*_: object) -> None:
    raise AssertionError("the general path ran")


def test_qr_form_and_an_unbound_check_read_the_same(card: Card, monkeypatch: pytest.MonkeyPatch) -> None:
    text = card.answer()
    qr = presentation.response_qr(text, card.request)
    assert verify_wallet(card.verifier, qr, card.request, NOW + 60) == _general(card, text, monkeypatch)
    assert verify_wallet(card.verifier, text, None, NOW + 60) == _general(
        replace(card, request=None), text, monkeypatch)  # type: ignore[arg-type]  # fmt: skip


_EDIT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~=+/ é"


@st.composite
def _edited(draw: st.DrawFn, text: str) -> str:
    """A genuine answer with one edit: a character replaced, a span cut, or text put in."""
    at = draw(st.integers(0, len(text) - 1))
    kind = draw(st.sampled_from(["replace", "cut", "insert", "truncate"]))
    if kind == "replace":
        return text[:at] + draw(st.sampled_from(_EDIT_ALPHABET)) + text[at + 1 :]
    if kind == "cut":
        return text[:at] + text[at + draw(st.integers(1, 60)) :]
    if kind == "insert":
        return text[:at] + draw(st.text(_EDIT_ALPHABET, min_size=1, max_size=8)) + text[at:]
    return text[:at]


@pytest.fixture(scope="module")
def answers(card: Card) -> list[tuple[str, PresentationResult]]:
    """Two genuine answers with their verdicts, made once for every example."""
    texts = [card.answer(), card.answer(("given_name", "entitlement:library"))]
    return [(text, verify_wallet(card.verifier, text, card.request, NOW + 60)) for text in texts]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_edited_answers_get_the_general_paths_verdict(
    card: Card, answers: list[tuple[str, PresentationResult]], data: st.DataObject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for text, genuine in answers:
        edited = data.draw(_edited(text))
        res = _both_paths_agree(card, edited, monkeypatch)
        if edited != text:
            assert res.verdict is not Verdict.VALID or res.claims == genuine.claims
        if _compiled is not None:
            assert _compiled.sd_presentation(edited) == _fastpath_py.sd_presentation(edited)


@needs_compiled
@settings(max_examples=500, deadline=None)
@given(text=st.text(_EDIT_ALPHABET, max_size=80) | st.none() | st.binary(max_size=8) | st.integers())
def test_both_implementations_agree_on_anything(text: object) -> None:
    assert _compiled.sd_presentation(text) == _fastpath_py.sd_presentation(text)
