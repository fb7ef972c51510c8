"""A replacement cancels the card whose number the resident types: the attendant sees that
number before approving, and a number the registry refuses can be corrected without starting
over (the real card job on the in-process issuer)."""

from __future__ import annotations

from api.issuer.card_status import card_history
from kiosk.web import messages as msg
from kiosk.web.flow import old_card

from .kiosk_helpers import Kiosk as Station
from .test_kiosk_web import tr
from .test_renewal_web import (
    _finish,
    _old_card,
    _resident,
    _walk,
    fixture_station,  # noqa: F401 - the kiosk station fixture
)


def test_the_attendant_sees_which_card_a_replacement_cancels(station: Station) -> None:
    number, _qr = _old_card(station)
    kiosk = _resident(station)
    assert _walk(kiosk, "replacement", {"document_number": number}) == "/details"
    for step in (kiosk.details, lambda: kiosk.documents("passport", "bill"), kiosk.photo, kiosk.signature):
        assert step().status_code == 303
    page = kiosk.get("/attendant").get_data(as_text=True)
    note = tr("en", old_card.ATTENDANT_REPLACEMENT, number=number)
    assert note.replace("'", "&#39;") in page and 'class="warning" id="old-card-note"' in page
    assert number in tr("fr", old_card.ATTENDANT_REPLACEMENT, number=number) != note  # translated


def test_a_refused_replacement_number_is_corrected_without_starting_over(station: Station) -> None:
    number, _qr = _old_card(station)
    wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
    kiosk = _resident(station)
    assert _walk(kiosk, "replacement", {"document_number": wrong}) == "/details"
    _finish(kiosk)
    page = kiosk.get("/progress").get_data(as_text=True)
    assert tr("en", msg.SUCCESSOR_REFUSED, number=wrong) in page
    assert 'id="progress-correct" hidden' not in page and 'id="progress-correct"' in page
    assert kiosk.post("/old-card/correct").location == "/old-card"
    # Straight on to the attendant, who checks the new number: nothing else is asked again.
    assert kiosk.post("/old-card", {"document_number": number}).location == "/attendant"
    enrolment = kiosk.session().enrolment
    assert "details" in enrolment.completed and enrolment.photo_jpeg is not None  # kept
    assert "attendant" not in enrolment.completed  # the attendant checks the new number
    assert kiosk.attendant().status_code == 303 and kiosk.fee().status_code == 303
    request_id = kiosk.review()
    assert kiosk.post("/personalise", {"request_id": request_id}).location == "/progress"
    kiosk.wait_done(60)
    assert tr("en", old_card.DONE_REVOKED) in kiosk.get("/done").get_data(as_text=True)
    assert [c.status for c in card_history(station.issuer.cards, number)] == ["revoked", "valid"]


def test_a_replacement_number_typed_on_a_phone_keyboard_is_read_as_printed(
    station: Station,
) -> None:
    # As the issuer reads it (cardio.codes.fold_typed): Arabic-Indic digits, an en dash
    # lookalike and a no-break space were "not a card number" at the kiosk.
    kiosk = _resident(station)
    arabic = "zur\u00a0" + "".join(chr(0x660 + int(d)) for d in "00000018")
    assert _walk(kiosk, "replacement", {"document_number": arabic}) == "/details"
    assert kiosk.session().enrolment.document_number == "ZUR00000018"
