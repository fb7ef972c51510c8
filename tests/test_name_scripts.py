"""Names in the scripts residents write them in (`kiosk.web.validation`)."""

from __future__ import annotations

import pytest

from kiosk.web.validation import InputError, clean_name, scripts_in


@pytest.mark.parametrize(
    "name",
    ["佐々木", "マリー", "ローラ・ヨシダ", "김민준", "Łucja", "Ngọc", "ትግስት", "محمد", "Олена", "Zoë-Ann"],
)
def test_names_in_one_script_are_accepted(name: str) -> None:
    assert clean_name(name) == name


def test_japanese_marks_belong_to_the_kana_and_kanji_they_follow() -> None:
    assert scripts_in("ー") == {"KATAKANA"} and scripts_in("々") == {"HAN"}
    assert scripts_in("佐々木マリー") <= {"HAN", "KATAKANA"}


def test_a_latin_letter_inside_a_cyrillic_name_is_refused() -> None:
    with pytest.raises(InputError):
        clean_name("Mаria")  # Cyrillic а
