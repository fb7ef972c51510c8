"""Hostile and odd input at the kiosk web UI: never a 500, always the page's own message.

Found by exploratory testing against `citycard-kiosk serve --simulate`: long runs of digits,
signature and photo images with huge or odd dimensions, a missing static file, a session the
sweeper dropped at the idle timeout, and messages that pointed at the wrong thing.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import zlib
from datetime import date

import pytest
from flask import Flask
from PIL import Image

from kiosk.web import messages as msg
from kiosk.web.app import COOKIE
from kiosk.web.context import state_of
from tests.test_kiosk_web import CATALOGUES, Clock, Kiosk, make_app, signature_data_url, tr

DATE_WITH_NUMBERS = "Write the date with numbers, for example 31 12 1990."
INT_MAX_DIGITS = 4300  # int() refuses a longer string of digits (sys.int_info.default_max_str_digits)


def _at_details(program: str = "zurich", lang: str = "en") -> Kiosk:
    kiosk = Kiosk(make_app(program))
    assert kiosk.language(lang).status_code == 303
    assert kiosk.about().status_code == 303
    return kiosk


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(size: tuple[int, int]) -> bytes:
    """A blank 1-bit PNG, written row by row (Pillow would hold a byte per pixel: 900 MB for
    30000 x 30000)."""
    width, height = size
    row = b"\0" * (1 + (width + 7) // 8)  # filter type 0, then the packed bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def _errors(kiosk: Kiosk) -> list[str]:
    return re.findall(r'<li><a href="#[^"]*">([^<]*)</a></li>', kiosk.text())


# -- long runs of digits (int() refuses more than 4300 digits) ---------------------------------


@pytest.mark.parametrize(
    ("day", "month"),
    [
        ("1" * 5000, "1"),
        ("1", "1" * 5000),
        ("1" * (INT_MAX_DIGITS + 1), "1"),
        ("123", "1"),  # a day box holds two digits at most
        ("1", "٣" * 5000),  # Arabic-Indic digits are digits too
    ],
)
def test_a_long_run_of_digits_in_the_date_gets_the_date_message(day: str, month: str) -> None:
    kiosk = _at_details(lang="de")
    response = kiosk.details(birth_day=day, birth_month=month, birth_year="1990")
    assert response.status_code == 422
    assert tr("de", DATE_WITH_NUMBERS) in kiosk.text()
    assert kiosk.session().enrolment.birth_date is None


def test_leading_zeros_in_the_date_are_only_zeros() -> None:
    """However many leading zeros (in any script's digits), they do not make a number longer."""
    kiosk = _at_details()
    response = kiosk.details(birth_day="0" * 5000 + "2", birth_month="٠٠٠٣", birth_year="1990")
    assert response.status_code == 303
    assert kiosk.session().enrolment.birth_date == date(1990, 3, 2)


@pytest.mark.parametrize("height", ["9" * 5000, "1" * (INT_MAX_DIGITS + 1), "2500", "0" * 5000])
def test_a_long_run_of_digits_in_a_number_field_gets_the_range_message(height: str) -> None:
    kiosk = _at_details("new-york", "es")
    response = kiosk.details(address="1 Main Street", eye_colour="brown", height=height)
    assert response.status_code == 422
    assert tr("es", msg.NUMBER_RANGE, low="40", high="250") in kiosk.text()
    assert "height" not in kiosk.session().enrolment.fields


def test_a_number_with_leading_zeros_is_the_number() -> None:
    kiosk = _at_details("new-york")
    response = kiosk.details(address="1 Main Street", eye_colour="brown", height="0" * 5000 + "172")
    assert response.status_code == 303
    assert kiosk.session().enrolment.fields["height"] == "172"


# -- the year ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "month", "year"), [("1", "1", "0000"), ("29", "2", "0000"), ("31", "12", "0999")])
def test_a_year_before_1900_points_at_the_year(day: str, month: str, year: str) -> None:
    kiosk = _at_details(lang="fr")
    response = kiosk.details(birth_day=day, birth_month=month, birth_year=year)
    assert response.status_code == 422
    page = kiosk.text()
    assert tr("fr", "Please check the year.") in page
    assert tr("fr", "This date does not exist. Please check the day and the month.") not in page


# -- signature and photo images with huge or odd dimensions ----------------------------------


def _at_signature(lang: str = "en") -> Kiosk:
    kiosk = _at_details(lang=lang)
    assert kiosk.details().status_code == 303
    assert kiosk.documents("passport", "bill").status_code == 303
    assert kiosk.photo().status_code == 303
    assert kiosk.get("/signature").status_code == 200
    return kiosk


def _broken_chunk_png() -> bytes:
    """A signature PNG whose pixel data goes on in a chunk with no valid type: Pillow raises
    SyntaxError ("broken PNG file") while decoding it."""
    png = base64.b64decode(signature_data_url().split(",", 1)[1])
    at = png.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", png[at : at + 4])
    data = png[at + 8 : at + 8 + length]

    half = length // 2
    return png[:at] + _chunk(b"IDAT", data[:half]) + _chunk(b"\0\0\0I", data[half:]) + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "png",
    [
        pytest.param(_png((30000, 30000)), id="30000x30000"),  # Pillow's DecompressionBombError
        pytest.param(_png((12000, 12000)), id="12000x12000"),  # over Pillow's warning limit only
        pytest.param(_png((2100, 2000)), id="2100x2000"),  # over the signature's own limit
        pytest.param(_broken_chunk_png(), id="broken-chunk"),  # Pillow's SyntaxError
    ],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_signature_too_large_or_broken_is_a_message_not_a_500(png: bytes) -> None:
    kiosk = _at_signature("uk")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    response = kiosk.post("/signature", {"signature": data_url})
    assert response.status_code == 422
    assert tr("uk", msg.BAD_SIGNATURE) in kiosk.text()
    assert 'lang="uk"' in kiosk.text()
    assert kiosk.session().enrolment.signature_png is None
    # The resident can still sign.
    assert kiosk.post("/signature", {"signature": signature_data_url()}).status_code == 303


@pytest.mark.parametrize("size", [(30000, 30000), (20000, 20000)])
def test_a_photo_of_huge_dimensions_is_refused_naming_the_pixel_limit(size: tuple[int, int]) -> None:
    """The photo step refuses it from the header, as the signature step does (kiosk.photo maps
    Pillow's DecompressionBombError and its own pixel limit to "too_many_pixels"), and says
    the limit that was passed: the file is small, "too big" next to "at most 12 MB" misleads."""
    kiosk = _at_signature("de")
    kiosk.get("/photo")
    response = kiosk.post("/photo", {"photo": (io.BytesIO(_png(size)), "huge.png")})
    assert response.status_code == 422
    assert _errors(kiosk) == [tr("de", msg.PHOTO_REASONS["too_many_pixels"], megapixels="40")]


def _jpeg(size: tuple[int, int], orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.new("RGB", size, (128, 128, 128)).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


TOO_WIDE = msg.PHOTO_REASONS["not_portrait"]
NOT_USABLE = msg.PHOTO_REASONS["photo"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(_png((10, 30000)), NOT_USABLE, id="10x30000-png"),
        pytest.param(_png((300, 1000)), NOT_USABLE, id="300x1000-png"),
        pytest.param(_png((30000, 10)), TOO_WIDE, id="30000x10-png"),
        pytest.param(_jpeg((2000, 600)), TOO_WIDE, id="2000x600-jpeg"),
        # EXIF orientation 6 turns the picture a quarter, as the pipeline turns it.
        pytest.param(_jpeg((2000, 600), 6), NOT_USABLE, id="2000x600-jpeg-turned"),
        pytest.param(_jpeg((600, 2000), 6), TOO_WIDE, id="600x2000-jpeg-turned"),
    ],
)
def test_a_photo_too_tall_is_not_called_too_wide(data: bytes, message: str) -> None:
    kiosk = _at_signature("fr")
    kiosk.get("/photo")
    response = kiosk.post("/photo", {"photo": (io.BytesIO(data), "odd.png")})
    assert response.status_code == 422
    assert _errors(kiosk) == [tr("fr", message)]


# -- a missing static file ------------------------------------------------------------------


def _is_kiosk_error_page(text: str, lang: str) -> None:
    assert f'<html lang="{lang}"' in text
    assert tr(lang, "Sorry, something went wrong") in text
    assert f'href="/">{tr(lang, "Back to the start")}</a>' in text


def test_a_missing_static_file_gets_the_kiosks_error_page_in_the_programmes_language() -> None:
    app = make_app()  # Zurich: German first
    client = app.test_client()
    response = client.get("/static/nope.css")
    assert response.status_code == 404 and response.mimetype == "text/html"
    _is_kiosk_error_page(response.get_data(as_text=True), "de")
    assert client.get_cookie(COOKIE) is None  # no session was made for it
    assert len(state_of(app).store) == 0
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_missing_static_file_answers_in_the_residents_language_and_leaves_the_session_be() -> None:
    clock = Clock()
    kiosk = Kiosk(make_app(clock=clock, idle_timeout=120))
    kiosk.language("ar")
    kiosk.about()
    session = kiosk.session()
    seen = session.last_seen
    clock.now += 60
    response = kiosk.client.get("/static/nope.css")
    assert response.status_code == 404
    _is_kiosk_error_page(response.get_data(as_text=True), "ar")
    assert 'dir="rtl"' in response.get_data(as_text=True)
    assert kiosk.session() is session and session.last_seen == seen  # not a sign of life
    assert session.enrolment.completed == {"language", "about"}


# -- a session the sweeper dropped at the idle timeout ----------------------------------------


def notice(lang: str, message: str) -> str:
    """A notice as the start page shows it (the template's gettext marks it safe: unescaped)."""
    return CATALOGUES.gettext(lang, message)


IDLE = 60


def idle_kiosk() -> tuple[Flask, Clock]:
    """A kiosk app whose visits time out after IDLE seconds of the returned test clock."""
    clock = Clock()
    return make_app(clock=clock, idle_timeout=IDLE), clock


def time_out(app: Flask, clock: Clock) -> int:
    """Let the idle timeout pass and the sweeper run; how many sessions it dropped."""
    clock.now += IDLE + 1
    return state_of(app).store.sweep()


def test_after_the_sweeper_dropped_a_timed_out_session_the_start_page_keeps_the_language() -> None:
    app, clock = idle_kiosk()
    kiosk = Kiosk(app)
    kiosk.language("fr")
    kiosk.about()
    kiosk.details()
    old = kiosk.session()
    assert time_out(app, clock) == 1
    assert old.enrolment.fields == {}  # wiped as ever
    assert kiosk.get("/details").location == "/"
    page = kiosk.get("/").get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert notice("fr", msg.TIMED_OUT) in page
    assert notice("fr", msg.SESSION_ENDED) not in page
    session = kiosk.session()
    assert session is not old and session.enrolment.completed == set()
    # Told once: the next page has no notice.
    assert notice("fr", msg.TIMED_OUT) not in kiosk.get("/").get_data(as_text=True)


def test_still_here_after_the_sweeper_leads_to_the_timed_out_start_page() -> None:
    app, clock = idle_kiosk()
    kiosk = Kiosk(app)
    kiosk.language("ru")
    kiosk.about()
    time_out(app, clock)
    assert kiosk.get("/still-here").status_code == 410
    page = kiosk.get("/").get_data(as_text=True)
    assert '<html lang="ru"' in page and notice("ru", msg.TIMED_OUT) in page


def test_an_unknown_or_long_gone_session_still_just_ended() -> None:
    app, clock = idle_kiosk()
    stranger = Kiosk(app)
    stranger.client.set_cookie(COOKIE, "no-such-session")
    page = stranger.get("/").get_data(as_text=True)
    assert '<html lang="de"' in page and notice("de", msg.SESSION_ENDED) in page
    # The note of a timed-out session is short-lived: a day later it is gone.
    kiosk = Kiosk(app)
    kiosk.language("fr")
    kiosk.about()
    time_out(app, clock)
    clock.now += 24 * 3600
    page = kiosk.get("/").get_data(as_text=True)
    assert '<html lang="de"' in page and notice("de", msg.SESSION_ENDED) in page


def test_a_cancelled_session_leaves_no_timed_out_note() -> None:
    """Only the idle timeout is noted; a session ended any other way is not."""
    app, _clock = idle_kiosk()
    kiosk = Kiosk(app)
    kiosk.language("fr")
    kiosk.about()
    old = kiosk.client.get_cookie(COOKIE)
    assert old is not None
    kiosk.post("/cancel")
    other = Kiosk(app)
    other.client.set_cookie(COOKIE, old.value)
    page = other.get("/").get_data(as_text=True)
    assert notice("fr", msg.TIMED_OUT) not in page and notice("de", msg.SESSION_ENDED) in page
