"""Personalise and read through the real stacks: pcscd + vpcd, nfcpy's udp radio, the CLI.

The quality bar of the card I/O issue: nfcpy's own Type4Tag reads what our PC/SC writer wrote,
our PC/SC reader reads what nfcpy wrote, a torn write is caught by the read-back and the torn
card can be personalised again.
"""

from __future__ import annotations

import json
from dataclasses import replace

import ndef
import nfc
import nfc.tag.tt4
import pytest
from click.testing import CliRunner

from api.issuer.service import Issuer
from api.terminal.cli import main as reader_main
from cardio.chip import COMPACT_NDEF_CAPACITY, CardProfile, bind, personalise, read_card
from cardio.credential import MEDIA_TYPE, Holder
from cardio.errors import CardRemovedError
from cardio.nfc_backend import NfcConnection
from cardio.pcsc import PcscConnection
from cardio.published import load_verifier
from cardio.type4 import ndef_message
from cardio.verdict import Verdict
from cardio.verify import COMPARE_PRINTED_CARD
from hardware.local_issuer import IssuerAllocator
from hardware.nfc_udp import NfcUdpTarget
from hardware.virtual_t4t import Faults, VirtualType4Card
from tests.pcsc_fixtures import VpcdCards, requires_pcscd

from .conftest import NOW, synthetic_photo

pytestmark = [requires_pcscd]
READER = "Virtual PCD 00 00"


def _issue_for(
    issuer: Issuer, holder: Holder, conn: PcscConnection | NfcConnection, profile: CardProfile
) -> bytes:
    issued = issuer.issue(
        replace(holder, photo=synthetic_photo(3072)), chip_binding=bind(conn, profile), now=NOW
    )
    issuer.publish(NOW)
    assert issued.chip_cose is not None
    return issued.chip_cose


@pytest.mark.parametrize("profile", [CardProfile.T4T, CardProfile.T4T_AUTH])
def test_pcsc_writer_then_nfcpy_and_our_nfc_reader(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder, profile: CardProfile
) -> None:
    card = VirtualType4Card(profile=profile.value)
    vcard = vpcd_cards.attach(0, card)
    with PcscConnection.wait(READER, timeout=5) as conn:
        cose = _issue_for(issuer, holder, conn, profile)
        done = personalise(conn, cose)
    assert done.locked and done.uid == card.uid
    vpcd_cards.remove(vcard)  # the card leaves the writer and goes to a venue's NFC reader

    with NfcUdpTarget(card) as target:
        clf = nfc.ContactlessFrontend(target.path)
        try:
            tag = clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: False})
            assert isinstance(tag, nfc.tag.tt4.Type4Tag)
            assert tag.ndef is not None and not tag.ndef.is_writeable  # locked
            assert [(r.type, r.data) for r in tag.ndef.records] == [(MEDIA_TYPE, cose)]
        finally:
            clf.close()
        with NfcConnection.wait(target.path, timeout=5) as nfc_conn:
            read = read_card(nfc_conn, load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.verdict is Verdict.VALID, read.result


def test_nfcpy_writer_then_our_pcsc_reader(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder
) -> None:
    card = VirtualType4Card(profile="t4t")
    with NfcUdpTarget(card) as target:
        with NfcConnection.wait(target.path, timeout=5) as nfc_conn:
            cose = _issue_for(issuer, holder, nfc_conn, CardProfile.T4T)
        clf = nfc.ContactlessFrontend(target.path)
        try:
            tag = clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: False})
            tag.ndef.records = [ndef.Record(MEDIA_TYPE, "", cose)]
        finally:
            clf.close()
    assert bytes(card.ndef_file[2 : 2 + len(ndef_message(cose))]) == ndef_message(cose)
    vpcd_cards.attach(0, card)
    with PcscConnection.wait(READER, timeout=5) as conn:
        read = read_card(conn, load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.verdict is Verdict.VALID, read.result


def test_credential_copied_to_another_chip_through_pcscd(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder
) -> None:
    original = VirtualType4Card(profile="t4t")
    vcard = vpcd_cards.attach(0, original)
    with PcscConnection.wait(READER, timeout=5) as conn:
        cose = _issue_for(issuer, holder, conn, CardProfile.T4T)
    vpcd_cards.remove(vcard)
    copy = VirtualType4Card(profile="t4t")
    vpcd_cards.attach(1, copy)
    with PcscConnection.wait("Virtual PCD 00 01", timeout=5) as conn:
        personalise(conn, cose)
        read = read_card(conn, load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.verdict is Verdict.CLONE_SUSPECTED


def test_card_pulled_mid_write_through_pcscd(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder
) -> None:
    card = VirtualType4Card(profile="t4t", faults=Faults(pull_after_writes=4))
    vcard = vpcd_cards.attach(0, card)
    verifier = load_verifier(issuer.dir)[0]
    with PcscConnection.wait(READER, timeout=5) as conn:
        cose = _issue_for(issuer, holder, conn, CardProfile.T4T)
        verifier = load_verifier(issuer.dir)[0]
        with pytest.raises(CardRemovedError):
            personalise(conn, cose)
        assert not card.locked
        # the attendant puts the card back: the torn card reads as no credential at all
        card.faults.pull_after_writes = None
        vcard.insert()
        conn.reconnect(timeout=5)
        assert read_card(conn, verifier, NOW + 60).result.verdict is Verdict.MALFORMED
        # and personalising it again completes
        assert personalise(conn, cose).locked
        assert read_card(conn, verifier, NOW + 60).result.verdict is Verdict.VALID


def test_reader_cli_reads_through_pcsc_and_nfc(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder
) -> None:
    card = VirtualType4Card(profile="t4t")
    vcard = vpcd_cards.attach(0, card)
    with PcscConnection.wait(READER, timeout=5) as conn:
        personalise(conn, _issue_for(issuer, holder, conn, CardProfile.T4T))
    trust = str(issuer.dir / "public")
    runner = CliRunner()
    # the credential was issued at NOW (in the past): the status list is older than policy
    out = runner.invoke(
        reader_main,
        ["read", "--reader", "virtual pcd 00 00", "--trust", trust, "--json", "--timeout", "5"],
    )
    assert out.exit_code == 1, out.output
    assert json.loads(out.stdout)["verdict"] == Verdict.STALE_STATUS.name
    issuer.publish()  # a fresh status list
    out = runner.invoke(
        reader_main,
        ["read", "--reader", "Virtual PCD 00 00", "--trust", trust, "--json", "--timeout", "5"],
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["verdict"] == "VALID"
    vpcd_cards.remove(vcard)
    with NfcUdpTarget(card) as target:
        out = runner.invoke(
            reader_main, ["read", "--nfc", target.path, "--trust", trust, "--timeout", "5"]
        )
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("VALID: This card is valid.")
    # no card at all: one sentence, exit 2, no traceback
    out = runner.invoke(
        reader_main, ["read", "--reader", "Virtual PCD 00 01", "--trust", trust, "--timeout", "0.5"]
    )
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.stderr.splitlines()[-1].startswith("Error: No card was presented")


def _compact_card_for(
    issuer: Issuer, holder: Holder, conn: PcscConnection, request_id: str = "compact-0001"
) -> bytes:
    """The compact chip credential a kiosk signs (KioskKeySigner) for a `compact` card."""
    local = IssuerAllocator.ensure_kiosk(issuer, "kiosk-1")
    allocation = local.allocate(request_id)
    binding = bind(conn, CardProfile.COMPACT)
    assert binding.compact and binding.uid == conn.uid
    signed = local.kiosk_signer().sign(
        allocation, replace(holder, photo=synthetic_photo(3072)), binding, NOW, NOW + 86400 * 730
    )
    issuer.publish(NOW)
    assert signed.chip_cose is not None
    return signed.chip_cose


def test_compact_card_through_pcscd_reads_valid_with_its_binding(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder
) -> None:
    card = VirtualType4Card(profile="compact")
    vcard = vpcd_cards.attach(0, card)
    with PcscConnection.wait(READER, timeout=5) as conn:
        cose = _compact_card_for(issuer, holder, conn)
        done = personalise(conn, cose)
        assert done.ndef_bytes <= COMPACT_NDEF_CAPACITY and done.locked
        read = read_card(conn, load_verifier(issuer.dir)[0], NOW + 60)
    res = read.result
    assert res.verdict is Verdict.VALID, res
    assert res.warnings[0] == COMPARE_PRINTED_CARD
    assert res.claims is not None and res.claims["compare_printed_card"] is True
    assert res.claims["entitlements"] == ["library", "pool"]
    assert not {"family_name", "given_name", "birth_date", "photo_base64"} & res.claims.keys()
    # the same bytes on another compact chip: the UID binding does not hold
    vpcd_cards.remove(vcard)
    copy = VirtualType4Card(profile="compact")
    vpcd_cards.attach(1, copy)
    with PcscConnection.wait("Virtual PCD 00 01", timeout=5) as conn:
        personalise(conn, cose)
        read = read_card(conn, load_verifier(issuer.dir)[0], NOW + 60)
    assert read.result.verdict is Verdict.CLONE_SUSPECTED


def test_reader_cli_reads_a_compact_card_through_pcsc(
    vpcd_cards: VpcdCards, issuer: Issuer, holder: Holder
) -> None:
    vpcd_cards.attach(0, VirtualType4Card(profile="compact"))
    with PcscConnection.wait(READER, timeout=5) as conn:
        personalise(conn, _compact_card_for(issuer, holder, conn))
    issuer.publish()  # a fresh status list: the CLI verifies at the real time
    out = CliRunner().invoke(
        reader_main,
        ["read", "--reader", READER, "--trust", str(issuer.dir / "public"), "--json", "--timeout", "5"],
    )
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert got["verdict"] == "VALID" and got["warnings"][0] == COMPARE_PRINTED_CARD
    assert got["claims"]["variant"] == "compact"
