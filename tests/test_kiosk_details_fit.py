"""The details step refuses what the card cannot print, before any number is allocated.

Measured with the font that draws (kiosk.printing.card_fit_problems), the same check the job
makes before it allocates; the resident reads which field to shorten and to how much.
"""

from __future__ import annotations

from datetime import date

from kiosk.printing import fit_problem_sentence
from kiosk.web.adapters import EngineRules
from kiosk.web.ports import ApplicationForm, ProgramView
from printer.card_fit import FitProblem
from tests.test_kiosk_web import Kiosk, make_app

NEW_YORK = {"eye_colour": "brown", "height": "172"}


def _details(kiosk: Kiosk, **fields: str) -> int:
    assert kiosk.language("en").status_code == 303
    assert kiosk.about().status_code == 303
    return kiosk.details(**{**NEW_YORK, **fields}).status_code


class TightCard(EngineRules):
    """The real fit check, on a card whose address holds 20 characters: the form takes 200
    characters, which the real designs hold, so only a tighter card shows the refusal."""

    def card_fit(
        self, program: ProgramView, application: ApplicationForm, today: date
    ) -> tuple[tuple[str | None, str], ...]:
        address = application.fields.get("address", "")
        if len(address) <= 20:
            return super().card_fit(program, application, today)
        return (("address", fit_problem_sentence(FitProblem("address", 20, ""), application.lang)),)


def test_an_address_too_long_for_the_card_is_refused_at_the_details_step() -> None:
    kiosk = Kiosk(make_app("new-york", rules=TightCard()))
    assert _details(kiosk, address="W" * 200) == 422
    page = kiosk.text()
    # Worded as every other field error: the field's label, then a sentence.
    assert "Address: This is too long for the card. Please shorten it to 20 characters." in page
    assert "details" not in kiosk.session().enrolment.completed
    assert kiosk.job.requests == []  # nothing reached the job, no number was asked for


def test_an_ordinary_address_goes_on() -> None:
    kiosk = Kiosk(make_app("new-york"))
    assert _details(kiosk, address="Apartment 12B, 1234 Grand Concourse, Bronx, NY 10451") == 303
    assert "details" in kiosk.session().enrolment.completed
