"""The paper card on the simulated receipt printer: photo, names, dates, QR, the permit line."""

from __future__ import annotations

from dataclasses import astuple, replace
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from api.issuer.service import Issuer
from cardio.credential import Holder, to_qr
from cardio.published import load_verifier
from hardware.escpos_sim import EscposSimulator
from kiosk.i18n import LANGUAGES
from kiosk.printing import paper_card_text
from printer.document import encode, printable_as_text
from printer.escpos_decode import decode
from printer.paper import PAPER_58MM, PAPER_80MM
from printer.paper_card import (
    PaperCardContent,
    build_paper_card,
)

from .conftest import NOW, synthetic_photo
from .escpos_fixtures import PrinterFactory, fixture_printer_for, fixture_sim  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def issued_card(issuer: Issuer, holder: Holder) -> tuple[PaperCardContent, str]:
    issued = issuer.issue(replace(holder, photo=synthetic_photo()), now=NOW)
    issuer.publish(NOW)
    qr_text = to_qr(issued.print_cose)
    content = PaperCardContent.from_credential(
        issued.credential,
        qr_text,
        programme_name="Züri City Card",
        text=paper_card_text("en"),
        language="en",
        photo=synthetic_photo(),
    )
    return content, qr_text


def _verifies(issuer: Issuer, qr_text: str) -> bool:
    verifier, problems = load_verifier(issuer.dir)
    assert problems == []
    return verifier.verify_qr(qr_text, now=NOW + 60).valid


def test_paper_card_with_native_qr(
    sim: EscposSimulator,
    printer_for: PrinterFactory,
    issuer: Issuer,
    issued_card: tuple[PaperCardContent, str],
) -> None:
    content, qr_text = issued_card
    result = printer_for().print_paper_card(build_paper_card(content))
    assert result.confirmed
    printed = sim.decoded()
    (qr,) = printed.qr_codes
    assert qr.data.decode("ascii") == qr_text and qr.error_correction == "M"
    assert qr.align == "center" and 3 <= qr.module_size <= 6
    assert _verifies(issuer, qr.data.decode("ascii"))
    lines = printed.lines
    assert "Beispiel-Musterfrau" in lines and "Mira" in lines and "1990-01-01" in lines
    assert content.document_number in lines
    assert f"{content.issued.isoformat()} - {content.expires.isoformat()}" in lines
    assert lines.count("This card is not a residence permit.") == 1
    assert len(printed.cuts) == 1


def test_photo_is_a_dithered_raster(
    sim: EscposSimulator, printer_for: PrinterFactory, issued_card: tuple[PaperCardContent, str]
) -> None:
    content, _ = issued_card
    printer_for().print_paper_card(build_paper_card(content))
    (photo,) = sim.decoded().rasters
    assert photo.width == PAPER_80MM.dots  # centred on the paper width
    left, right = photo.ink_columns() or (0, 0)
    assert 150 <= right - left + 1 <= PAPER_80MM.dots // 3
    # The mid-tone face of the silhouette prints as a mix of dots, not solid black or white.
    img = photo.to_image().crop((left + 80, 75, left + 110, 100))
    histogram = img.histogram()
    black, white = histogram[0], histogram[255]
    assert black > 60 and white > 60


def test_raster_qr_when_the_printer_has_no_qr_command(
    sim: EscposSimulator,
    printer_for: PrinterFactory,
    issuer: Issuer,
    issued_card: tuple[PaperCardContent, str],
) -> None:
    content, qr_text = issued_card
    assert not PAPER_58MM.native_qr
    printer_for(PAPER_58MM).print_paper_card(build_paper_card(content, PAPER_58MM))
    printed = sim.decoded()
    assert printed.qr_codes == []
    assert all(r.width == PAPER_58MM.dots for r in printed.rasters)
    found = []
    for raster in printed.rasters:
        found += zxingcpp.read_barcodes(raster.to_image(), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.text for r in found] == [qr_text]
    assert _verifies(issuer, found[0].text)


def test_names_in_other_scripts_are_drawn() -> None:
    content = PaperCardContent(
        programme_name="Züri City Card",
        family_name="الهاشمي",
        given_name="Ölçek",
        birth_date=date(1984, 3, 9),
        document_number="ZH-2026-000777",
        issued=date(2026, 9, 21),
        expires=date(2031, 9, 21),
        qr_text="CC1:ABC",
        photo=None,
        language="de",
        text=paper_card_text("de"),
    )
    printed = decode(encode(build_paper_card(content).document, PAPER_80MM).data, strict=True)
    assert len(printed.rasters) == 1  # the Arabic family name; Ölçek has no code page either
    assert "Diese Karte ist keine Aufenthaltsbewilligung." in printed.lines
    for name in ("الهاشمي", "Ölçek", "1984-03-09"):
        assert name not in repr(content)
    assert "1984-03-09" in printed.lines


def test_arabic_paper_card_fits_58mm(issued_card: tuple[PaperCardContent, str]) -> None:
    content, _ = issued_card
    arabic = replace(content, language="ar", text=paper_card_text("ar"), family_name="الهاشمي")
    job = encode(build_paper_card(arabic, PAPER_58MM).document, PAPER_58MM)
    printed = decode(job.data, strict=True)
    assert printed.rasters and all(r.width == PAPER_58MM.dots for r in printed.rasters)
    assert isinstance(printed.rasters[0].to_image(), Image.Image)


@pytest.mark.parametrize("language", [lang.code for lang in LANGUAGES])
def test_every_kiosk_language_builds_a_paper_card(language: str) -> None:
    text = paper_card_text(language)
    content = PaperCardContent(
        programme_name="Züri City Card",
        family_name="Muster",
        given_name="Erika",
        birth_date=date(1984, 3, 9),
        document_number="ZH-2026-000777",
        issued=date(2026, 9, 21),
        expires=date(2031, 9, 21),
        qr_text="CC1:ABC",
        photo=None,
        language=language,
        text=text,
    )
    printed = decode(encode(build_paper_card(content).document, PAPER_80MM).data, strict=True)
    assert "?" not in printed.text and "\ufffd" not in printed.text  # nothing sent as a stand-in
    assert "ZH-2026-000777" in printed.lines
    # Text where the default profile's code pages hold every character of the card's words,
    # drawn otherwise (the kiosk's languages grow: which is which follows the words).
    as_text = all(printable_as_text(v, PAPER_80MM) for v in astuple(text))
    if language in {"en", "fr", "de", "it", "es", "pt"}:
        assert as_text
    assert (printed.rasters == []) == as_text
    # each block by itself: a sentence the code pages hold is text, even beside drawn ones
    if printable_as_text(text.not_a_permit, PAPER_80MM):
        assert text.not_a_permit in printed.lines
    else:  # no code page of the default profile has its script
        assert text.not_a_permit not in printed.text
