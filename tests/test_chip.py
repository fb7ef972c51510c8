"""Personalise and read chips of every profile, in process (below the transport).

The same calls run through the real pcscd and nfcpy stacks in test_chip_stack.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import ndef
import pytest

from api.issuer.service import Issuer
from cardio.apdu import ApduProcessor
from cardio.chip import CardProfile, PersonalisationError, bind, personalise, read_card
from cardio.credential import MEDIA_TYPE, Holder
from cardio.errors import CardLockedError, CardRemovedError, CardTooSmallError, NotType4Error
from cardio.published import load_verifier
from cardio.type4 import NdefApplication
from cardio.verdict import Verdict
from cardio.verify import Verifier
from hardware.local import LocalConnection
from hardware.virtual_t4t import Faults, VirtualType4Card

from .conftest import NOW, synthetic_photo


@pytest.fixture
def verifier(issuer: Issuer) -> Verifier:
    issuer.publish(NOW)
    return load_verifier(issuer.dir)[0]


def _make(
    issuer: Issuer, holder: Holder, card: VirtualType4Card, profile: CardProfile, photo: bool = True
) -> bytes:
    conn = LocalConnection(card)
    binding = bind(conn, profile)
    h = replace(holder, photo=synthetic_photo(3072)) if photo and profile.photo_on_chip else holder
    issued = issuer.issue(h, chip_binding=binding, now=NOW)
    assert issued.chip_cose is not None
    issuer.publish(NOW)
    done = personalise(conn, issued.chip_cose)
    assert done.locked and done.uid == card.uid
    return issued.chip_cose


# A 256-byte compact chip (NTAG 424 DNA class) holds 254 bytes of NDEF: the 31-byte MIME record
# header leaves 223 bytes for the credential, enough for a short one (see docs/card-profiles.md).
SHORT = Holder("demo", "Ng", "Bo", date(1990, 1, 1))


@pytest.mark.parametrize("profile", [CardProfile.T4T, CardProfile.T4T_AUTH, CardProfile.COMPACT])
def test_personalise_then_read_is_valid(
    issuer: Issuer, holder: Holder, profile: CardProfile
) -> None:
    if profile is CardProfile.COMPACT:
        holder = SHORT
    card = VirtualType4Card(profile=profile.value)
    cose = _make(issuer, holder, card, profile)
    verifier = load_verifier(issuer.dir)[0]
    read = read_card(LocalConnection(card), verifier, NOW + 60)
    assert read.result.verdict is Verdict.VALID, read.result
    variant = "compact" if profile is CardProfile.COMPACT else "chip"  # no name on a compact chip
    assert read.result.claims is not None and read.result.claims["variant"] == variant
    assert ("photo_base64" in read.result.claims) == profile.photo_on_chip
    # any phone reads it: ndeflib parses the message into our one MIME record
    assert read.ndef is not None
    records = list(ndef.message_decoder(read.ndef))
    assert len(records) == 1 and records[0].type == MEDIA_TYPE and records[0].data == cose


def test_locked_card_cannot_be_rewritten(issuer: Issuer, holder: Holder) -> None:
    card = VirtualType4Card(profile="t4t")
    cose = _make(issuer, holder, card, CardProfile.T4T)
    with pytest.raises(CardLockedError):
        personalise(LocalConnection(card), cose)


@pytest.mark.parametrize("profile", [CardProfile.T4T, CardProfile.COMPACT])
def test_credential_copied_to_another_chip_is_a_clone(
    issuer: Issuer, holder: Holder, profile: CardProfile
) -> None:
    if profile is CardProfile.COMPACT:
        holder = SHORT
    original = VirtualType4Card(profile=profile.value)
    cose = _make(issuer, holder, original, profile)
    copy = VirtualType4Card(profile=profile.value)  # another UID
    personalise(LocalConnection(copy), cose)
    read = read_card(LocalConnection(copy), load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.verdict is Verdict.CLONE_SUSPECTED and read.result.claims is None


def test_auth_chip_copied_to_another_auth_chip_fails_the_challenge(
    issuer: Issuer, holder: Holder
) -> None:
    original = VirtualType4Card(profile="t4t-auth")
    cose = _make(issuer, holder, original, CardProfile.T4T_AUTH)
    copy = VirtualType4Card(profile="t4t-auth", uid=original.uid)  # even with the same UID
    conn = LocalConnection(copy)
    bind(conn, CardProfile.T4T_AUTH)  # the copy has a key of its own
    personalise(conn, cose)
    read = read_card(LocalConnection(copy), load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.verdict is Verdict.CLONE_SUSPECTED


def test_auth_chip_generates_its_key_once(holder: Holder) -> None:
    card = VirtualType4Card(profile="t4t-auth")
    bind(LocalConnection(card), CardProfile.T4T_AUTH)
    with pytest.raises(PersonalisationError, match="already be personalised"):
        bind(LocalConnection(card), CardProfile.T4T_AUTH)


def test_photo_does_not_fit_a_compact_chip(issuer: Issuer, holder: Holder) -> None:
    """The full chip credential with a photo is refused by a compact chip before a byte is
    written; what the issuer signs for a compact binding (no name, no photo) fits it."""
    card = VirtualType4Card(profile="compact")
    conn = LocalConnection(card)
    binding = bind(conn, CardProfile.COMPACT)
    with_photo = replace(holder, photo=synthetic_photo(3072))
    full = issuer.issue(with_photo, chip_binding=replace(binding, compact=False), now=NOW)
    assert full.chip_cose is not None
    with pytest.raises(CardTooSmallError):
        personalise(conn, full.chip_cose)
    compact = issuer.issue(with_photo, chip_binding=binding, now=NOW)
    assert compact.chip_cose is not None
    assert personalise(conn, compact.chip_cose).locked


def test_write_protected_and_foreign_cards(
    issuer: Issuer, holder: Holder, verifier: Verifier
) -> None:
    protected = VirtualType4Card(profile="t4t", faults=Faults(write_protected=True))
    issued = issuer.issue(
        holder, chip_binding=bind(LocalConnection(protected), CardProfile.T4T), now=NOW
    )
    assert issued.chip_cose is not None
    with pytest.raises(CardLockedError):
        personalise(LocalConnection(protected), issued.chip_cose)
    foreign = VirtualType4Card(profile="t4t", faults=Faults(not_type4=True))
    with pytest.raises(NotType4Error):
        personalise(LocalConnection(foreign), issued.chip_cose)
    assert (
        read_card(LocalConnection(foreign), verifier, NOW + 60).result.verdict is Verdict.MALFORMED
    )
    blank = VirtualType4Card(profile="t4t")
    assert read_card(LocalConnection(blank), verifier, NOW + 60).result.verdict is Verdict.MALFORMED


def test_corrupted_read_back_is_never_reported_personalised(issuer: Issuer, holder: Holder) -> None:
    card = VirtualType4Card(profile="t4t", faults=Faults(corrupt_reads=True))
    issued = issuer.issue(
        holder, chip_binding=bind(LocalConnection(card), CardProfile.T4T), now=NOW
    )
    assert issued.chip_cose is not None
    with pytest.raises(PersonalisationError, match="reject tray"):
        personalise(LocalConnection(card), issued.chip_cose)
    assert not card.locked


@pytest.mark.parametrize("pull_after", [1, 2, 3, 5, 9])
def test_card_pulled_mid_write(
    issuer: Issuer, holder: Holder, verifier: Verifier, pull_after: int
) -> None:
    card = VirtualType4Card(profile="t4t", faults=Faults(pull_after_writes=pull_after))
    issued = issuer.issue(
        replace(holder, photo=synthetic_photo(3072)),
        chip_binding=bind(LocalConnection(card), CardProfile.T4T),
        now=NOW,
    )
    assert issued.chip_cose is not None
    with pytest.raises(CardRemovedError):
        personalise(LocalConnection(card), issued.chip_cose)
    assert not card.locked
    card.reinsert()
    card.faults.pull_after_writes = None
    # the torn card never reads as a credential: empty (or its old content), never half a message
    torn = read_card(LocalConnection(card), verifier, NOW + 60)
    assert torn.result.verdict is Verdict.MALFORMED
    app = NdefApplication(ApduProcessor(LocalConnection(card)))
    app.select()
    assert app.read_ndef() == b""
    # personalising it again completes
    personalise(LocalConnection(card), issued.chip_cose)
    assert read_card(LocalConnection(card), verifier, NOW + 60).result.verdict is Verdict.VALID


def test_minimal_apdus_for_a_full_read(issuer: Issuer, holder: Holder) -> None:
    from cardio.type4 import minimum_read_apdus

    assert minimum_read_apdus(3321, 255) == 3 + 1 + 14  # 3 SELECTs, CC, ceil(3323 / 255)
    for extended in (False, True):
        card = VirtualType4Card(profile="t4t", extended=extended)
        cose = _make(issuer, holder, card, CardProfile.T4T)
        read = read_card(
            LocalConnection(card, extended_length=extended), load_verifier(issuer.dir)[0], NOW + 60
        )
        assert read.result.verdict is Verdict.VALID and read.ndef is not None
        chunk = 4096 if extended else 255  # the card's MLe (CC)
        # SELECT app, SELECT CC, READ CC, SELECT NDEF, then one READ BINARY per chunk
        assert read.apdus == minimum_read_apdus(len(read.ndef), chunk)
        assert len(cose) < len(read.ndef)


def test_print_profile_has_no_chip(issuer: Issuer) -> None:
    card = VirtualType4Card(profile="t4t")
    with pytest.raises(PersonalisationError):
        bind(LocalConnection(card), CardProfile.PRINT)


def test_born_before_1970_round_trips(issuer: Issuer) -> None:
    old = Holder("demo", "Vorbild", "Alma", date(1931, 2, 3))
    card = VirtualType4Card(profile="t4t")
    _make(issuer, old, card, CardProfile.T4T, photo=False)
    read = read_card(LocalConnection(card), load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.claims is not None and read.result.claims["birth_date"] == "1931-02-03"
