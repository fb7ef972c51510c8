"""Renewal and replacement at the web kiosk (Flask test client, the real card job on the
in-process issuer): the about page offers them, the old card is read from its scanned QR text
and verified, the new card keeps the number, and the done page says what became of the old
card. Refusals are sentences on the page, in the resident's language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from api.issuer.card_status import card_history
from cardio.chip import CardProfile
from cardio.credential import Holder, from_qr, to_qr
from kiosk.demo_application import load_known_program
from kiosk.web.adapters import StationJobs, program_view
from kiosk.web.flow import old_card

from .kiosk_helpers import Kiosk as Station
from .kiosk_helpers import make_kiosk
from .test_kiosk_web import Kiosk, make_app, tr


@pytest.fixture(name="station")
def fixture_station(tmp_path: Path) -> Iterator[Station]:
    station = make_kiosk(tmp_path, None)
    try:
        yield station
    finally:
        station.issuer.close()


def _old_card(station: Station) -> tuple[str, str]:
    """A card of this issuer for a fictional resident: (document number, printed QR text)."""
    holder = Holder("zurich", "Beispiel-Musterfrau", "Mira", date(1990, 1, 1), sex="X")
    issued = station.issuer.issue(holder, date(2030, 12, 31), None, now=None)
    station.issuer.publish()
    return issued.credential.document_number, to_qr(issued.print_cose)


def _resident(station: Station) -> Kiosk:
    program = program_view(load_known_program("zurich", CardProfile.PRINT))
    return Kiosk(make_app(program=program, job=StationJobs(station.station), today=date.today))


def _walk(kiosk: Kiosk, kind: str, old: dict[str, str]) -> str:
    kiosk.language("en")
    about = kiosk.get("/about").get_data(as_text=True)
    assert tr("en", "Renew my card") in about and tr("en", "Replace a lost card") in about
    assert kiosk.post("/about", {"kind": kind}).location == "/old-card"
    page = kiosk.get("/old-card").get_data(as_text=True)
    assert 'autofocus' in page
    response = kiosk.post("/old-card", old)
    return response.location or response.get_data(as_text=True)


def _finish(kiosk: Kiosk, fee: str | None = None) -> str:
    def documents() -> TestResponse:
        return kiosk.documents("passport", "bill")

    steps: tuple[Callable[[], TestResponse], ...] = (
        kiosk.details, documents, kiosk.photo, kiosk.signature, kiosk.attendant,
    )  # fmt: skip
    for step in steps:
        response = step()
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    if fee is not None:  # the programme's fee for this kind of card
        assert fee in kiosk.get("/fee").get_data(as_text=True)
    assert kiosk.fee().status_code == 303
    request_id = kiosk.review()
    assert kiosk.post("/personalise", {"request_id": request_id}).location == "/progress"
    kiosk.wait_done(60)
    return kiosk.get("/done").get_data(as_text=True)


def test_renewal_at_the_web_kiosk(station: Station) -> None:
    number, qr = _old_card(station)
    kiosk = _resident(station)
    # as a keyboard-wedge scanner types it: the text and Enter
    assert _walk(kiosk, "renewal", {"qr": qr + "\r\n"}) == "/details"
    assert kiosk.session().enrolment.document_number == number
    done = _finish(kiosk, fee="CHF")
    assert tr("en", old_card.DONE_SUPERSEDED) in done
    history = card_history(station.issuer.cards, number)
    assert [(c.generation, c.status) for c in history] == [(0, "superseded"), (1, "valid")]

    # The old card, shown again: refused with a sentence, nothing allocated.
    again = _resident(station)
    page = _walk(again, "renewal", {"qr": qr})
    assert tr("en", old_card.REFUSALS["superseded"]) in page
    assert len(card_history(station.issuer.cards, number)) == 2


def test_replacement_and_refusals_at_the_web_kiosk(station: Station) -> None:
    number, qr = _old_card(station)
    kiosk = _resident(station)
    # Not a card's data (this said "not a genuine card"), nor is half a scan: show it again.
    for scanned in ("CC1:NOT-A-CARD", qr[: len(qr) // 2]):
        _walk(kiosk, "renewal", {"qr": scanned})
        assert kiosk.page is not None and kiosk.page.status_code == 422
        assert tr("en", old_card.NOT_READ) in kiosk.text()
        assert tr("en", old_card.REFUSALS["not_genuine"]) not in kiosk.text()
    # A genuine-looking card signed by no key of this city: not genuine.
    signed = bytearray(from_qr(qr))
    signed[-1] ^= 1  # the signature's last byte
    forged = to_qr(bytes(signed))
    _walk(kiosk, "renewal", {"qr": forged})
    assert tr("en", old_card.REFUSALS["not_genuine"]) in kiosk.text()
    assert tr("en", old_card.NOT_READ) in kiosk.post("/old-card", {"qr": ""}).get_data(as_text=True)

    # Replace instead: the about page again, then the number as printed (spaces, lower case).
    assert kiosk.post("/about", {"kind": "replacement"}).location == "/old-card"
    assert tr("en", old_card.BAD_NUMBER) in kiosk.post("/old-card", {"document_number": "x"}).get_data(as_text=True)
    spaced = " ".join([number[:3].lower(), number[3:]])
    assert kiosk.post("/old-card", {"document_number": spaced}).location == "/details"
    done = _finish(kiosk, fee="CHF")
    assert tr("en", old_card.DONE_REVOKED) in done
    assert [c.status for c in card_history(station.issuer.cards, number)] == ["revoked", "valid"]
    # ... and the replaced card cannot be renewed
    other = _resident(station)
    _walk(other, "renewal", {"qr": qr})
    assert tr("en", old_card.REFUSALS["revoked"]) in other.text()


def test_a_new_card_skips_the_old_card_step(station: Station) -> None:
    kiosk = _resident(station)
    kiosk.language("en")
    kiosk.get("/about")
    assert kiosk.post("/about").location == "/details"
    assert kiosk.get("/old-card").location == "/details"
    # changing one's mind: renewal after all, then back to a new card
    assert kiosk.post("/about", {"kind": "renewal"}).location == "/old-card"
    assert kiosk.post("/about", {"kind": "first"}).location == "/details"
