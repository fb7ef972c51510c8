"""Cards valid until a date the attendant enters (Utrecht's BBB shelter card) at the web kiosk.

The profile says the card ends with the shelter registration (`[validity] until`); only the
attendant, looking at the shelter's letter, knows that date. The attendant step asks for it
before it approves, refuses a date that is not after today, and the card's validity follows it.
"""

from __future__ import annotations

from datetime import timedelta

from tests.test_kiosk_web import PIN, TODAY, Kiosk, make_app

BBB_FIELDS = {
    "issuer_name": "Stichting Voorbeeldopvang",
    "shelter_name": "Voorbeeldhuis",
    "ngo_phone": "+31 30 000 0000",
}


def _to_attendant(kiosk: Kiosk) -> None:
    assert kiosk.language("nl").status_code == 303
    assert kiosk.about().status_code == 303
    assert kiosk.details(**BBB_FIELDS).status_code == 303, kiosk.text()[:2000]
    assert kiosk.documents("shelter-registration").status_code == 303, kiosk.text()[:2000]
    kiosk.get("/photo")
    kiosk.post("/photo", {"action": "skip"})
    kiosk.get("/attendant")


def test_the_attendant_enters_the_end_of_the_shelter_registration() -> None:
    kiosk = Kiosk(make_app("utrecht-bbb"))
    _to_attendant(kiosk)
    page = kiosk.text()
    assert 'type="date" id="valid_until"' in page
    assert "einde van de inschrijving bij de opvang" in page  # the profile's own words

    # No date, or a date that is not after today: the approval waits, with a sentence.
    for given in ("", TODAY.isoformat(), "31-12-2099"):
        response = kiosk.post("/attendant", {"method": "pin", "pin": PIN, "valid_until": given})
        assert response.status_code == 422, given
        assert "attendant" not in kiosk.session().enrolment.completed

    end = TODAY + timedelta(days=90)
    response = kiosk.post("/attendant", {"method": "pin", "pin": PIN, "valid_until": end.isoformat()})
    assert response.status_code == 303, kiosk.text()[:2000]
    enrolment = kiosk.session().enrolment
    assert enrolment.valid_until == end
    assert enrolment.decision.valid_until == end  # the card ends with the registration


def test_a_programme_valid_for_whole_years_asks_no_end_date() -> None:
    kiosk = Kiosk(make_app("zurich"))
    kiosk.walk_to_review()
    assert 'name="valid_until"' not in kiosk.get("/attendant").get_data(as_text=True)
