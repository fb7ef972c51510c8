"""The SUPERSEDED verdict: a status list value 3 (application-specific) means the card was
renewed; it outranks expiry and clone suspicion, and 1-bit lists still read as before."""

from __future__ import annotations

from datetime import date

from api.issuer.service import Issued, Issuer
from cardio.credential import ChipBinding, Holder, to_qr
from cardio.published import load_verifier
from cardio.statuslist import SUPERSEDED, StatusList, sign_token
from cardio.verdict import Verdict
from cardio.verify import Verifier

from .conftest import NOW

UID = bytes.fromhex("04A1B2C3D4E5F6")


def _setup(issuer: Issuer, holder: Holder) -> tuple[Verifier, Issued]:
    issued = issuer.issue(holder, date(2030, 12, 31), ChipBinding(uid=UID), now=NOW)
    issuer.publish(NOW)
    verifier, problems = load_verifier(issuer.dir)
    assert problems == []
    return verifier, issued


def _list(issuer: Issuer, uri: str, lst: StatusList, iat: int) -> bytes:
    signer = issuer.keystore.signer("status-1")
    return sign_token(signer, lst, uri=uri, iat=iat, ttl=3600, exp=None)


def test_value_3_is_superseded(issuer: Issuer, holder: Holder) -> None:
    verifier, issued = _setup(issuer, holder)
    cred = issued.credential
    lst = StatusList(1 << 17, 2)
    lst.set(cred.status_index, SUPERSEDED)
    verifier.add_status_list(_list(issuer, cred.status_uri, lst, NOW + 5), NOW + 10)
    res = verifier.verify_qr(to_qr(issued.print_cose), NOW + 60)
    assert res.verdict is Verdict.SUPERSEDED
    assert res.message == (
        "This card has been replaced by a newer card; do not accept it — the holder has the new one."
    )
    assert res.claims is None
    # after its expiry it still says superseded (status outranks time, like REVOKED)
    assert verifier.verify(issued.print_cose, cred.expires_at + 10).verdict is Verdict.SUPERSEDED
    # the chip of a superseded card: superseded, not "a copy"
    chip = issued.chip_cose
    assert chip is not None
    res2, _ = verifier.check_chip(chip, b"\x04" * 7, now=NOW + 60)
    assert res2.verdict is Verdict.SUPERSEDED


def test_one_bit_lists_read_as_before(issuer: Issuer, holder: Holder) -> None:
    verifier, issued = _setup(issuer, holder)
    cred = issued.credential
    lst = StatusList(1 << 17, 1)
    verifier.add_status_list(_list(issuer, cred.status_uri, lst, NOW + 5), NOW + 10)
    assert verifier.verify(issued.print_cose, NOW + 60).verdict is Verdict.VALID
    lst.set(cred.status_index, 1)
    verifier.add_status_list(_list(issuer, cred.status_uri, lst, NOW + 6), NOW + 10)
    assert verifier.verify(issued.print_cose, NOW + 60).verdict is Verdict.REVOKED
