"""What the details step accepts as a name or an address (kiosk.web.validation): real
spellings pass, look-alikes and invisible tricks do not."""

from __future__ import annotations

import pytest

from kiosk.web.validation import InputError, clean_name, clean_text


@pytest.mark.parametrize("text", ["خیابان می\u200cگل، پلاک ۱۲", "क्\u200dष 12, Pune"])
def test_an_address_may_hold_zwnj_and_zwj_as_names_do(text: str) -> None:
    assert clean_text(text, max_length=200) == text


def test_an_address_still_refuses_a_bidi_override() -> None:
    with pytest.raises(InputError):
        clean_text("1 Main \u202eSt", max_length=200)


@pytest.mark.parametrize("name", ["Kaʻahumanu", "Hāwaiʻi", "བཀྲ་ཤིས"])
def test_the_okina_and_the_tibetan_tsheg_are_part_of_a_name(name: str) -> None:
    assert clean_name(name) == name


def test_a_tsheg_outside_tibetan_and_a_lone_okina_are_still_refused() -> None:
    with pytest.raises(InputError):
        clean_name("Muster\u0f0b")
    with pytest.raises(InputError):
        clean_name("ʻʻ")
