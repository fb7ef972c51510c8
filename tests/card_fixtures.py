"""A rendered demo card, shared by the card-printer tests (a helper module, not a test file)."""

from __future__ import annotations

from datetime import date

import pytest

from printer.card_design import CardData, CardDesign
from printer.card_layout import render_card

from .conftest import synthetic_photo


@pytest.fixture(scope="module", name="card_pngs")
def fixture_card_pngs() -> tuple[bytes, bytes]:
    """Front and back PNG of an obviously fictional resident's card."""
    design = CardDesign("Demo City Card", "#1F4E79", "#E3A21A")
    data = CardData(
        family_name="Beispiel",
        given_name="Mira",
        birth_date=date(1990, 1, 1),
        document_number="DEV00000018",
        issued=date(2026, 9, 21),
        expires=date(2030, 12, 31),
        qr_text="CC1:6BFOXN*TS0BI$ZDFRH%PQ 4FMVEJ$4ANBEO/6MD9BJ9/ZDCQ1F6ALT3A+HH9D:D",
        photo=synthetic_photo(),
        sex="X",
    )
    card = render_card(design, data)
    return card.front_png, card.back_png
