"""A card layout that never fails late: fit is measured with the type that draws, and what
cannot fit is known (`printer.card_fit.check_fit`) before a number is allocated."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ImageDraw

from cardio.chip import CardProfile
from cardio.credential import MAX_NAME
from kiosk.job import JobStep, new_request_id
from kiosk.job.errors import CardTextTooLongError
from kiosk.printing import PRINTED_ONLY_FIELDS, card_design, fit_problem_sentence
from kiosk.programs import Program, load_all, load_program
from kiosk.web.adapters import field_spec
from kiosk.web.ports import FieldKind
from printer.card_design import CardData, CardDesign, CardLayoutError, FieldTooLongError
from printer.card_fit import PLACEHOLDER_QR, WIDE_QR, FitProblem, check_fit, draft_data
from printer.card_images import qr_image
from printer.card_layout import QR_NARROW_PX, render_card

from .conftest import synthetic_photo
from .kiosk_helpers import enrolment, make_kiosk
from .test_card_layout import FAKE_QR, card_data, signature_png

# QR texts of the sizes a print credential comes in: small, usual (345 px), larger (365 px).
QR_TEXTS = ("CC1:" + FAKE_QR[4:44], FAKE_QR, "CC1:" + (FAKE_QR[4:] * 2)[:380], "CC1:" + FAKE_QR[4:] * 3)
ORDINARY_ADDRESSES = (
    "Langstrasse 1, 8004",
    "Langstrasse 1, 8004 Zürich",
    "Bahnhofstrasse 10, 8001 Zürich",
    "350 5th Ave, New York, NY 10118",
    "12 Elm St\nQueens, NY 11372",
)


def new_york() -> CardDesign:
    return card_design(load_program("new-york"), "new-york", "en")


def new_york_card(address: str, qr_text: str = FAKE_QR) -> CardData:
    program = load_program("new-york")
    return card_data(
        extra_fields=(("address", address), ("eye_colour", "Hazel"), ("height", "163 cm")),
        entitlements=tuple(e.code for e in program.entitlements),
        languages=("en", "es"),
        qr_text=qr_text,
    )


@pytest.mark.parametrize("address", ORDINARY_ADDRESSES)
def test_ordinary_new_york_addresses_render(address: str) -> None:
    # Before, fields were put side by side when they fitted in regular type and drawn in bold:
    # "Langstrasse 1, 8004" beside a larger QR code failed, "leave out a middle name".
    design = new_york()
    for qr_text in QR_TEXTS:
        render_card(design, new_york_card(address, qr_text))
    data = new_york_card(address)
    assert check_fit(design, replace(data, qr_text=PLACEHOLDER_QR)) == []


def test_placeholder_qr_codes_give_both_column_places() -> None:
    assert qr_image(PLACEHOLDER_QR, 372).width <= QR_NARROW_PX < qr_image(WIDE_QR, 372).width


def test_a_too_long_address_is_named_with_the_length_that_fits() -> None:
    design = new_york()
    address = "Wolfeschlegelsteinhausenbergerdorffstrasse 123, " * 12  # more than any card holds
    data = replace(new_york_card(address), qr_text=PLACEHOLDER_QR)
    with pytest.raises(FieldTooLongError) as exc:
        render_card(design, data)
    assert exc.value.field == "address" and "middle name" not in str(exc.value)
    [problem] = check_fit(design, data)
    assert problem.field == "address" and 0 < problem.max_chars < len(address)
    render_card(design, replace(new_york_card(address[: problem.max_chars]), qr_text=WIDE_QR))
    # The kiosk words the sentence (kiosk.printing): it names the field and the length.
    sentence = fit_problem_sentence(problem, "en")
    assert sentence.lower().startswith("address: ") and f" {problem.max_chars} " in sentence
    german = fit_problem_sentence(problem, "de")  # through the catalogue, the field's own name
    assert german.startswith("Adresse: ") and f" {problem.max_chars} " in german


def test_a_name_that_cannot_fit_names_the_name() -> None:
    problem = FitProblem("family_name", 40, "")
    assert "family name" in fit_problem_sentence(problem, "en").lower()
    [found] = check_fit(new_york(), replace(new_york_card("Langstrasse 1"), family_name="龍" * 100))
    assert found.field == "family_name" and 0 < found.max_chars < 100


def test_the_job_refuses_too_long_details_before_allocating(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    # Longer than any card holds (the kiosk's form takes 200 characters, which fit): the job
    # checks again what it is given.
    long_address = "東京都千代田区丸の内一丁目" * 50
    e = replace(enrolment(CardProfile.PRINT), printed_fields=(("address", long_address),))
    with pytest.raises(CardTextTooLongError) as exc:
        kiosk.station.job(new_request_id(), e).run()
    err = exc.value
    assert err.code == "card_text_too_long" and not err.retry and err.step is JobStep.WAIT_CARD
    assert err.voided is None and err.void_pending is None
    assert str(err).lower().startswith("address: ") and "shorten it to " in str(err)
    assert "middle name" not in str(err)
    assert kiosk.cards() == []
    [history] = kiosk.station.journal.jobs().values()
    assert history.steps == ["started", "failed"] and history.outcome == "card_text_too_long"


# -- every programme, every script, up to the longest the kiosk accepts ------------------------

_LETTERS = {
    "latin": "abcdefghijklmnopqrstuvwxyzäöüéèçñßøåABCDEFGHIJKLMNOPQRSTUVWXYZWM",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "ethiopic": "ሀለሐመሠረሰሸቀበተቸነኘአከኸወዐዘዠየደጀገጠጨጰጸፀፈፐ",
    "cjk": "司马欧阳诸葛上官东方慕容皇甫长孙宇文龍鳳麟鑫",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЖЗИЙКЛМНОПРСТУФХЦЧШЩЮЯ",
}
_PROGRAMS: dict[str, Program] = load_all()
_DESIGNS = {pid: card_design(p, pid, "en") for pid, p in _PROGRAMS.items()}
_PHOTO = synthetic_photo(20_000)
_SIGNATURE = signature_png()


@st.composite
def _text(draw: st.DrawFn, max_length: int) -> str:
    letters = _LETTERS[draw(st.sampled_from(sorted(_LETTERS)))]
    length = draw(st.integers(1, max_length))
    words = draw(st.lists(st.integers(1, 14), min_size=1, max_size=length))
    text, chars = "", iter(draw(st.text(letters, min_size=length, max_size=length)))
    for size in words:
        text += "".join(next(chars, "") for _ in range(size)) + " "
    return text.strip()[:max_length] or "x"


def _value(draw: st.DrawFn, program: Program, field: str) -> str:
    spec = field_spec(program, field)
    if spec.kind is FieldKind.CHOICE:
        return draw(st.sampled_from(spec.choices or ("yes",)))
    if spec.kind is FieldKind.NUMBER:
        return f"{draw(st.integers(spec.min_value, spec.max_value))} cm"
    return draw(_text(spec.max_length))


def programme_card(
    pid: str,
    family: str,
    given: str,
    languages: tuple[str, ...],
    extra_fields: tuple[tuple[str, str], ...],
    photo: bytes = _PHOTO,
) -> tuple[CardDesign, CardData]:
    """Programme `pid`'s card design and a draft of its card: every field the design prints
    filled (sex, signature, all entitlements), the names and extra fields as given."""
    program, design = _PROGRAMS[pid], _DESIGNS[pid]
    data = draft_data(
        family,
        given,
        date(1990, 1, 1),
        date(2026, 9, 21),
        photo=photo,
        sex="X" if "sex" in design.fields else None,
        signature=_SIGNATURE if "signature" in design.fields else None,
        entitlements=tuple(e.code for e in program.entitlements),
        languages=languages,
        extra_fields=extra_fields,
    )
    return design, data


@st.composite
def _card(draw: st.DrawFn) -> tuple[CardDesign, CardData]:
    pid = draw(st.sampled_from(sorted(_PROGRAMS)))
    program = _PROGRAMS[pid]
    collected = (*program.fields.required, *program.fields.optional)
    extra = tuple(
        (code, _value(draw, program, code)) for code in collected if code in PRINTED_ONLY_FIELDS
    )
    family, given = draw(_text(MAX_NAME)), draw(_text(MAX_NAME))
    languages = ("ar", "ti") if program.entitlements else ()
    return programme_card(pid, family, given, languages, extra)


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(card=_card(), qr_text=st.sampled_from(QR_TEXTS), number=st.sampled_from(("DEV00000018", "NYC-2026-0000012345")))
def test_a_card_either_fits_or_says_so_before_allocation(
    card: tuple[CardDesign, CardData], qr_text: str, number: str
) -> None:
    design, draft = card
    problems = check_fit(design, draft)
    signed = replace(draft, qr_text=qr_text, document_number=number)
    if not problems:
        render_card(design, signed)  # never a late CardLayoutError
        return
    assert all(p.field is not None for p in problems), problems
    for p in problems:
        name, _, rest = fit_problem_sentence(p, "en").partition(": ")
        assert name and "card" in rest, p  # the field named first, then what to do


@settings(
    max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(card=_card(), qr_text=st.sampled_from(QR_TEXTS))
def test_a_layout_measured_is_the_layout_drawn(card: tuple[CardDesign, CardData], qr_text: str) -> None:
    # The fit check lays cards out without drawing their texts: it must place every text,
    # and refuse, exactly as drawing the card does.
    design, draft = card
    data = replace(draft, qr_text=qr_text)
    outcomes: list[object] = []
    for layout_only in (False, True):
        try:
            outcomes.append(dict(render_card(design, data, layout_only=layout_only).texts))
        except CardLayoutError as exc:
            outcomes.append((type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]


def test_checking_the_fit_draws_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the details step drew the whole card (shaped text, the slowest part) some twenty
    # times to bisect a too-long address: 5-7 s before the resident saw the refusal.
    drawn: list[str] = []
    real = ImageDraw.ImageDraw.text

    def counting(self: ImageDraw.ImageDraw, xy: object, text: str, *args: object, **kwargs: object) -> None:
        drawn.append(text)
        real(self, xy, text, *args, **kwargs)  # type: ignore[arg-type]

    data = replace(new_york_card("W" * 600), qr_text=PLACEHOLDER_QR)
    # Font coverage is probed once per face and character by drawing it (printer.raster.covers,
    # cached): warm that first, so the count does not hang on which tests ran before.
    check_fit(new_york(), data)
    monkeypatch.setattr(ImageDraw.ImageDraw, "text", counting)
    [problem] = check_fit(new_york(), data)
    assert problem.field == "address" and drawn == []
    render_card(new_york(), new_york_card("Langstrasse 1"))
    assert drawn  # the same counter sees a card that is drawn
