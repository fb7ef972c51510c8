"""The details step refuses what the card cannot print, before any number is allocated.

Measured with the font that draws (kiosk.printing.card_fit_problems), the same check the job
makes before it allocates; the resident reads which field to shorten and to how much.
"""

from __future__ import annotations

from tests.test_kiosk_web import Kiosk, make_app

NEW_YORK = {"eye_colour": "brown", "height": "172"}


def _details(kiosk: Kiosk, **fields: str) -> int:
    assert kiosk.language("en").status_code == 303
    assert kiosk.about().status_code == 303
    return kiosk.details(**{**NEW_YORK, **fields}).status_code


def test_an_address_too_long_for_the_card_is_refused_at_the_details_step() -> None:
    kiosk = Kiosk(make_app("new-york"))
    assert _details(kiosk, address="W" * 200) == 422
    page = kiosk.text()
    assert "too long for the card. Please shorten it to" in page
    assert "details" not in kiosk.session().enrolment.completed
    assert kiosk.job.requests == []  # nothing reached the job, no number was asked for


def test_an_ordinary_address_goes_on() -> None:
    kiosk = Kiosk(make_app("new-york"))
    assert _details(kiosk, address="Apartment 12B, 1234 Grand Concourse, Bronx, NY 10451") == 303
    assert "details" in kiosk.session().enrolment.completed
