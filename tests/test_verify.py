"""Verification verdicts, including the hostile-input corpus: every case has its verdict."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.issuer.service import Issuer
from cardio import cbor, cose
from cardio.credential import (
    CLAIM_CARD,
    ChipBinding,
    Credential,
    Holder,
    Variant,
    from_qr,
    sign_credential,
    to_qr,
)
from cardio.errors import MalformedError, StatusListError, TrustListError, TrustListRollbackError
from cardio.keys import SoftwareSigner
from cardio.published import load_verifier
from cardio.statuslist import StatusList, sign_token
from cardio.trustlist import KeyState, TrustCache, parse_trust_list, sign_trust_list
from cardio.verdict import Verdict
from cardio.verify import CHIP_NOT_CHECKED, EXPIRY_GRACE, Policy, Verifier

from .conftest import NOW, synthetic_photo


class World:
    """An issuer with one issued card, and a verifier over its published files."""

    def __init__(self, issuer: Issuer, holder: Holder) -> None:
        self.issuer = issuer
        self.kiosk = issuer.keystore.signer("kiosk-1")
        self.issued = issuer.issue(
            holder, date(2030, 12, 31), ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6")), now=NOW
        )
        issuer.publish(NOW)
        self.cred = self.issued.credential

    def verifier(self, policy: Policy | None = None) -> Verifier:
        verifier, problems = load_verifier(self.issuer.dir, policy=policy)
        assert problems == []
        return verifier

    def verdict(self, data: bytes, now: float = NOW + 60) -> Verdict:
        return self.verifier().verify(data, now).verdict

    def resign(
        self, payload: bytes, headers: dict[int, object] | None = None, signer: object = None
    ) -> bytes:
        """Sign arbitrary payload bytes with a (by default trusted) kiosk key."""
        signer = signer or self.kiosk
        protected = cbor.dumps(headers or {1: -7, 4: signer.kid})  # type: ignore[attr-defined]
        sig = signer.sign(cose.sig_structure(protected, payload))  # type: ignore[attr-defined]
        return cbor.dumps(cbor2.CBORTag(18, [protected, {}, payload, sig]))


@pytest.fixture
def world(issuer: Issuer, holder: Holder) -> World:
    return World(issuer, holder)


def test_print_and_chip_credentials_are_valid(world: World) -> None:
    res = world.verifier().verify(world.issued.print_cose, NOW + 60)
    assert res.verdict is Verdict.VALID and res.message == "This card is valid."
    assert res.claims is not None and res.claims["family_name"] == "Beispiel-Musterfrau"
    assert res.claims["expires"] == "2030-12-31" and res.claims["variant"] == "print"
    assert world.issued.chip_cose is not None
    chip = world.verifier().verify(world.issued.chip_cose, NOW + 60, variant=Variant.CHIP)
    assert (
        chip.verdict is Verdict.VALID
        and chip.claims is not None
        and chip.claims["variant"] == "chip"
    )


def test_qr_round_trip(world: World) -> None:
    text = to_qr(world.issued.print_cose)
    assert text.startswith("CC1:") and from_qr(text) == world.issued.print_cose
    assert world.verifier().verify_qr(text, NOW + 60).verdict is Verdict.VALID
    assert world.verifier().verify_qr("HC1:" + text[4:], NOW + 60).verdict is Verdict.MALFORMED
    assert world.verifier().verify_qr("CC1:" + "a" * 10, NOW + 60).verdict is Verdict.MALFORMED


# Security review, finding 2: what a reader must not trim (docs/credential.md section 1.2).
UNTRIMMED = {
    "trailing newline": lambda t: t + "\n",
    "trailing CR LF": lambda t: t + "\r\n",
    "trailing CR": lambda t: t + "\r",
    "trailing tab": lambda t: t + "\t",
    "trailing NBSP": lambda t: t + "\u00a0",
    "trailing U+3000": lambda t: t + "\u3000",
    "leading newline": lambda t: "\n" + t,
    "newline after CC1:": lambda t: "CC1:\n" + t[4:],
    "NBSP after CC1:": lambda t: "CC1:\u00a0" + t[4:],
    "U+3000 after CC1:": lambda t: "CC1:\u3000" + t[4:],
    "space after CC1:": lambda t: "CC1: " + t[4:],
    "trailing space": lambda t: t + " ",
}


@pytest.mark.parametrize("change", sorted(UNTRIMMED))
def test_qr_text_is_read_exactly_as_written(world: World, change: str) -> None:
    text = UNTRIMMED[change](to_qr(world.issued.print_cose))
    if "space" not in change:  # a space is base45 data: it decodes, to other bytes
        with pytest.raises(MalformedError):
            from_qr(text)
    assert world.verifier().verify_qr(text, NOW + 60).verdict is Verdict.MALFORMED


def test_claims_shown_only_when_valid(world: World) -> None:
    res = world.verifier().verify(world.issued.print_cose, world.cred.expires_at + EXPIRY_GRACE)
    assert res.verdict is Verdict.EXPIRED and res.claims is None


def test_print_credential_is_small_for_a_typical_resident(issuer: Issuer) -> None:
    typical = Holder("demo", "Müller", "Anna", date(1985, 6, 15), "F", ("library", "pool"), ("de",))
    issued = issuer.issue(typical, now=NOW)
    assert len(issued.print_cose) <= 240


def test_chip_credential_with_3kb_photo_fits_4kb(issuer: Issuer, holder: Holder) -> None:
    photo = synthetic_photo(3072)
    issued = issuer.issue(
        replace(holder, photo=photo), chip_binding=ChipBinding(uid=b"\x04" * 7), now=NOW
    )
    assert issued.chip_cose is not None and len(issued.chip_cose) <= 4096
    decoded = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
    assert decoded.holder.photo == photo and decoded.binding == ChipBinding(uid=b"\x04" * 7)


def test_time_verdicts(world: World) -> None:
    # EXPIRED once the printed last day has ended everywhere: exp + 12 h (credential.md 4.4)
    gone = world.cred.expires_at + EXPIRY_GRACE
    assert world.verdict(world.issued.print_cose, gone) is Verdict.EXPIRED
    assert world.verdict(world.issued.print_cose, gone - 1) is not Verdict.EXPIRED
    assert world.verdict(world.issued.print_cose, world.cred.expires_at) is not Verdict.EXPIRED
    assert world.verdict(world.issued.print_cose, NOW - 3600) is Verdict.NOT_YET_VALID
    assert world.verdict(world.issued.print_cose, NOW - 60) is Verdict.VALID  # within clock skew


def test_revoked_and_suspended(world: World) -> None:
    world.issuer.set_status(world.issued.status_index, "suspended")
    world.issuer.publish(NOW + 10)
    assert world.verdict(world.issued.print_cose) is Verdict.SUSPENDED
    world.issuer.set_status(world.issued.status_index, "valid")
    world.issuer.publish(NOW + 20)
    assert world.verdict(world.issued.print_cose) is Verdict.VALID
    world.issuer.set_status(world.issued.status_index, "revoked")
    world.issuer.publish(NOW + 30)
    assert world.verdict(world.issued.print_cose) is Verdict.REVOKED
    # revocation wins over expiry: a stolen expired card still reads as revoked
    assert world.verdict(world.issued.print_cose, world.cred.expires_at + 10) is Verdict.REVOKED


def test_stale_and_missing_status(world: World) -> None:
    res = world.verifier().verify(world.issued.print_cose, NOW + 7200)
    assert res.verdict is Verdict.VALID and res.warnings  # past ttl: a warning only
    assert world.verdict(world.issued.print_cose, NOW + 8 * 86400) is Verdict.STALE_STATUS
    (world.issuer.dir / "public" / "status" / "1.cwt").unlink()
    assert world.verdict(world.issued.print_cose) is Verdict.STATUS_UNAVAILABLE


def test_wrong_issuer(world: World) -> None:
    other = replace(world.cred, issuer="other-city")
    assert world.verdict(sign_credential(world.kiosk, other)) is Verdict.WRONG_ISSUER


def test_revoked_kiosk_key(world: World) -> None:
    world.issuer.set_key_state("kiosk-1", KeyState.REVOKED)
    world.issuer.publish(NOW + 10)
    assert world.verdict(world.issued.print_cose) is Verdict.KEY_REVOKED


def test_credential_outside_kiosk_key_window(world: World) -> None:
    late = replace(world.cred, issued_at=NOW + 6 * 365 * 86400, expires_at=NOW + 7 * 365 * 86400)
    assert (
        world.verdict(sign_credential(world.kiosk, late), late.issued_at + 60)
        is Verdict.KEY_EXPIRED
    )


def test_retired_key_still_vouches_for_its_cards(world: World) -> None:
    world.issuer.set_key_state("kiosk-1", KeyState.RETIRED)
    world.issuer.publish(NOW + 10)
    assert world.verdict(world.issued.print_cose) is Verdict.VALID


# -- the hostile corpus -----------------------------------------------------------------------


def _payload(world: World) -> dict[int, object]:
    return cbor.loads_strict(cose.parse_sign1(world.issued.print_cose).payload)  # type: ignore[no-any-return]


def _deep(n: int) -> bytes:
    return b"\x81" * n + b"\x00"


def _dup_header(w: World) -> bytes:
    protected = b"\xa3\x01\x26\x04\x48" + w.kiosk.kid + b"\x01\x26"
    payload = cbor.dumps(_payload(w))
    sig = w.kiosk.sign(cose.sig_structure(protected, payload))
    return cbor.dumps(cbor2.CBORTag(18, [protected, {}, payload, sig]))


def _flip_payload(w: World) -> bytes:
    data = bytearray(w.issued.print_cose)
    i = data.index(b"Mira")
    data[i] ^= 0x01  # "Mira" -> "Lira": still valid CBOR, signature no longer matches
    return bytes(data)


CORPUS = {
    "empty": (lambda w: b"", Verdict.MALFORMED),
    "truncated by one": (lambda w: w.issued.print_cose[:-1], Verdict.MALFORMED),
    "truncated to half": (
        lambda w: w.issued.print_cose[: len(w.issued.print_cose) // 2],
        Verdict.MALFORMED,
    ),
    "trailing byte": (lambda w: w.issued.print_cose + b"\x00", Verdict.MALFORMED),
    "wrong tag (Mac0)": (lambda w: b"\xd1" + w.issued.print_cose[1:], Verdict.MALFORMED),
    "untagged": (lambda w: w.issued.print_cose[1:], Verdict.MALFORMED),
    "CWT tag around": (lambda w: b"\xd8\x3d" + w.issued.print_cose, Verdict.MALFORMED),
    "wrong alg ES384": (
        lambda w: w.resign(cbor.dumps(_payload(w)), {1: -35, 4: w.kiosk.kid}),
        Verdict.MALFORMED,
    ),
    "alg none": (
        lambda w: w.resign(cbor.dumps(_payload(w)), {1: "none", 4: w.kiosk.kid}),
        Verdict.MALFORMED,
    ),
    "alg unprotected": (
        lambda w: cbor.dumps(
            cbor2.CBORTag(18, [cbor.dumps({4: w.kiosk.kid}), {1: -7}, b"", b"\x00" * 64])
        ),
        Verdict.MALFORMED,
    ),
    "duplicate claim key": (
        lambda w: w.resign(b"\xa2\x01\x61\x61\x01\x61\x62"),
        Verdict.MALFORMED,
    ),
    "duplicate header key": (
        _dup_header,
        Verdict.MALFORMED,
    ),
    "indefinite-length claims map": (
        lambda w: w.resign(b"\xbf" + cbor.dumps(_payload(w))[1:] + b"\xff"),
        Verdict.MALFORMED,
    ),
    "indefinite outer array": (
        lambda w: b"\xd2\x9f" + w.issued.print_cose[2:] + b"\xff",
        Verdict.MALFORMED,
    ),
    "huge bstr length": (lambda w: b"\xd2\x84\x5b" + b"\xff" * 8, Verdict.MALFORMED),
    "huge array length": (
        lambda w: b"\xd2\x9b" + b"\x00\x00\x00\x10\x00\x00\x00\x00",
        Verdict.MALFORMED,
    ),
    "deep nesting outside": (lambda w: _deep(50_000), Verdict.MALFORMED),
    "deep nesting in claims": (lambda w: w.resign(_deep(10_000)), Verdict.MALFORMED),
    "non-minimal integer": (lambda w: w.resign(b"\xa1\x18\x01\x00"), Verdict.MALFORMED),
    "hidden claim (nationality)": (
        lambda w: w.resign(cbor.dumps({**_payload(w), 100: "XX"})),
        Verdict.MALFORMED,
    ),
    "hidden card field (birthplace)": (
        lambda w: w.resign(
            cbor.dumps({**_payload(w), CLAIM_CARD: {**_payload(w)[CLAIM_CARD], 42: "X"}})
        ),  # type: ignore[dict-item]
        Verdict.MALFORMED,
    ),
    "claims not a map": (lambda w: w.resign(cbor.dumps([1, 2, 3])), Verdict.MALFORMED),
    "wrong kid": (
        lambda w: w.resign(cbor.dumps(_payload(w)), {1: -7, 4: b"\x00" * 8}),
        Verdict.UNKNOWN_KEY,
    ),
    "unknown signer, own kid": (
        lambda w: w.resign(cbor.dumps(_payload(w)), signer=SoftwareSigner.generate()),
        Verdict.UNKNOWN_KEY,
    ),
    "unknown signer, trusted kid": (
        lambda w: w.resign(
            cbor.dumps(_payload(w)), {1: -7, 4: w.kiosk.kid}, _Impostor(w.kiosk.kid)
        ),
        Verdict.BAD_SIGNATURE,
    ),
    "signed by the status key": (
        lambda w: w.resign(cbor.dumps(_payload(w)), signer=w.issuer.keystore.signer("status-1")),
        Verdict.UNKNOWN_KEY,
    ),
    "flipped signature bit": (
        lambda w: w.issued.print_cose[:-1] + bytes([w.issued.print_cose[-1] ^ 1]),
        Verdict.BAD_SIGNATURE,
    ),
    "flipped payload bit": (lambda w: _flip_payload(w), Verdict.BAD_SIGNATURE),
    "over 64 KB": (lambda w: w.issued.print_cose + b"\x00" * 65536, Verdict.MALFORMED),
}


class _Impostor(SoftwareSigner):
    def __init__(self, kid: bytes) -> None:
        super().__init__(SoftwareSigner.generate()._key)
        self._kid = kid


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_corpus(world: World, case: str) -> None:
    make, expected = CORPUS[case]
    data = make(world)
    verifier = world.verifier()
    start = time.perf_counter()
    res = verifier.verify(data, NOW + 60)
    assert time.perf_counter() - start < 0.5
    assert res.verdict is expected, res
    assert res.claims is None
    assert res.message == expected.sentence


def test_non_bytes_input_is_malformed(world: World) -> None:
    assert world.verifier().verify("not bytes", NOW).verdict is Verdict.MALFORMED  # type: ignore[arg-type]


# -- trust list and status list attacks ---------------------------------------------------------


def test_rolled_back_trust_list_is_refused(world: World, tmp_path: Path) -> None:
    pub = world.issuer.dir / "public"
    old = (pub / "trust-list.cose").read_bytes()
    root = world.issuer.keystore.signer("root").public_key
    cache = TrustCache(root, tmp_path / "cache")
    cache.accept(old)
    world.issuer.set_key_state("kiosk-1", KeyState.REVOKED)
    world.issuer.publish(NOW + 10)
    newer = (pub / "trust-list.cose").read_bytes()
    assert cache.accept(newer).version == 2
    with pytest.raises(TrustListRollbackError):
        cache.accept(old)
    # a reader with a cache keeps using the newer list when the old one is put back
    (pub / "trust-list.cose").write_bytes(old)
    verifier, problems = load_verifier(pub, cache=tmp_path / "cache")
    assert problems and "older" in problems[0]
    assert verifier.verify(world.issued.print_cose, NOW + 60).verdict is Verdict.KEY_REVOKED
    # and the cache survives a restart
    assert TrustCache(root, tmp_path / "cache").current is not None


def test_equivocating_trust_list_is_refused(world: World) -> None:
    root_signer = world.issuer.keystore.signer("root")
    pub = world.issuer.dir / "public"
    cache = TrustCache(root_signer.public_key)
    current = cache.accept((pub / "trust-list.cose").read_bytes())
    twin = sign_trust_list(root_signer, replace(current, issued_at=current.issued_at + 1))
    with pytest.raises(TrustListRollbackError):
        cache.accept(twin)


def test_trust_list_signed_by_another_root(world: World) -> None:
    pub = world.issuer.dir / "public"
    other = SoftwareSigner.generate()
    current = parse_trust_list(
        (pub / "trust-list.cose").read_bytes(), world.issuer.keystore.signer("root").public_key
    )
    forged = sign_trust_list(other, replace(current, version=99))
    with pytest.raises(TrustListError, match="pinned city root key"):
        parse_trust_list(forged, world.issuer.keystore.signer("root").public_key)


def test_status_list_signed_by_wrong_key(world: World) -> None:
    verifier = Verifier(load_verifier(world.issuer.dir)[0].trust)
    uri = world.cred.status_uri
    revoked = StatusList(1 << 17, 2)
    revoked.set(world.cred.status_index, 1)
    for signer in (world.kiosk, SoftwareSigner.generate(), world.issuer.keystore.signer("root")):
        with pytest.raises(StatusListError):
            verifier.add_status_list(
                sign_token(signer, revoked, uri=uri, iat=NOW, ttl=3600, exp=None)
            )
    # with no acceptable status list the reader says so rather than VALID
    assert verifier.verify(world.issued.print_cose, NOW + 60).verdict is Verdict.STATUS_UNAVAILABLE


def test_older_status_list_is_refused(world: World) -> None:
    verifier = world.verifier()
    status_signer = world.issuer.keystore.signer("status-1")
    lst = StatusList(1 << 17, 2)
    with pytest.raises(StatusListError, match="older"):
        verifier.add_status_list(
            sign_token(
                status_signer, lst, uri=world.cred.status_uri, iat=NOW - 100, ttl=60, exp=None
            )
        )


FUTURE = 300 * 86400  # the review's status list: signed by the genuine key, 300 days ahead


def _status_token(world: World, iat: int, revoked: bool = False) -> bytes:
    lst = StatusList(1 << 17, 2)
    if revoked:
        lst.set(world.cred.status_index, 1)
    return sign_token(
        world.issuer.keystore.signer("status-1"),
        lst,
        uri=world.cred.status_uri,
        iat=iat,
        ttl=3600,
        exp=None,
    )


def test_status_list_dated_in_the_future_is_refused(world: World) -> None:
    """Security review, finding 1: a future-dated list must not block the genuine newer ones."""
    verifier = world.verifier()
    now = int(time.time())
    with pytest.raises(StatusListError, match="in the future"):
        verifier.add_status_list(_status_token(world, now + FUTURE))
    # within the clock skew it is accepted (a kiosk's clock may run a little ahead) ...
    verifier.add_status_list(_status_token(world, now + 200))
    # ... and the genuine revocation that follows is believed
    verifier.add_status_list(_status_token(world, now + 250, revoked=True))
    assert verifier.verify(world.issued.print_cose, now).verdict is Verdict.REVOKED
    # a reader loading published files refuses it too, and says so
    (world.issuer.dir / "public" / "status" / "1.cwt").write_bytes(
        _status_token(world, now + FUTURE)
    )
    loaded, problems = load_verifier(world.issuer.dir)
    assert len(problems) == 1 and "in the future" in problems[0]
    assert loaded.verify(world.issued.print_cose, now).verdict is Verdict.STATUS_UNAVAILABLE


def test_held_status_list_dated_in_the_future_never_blocks_a_genuine_one(world: World) -> None:
    """A list accepted while the reader's clock ran ahead is dropped once the clock is right."""
    verifier = world.verifier()
    now = int(time.time())
    verifier.add_status_list(_status_token(world, now + FUTURE), now=now + FUTURE)
    verifier.add_status_list(_status_token(world, now, revoked=True), now=now)
    assert verifier.verify(world.issued.print_cose, now).verdict is Verdict.REVOKED
    # a held list dated within the skew still refuses an older one
    with pytest.raises(StatusListError, match="older"):
        verifier.add_status_list(_status_token(world, now - 60), now=now)


def test_status_list_for_unlisted_uri_is_refused(world: World) -> None:
    verifier = world.verifier()
    status_signer = world.issuer.keystore.signer("status-1")
    with pytest.raises(StatusListError, match="does not name"):
        verifier.add_status_list(
            sign_token(
                status_signer,
                StatusList(8, 1),
                uri="https://evil.example/status/1",
                iat=NOW,
                ttl=60,
                exp=None,
            )
        )


# -- fuzzing ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_verifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Verifier, bytes]:
    issuer = Issuer.init(tmp_path_factory.mktemp("fuzz") / "issuer", now=NOW)
    holder = Holder("demo", "Fuzz", "Test", date(2000, 1, 1))
    issued = issuer.issue(holder, now=NOW)
    issuer.publish(NOW)
    return load_verifier(issuer.dir)[0], issued.print_cose


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=4096))
def test_fuzz_random_bytes_never_raise(fuzz_verifier: tuple[Verifier, bytes], data: bytes) -> None:
    verifier, _ = fuzz_verifier
    assert verifier.verify(data, NOW).verdict in {
        Verdict.MALFORMED,
        Verdict.UNKNOWN_KEY,
        Verdict.BAD_SIGNATURE,
    }


@settings(max_examples=300, deadline=None)
@given(pos=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_fuzz_mutated_credential_never_valid(
    fuzz_verifier: tuple[Verifier, bytes], pos: int, value: int
) -> None:
    verifier, good = fuzz_verifier
    data = bytearray(good)
    i = pos % len(data)
    if data[i] == value:
        return
    data[i] = value
    assert verifier.verify(bytes(data), NOW).verdict is not Verdict.VALID


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_fuzz_qr_text(fuzz_verifier: tuple[Verifier, bytes], text: str) -> None:
    verifier, _ = fuzz_verifier
    assert verifier.verify_qr(text, NOW).verdict is not Verdict.VALID


# -- chip binding -----------------------------------------------------------------------------

UID = bytes.fromhex("04A1B2C3D4E5F6")


def test_chip_bound_to_its_uid(world: World) -> None:
    assert world.issued.chip_cose is not None
    verifier = world.verifier()
    assert (
        verifier.check_chip(world.issued.chip_cose, UID, now=NOW + 60)[0].verdict is Verdict.VALID
    )
    copied = verifier.check_chip(
        world.issued.chip_cose, bytes.fromhex("04000000000001"), now=NOW + 60
    )
    assert copied[0].verdict is Verdict.CLONE_SUSPECTED and copied[0].claims is None


def test_chip_credential_without_its_chip_says_the_binding_was_not_checked(world: World) -> None:
    """Security review, finding 3: the rule `citycard-reader verify FILE` and `POST /verify`
    share. The verdict is that of the signature and claims; the warning says what is missing."""
    assert world.issued.chip_cose is not None
    verifier = world.verifier()
    res = verifier.verify_without_chip(world.issued.chip_cose, NOW + 60)
    assert res.verdict is Verdict.VALID and res.warnings[0] == CHIP_NOT_CHECKED
    assert "read the card itself" in CHIP_NOT_CHECKED
    expired = verifier.verify_without_chip(
        world.issued.chip_cose, world.cred.expires_at + EXPIRY_GRACE
    )
    assert expired.verdict is Verdict.EXPIRED and expired.warnings == (CHIP_NOT_CHECKED,)
    printed = verifier.verify_without_chip(world.issued.print_cose, NOW + 60)
    assert printed.verdict is Verdict.VALID and printed.warnings == ()
    tampered = world.issued.chip_cose[:-1] + bytes([world.issued.chip_cose[-1] ^ 1])
    forged = verifier.verify_without_chip(tampered, NOW + 60)
    assert forged.verdict is Verdict.BAD_SIGNATURE and forged.warnings == ()


def test_print_credential_on_a_chip_is_a_clone(world: World) -> None:
    res, _ = world.verifier().check_chip(world.issued.print_cose, UID, now=NOW + 60)
    assert res.verdict is Verdict.CLONE_SUSPECTED


def test_revocation_outranks_clone_suspicion(world: World) -> None:
    assert world.issued.chip_cose is not None
    world.issuer.set_status(world.issued.status_index, "revoked")
    world.issuer.publish(NOW + 10)
    res, _ = world.verifier().check_chip(world.issued.chip_cose, b"\x04" * 7, now=NOW + 60)
    assert res.verdict is Verdict.REVOKED


def test_chip_key_challenge(issuer: Issuer, holder: Holder) -> None:
    from cardio.chip_auth import AUTH_DOMAIN as CHIP_AUTH_PREFIX

    chip_key = SoftwareSigner.generate()
    issued = issuer.issue(holder, chip_binding=ChipBinding(key=chip_key.public_key), now=NOW)
    issuer.publish(NOW)
    verifier = load_verifier(issuer.dir)[0]
    assert issued.chip_cose is not None
    seen: list[bytes] = []

    def genuine(challenge: bytes) -> bytes:
        seen.append(challenge)
        return chip_key.sign(CHIP_AUTH_PREFIX + challenge)

    assert (
        verifier.check_chip(issued.chip_cose, b"\x08\x01\x02\x03", genuine, NOW + 60)[0].verdict
        is Verdict.VALID
    )
    assert (
        verifier.check_chip(issued.chip_cose, b"\x08\x01\x02\x03", genuine, NOW + 60)[0].verdict
        is Verdict.VALID
    )
    assert len(seen) == 2 and seen[0] != seen[1] and len(seen[0]) == 32  # fresh challenges

    impostor = SoftwareSigner.generate()
    forged = verifier.check_chip(
        issued.chip_cose,
        b"\x08\x01\x02\x03",
        lambda c: impostor.sign(CHIP_AUTH_PREFIX + c),
        NOW + 60,
    )
    assert forged[0].verdict is Verdict.CLONE_SUSPECTED
    replayed = verifier.check_chip(
        issued.chip_cose,
        b"\x08\x01\x02\x03",
        lambda c: chip_key.sign(CHIP_AUTH_PREFIX + seen[0]),
        NOW + 60,
    )
    assert replayed[0].verdict is Verdict.CLONE_SUSPECTED

    def broken(challenge: bytes) -> bytes:
        raise OSError("card left the field")

    assert (
        verifier.check_chip(issued.chip_cose, b"", broken, NOW + 60)[0].verdict
        is Verdict.CLONE_SUSPECTED
    )
    assert (
        verifier.check_chip(issued.chip_cose, b"", None, NOW + 60)[0].verdict
        is Verdict.CLONE_SUSPECTED
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("program", "demo\n"),
        ("languages", ["de\n"]),
        ("document_number", "DEV00000018\n"),
        ("variant", True),
    ],
)
def test_claims_with_smuggled_values_are_malformed(world: World, field: str, value: object) -> None:
    claims = _payload(world)
    card = dict(claims[CLAIM_CARD])  # type: ignore[call-overload]
    if field == "program":
        card[1] = value
    elif field == "languages":
        card[8] = value
    elif field == "variant":
        card[0] = value
    else:
        claims[7] = str(value).encode()
    claims[CLAIM_CARD] = card
    assert world.verdict(world.resign(cbor.dumps(claims))) is Verdict.MALFORMED
