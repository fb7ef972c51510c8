"""The CR80 card layout: goldens (with a tolerance), any script, long names, a readable QR.

Goldens live in tests/golden/. A side that differs from its golden by more than the mean
absolute difference below fails, and the rendered image is written next to the golden as
NAME.actual.png for inspection. CITYCARD_UPDATE_GOLDENS=1 rewrites the goldens (look at them
before committing).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageStat

from api.issuer.service import Issuer
from cardio.credential import Holder, from_qr, to_qr
from cardio.published import load_verifier
from cardio.verdict import Verdict
from printer import fonts
from printer.card_design import CardData, CardDesign, CardLayoutError, card_size_px
from printer.card_images import arms_image, qr_matrix
from printer.card_layout import _extra_rows, render_card
from printer.fonts import FontNotFoundError, face_for, needs_shaping, script_of

from .conftest import NOW, synthetic_photo

GOLDEN = Path(__file__).parent / "golden"
MAX_MEAN_ABS_DIFF = (
    1.5  # per channel, 0..255: anti-aliasing and JPEG decoder noise pass, a moved field fails
)
# A fixed, obviously fake QR text so the goldens do not depend on a random ECDSA signature.
FAKE_QR = "CC1:" + "6BFOXN*TS0BI$ZDFRH%PQ 4FMVEJ$4ANBEO/6MD9BJ9/ZDCQ1F6ALT3A+HH9D:D" * 5
SIXTY = "Hohenzollern-Sigmaringen Wolfeschlegelsteinhausenbergerdorff"  # 60 characters


def arms_png(tmp_path: Path) -> Path:
    """A drawn shield (not any city's arms)."""
    img = Image.new("RGBA", (200, 240), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.polygon(
        [(10, 10), (190, 10), (190, 130), (100, 230), (10, 130)],
        fill=(255, 255, 255),
        outline=(227, 162, 26),
        width=8,
    )
    d.rectangle((85, 30, 115, 200), fill=(31, 78, 121))
    d.rectangle((35, 80, 165, 110), fill=(31, 78, 121))
    path = tmp_path / "arms.png"
    img.save(path)
    return path


def signature_png() -> bytes:
    img = Image.new("RGBA", (600, 150), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.line(
        [(20, 110), (80, 30), (120, 120), (170, 40), (230, 100), (300, 60), (380, 95), (560, 70)],
        fill=(10, 20, 90),
        width=6,
    )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def design(tmp_path: Path) -> CardDesign:
    return CardDesign(
        display_name="Züri City Card",
        primary="#1F4E79",
        secondary="#E3A21A",
        disclaimer="Not a residence permit. Not a travel document.",
        arms=arms_png(tmp_path),
        fields=frozenset({"sex", "entitlements", "languages", "signature"}),
        entitlement_names={"library": "Libraries", "pool": "Public pools"},
        language_names={"de": "Deutsch", "en": "English"},
        issuer_name="City of Example",
        back_note="If found, please hand this card in at any city library. Report a lost card at the city's resident card office.",
    )


def card_data(family: str = "Beispiel-Musterfrau", given: str = "Mira", **kw: object) -> CardData:
    values: dict[str, object] = {
        "family_name": family,
        "given_name": given,
        "birth_date": date(1990, 1, 1),
        "document_number": "DEV00000018",
        "issued": date(2026, 9, 21),
        "expires": date(2030, 12, 31),
        "qr_text": FAKE_QR,
        "photo": synthetic_photo(),
        "sex": "X",
        "signature": signature_png(),
        "entitlements": ("library", "pool"),
        "languages": ("de", "en"),
    }
    values.update(kw)
    return CardData(**values)  # type: ignore[arg-type]


def assert_matches_golden(img: Image.Image, name: str) -> None:
    golden = GOLDEN / f"{name}.png"
    actual = GOLDEN / f"{name}.actual.png"
    if os.environ.get("CITYCARD_UPDATE_GOLDENS") == "1":
        GOLDEN.mkdir(exist_ok=True)
        img.save(golden)
        actual.unlink(missing_ok=True)
        return
    assert golden.is_file(), (
        f"no golden {golden}; run with CITYCARD_UPDATE_GOLDENS=1 and look at it"
    )
    expected = Image.open(golden).convert("RGB")
    if expected.size != img.size:
        img.save(actual)
        raise AssertionError(f"{name}: size {img.size} != golden {expected.size}; see {actual}")
    diff = ImageStat.Stat(ImageChops.difference(expected, img.convert("RGB"))).mean
    mean = sum(diff) / len(diff)
    if mean > MAX_MEAN_ABS_DIFF:
        img.save(actual)
        raise AssertionError(
            f"{name}: mean abs difference {mean:.2f} > {MAX_MEAN_ABS_DIFF}; see {actual}"
        )
    actual.unlink(missing_ok=True)


# -- goldens ----------------------------------------------------------------------------------


def test_golden_latin_front_and_back(design: CardDesign) -> None:
    card = render_card(design, card_data())
    assert_matches_golden(card.front, "latin-front")
    assert_matches_golden(card.back, "latin-back")


def test_golden_arabic_name(design: CardDesign) -> None:
    card = render_card(design, card_data("الفارسي بن عبد الرحمن", "أحمد"))
    assert_matches_golden(card.front, "arabic-front")


def test_golden_sixty_character_name(design: CardDesign) -> None:
    assert len(SIXTY) == 60
    card = render_card(design, card_data(SIXTY, "Maria-Fernanda Josefina"))
    assert_matches_golden(card.front, "long-name-front")


def test_golden_chinese_and_ethiopic(design: CardDesign) -> None:
    zh = render_card(design, card_data("王", "小明")).front
    et = render_card(design, card_data("ገብረመድህን", "ተስፋዬ")).front
    both = Image.new("RGB", (zh.width, zh.height * 2))
    both.paste(zh, (0, 0))
    both.paste(et, (0, zh.height))
    assert_matches_golden(both, "cjk-ethiopic-front")


# -- geometry -----------------------------------------------------------------------------------


def test_cr80_at_300_dpi_png_and_pdf(design: CardDesign) -> None:
    assert card_size_px() == (1011, 638)
    card = render_card(design, card_data())
    assert card.front.size == card.back.size == (1011, 638)
    png = Image.open(io.BytesIO(card.front_png))
    assert png.format == "PNG" and png.size == (1011, 638)
    assert round(png.info["dpi"][0]) == 300
    pdf = card.pdf()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2
    boxes = re.findall(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    assert len(boxes) == 2
    for w, h in boxes:  # 85.60 x 53.98 mm in points, to a pixel
        assert abs(float(w) - 85.60 / 25.4 * 72) < 0.3 and abs(float(h) - 53.98 / 25.4 * 72) < 0.3


def test_bleed_extends_bands_not_content(design: CardDesign) -> None:
    plain = render_card(design, card_data())
    bled = render_card(design, card_data(), bleed=True)
    assert card_size_px(bleed=True) == bled.front.size == (1035, 662)
    # the trim area of the bled card is the plain card
    trim = bled.front.crop((12, 12, 12 + 1011, 12 + 638))
    assert ImageStat.Stat(ImageChops.difference(trim, plain.front)).mean[0] < 0.5
    # the header band runs into the bleed at the top corners
    assert bled.front.getpixel((0, 0)) == design.primary_rgb
    assert bled.front.getpixel((1034, 661)) == design.primary_rgb  # footer band, bottom right


def safe_margin_is_clear(img: Image.Image, design: CardDesign) -> bool:
    """No ink in the 3 mm margins left and right of the white middle of the front."""
    m = 35
    for box in ((0, 140, m, 530), (1011 - m, 140, 1011, 530)):  # the front's footer: y 532
        region = img.crop(box)
        if region.getextrema() != ((255, 255), (255, 255), (255, 255)):
            return False
    return True


@pytest.mark.parametrize(
    ("family", "given"),
    [
        (
            "Wolfeschlegelsteinhausenbergerdorff" * 2 + " Montgomery-Hohenzollern-Sigmaringen",
            "Anna",
        ),
        ("X" * 100, "Y" * 100),
        (
            "Ибрагимова-Кочубей Александра Владимировна Петровская Ивановна",
            "Олександра Святославівна",
        ),
        (
            "عبد الرحمن بن محمد بن عبد الله الفارسي القحطاني الهاشمي الدوسري العتيبي الشمري",
            "فاطمة الزهراء",
        ),
        ("司马欧阳诸葛上官东方慕容皇甫长孙宇文", "明月清风流水高山"),
        ("ወልደማርያም ገብረሚካኤል ተክለሃይማኖት ወልደጊዮርጊስ", "ሰላማዊት"),
    ],
    ids=["latin-long", "unbroken-100", "cyrillic", "arabic-long", "chinese", "ethiopic"],
)
def test_long_names_shrink_and_wrap_inside_the_card(
    design: CardDesign, family: str, given: str
) -> None:
    card = render_card(design, card_data(family, given))
    assert safe_margin_is_clear(card.front, design)


def test_a_name_that_cannot_fit_is_refused_not_overflowed(design: CardDesign) -> None:
    with pytest.raises(CardLayoutError, match="too long"):
        render_card(design, card_data("龍" * 100))


def test_arabic_is_shaped_right_to_left(design: CardDesign) -> None:
    assert needs_shaping("أحمد")
    from PIL import features

    assert features.check("raqm"), "libraqm is needed for Arabic: apt-get install libfribidi0"
    card = render_card(design, card_data("الفارسي", "أحمد"))
    # right-aligned: the family name's ink ends at the right edge of the text column
    band = card.front.crop((330, 190, 1011 - 35, 280)).convert("L")
    bbox = Image.eval(band, lambda v: 255 if v < 128 else 0).getbbox()
    assert bbox is not None and bbox[2] > (1011 - 35 - 330) - 10 and bbox[0] > 200


# -- the QR code --------------------------------------------------------------------------------


def test_qr_decodes_to_the_print_credential_which_verifies(
    design: CardDesign, tmp_path: Path
) -> None:
    issuer = Issuer.init(tmp_path / "issuer", now=NOW)
    holder = Holder(
        program="demo",
        family_name=SIXTY,
        given_name="Mira",
        birth_date=date(1990, 1, 1),
        sex="X",
        entitlements=("library", "pool"),
        languages=("de", "en"),
    )
    issued = issuer.issue(holder, date(2030, 12, 31), now=NOW)
    issuer.publish(NOW)
    text = to_qr(issued.print_cose)
    data = CardData.from_credential(
        issued.credential, text, photo=synthetic_photo(), signature=signature_png()
    )
    card = render_card(design, data)

    found = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(card.back_png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert [r.format for r in found] == [zxingcpp.BarcodeFormat.QRCode]
    assert found[0].text == text  # exact, spaces included
    assert found[0].symbology_identifier == "]Q1"

    verifier, problems = load_verifier(issuer.dir)
    assert problems == []
    result = verifier.verify(from_qr(found[0].text), NOW + 60)
    assert result.verdict is Verdict.VALID, result.message
    assert result.claims is not None and result.claims["family_name"] == SIXTY

    # printed size: at least 3 px (0.254 mm) per module at 300 dpi, quiet zone 4 modules
    n = len(qr_matrix(text))
    pos = found[0].position
    width = max(pos.top_right.x, pos.bottom_right.x) - min(pos.top_left.x, pos.bottom_left.x)
    assert width / n >= 3 - 0.1
    left = min(pos.top_left.x, pos.bottom_left.x)
    top = min(pos.top_left.y, pos.top_right.y)
    module = round(width / n)
    quiet = card.back.crop((left - 4 * module, top - 4 * module, left, top + width)).convert("L")
    assert quiet.getextrema()[0] >= 250, "the quiet zone must be white"


def test_qr_is_alphanumeric_level_m() -> None:
    text = "CC1:6BFOXN*TS0BI$ZDFRH%PQ 4FMVEJ$4ANBEO/6MD9BJ9/ZDCQ1F6ALT3A+HH9D:D"
    m = qr_matrix(text)
    assert (
        len(m) == 33
    )  # version 4: 68 characters fit in alphanumeric mode at level M (90), not as bytes (62)
    with pytest.raises(CardLayoutError):
        qr_matrix("cc1:lower case is not alphanumeric")


# -- fields and privacy -------------------------------------------------------------------------


def test_refuses_card_data_the_card_does_not_print(design: CardDesign) -> None:
    no_sex = replace(design, fields=frozenset({"entitlements", "languages"}))
    with pytest.raises(CardLayoutError, match="sex"):
        render_card(no_sex, card_data(signature=None))
    no_langs = replace(design, fields=frozenset({"sex", "entitlements"}))
    with pytest.raises(CardLayoutError, match="languages"):
        render_card(no_langs, card_data(signature=None))
    render_card(no_sex, card_data(sex=None, signature=None))


def test_design_is_checked() -> None:
    with pytest.raises(CardLayoutError, match="colour"):
        CardDesign("X", "blue", "#000000")
    with pytest.raises(CardLayoutError, match="residence permit"):
        CardDesign("X", "#000000", "#000000", disclaimer=" ")
    with pytest.raises(CardLayoutError, match="nationality"):
        CardDesign("X", "#000000", "#000000", fields=frozenset({"nationality"}))


def test_bad_photo_is_a_sentence(design: CardDesign) -> None:
    with pytest.raises(CardLayoutError, match="photo is not a readable image"):
        render_card(design, card_data(photo=b"\xff\xd8not a jpeg"))
    card = render_card(design, card_data(photo=None))  # no photo: a grey box that says so
    assert card.front.getpixel((100, 200)) == (235, 235, 235)


def test_card_data_repr_has_no_personal_data() -> None:
    text = repr(card_data())
    assert "Beispiel" not in text and "Mira" not in text and "1990" not in text
    assert "DEV00000018" in text


# -- fonts --------------------------------------------------------------------------------------


def test_font_for_each_script() -> None:
    assert script_of("Mira Beispiel") == "latin"
    assert script_of("Олена") == "cyrillic"
    assert script_of("أحمد") == "arabic"
    assert script_of("王小明") == "han"
    assert script_of("ሰላም") == "ethiopic"
    assert script_of("1990-01-01") == "latin"
    assert fonts.font_for("Mira").name == "NotoSans-Regular.ttf"
    assert fonts.font_for("Mira", bold=True).name == "NotoSans-Bold.ttf"
    assert fonts.font_for("أحمد").name.startswith("NotoSansArabic")
    assert fonts.font_for("ሰላም").name.startswith("NotoSansEthiopic")
    assert face_for("王小明").path.name.startswith("NotoSansCJK") and face_for("王小明").index == 2
    assert face_for("山田はなこ").index == 0  # kana: the Japanese face


def test_missing_font_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fonts, "SYSTEM_FONT_DIRS", (tmp_path / "none",))
    monkeypatch.setattr(fonts, "SHIPPED_FONT_DIR", tmp_path / "none")
    monkeypatch.delenv("CITYCARD_FONT_DIRS", raising=False)
    with pytest.raises(FontNotFoundError, match="fonts-noto-core"):
        fonts.font_for("أحمد")
    with pytest.raises(FontNotFoundError, match="fonts-noto-cjk"):
        fonts.font_for("王小明")


# -- printed-only fields ------------------------------------------------------------------------

ADDRESS = "1 Dr Carlton B Goodlett Place\nSan Francisco, CA 94102"


def sf_like(design: CardDesign) -> CardDesign:
    return replace(
        design,
        display_name="San Francisco City ID",
        fields=frozenset({"entitlements", "languages", "signature"}),
        field_labels={"address": "Address", "eye_colour": "Eye colour", "height": "Height"},
    )


def test_golden_address_on_the_back(design: CardDesign) -> None:
    sf = sf_like(design)
    card = render_card(sf, card_data(sex=None, extra_fields=(("address", ADDRESS),)))
    assert_matches_golden(card.back, "address-back")
    plain = render_card(sf, card_data(sex=None))
    assert card.front_png == plain.front_png  # no room under the dates: the back holds them
    assert card.back_png != plain.back_png


def test_many_printed_fields_stay_inside_the_safe_margin(design: CardDesign) -> None:
    extra = (  # New York-like: with the signature, entitlements and languages
        ("address", "Calle Inventada 1234, Apartamento 5B, Jackson Heights, Queens, NY 11372"),
        ("eye_colour", "Hazel"),
        ("height", "163 cm"),
        ("Donante de órganos", "Sí"),
        ("medical_info", "حساسية من البنسلين"),
    )
    card = render_card(design, card_data(extra_fields=extra))
    margin = card.back.crop((1011 - 35, 40, 1011, 546))  # right of the back, under its band
    assert margin.getextrema() == ((255, 255), (255, 255), (255, 255))
    # A label may be a field code (through the design's labels) or a label already.
    assert sf_like(design).field_label("eye_colour") == "Eye colour"
    assert design.field_label("hair_colour") == "Hair colour"
    assert design.field_label("Donante de órganos") == "Donante de órganos"


def test_printed_fields_that_cannot_fit_are_refused(design: CardDesign) -> None:
    extra = tuple((f"field_{i}", "x" * 60) for i in range(12))
    with pytest.raises(CardLayoutError, match="fit"):
        render_card(design, card_data(extra_fields=extra))


def test_printed_fields_are_not_in_repr() -> None:
    assert "Goodlett" not in repr(card_data(extra_fields=(("address", ADDRESS),)))


# -- arms, words and rows -----------------------------------------------------------------------

PROGRAMS_ARMS = Path(__file__).resolve().parent.parent / "programs" / "arms"


def test_svg_arms_are_drawn_in_the_header(design: CardDesign) -> None:
    # Before, only PNG arms were read: every programme's SVG arms were left off the card.
    svg = replace(design, arms=PROGRAMS_ARMS / "zurich.svg")
    with_arms = render_card(svg, card_data()).front
    without = render_card(replace(design, arms=None), card_data()).front
    box = (35, 35, 35 + 83, 35 + 83)  # the logo's square in the header
    colours = {c for _, c in with_arms.crop(box).getcolors(1 << 16) or []}
    assert (255, 255, 255) in colours and (51, 51, 51) in colours  # the shield's field, outline
    assert with_arms.crop(box).tobytes() != without.crop(box).tobytes()
    logo = arms_image(PROGRAMS_ARMS / "zurich.svg", (83, 83))
    corner = logo.getpixel((0, 0))
    assert logo.mode == "RGBA" and max(logo.size) == 83
    assert isinstance(corner, tuple) and corner[3] == 0  # transparent around the shield
    assert arms_image(PROGRAMS_ARMS / "zurich.svg", (83, 83)).tobytes() == logo.tobytes()


def test_unreadable_arms_are_a_sentence(design: CardDesign, tmp_path: Path) -> None:
    bad = tmp_path / "arms.svg"
    bad.write_text("<svg this is not", "utf-8")
    with pytest.raises(CardLayoutError, match="arms"):
        render_card(replace(design, arms=bad), card_data())
    with pytest.raises(CardLayoutError, match="cannot be read"):
        render_card(replace(design, arms=tmp_path / "missing.svg"), card_data())


def test_the_card_says_what_it_draws(design: CardDesign) -> None:
    card = render_card(design, card_data())
    front, back = " | ".join(card.texts["front"]), " | ".join(card.texts["back"])
    for text in ("Züri City Card", "City of Example", "Family name", "Beispiel-Musterfrau"):
        assert text in front
    assert design.disclaimer in front and design.disclaimer in back
    assert "Deutsch, English" in back  # languages by their names, never "de, en"
    assert "de, en" not in back


def test_a_language_without_a_printed_name_is_refused(design: CardDesign) -> None:
    with pytest.raises(CardLayoutError, match="'tr'"):
        render_card(design, card_data(languages=("de", "tr")))


def test_the_address_gets_a_row_of_its_own_before_short_fields(design: CardDesign) -> None:
    # Before, a short address was put beside eye colour and height, squeezed into a third
    # of the column.
    ny = replace(sf_like(design), fields=frozenset({"sex", "entitlements", "languages", "signature"}))
    extra = (("eye_colour", "Hazel"), ("address", "1 Main St"), ("height", "163 cm"))
    rows = _extra_rows(ny, card_data(extra_fields=extra), 560)
    assert [[item[0] for item in row] for row in rows] == [["address"], ["eye_colour", "height"]]


def test_bilingual_labels_wrap_instead_of_failing(design: CardDesign) -> None:
    long_labels = replace(  # Bern prints three languages
        design.labels,
        birth_date="Geburtsdatum / Date de naissance / Date of birth",
        sex="Geschlecht / Sexe / Sex",
        document_number="Ausweisnummer / Numéro du document / Document no.",
        issued="Ausgestellt am / Délivrée le / Issued",
        expires="Gültig bis / Valable jusqu'au / Expires",
    )
    card = render_card(replace(design, labels=long_labels), card_data())
    assert "Geburtsdatum / Date de naissance / Date of birth" in card.texts["front"]
