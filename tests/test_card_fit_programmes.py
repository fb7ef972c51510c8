"""Every programme's card holds every field the programme collects, up to the longest the
kiosk accepts (`printer.card_fit.check_fit`, as `kiosk.printing.card_fit_problems` asks it)."""

from __future__ import annotations

import pytest

from cardio.credential import MAX_NAME
from kiosk.i18n import BY_CODE
from kiosk.printing import PRINTED_ONLY_FIELDS, printed_values
from kiosk.programs import Program, load_all
from kiosk.web.adapters import field_spec
from kiosk.web.ports import FieldKind
from printer.card_fit import check_fit

from .conftest import synthetic_photo
from .test_card_fit import programme_card

PROGRAMS: dict[str, Program] = load_all()
# Long Latin words (wide letters, few breaks): the hardest text of its length to wrap.
WORDS = (
    "Maximiliana", "Wolfeschlegel", "Featherstonehaugh", "Cholmondeley", "Marjoribanks",
    "Bartholomew", "Christopher", "Alexandrina", "Ferdinand", "Constantinople", "Hohenzollern",
    "Schwarzenberg",
)
TYPICAL = {
    "address": "1 Example Plaza, Apt 0, New York, NY 10000",
    "emergency_contact": "Pat Example, 212 555 0100",
    "medical_info": "Penicillin allergy",
}
PHOTO = synthetic_photo()


def longest_text(n: int) -> str:
    text, i = "", 0
    while len(text) < n:
        text += (" " if text else "") + WORDS[i % len(WORDS)]
        i += 1
    return text[:n].rstrip()


def longest_value(program: Program, code: str) -> str:
    spec = field_spec(program, code)
    if spec.kind is FieldKind.CHOICE:
        if code == "preferred_language":
            return max((BY_CODE[c].name for c in spec.choices if c in BY_CODE), key=len)
        return max(spec.choices or ("yes",), key=len).capitalize()
    if spec.kind is FieldKind.NUMBER:
        return f"{spec.max_value} cm"
    return longest_text(spec.max_length)


def problems(pid: str, name: str, values: dict[str, str]) -> list[tuple[str | None, int]]:
    program = PROGRAMS[pid]
    collected = (*program.fields.required, *program.fields.optional)
    extra = tuple((c, values[c]) for c in collected if c in PRINTED_ONLY_FIELDS)
    design, data = programme_card(pid, name, name, ("en", "es"), printed_values(extra), PHOTO)
    return [(p.field, p.max_chars) for p in check_fit(design, data)]


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_every_collected_field_fits_at_its_longest(pid: str) -> None:
    # Before, New York refused an emergency contact beside the address ("no room for it"),
    # San Francisco an emergency contact or medical information, whatever their length.
    program = PROGRAMS[pid]
    fields = (*program.fields.required, *program.fields.optional)
    longest = {code: longest_value(program, code) for code in fields}
    assert problems(pid, longest_text(MAX_NAME), longest) == []
    typical = {code: TYPICAL.get(code, "Short") for code in fields}
    assert problems(pid, "Example", typical) == []
