"""The compact credential of a 256-byte chip (profile `compact`): it fits with room to spare,
verifies like the others (signature, trust list, status by list id, validity, UID binding), and
says that staff must compare the name and photo printed on the card."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from api.issuer.service import Issuer
from cardio import cbor
from cardio.chip import COMPACT_NDEF_CAPACITY, CardProfile, compact_room_problem, compact_worst_case
from cardio.credential import (
    ChipBinding,
    Credential,
    Holder,
    Variant,
    compact_problem,
    sign_credential,
    to_qr,
)
from cardio.errors import MalformedError
from cardio.fastpath import ENTITLEMENT_CODES
from cardio.keys import SoftwareSigner
from cardio.published import load_verifier
from cardio.type4 import ndef_message
from cardio.verdict import Verdict
from cardio.verify import CHIP_NOT_CHECKED, COMPARE_PRINTED_CARD, EXPIRY_GRACE, Verifier
from kiosk.programs import Program, load_all

from .conftest import NOW

UID = bytes.fromhex("04A1B2C3D4E5F6")
# The longest issuer id the size promise covers: a city's id ("richmond", "demo-city") is
# shorter; the kiosk checks its own before it takes a card (KioskKeySigner.room_problem).
LONGEST_ISSUER_ID = "i" * 24
MARGIN = 15  # bytes the worst case leaves free on the chip, at least (utrecht-upas: 15)


def _programmes() -> dict[str, Program]:
    return load_all()


def _entitlements(program: Program) -> tuple[str, ...]:
    return tuple(e.code for e in program.entitlements)


def test_every_compact_programme_fits_a_256_byte_chip_with_room_to_spare() -> None:
    compact = {pid: p for pid, p in _programmes().items() if p.card.profile is CardProfile.COMPACT}
    assert {"richmond", "oakland", "new-haven", "nantes", "utrecht-upas"} <= compact.keys()
    for pid, program in compact.items():
        # the longest document number, UID, status list id and index the contract allows, every
        # entitlement of the programme, a 24-character issuer id
        worst = compact_worst_case(LONGEST_ISSUER_ID, pid, _entitlements(program))
        assert worst <= COMPACT_NDEF_CAPACITY - MARGIN, (pid, worst)


def test_the_programme_with_the_most_entitlements_would_fit_too() -> None:
    programmes = _programmes()
    most = max(programmes.values(), key=lambda p: len(p.entitlements))
    worst = compact_worst_case(LONGEST_ISSUER_ID, most.id, _entitlements(most))
    assert worst <= COMPACT_NDEF_CAPACITY - MARGIN, (most.id, worst)
    # all sixteen entitlements the CDDL allows with the longest programme id do not fit: the
    # kiosk says so before it takes a card (test_a_combination_that_cannot_fit_...)
    sixteen = ENTITLEMENT_CODES[-16:]
    assert compact_room_problem(LONGEST_ISSUER_ID, "p" * 32, sixteen) is not None


def test_every_programme_entitlement_has_a_compact_number() -> None:
    for program in _programmes().values():
        assert compact_problem(_entitlements(program)) is None, program.id


def test_the_worst_case_is_what_a_real_credential_of_that_shape_takes() -> None:
    key = SoftwareSigner.generate()
    holder = Holder("richmond", "Li", "Ana", date(1990, 1, 1), entitlements=ENTITLEMENT_CODES[:5])
    cred = Credential(
        LONGEST_ISSUER_ID, "X" * 24, 2**32 - 2, 2**32 - 1, 2**32 - 1,
        "https://cc.example/status/abcdefgh", holder, Variant.COMPACT,
        ChipBinding(uid=bytes(10), compact=True),
    )  # fmt: skip
    size = len(ndef_message(sign_credential(key, cred)))
    assert size == compact_worst_case(LONGEST_ISSUER_ID, "richmond", ENTITLEMENT_CODES[:5])


def test_a_combination_that_cannot_fit_is_refused_with_a_sentence() -> None:
    assert compact_room_problem("demo-city", "richmond", ("library",)) is None
    too_long = compact_room_problem("i" * 64, "p" * 32, ENTITLEMENT_CODES[-16:])
    assert too_long is not None and "cannot hold" in too_long and "254" in too_long
    unknown = compact_room_problem("demo-city", "demo", ("bowling",))
    assert unknown is not None and "'bowling'" in unknown


# -- verification ------------------------------------------------------------------------------


class CompactWorld:
    """An issuer, and a compact credential signed as a kiosk signs it."""

    def __init__(self, issuer: Issuer, holder: Holder) -> None:
        self.issuer = issuer
        self.kiosk = issuer.keystore.signer("kiosk-1")
        issued = issuer.issue(holder, date(2030, 12, 31), None, now=NOW)
        self.print_cred = issued.credential
        self.print_cose = issued.print_cose
        self.cred = replace(
            issued.credential, variant=Variant.COMPACT, binding=ChipBinding(uid=UID, compact=True)
        )
        self.cose = sign_credential(self.kiosk, self.cred)
        issuer.publish(NOW)

    def verifier(self) -> Verifier:
        verifier, problems = load_verifier(self.issuer.dir)
        assert problems == []
        return verifier


@pytest.fixture
def world(issuer: Issuer, holder: Holder) -> CompactWorld:
    return CompactWorld(issuer, holder)


def test_a_compact_credential_is_valid_and_sends_staff_to_the_printed_card(
    world: CompactWorld,
) -> None:
    res, cred = world.verifier().check_chip(world.cose, UID, None, NOW + 60)
    assert res.verdict is Verdict.VALID and cred is None
    assert res.warnings == (COMPARE_PRINTED_CARD,)
    assert "compare the name and photo printed on the card" in COMPARE_PRINTED_CARD
    assert res.claims == {
        "document_number": world.cred.document_number,
        "program": "demo",
        "entitlements": ["library", "pool"],
        "issued": "2026-09-21",
        "expires": "2030-12-31",
        "variant": "compact",
        "compare_printed_card": True,
    }
    assert len(ndef_message(world.cose)) <= COMPACT_NDEF_CAPACITY


def test_a_compact_credential_on_another_chip_is_a_clone(world: CompactWorld) -> None:
    res, _ = world.verifier().check_chip(world.cose, bytes.fromhex("04000000000001"), None, NOW + 60)
    assert res.verdict is Verdict.CLONE_SUSPECTED


def test_a_compact_credential_is_never_a_qr_code(world: CompactWorld) -> None:
    assert world.verifier().verify_qr(to_qr(world.cose), NOW + 60).verdict is Verdict.MALFORMED


def test_a_compact_credential_without_its_chip(world: CompactWorld) -> None:
    res = world.verifier().verify_without_chip(world.cose, NOW + 60)
    assert res.verdict is Verdict.VALID
    assert res.warnings == (CHIP_NOT_CHECKED, COMPARE_PRINTED_CARD)


def test_status_is_found_by_the_list_id(world: CompactWorld) -> None:
    index = world.cred.status_index
    world.issuer.set_status(index, "suspended")
    world.issuer.publish(NOW + 10)
    assert world.verifier().check_chip(world.cose, UID, None, NOW + 60)[0].verdict is Verdict.SUSPENDED
    world.issuer.set_status(index, "revoked")
    world.issuer.publish(NOW + 20)
    res = world.verifier().check_chip(world.cose, UID, None, NOW + 60)[0]
    assert res.verdict is Verdict.REVOKED
    # revocation wins over the binding and over expiry, as for the other variants
    assert world.verifier().check_chip(world.cose, b"\x04" * 7, None, NOW + 60)[0].verdict is (
        Verdict.REVOKED
    )
    after = world.cred.expires_at + 10
    assert world.verifier().check_chip(world.cose, UID, None, after)[0].verdict is Verdict.REVOKED


def test_time_issuer_and_missing_list(world: CompactWorld) -> None:
    verifier = world.verifier()
    assert verifier.check_chip(world.cose, UID, None, NOW - 3600)[0].verdict is Verdict.NOT_YET_VALID
    late = world.cred.expires_at + EXPIRY_GRACE
    assert verifier.check_chip(world.cose, UID, None, late)[0].verdict is Verdict.EXPIRED
    stale = NOW + 8 * 86400
    assert verifier.check_chip(world.cose, UID, None, stale)[0].verdict is Verdict.STALE_STATUS
    other = sign_credential(world.kiosk, replace(world.cred, issuer="other-city"))
    assert verifier.check_chip(other, UID, None, NOW + 60)[0].verdict is Verdict.WRONG_ISSUER
    # a list id the trust list names no URI for: no status list answers for it
    unknown = sign_credential(world.kiosk, replace(world.cred, status_uri="https://x/status/9"))
    res = verifier.check_chip(unknown, UID, None, NOW + 60)[0]
    assert res.verdict is Verdict.STATUS_UNAVAILABLE


def test_a_forged_compact_credential_is_refused(world: CompactWorld) -> None:
    stranger = sign_credential(SoftwareSigner.generate(), world.cred)
    assert world.verifier().check_chip(stranger, UID, None, NOW + 60)[0].verdict is (
        Verdict.UNKNOWN_KEY
    )
    tampered = bytearray(world.cose)
    tampered[-70] ^= 1  # a payload byte: the signature no longer holds
    assert world.verifier().check_chip(bytes(tampered), UID, None, NOW + 60)[0].verdict in (
        Verdict.BAD_SIGNATURE,
        Verdict.MALFORMED,
    )


def test_the_compact_form_carries_nothing_about_the_holder(world: CompactWorld) -> None:
    claims = world.cred.to_claims()
    assert set(claims) == {1, 4, 6, 7, -65537}
    assert set(claims[-65537]) == {0, 1, 7, 9, 10}
    encoded = cbor.dumps(claims)
    for personal in ("Beispiel-Musterfrau", "Mira"):
        assert personal.encode() not in encoded
    with pytest.raises(MalformedError, match="compact credential"):
        Credential.from_payload(encoded)


def test_a_compact_credential_needs_a_uid_and_no_photo(world: CompactWorld) -> None:
    with pytest.raises(MalformedError, match="UID"):
        replace(world.cred, binding=None)
    with pytest.raises(MalformedError, match="photo"):
        replace(world.cred, holder=replace(world.cred.holder, photo=b"\xff\xd8"))
    with pytest.raises(MalformedError, match="list id"):
        replace(world.cred, status_uri="https://x/status/UPPER")
    with pytest.raises(MalformedError, match="'bowling'"):
        replace(world.cred, holder=replace(world.cred.holder, entitlements=("bowling",)))
