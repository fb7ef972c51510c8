"""What the card's fonts cannot draw is refused on its field, with a sentence, never a 500.

The texts are ones no installed font draws (a script without a font here, an emoji), found
through printer.fonts, so the tests stay true when the font lookup is mended.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from cardio.credential import Holder
from kiosk.card_glyphs import printable
from kiosk.printing import UnprintableProblem, card_design, card_fit_problems, fit_problem_sentence
from kiosk.programs import load_program
from printer.fonts import FontNotFoundError, face_for
from tests.test_kiosk_web import Kiosk, make_app

# Letters of scripts a kiosk may lack a font for (Canadian syllabics, Ol Chiki, Tai Le,
# Tibetan, Sora Sompeng, Warang Citi): the first without one is the test's text.
_CANDIDATES = ("ᓀᐦᐃᔭᐍᐏᐣ", "ᱥᱟᱱᱛᱟᱲᱤ", "ᥖᥭᥰ", "བཀྲཤིས", "𑃐𑃑𑃒", "𑢠𑢡𑢢")


def no_font_text() -> str:
    for text in _CANDIDATES:
        try:
            face_for(text)
        except FontNotFoundError:
            return text
    raise AssertionError(f"every script of {_CANDIDATES} has a font here: add one that has none")


NEW_YORK = {"eye_colour": "brown", "height": "172"}


def _details(kiosk: Kiosk, **fields: str) -> int:
    assert kiosk.language("en").status_code == 303
    assert kiosk.about().status_code == 303
    return kiosk.details(**{**NEW_YORK, **fields}).status_code


def test_the_card_fit_check_names_the_field_no_font_can_print() -> None:
    program = load_program("new-york")
    holder = Holder(
        program="new-york",
        family_name=no_font_text(),
        given_name="Bea",
        birth_date=date(1990, 1, 1),
        languages=("en",),
    )
    design = card_design(program, program.id, "en")
    problems = card_fit_problems(design, holder, None, None, (("address", "1 Main St"),))
    [problem] = problems  # a FontNotFoundError of the layout, turned into the field's problem
    assert isinstance(problem, UnprintableProblem) and problem.field == "family_name"
    assert fit_problem_sentence(problem, "en").startswith(
        "Family name: The card cannot print some of these characters."
    )
    french = fit_problem_sentence(problem, "fr")
    assert french.startswith("Nom") and "attendant" not in french
    # A text the fonts draw is not blamed.
    ok = card_fit_problems(design, replace(holder, family_name="Muster"), None, None, ())
    assert ok == []


def test_a_name_no_font_prints_is_a_422_on_its_field_keeping_what_was_typed() -> None:
    kiosk = Kiosk(make_app("new-york"))
    name = no_font_text()
    assert _details(kiosk, family_name=name, address="1 Main St") == 422
    page = kiosk.text()
    assert "Family name: The card cannot print some of these characters." in page
    assert f'value="{name}"' in page and 'value="172"' in page
    assert "details" not in kiosk.session().enrolment.completed


def test_an_emoji_in_an_address_or_a_contact_is_refused_on_its_field() -> None:
    kiosk = Kiosk(make_app("new-york"))
    assert _details(kiosk, address="1 Main St 🏠", emergency_contact="Ana 555 0100 😀") == 422
    page = kiosk.text()
    assert "Address: The card cannot print some of these characters." in page
    assert "Emergency contact: The card cannot print some of these characters." in page


def test_printable_knows_what_the_card_draws() -> None:
    assert printable("Apartment 12B, 1234 Grand Concourse\nBronx, NY 10451")
    assert printable("خیابان می\u200cگل، پلاک ۱۲")  # a ZWNJ draws nothing, and is allowed
    assert not printable("1 Main St 🏠")
    assert not printable(no_font_text())
