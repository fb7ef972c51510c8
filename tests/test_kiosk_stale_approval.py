"""A "Make my card" from a page whose approval was withdrawn (the details changed in another
tab) goes back to the attendant and says why; and every page has one footer."""

from __future__ import annotations

from kiosk.web import messages as msg
from tests.test_kiosk_web import Kiosk, make_app, tr


def test_a_stale_make_my_card_says_why_the_attendant_must_approve_again() -> None:
    kiosk = Kiosk(make_app())
    kiosk.walk_to_review()
    request_id = kiosk.review()
    assert kiosk.details(given_name="Lotte").status_code == 303  # another tab changes them
    assert kiosk.post("/personalise", {"request_id": request_id}).location == "/attendant"
    page = kiosk.get("/attendant").get_data(as_text=True)
    assert tr("en", msg.APPROVE_AGAIN) in page
    assert page.count("</footer>") == 1
