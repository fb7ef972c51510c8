"""The demo's card carries every language the resident file gives (that the programme
offers), not only the first; the web kiosk's card carries the language the resident chose."""

from __future__ import annotations

from datetime import date

from kiosk.demo_application import build_application, load_known_program, sample_resident
from kiosk.web.adapters import holder_of
from kiosk.web.ports import CardRequest


def _holder_languages(program_id: str) -> tuple[str, ...]:
    program = load_known_program(program_id)
    app = build_application(program, sample_resident(program_id), date(2026, 1, 15), lambda _: None)
    request = CardRequest("r", app.view, app.form, app.decision_view, None, None)
    return holder_of(request).languages


def test_a_resident_with_two_languages_gets_both_on_the_card() -> None:
    assert _holder_languages("zurich") == ("de", "en")  # the sample resident speaks both
