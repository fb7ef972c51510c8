"""Which font draws a text (`printer.fonts`)."""

from __future__ import annotations

import pytest

from printer.fonts import script_of


@pytest.mark.parametrize(
    ("text", "script"),
    [("Nº de documento", "latin"), ("1ª vez", "latin"), ("Łódź", "latin"), ("Олена", "cyrillic")],
)
def test_ordinal_indicators_are_latin(text: str, script: str) -> None:
    assert script_of(text) == script
