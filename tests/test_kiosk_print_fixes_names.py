"""Names with the hyphen or apostrophe of their own script (Hebrew maqaf, geresh, gershayim;
Armenian hyphen) pass the details step, and the card's fonts draw them."""

from __future__ import annotations

import pytest

from kiosk.card_glyphs import printable
from kiosk.web.validation import InputError, clean_name

# Fictional names: a maqaf (U+05BE), a geresh (U+05F3), gershayim (U+05F4), the Armenian
# hyphen (U+058A).
NAMES = [
    ("בן\u05beדוד", "he"),
    ("ז\u05f3ורז\u05f3", "he"),
    ("ד\u05f4ר", "he"),
    ("בלום\u05beשטיין", "yi"),
    ("Սարգսյան\u058aՊետրոսյան", "hy"),
]


@pytest.mark.parametrize(("name", "language"), NAMES)
def test_a_scripts_own_hyphen_and_apostrophe_are_part_of_a_name(name: str, language: str) -> None:
    assert clean_name(name) == name
    assert printable(name, language)


@pytest.mark.parametrize(
    "name",
    [
        "Muster\u05beMann",  # a Hebrew hyphen in a Latin name
        "O\u05f3Brien",
        "Muster\u058aMann",
        "\u05be",  # no letters at all
        "\u05f3\u05f4",
    ],
)
def test_they_are_refused_outside_their_script_and_alone(name: str) -> None:
    with pytest.raises(InputError):
        clean_name(name)
