"""The kiosk web UI through Flask's test client: every step, and every kind of bad input.

The programme profiles, the rules engine and the photo pipeline are the real ones; the card job
is a small recorder (the browser test runs the real job on simulated hardware).
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from werkzeug.test import TestResponse

from kiosk.demo import synthetic_portrait
from kiosk.i18n import LANGUAGES, Catalogues
from kiosk.job import errors as job_errors
from kiosk.programs import load_program
from kiosk.web import KioskConfig, create_kiosk_app
from kiosk.web import messages as msg
from kiosk.web.adapters import EngineRules, PipelinePhotos, busy_failure, job_failed, program_view
from kiosk.web.app import COOKIE
from kiosk.web.attendant import hash_pin
from kiosk.web.context import state_of
from kiosk.web.ports import CardRequest, JobFailed, JobProgress, ReasonView
from kiosk.web.sessions import MAX_SESSIONS

TODAY = date(2026, 9, 21)
PIN = "4711"
PIN_HASH = hash_pin(PIN, iterations=1000)
CATALOGUES = Catalogues()
FAMILY, GIVEN = "Beispiel-Musterfrau", "Mira"


def tr(lang: str, message: str, **params: str) -> str:
    """A message as the kiosk shows it in `lang` (HTML-escaped as in the page)."""
    from markupsafe import escape

    text = CATALOGUES.gettext(lang, message)
    return str(escape(text % params if params else text))


@dataclass
class RecordingJob:
    """A card job that records each request and reports a few progress steps."""

    requests: list[CardRequest] = field(default_factory=list)
    fail_with: Exception | None = None  # a JobFailed, or anything the job might raise
    forgotten: list[str] = field(default_factory=list)
    gate: threading.Event | None = None
    pause_at: str | None = None  # a step to stop at (`paused` set) until `resume` is set
    paused: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)
    runs: int = 0

    def run(self, request: CardRequest, progress: Callable[[JobProgress], None]) -> None:
        self.runs += 1
        if self.gate is not None:
            self.gate.wait(10)
        for step, fraction in (("allocate", 0.1), ("write_chip", 0.3), ("print_card", 0.8)):
            progress(JobProgress(step, fraction))
            if step == self.pause_at:
                self.paused.set()
                self.resume.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        self.requests.append(request)

    def forget(self, request_id: str) -> None:
        self.forgotten.append(request_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StaffCards:
    def __init__(self, staff_id: str | None) -> None:
        self.staff_id = staff_id

    def wait_for_staff_card(self, timeout: float) -> str | None:
        return self.staff_id


def make_app(program_id: str = "zurich", **overrides: Any) -> Flask:
    settings: dict[str, Any] = {
        "program": program_view(load_program(program_id)),
        "rules": EngineRules(),
        "photos": PipelinePhotos(),
        "job": RecordingJob(),
        "attendant_pin_hash": PIN_HASH,
        "today": lambda: TODAY,
        "sweep_interval": None,
    }
    settings.update(overrides)
    return create_kiosk_app(KioskConfig(**settings))


class Kiosk:
    """A resident at the kiosk: a test client that keeps the page's CSRF token."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.csrf = ""
        self.page: TestResponse | None = None

    @property
    def config(self) -> KioskConfig:
        return state_of(self.app).config

    @property
    def job(self) -> RecordingJob:
        job = self.config.job
        assert isinstance(job, RecordingJob)
        return job

    def _keep(self, response: TestResponse) -> TestResponse:
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        self.page = response
        return response

    def get(self, path: str, follow: bool = False) -> TestResponse:
        return self._keep(self.client.get(path, follow_redirects=follow))

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, follow: bool = False, csrf: bool = True
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        files = any(isinstance(v, tuple) for v in form.values())
        return self._keep(
            self.client.post(
                path,
                data=form,
                follow_redirects=follow,
                content_type="multipart/form-data" if files else None,
            )
        )

    # -- the steps, done right ----------------------------------------------------------------

    def language(self, lang: str = "en") -> TestResponse:
        self.get("/")
        return self.post("/language", {"lang": lang})

    def about(self) -> TestResponse:
        self.get("/about")
        return self.post("/about")

    def details(self, **fields: str) -> TestResponse:
        self.get("/details")
        form = {
            "family_name": FAMILY,
            "given_name": GIVEN,
            "birth_day": "1",
            "birth_month": "1",
            "birth_year": "1990",
        }
        form.update(fields)
        return self.post("/details", form)

    def documents(self, *codes: str) -> TestResponse:
        self.get("/documents")
        return self.post("/documents", {"document": list(codes)})

    def attendant(self, pin: str = PIN) -> TestResponse:
        self.get("/attendant")
        return self.post("/attendant", {"method": "pin", "pin": pin})

    def photo(self, data: bytes | None = None) -> TestResponse:
        self.get("/photo")
        self.post("/photo", {"photo": (io.BytesIO(data or synthetic_portrait()), "me.jpg")})
        return self.post("/photo", {"action": "use"})

    def signature(self) -> TestResponse:
        self.get("/signature")
        return self.post("/signature", {"signature": signature_data_url()})

    def fee(self) -> TestResponse:
        self.get("/fee")
        return self.post("/fee")

    def review(self) -> str:
        page = self.get("/review").get_data(as_text=True)
        found = re.search(r'name="request_id" value="([^"]+)"', page)
        assert found, page
        return found.group(1)

    def walk_to_review(self, lang: str = "en", documents: tuple[str, ...] = ("passport", "bill"), **fields: str) -> None:
        for step in (
            lambda: self.language(lang),
            self.about,
            lambda: self.details(**fields),
            lambda: self.documents(*documents),
            self.photo,
            self.signature,
            self.attendant,
            self.fee,
        ):
            response = step()
            assert response.status_code == 303, response.get_data(as_text=True)[:2000]

    def wait_done(self, timeout: float = 5.0) -> None:
        session = self.session()
        assert session is not None and session.job is not None
        with session.job.changed:
            session.job.changed.wait_for(lambda: session.job is None or session.job.done or session.job.failed, timeout)

    def session(self) -> Any:
        cookie = self.client.get_cookie(COOKIE)
        return state_of(self.app).store.get(cookie.value if cookie else None)

    def text(self) -> str:
        assert self.page is not None
        return self.page.get_data(as_text=True)


def signature_data_url(ink: bool = True) -> str:
    import base64

    img = Image.new("RGBA", (900, 300), (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(img).line((50, 200, 300, 80, 500, 220, 800, 90), fill=(0, 0, 0, 255), width=6)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def kiosk() -> Kiosk:
    return Kiosk(make_app())


# -- sessions, cookies, headers -------------------------------------------------------------------


def test_only_a_simulated_kiosk_says_so_on_every_page() -> None:
    real, simulated = Kiosk(make_app()), Kiosk(make_app(simulated=True))
    for path in ("/", "/nowhere"):
        real.get(path)
        simulated.get(path)
        # The banner is translated (the start page speaks the programme's first language).
        assert 'class="simulated"' not in real.text()
        assert 'class="simulated"' in simulated.text(), path
    simulated.get("/?lang=de")


def test_start_page_offers_the_twelve_languages_and_sets_only_an_opaque_cookie(kiosk: Kiosk) -> None:
    response = kiosk.get("/")
    assert response.status_code == 200
    page = kiosk.text()
    for language in LANGUAGES:
        assert f'value="{language.code}" lang="{language.code}" dir="{language.dir}"' in page
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookies[0] and "SameSite=Strict" in cookies[0]
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_strangers_requests_never_evict_a_residents_session(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.about()
    assert kiosk.details().location == "/documents"
    strangers = kiosk.app.test_client(use_cookies=False)
    for _ in range(200):
        assert strangers.get("/").status_code == 200
    for _ in range(50):
        assert strangers.get("/", headers={"Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}"}).status_code == 200
    assert len(state_of(kiosk.app).store) <= MAX_SESSIONS
    # The resident carries on where they were, with what they entered.
    assert kiosk.get("/documents").status_code == 200
    assert kiosk.session().enrolment.fields["family_name"] == FAMILY
    assert FAMILY in kiosk.get("/details").get_data(as_text=True)
    assert kiosk.documents("passport", "bill").location == "/photo"


def test_a_kiosk_full_of_residents_refuses_newcomers_with_a_busy_page() -> None:
    clock = Clock()
    app = make_app(clock=clock)
    residents = [Kiosk(app) for _ in range(MAX_SESSIONS)]
    for resident in residents:
        resident.language("en")
    newcomer = Kiosk(app)
    response = newcomer.get("/")
    assert response.status_code == 503
    lang = state_of(app).default_lang
    assert tr(lang, msg.SESSIONS_FULL) in newcomer.text()
    assert "Set-Cookie" not in response.headers  # no session was made for the newcomer
    # Nobody's visit was given up for the newcomer.
    for resident in residents:
        assert resident.get("/about").status_code == 200
    # Visits left idle are wiped at the timeout as ever, and then there is room.
    clock.now += 121
    assert newcomer.get("/").status_code == 200
    assert newcomer.language("en").location == "/about"


def test_a_resident_who_has_their_card_gives_way_to_a_newcomer() -> None:
    """A visit whose card is made is over (the resident was forgotten); only the done page's
    timer was still to end it. Found by the every-language browser walk: its 33rd resident
    met the busy page while 32 finished visits were not yet idle for two minutes."""
    app = make_app(clock=Clock())
    finished = Kiosk(app)
    finished.walk_to_review()
    finished.post("/personalise", {"request_id": finished.review()})
    finished.wait_done()
    assert finished.get("/done").status_code == 200
    residents = [Kiosk(app) for _ in range(MAX_SESSIONS - 1)]
    for resident in residents:
        resident.language("en")
    newcomer = Kiosk(app)
    assert newcomer.get("/").status_code == 200
    assert newcomer.language("en").location == "/about"
    # The finished visit gave way, and no visit in progress did.
    assert finished.session() is None
    for resident in residents:
        assert resident.get("/about").status_code == 200


def test_flask_cookie_session_cannot_hold_data(kiosk: Kiosk) -> None:
    with kiosk.app.test_request_context("/"):
        from flask import session

        with pytest.raises(RuntimeError):
            session["name"] = "x"


@pytest.mark.parametrize(("lang", "direction"), [("en", "ltr"), ("ar", "rtl"), ("fa", "rtl"), ("ti", "ltr"), ("zh", "ltr")])
def test_pages_carry_lang_and_dir(kiosk: Kiosk, lang: str, direction: str) -> None:
    kiosk.language(lang)
    page = kiosk.get("/about").get_data(as_text=True)
    assert f'<html lang="{lang}" dir="{direction}"' in page
    assert tr(lang, "It is not a residence permit.") in page


@pytest.mark.parametrize(
    ("lang", "name", "disclaimer"),
    [
        ("en", "Zurich City Card", "Not a residence permit"),
        ("fr", "Züri City Card", "N&#39;est pas un titre de séjour"),  # no French name: German
        # Not in the profile: the disclaimer comes from the Ukrainian catalogue (profile
        # texts are translated there); the card's name is a name and keeps the fallback.
        ("uk", "Züri City Card", "Не є дозволом на проживання"),
    ],
)
def test_programme_texts_fall_back_to_the_programmes_first_language(
    kiosk: Kiosk, lang: str, name: str, disclaimer: str
) -> None:
    kiosk.language(lang)
    page = kiosk.get("/about").get_data(as_text=True)
    assert f'<p class="program-name">{name}</p>' in page
    assert f'<p class="disclaimer">{disclaimer}</p>' in page


def test_display_toggles_are_kept_in_the_session(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.get("/about")
    kiosk.post("/display", {"toggle": "large", "back": "/about"})
    assert kiosk.page is not None and kiosk.page.location == "/about"
    kiosk.post("/display", {"toggle": "contrast", "back": "https://evil.example/"})
    assert kiosk.page.location == "/"
    page = kiosk.get("/about").get_data(as_text=True)
    assert 'class="large-text high-contrast"' in page
    assert 'value="large" class="secondary" aria-pressed="true"' in page


# -- the whole flow -----------------------------------------------------------------------------


def test_whole_enrolment_zurich(kiosk: Kiosk) -> None:
    kiosk.walk_to_review(sex="X")
    page = kiosk.text()
    request_id = kiosk.review()
    page = kiosk.text()
    assert FAMILY in page and GIVEN in page and "January 1, 1990" in page
    assert "Passport" in page and "/photo/preview.jpg" in page and "/signature/preview.png" in page
    response = kiosk.post("/personalise", {"request_id": request_id})
    assert response.location == "/progress"
    kiosk.wait_done()
    assert kiosk.get("/progress").location == "/done"
    done = kiosk.get("/done")
    assert done.status_code == 200 and "Please take your card" in kiosk.text()
    (card,) = kiosk.job.requests
    assert card.request_id == request_id
    assert card.application.fields == {"family_name": FAMILY, "given_name": GIVEN, "sex": "X"}
    assert card.application.birth_date == date(1990, 1, 1)
    assert card.application.documents == ("passport", "bill")
    assert card.photo is not None and card.photo.jpeg[:2] == b"\xff\xd8"
    assert card.signature_png is not None and card.signature_png[:4] == b"\x89PNG"
    assert card.decision.valid_until == date(2031, 9, 21)
    # The resident is forgotten as soon as the card is made.
    session = kiosk.session()
    assert session.finished and session.enrolment.fields == {} and session.enrolment.photo_jpeg is None
    assert kiosk.client.get("/photo/preview.jpg").status_code == 404
    kiosk.post("/finish")
    assert len(state_of(kiosk.app).store) == 1  # only the fresh session for the next resident


def test_programme_without_signature_skips_that_step() -> None:
    kiosk = Kiosk(make_app("nantes"))
    kiosk.language("fr")
    kiosk.about()
    kiosk.details()
    page = kiosk.get("/documents").get_data(as_text=True)
    codes = re.findall(r'name="document" value="([^"]+)"', page)
    kiosk.post("/documents", {"document": codes})
    assert kiosk.photo().location == "/attendant"
    assert kiosk.get("/signature").location == "/attendant"
    assert kiosk.attendant().location == "/fee"


def test_only_the_programmes_fields_are_asked() -> None:
    sf = Kiosk(make_app("san-francisco"))
    sf.language("en")
    sf.about()
    page = sf.get("/details").get_data(as_text=True)
    assert 'name="sex"' not in page  # forbidden in San Francisco
    assert 'name="address"' in page and 'name="medical_info"' in page
    ny = Kiosk(make_app("new-york"))
    ny.language("en")
    ny.about()
    page = ny.get("/details").get_data(as_text=True)
    for name in ("sex", "eye_colour", "height", "address", "organ_donor"):
        assert f'name="{name}"' in page
    assert 'id="height" name="height" value="" autocomplete="off" spellcheck="false" dir="auto" inputmode="numeric" aria-required="true"' in page
    assert tr("en", msg.NOT_SAID) in page  # sex is optional in New York


def test_required_field_missing_is_a_message(kiosk: Kiosk) -> None:
    kiosk2 = Kiosk(make_app("new-york"))
    kiosk2.language("en")
    kiosk2.about()
    response = kiosk2.details(address="1 Main Street", eye_colour="", height="175")
    assert response.status_code == 422
    assert "Eye colour: Please choose one." in kiosk2.text()
    response = kiosk2.details(address="1 Main Street", eye_colour="brown", height="9000")
    assert "Height (cm): Please write a number from 40 to 250." in kiosk2.text()


def test_back_and_edit_at_every_step(kiosk: Kiosk) -> None:
    kiosk.walk_to_review()
    for path, back in (
        ("/about", "/"),
        ("/details", "/about"),
        ("/documents", "/details"),
        ("/photo", "/documents"),
        ("/signature", "/photo"),
        ("/attendant", "/signature"),
        ("/fee", "/attendant"),
        ("/review", "/fee"),
    ):
        page = kiosk.get(path).get_data(as_text=True)
        assert f'class="button secondary back" href="{back}"' in page, path
    # Editing a name keeps the approval only if nothing changed ...
    assert kiosk.details().location == "/review"
    # ... a change asks the attendant again.
    assert kiosk.details(given_name="Mirabelle").location == "/attendant"
    assert kiosk.get("/review").location == "/attendant"
    kiosk.attendant()
    assert kiosk.fee().location == "/review"
    assert "Mirabelle" in kiosk.get("/review").get_data(as_text=True)


def test_the_attendant_approves_the_photo_with_the_documents(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.about()
    kiosk.details()
    assert kiosk.documents("passport", "bill").location == "/photo"
    assert kiosk.get("/attendant").location == "/photo"  # no approval before there is a photo
    kiosk.photo()
    kiosk.signature()
    page = kiosk.get("/attendant").get_data(as_text=True)
    assert 'id="attendant-photo" src="/photo/preview.jpg"' in page and "Photo to check" in page
    assert "/signature/preview.png" in page
    assert kiosk.attendant().location == "/fee"
    # Back on the approval page: it says so and goes on, no second PIN asked.
    page = kiosk.get("/attendant").get_data(as_text=True)
    assert 'href="/fee" id="attendant-continue"' in page and 'name="pin"' not in page
    # A new photo is a photo nobody has checked: the attendant is asked again.
    kiosk.get("/photo")
    kiosk.post("/photo", {"action": "retake"})
    assert "attendant" not in kiosk.session().enrolment.completed
    kiosk.photo(synthetic_portrait(seed=11))
    assert kiosk.session().enrolment.approved_by is None
    assert kiosk.signature().location == "/attendant"
    assert kiosk.get("/review").location == "/attendant"


def test_back_from_the_photo_lands_on_the_documents_with_their_continue(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.about()
    kiosk.details()
    kiosk.documents("passport", "bill")
    page = kiosk.get("/photo").get_data(as_text=True)
    assert 'class="button secondary back" href="/documents"' in page
    page = kiosk.get("/documents").get_data(as_text=True)
    assert '<button type="submit" class="primary">Continue</button>' in page
    assert kiosk.post("/documents", {"document": ["passport", "bill"]}).location == "/photo"


def test_steps_cannot_be_skipped(kiosk: Kiosk) -> None:
    kiosk.language("en")
    assert kiosk.get("/photo").location == "/about"
    assert kiosk.post("/personalise", {"request_id": "x" * 22}).location == "/about"


# -- bad input in the personal data ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "Please write this name."),
        ("   ", "Please write this name."),
        ("A" * 101, "This name is too long. Please shorten it."),
        ("Mаria", "This name mixes letters from different alphabets. Write it in one alphabet."),  # Cyrillic а
        ("Mira3", "Use only letters, spaces, hyphens (-) and apostrophes (') in a name."),
        ("Mira\u202e", "Use only letters, spaces, hyphens (-) and apostrophes (') in a name."),
    ],
)
def test_bad_names_are_refused_with_a_message(kiosk: Kiosk, given: str, message: str) -> None:
    kiosk.language("en")
    kiosk.about()
    response = kiosk.details(given_name=given)
    assert response.status_code == 422
    page = kiosk.text()
    assert tr("en", message) in page
    assert 'id="given_name"' in page and 'aria-invalid="true"' in page
    # the first wrong field gets the focus, and the error summary is announced
    assert re.search(r'id="given_name"[^>]*autofocus', page)
    assert 'role="alert"' in page
    assert kiosk.session().enrolment.fields == {}  # nothing stored


@pytest.mark.parametrize(
    ("family", "given"),
    [("العلي", "محمد"), ("王", "小明"), ("Шевченко", "Олена"), ("ወልደ", "ኣማኑኤል"), ("O’Brien-Núñez", "Zoë"), ("山田", "はなこ")],
)
def test_names_in_one_script_are_fine(kiosk: Kiosk, family: str, given: str) -> None:
    kiosk.language("en")
    kiosk.about()
    assert kiosk.details(family_name=family, given_name=given).status_code == 303
    assert kiosk.session().enrolment.fields["family_name"] == family


def test_bad_input_message_is_in_the_residents_language(kiosk: Kiosk) -> None:
    kiosk.language("uk")
    kiosk.about()
    kiosk.details(given_name="Olena", family_name="Шевченко")
    assert kiosk.page is not None and kiosk.page.status_code == 303  # two scripts, two names: fine
    kiosk.details(given_name="Оlena")  # Cyrillic О, Latin rest
    text = tr("uk", "This name mixes letters from different alphabets. Write it in one alphabet.")
    assert text != "This name mixes letters from different alphabets. Write it in one alphabet."
    assert text in kiosk.text()


@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("30", "2", "2023", "This date does not exist. Please check the day and the month."),
        ("31", "4", "1990", "This date does not exist. Please check the day and the month."),
        ("1", "13", "1990", "The month must be a number from 1 to 12."),
        ("1", "1", "2030", "This date is in the future. Please check the year."),
        ("1", "1", "1850", "Please check the year."),
        ("a", "1", "1990", "Write the date with numbers, for example 31 12 1990."),
        ("1", "1", "90", "Write the date with numbers, for example 31 12 1990."),
        ("", "", "", "Please write your date of birth: day, month and year."),
    ],
)
def test_impossible_dates(kiosk: Kiosk, day: str, month: str, year: str, message: str) -> None:
    kiosk.language("en")
    kiosk.about()
    response = kiosk.details(birth_day=day, birth_month=month, birth_year=year)
    assert response.status_code == 422
    page = kiosk.text()
    assert tr("en", message) in page
    assert re.search(r'id="birth_day"[^>]*autofocus', page)
    assert kiosk.session().enrolment.birth_date is None


def test_arabic_indic_digits_are_read(kiosk: Kiosk) -> None:
    kiosk.language("ar")
    kiosk.about()
    assert kiosk.details(birth_day="١٥", birth_month="٣", birth_year="١٩٨٨").status_code == 303
    assert kiosk.session().enrolment.birth_date == date(1988, 3, 15)


def test_minor_without_guardian_gets_the_rules_engines_message() -> None:
    kiosk = Kiosk(make_app("new-york"))
    kiosk.language("en")
    kiosk.about()
    ny = {"address": "1 Main Street", "eye_colour": "brown", "height": "150"}
    response = kiosk.details(birth_year="2014", **ny)  # 12 years old, no guardian
    assert response.status_code == 422
    assert "If you are under 14, please come with a parent or guardian." in kiosk.text()
    assert kiosk.session().enrolment.birth_date is None
    # In Spanish, from the same rules engine message.
    kiosk.language("es")
    kiosk.details(birth_year="2014", **ny)
    assert "Si tienes menos de 14 años" in kiosk.text() or "menos de 14" in kiosk.text()
    # With a guardian the attendant decides.
    assert kiosk.details(birth_year="2014", guardian_present="yes", **ny).status_code == 303
    response = kiosk.documents("passport", "utility-bill")
    assert response.location == "/photo"
    kiosk.photo()
    kiosk.signature()
    page = kiosk.get("/attendant").get_data(as_text=True)
    assert "parent or guardian" in page or "tutor" in page


def test_too_young_even_with_guardian() -> None:
    kiosk = Kiosk(make_app("new-york"))
    kiosk.language("en")
    kiosk.about()
    kiosk.details(birth_year="2020", guardian_present="yes", address="x", eye_colour="blue", height="100")
    assert "You must be at least 10 years old to get this card, even with a parent or guardian." in kiosk.text()


def test_residence_question_where_the_programme_asks_a_minimum_stay() -> None:
    kiosk = Kiosk(make_app("bern"))
    kiosk.language("de")
    kiosk.about()
    page = kiosk.get("/details").get_data(as_text=True)
    assert tr("de", msg.LIVED_MONTHS, months="3") not in page  # 91 days is not whole months
    assert tr("de", msg.LIVED_DAYS, days="91") in page
    response = kiosk.details(address="Bundesgasse 1, 3011 Bern")
    assert response.status_code == 422  # not answered
    response = kiosk.details(address="Bundesgasse 1, 3011 Bern", lived_long_enough="no")
    assert response.status_code == 422
    assert "91" in kiosk.text()
    assert kiosk.details(address="Bundesgasse 1, 3011 Bern", lived_long_enough="unsure").status_code == 303


# -- documents, attendant ---------------------------------------------------------------------


def test_documents_checklist_comes_from_the_profile(kiosk: Kiosk) -> None:
    kiosk.language("de")
    kiosk.about()
    kiosk.details()
    page = kiosk.get("/documents").get_data(as_text=True)
    assert "Reisepass" in page and tr("de", "To show who you are") in page
    assert tr("de", msg.LOW_INCOME) in page  # Zurich waives the renewal fee on a low income
    # No document at all: the attendant decides (the profile says so), with the reasons shown.
    assert kiosk.post("/documents", {}).location == "/photo"
    kiosk.photo()
    kiosk.signature()
    page = kiosk.get("/attendant").get_data(as_text=True)
    assert 'class="warning"' in page


def test_unknown_document_codes_are_ignored(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.about()
    kiosk.details()
    kiosk.documents("passport", "nationality-certificate", "bill")
    assert kiosk.session().enrolment.documents == ("passport", "bill")


def test_attendant_pin_wrong_then_locked(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.about()
    kiosk.details()
    kiosk.documents("passport", "bill")
    kiosk.photo()
    kiosk.signature()
    assert kiosk.attendant("0000").status_code == 422
    assert tr("en", msg.WRONG_PIN) in kiosk.text()
    assert re.search(r'id="pin"[^>]*autofocus', kiosk.text())
    for _ in range(3):
        kiosk.attendant("0000")
    assert kiosk.attendant("0000").status_code == 429
    assert kiosk.attendant(PIN).status_code == 429  # locked, even with the right PIN
    assert "attendant" not in kiosk.session().enrolment.completed


def at_attendant(app: Flask, lang: str = "en") -> Kiosk:
    """A new resident (a new session) at the attendant step."""
    kiosk = Kiosk(app)
    kiosk.language(lang)
    kiosk.about()
    kiosk.details()
    kiosk.documents("passport", "bill")
    kiosk.photo()
    kiosk.signature()
    return kiosk


def test_attendant_pin_lockout_is_per_kiosk_across_sessions() -> None:
    clock = Clock()
    app = make_app(clock=clock)
    # Fresh sessions do not buy fresh guesses: the fifth wrong PIN on this kiosk locks it.
    for _ in range(4):
        assert at_attendant(app).attendant("0000").status_code == 422
    fifth = at_attendant(app)
    assert fifth.attendant("0000").status_code == 429
    assert tr("en", msg.PIN_LOCKED, time="30 seconds") in fifth.text()
    # While locked a PIN is not even checked: the right one is refused too, and the page says
    # (in the session's language) how long to wait.
    resident = at_attendant(app, "de")
    assert tr("de", msg.PIN_LOCKED, time="30 Sekunden") in resident.get("/attendant").get_data(as_text=True)
    assert resident.attendant(PIN).status_code == 429
    assert "attendant" not in resident.session().enrolment.completed
    clock.now += 29
    assert resident.attendant(PIN).status_code == 429
    assert tr("de", msg.PIN_LOCKED, time="1 Sekunde") in resident.text()
    clock.now += 1
    assert resident.attendant(PIN).location == "/fee"
    assert resident.session().enrolment.approved_by == "pin"


def test_attendant_pin_lockout_delays_grow_to_a_cap_and_a_right_pin_resets_them() -> None:
    clock = Clock()
    app = make_app(clock=clock, idle_timeout=24 * 3600)
    kiosk = at_attendant(app)
    for _ in range(4):
        assert kiosk.attendant("0000").status_code == 422
    for wait, said in ((30, "30 seconds"), (60, "1 minute"), (120, "2 minutes"), (240, "4 minutes"),
                       (480, "8 minutes"), (900, "15 minutes"), (900, "15 minutes")):
        assert kiosk.attendant("0000").status_code == 429
        assert tr("en", msg.PIN_LOCKED, time=said) in kiosk.text(), said
        clock.now += wait - 1
        assert kiosk.attendant("0000").status_code == 429  # refused, not counted
        clock.now += 1
    assert kiosk.attendant(PIN).location == "/fee"
    # A right PIN starts the count again: four free guesses, then 30 seconds.
    again = at_attendant(app)
    for _ in range(4):
        assert again.attendant("0000").status_code == 422
    assert again.attendant("0000").status_code == 429
    assert tr("en", msg.PIN_LOCKED, time="30 seconds") in again.text()


def test_a_staff_card_approves_while_the_pin_is_locked() -> None:
    app = make_app(clock=Clock(), staff_cards=StaffCards("staff-7"))
    for _ in range(5):
        at_attendant(app).attendant("0000")
    kiosk = at_attendant(app)
    assert kiosk.attendant(PIN).status_code == 429
    assert kiosk.post("/attendant", {"method": "card"}).location == "/fee"


def test_attendant_pins_sent_at_once_from_many_sessions_are_counted_one_by_one() -> None:
    app = make_app(clock=Clock())
    kiosks = [at_attendant(app) for _ in range(12)]
    for kiosk in kiosks:
        kiosk.get("/attendant")
    start = threading.Barrier(len(kiosks))
    codes: list[int] = []

    def guess(kiosk: Kiosk) -> None:
        start.wait(10)
        codes.append(kiosk.post("/attendant", {"method": "pin", "pin": "0000"}).status_code)

    threads = [threading.Thread(target=guess, args=(k,)) for k in kiosks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(codes) == [422] * 4 + [429] * 8


def test_staff_card_tap_approves() -> None:
    kiosk = at_attendant(make_app(staff_cards=StaffCards("staff-7")))
    assert "Attendant: tap your staff card" in kiosk.get("/attendant").get_data(as_text=True)
    assert kiosk.post("/attendant", {"method": "card"}).location == "/fee"
    assert kiosk.session().enrolment.approved_by == "staff:staff-7"
    nobody = at_attendant(make_app(staff_cards=StaffCards(None), attendant_pin_hash=None))
    assert "pin" not in nobody.get("/attendant").get_data(as_text=True).lower().split("csrf")[0]
    assert nobody.post("/attendant", {"method": "card"}).status_code == 422


def test_an_app_needs_a_way_to_approve() -> None:
    with pytest.raises(ValueError, match="PIN hash or a staff card"):
        make_app(attendant_pin_hash=None)
    with pytest.raises(ValueError, match="pbkdf2-sha256"):
        make_app(attendant_pin_hash="1234")


# -- photo and signature ---------------------------------------------------------------------


def _at_photo(kiosk: Kiosk, lang: str = "en") -> None:
    kiosk.language(lang)
    kiosk.about()
    kiosk.details()
    kiosk.documents("passport", "bill")
    kiosk.get("/photo")


def test_non_image_upload_gets_the_photo_pipelines_message(kiosk: Kiosk) -> None:
    _at_photo(kiosk, "fr")
    response = kiosk.post("/photo", {"photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "doc.pdf")})
    assert response.status_code == 422
    assert tr("fr", msg.PHOTO_REASONS["not_image"]) in kiosk.text()
    assert kiosk.session().enrolment.photo_jpeg is None


def test_too_dark_and_empty_uploads(kiosk: Kiosk) -> None:
    _at_photo(kiosk)
    dark = io.BytesIO()
    Image.new("RGB", (600, 800), (5, 5, 5)).save(dark, "JPEG")
    assert kiosk.post("/photo", {"photo": (io.BytesIO(dark.getvalue()), "dark.jpg")}).status_code == 422
    assert tr("en", msg.PHOTO_REASONS["too_dark"]) in kiosk.text()
    assert kiosk.post("/photo", {"photo": (io.BytesIO(b""), "empty.jpg")}).status_code == 422
    assert tr("en", msg.NO_PHOTO) in kiosk.text()


def test_a_frame_without_a_face_or_with_two_is_refused_in_the_residents_language(kiosk: Kiosk) -> None:
    _at_photo(kiosk, "uk")
    blank = io.BytesIO()
    Image.new("RGB", (720, 960), (190, 200, 210)).save(blank, "JPEG")
    assert kiosk.post("/photo", {"photo": (io.BytesIO(blank.getvalue()), "blank.jpg")}).status_code == 422
    assert tr("uk", msg.PHOTO_REASONS["no_face"]) in kiosk.text()
    face = Image.open(io.BytesIO(synthetic_portrait(480, 640, seed=5)))
    pair = Image.new("RGB", (960, 720), (196, 210, 226))
    pair.paste(face, (0, 40))
    pair.paste(face, (480, 40))
    two = io.BytesIO()
    pair.save(two, "JPEG")
    assert kiosk.post("/photo", {"photo": (io.BytesIO(two.getvalue()), "two.jpg")}).status_code == 422
    assert tr("uk", msg.PHOTO_REASONS["several_faces"]) in kiosk.text()
    assert kiosk.session().enrolment.photo_jpeg is None
    kiosk.post("/photo", {"photo": (io.BytesIO(synthetic_portrait()), "me.jpg")})
    assert kiosk.session().enrolment.photo_jpeg is not None


def test_huge_upload_is_refused_and_never_spooled_to_disk(kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def no_disk(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an upload went to a temporary file")

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", no_disk)
    monkeypatch.setattr(tempfile, "TemporaryFile", no_disk)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_disk)
    _at_photo(kiosk, "de")
    big = b"\xff\xd8" + b"\0" * (kiosk.config.max_upload_bytes + 128 * 1024)
    response = kiosk.post("/photo", {"photo": (io.BytesIO(big), "huge.jpg")})
    assert response.status_code == 413
    assert tr("de", msg.PHOTO_TOO_BIG) in kiosk.text()
    # A large but acceptable upload (over werkzeug's 500 KB spooling limit) stays in memory.
    photo = io.BytesIO()
    Image.effect_noise((1200, 1600), 60).convert("RGB").save(photo, "PNG")
    assert len(photo.getvalue()) > 600 * 1024
    response = kiosk.post("/photo", {"photo": (io.BytesIO(photo.getvalue()), "big.png")})
    assert response.status_code in (303, 422)


def test_an_upload_too_large_for_flask_gets_the_kiosks_page_with_a_way_back(kiosk: Kiosk) -> None:
    _at_photo(kiosk, "ar")
    limit = kiosk.config.max_upload_bytes
    response = kiosk.post("/photo", {"photo": (io.BytesIO(b"\0" * (3 * limit)), "huge.jpg")})
    assert response.status_code == 413
    page = kiosk.text()
    assert tr("ar", msg.PHOTO_TOO_BIG) in page and 'dir="rtl"' in page
    assert 'class="button secondary back" href="/documents"' in page and 'id="photo"' in page
    assert f'<noscript><meta http-equiv="refresh" content="{int(kiosk.config.idle_timeout)};url=/timeout?lang=ar">' in page
    # Before the photo step (an old page posted again): the kiosk's error page, not a bare one.
    other = Kiosk(kiosk.app)
    other.language("fr")
    response = other.post("/photo", {"photo": (io.BytesIO(b"\0" * (2 * limit)), "huge.jpg")})
    assert response.status_code == 413 and 'lang="fr"' in other.text() and "<footer" in other.text()


def test_a_body_waitress_refuses_gets_the_kiosks_translated_photo_page() -> None:
    """waitress answers a body over its own limit before Flask sees it; the kiosk's channel
    hands that refusal to the app, which shows its own page."""
    import http.client

    from kiosk.web.server import KioskServer, waitress_adjustments

    app = make_app(max_upload_bytes=256 * 1024)
    kiosk = Kiosk(app)
    _at_photo(kiosk, "es")
    body_limit = waitress_adjustments(kiosk.config)["max_request_body_size"]
    cookie = kiosk.client.get_cookie(COOKIE)
    assert cookie is not None
    boundary = "kioskboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{kiosk.csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="huge.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body = head + b"\0" * (body_limit + 1024)
    with KioskServer(app, kiosk.config, "127.0.0.1", 0) as server:
        # As a browser does: the whole body is sent, then the answer read (the server reads and
        # drops the body rather than reset the connection), and the connection still serves.
        connection = http.client.HTTPConnection(server.host, server.port, timeout=20)
        headers = {"Cookie": f"{COOKIE}={cookie.value}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
        connection.request("POST", "/photo", body=body, headers=headers)
        response = connection.getresponse()
        status, page = response.status, response.read().decode()
        connection.request("GET", "/photo", headers={"Cookie": f"{COOKIE}={cookie.value}"})
        again = connection.getresponse()
        assert again.status == 200 and 'id="photo"' in again.read().decode()
        connection.close()
    assert status == 413, page[:300]
    assert tr("es", msg.PHOTO_TOO_BIG) in page and 'lang="es"' in page
    assert 'href="/documents"' in page and "/timeout?lang=es" in page
    assert "Request Entity Too Large" not in page


def test_photo_preview_and_retake(kiosk: Kiosk) -> None:
    _at_photo(kiosk)
    kiosk.post("/photo", {"photo": (io.BytesIO(synthetic_portrait()), "me.jpg")})
    page = kiosk.get("/photo").get_data(as_text=True)
    assert "/photo/preview.jpg" in page
    preview = kiosk.client.get("/photo/preview.jpg")
    assert preview.mimetype == "image/jpeg" and preview.headers["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(preview.data)) as img:
        assert img.size == (360, 480)
    kiosk.post("/photo", {"action": "retake"})
    assert kiosk.session().enrolment.photo_jpeg is None


def test_optional_photo_can_be_skipped() -> None:
    kiosk = Kiosk(make_app("bern"))
    kiosk.language("de")
    kiosk.about()
    kiosk.details(address="Bundesgasse 1", lived_long_enough="yes")
    codes = re.findall(r'name="document" value="([^"]+)"', kiosk.get("/documents").get_data(as_text=True))
    kiosk.post("/documents", {"document": codes})
    assert 'value="skip"' in kiosk.get("/photo").get_data(as_text=True)
    assert kiosk.post("/photo", {"action": "skip"}).location == "/attendant"


def test_signature_blank_bad_and_cannot_sign(kiosk: Kiosk) -> None:
    _at_photo(kiosk)
    kiosk.post("/photo", {"photo": (io.BytesIO(synthetic_portrait()), "me.jpg")})
    kiosk.post("/photo", {"action": "use"})
    kiosk.get("/signature")
    assert kiosk.post("/signature", {"signature": signature_data_url(ink=False)}).status_code == 422
    assert tr("en", msg.NO_SIGNATURE) in kiosk.text()
    assert kiosk.post("/signature", {"signature": "data:image/png;base64,!!!"}).status_code == 422
    assert tr("en", msg.BAD_SIGNATURE) in kiosk.text()
    assert kiosk.post("/signature", {"signature": ""}).status_code == 422
    assert kiosk.post("/signature", {"no_signature": "yes"}).location == "/attendant"
    assert kiosk.session().enrolment.signature_png is None


# -- fee ------------------------------------------------------------------------------------


def test_fee_page_shows_the_fee_in_the_residents_language() -> None:
    kiosk = Kiosk(make_app("oakland"))
    kiosk.language("es")
    kiosk.about()
    kiosk.details(address="1 Broadway", hair_colour="black", eye_colour="brown", height="170", weight="70")
    codes = re.findall(r'name="document" value="([^"]+)"', kiosk.get("/documents").get_data(as_text=True))
    kiosk.post("/documents", {"document": codes})
    kiosk.photo()
    kiosk.attendant()
    page = kiosk.get("/fee").get_data(as_text=True)
    assert "15,00" in page and "US$" in page


# -- personalising: double submit, failures, progress ----------------------------------------


def test_double_submit_makes_one_card(kiosk: Kiosk) -> None:
    kiosk.job.gate = threading.Event()
    kiosk.walk_to_review()
    request_id = kiosk.review()
    first = kiosk.post("/personalise", {"request_id": request_id})
    second = kiosk.post("/personalise", {"request_id": request_id})
    assert first.location == second.location == "/progress"
    kiosk.job.gate.set()
    kiosk.wait_done()
    third = kiosk.post("/personalise", {"request_id": request_id})
    assert third.location == "/done"
    assert kiosk.job.runs == 1 and len(kiosk.job.requests) == 1


def test_back_button_after_done_finds_the_session_gone(kiosk: Kiosk) -> None:
    kiosk.walk_to_review()
    request_id = kiosk.review()
    kiosk.post("/personalise", {"request_id": request_id})
    kiosk.wait_done()
    kiosk.get("/done")
    for path in ("/review", "/details", "/photo/preview.jpg"):
        response = kiosk.client.get(path)
        assert response.status_code in (303, 404), path
    response = kiosk.get("/review", follow=True)
    assert tr("en", msg.SESSION_ENDED) in kiosk.text()
    assert FAMILY not in kiosk.text()
    # After "Finish" too: the old form posted again leads to the start, nothing made.
    kiosk.post("/finish")
    response = kiosk.client.post(
        "/personalise", data={"csrf_token": "old", "request_id": request_id}, follow_redirects=True
    )
    lang = state_of(kiosk.app).default_lang  # a new session: the programme's first language
    assert tr(lang, msg.STALE_PAGE) in response.get_data(as_text=True)
    assert len(kiosk.job.requests) == 1


def test_post_without_csrf_token_is_refused(kiosk: Kiosk) -> None:
    kiosk.language("en")
    kiosk.get("/about")
    response = kiosk.post("/about", csrf=False)
    assert response.location == "/"
    assert "about" not in kiosk.session().enrolment.completed
    response = kiosk.post("/about", {"csrf_token": "forged"})
    assert response.location == "/"
    assert tr("en", msg.STALE_PAGE) in kiosk.get("/").get_data(as_text=True)


def test_job_failure_tells_resident_and_attendant_and_retries_the_same_request(kiosk: Kiosk) -> None:
    kiosk.job.fail_with = JobFailed(
        ReasonView(msg.JOB_FAILED, code="no_card"), attendant="There is no card on the card writer.", retry=True
    )
    kiosk.walk_to_review(lang="tr")
    request_id = kiosk.review()
    kiosk.post("/personalise", {"request_id": request_id})
    kiosk.wait_done()
    page = kiosk.get("/progress").get_data(as_text=True)
    assert tr("tr", msg.JOB_FAILED) in page
    assert "There is no card on the card writer." in page and 'lang="en" dir="ltr"' in page
    assert FAMILY in kiosk.get("/review").get_data(as_text=True)  # kept (memory) for the retry
    kiosk.job.fail_with = None
    kiosk.get("/progress")
    kiosk.post("/personalise", {"request_id": request_id})
    kiosk.wait_done()
    assert kiosk.job.runs == 2 and kiosk.job.requests[0].request_id == request_id
    # leaving drops what the job kept for a retry
    kiosk.post("/finish")
    assert request_id in kiosk.job.forgotten


JOB_ERRORS = sorted(
    (c for c in vars(job_errors).values() if isinstance(c, type) and issubclass(c, job_errors.JobError)),
    key=lambda c: c.__name__,
)


def failure_kinds() -> Iterator[Any]:
    """Every error the card job can raise, as the adapter hands it to the UI, with what the
    resident must be told about the card."""
    fates = msg.CARD_FATES
    for cls in JOB_ERRORS:
        if cls is job_errors.ReceiptPrinterFailedError:
            exc = cls(card_made=True)
            yield pytest.param(job_failed(exc), str(exc), cls.retry, msg.RECEIPT_FAILED, fates["made"], id=cls.__name__)
        else:
            exc = cls(voided="ZH-2026-000042")
            yield pytest.param(
                job_failed(exc), str(exc), cls.retry, msg.JOB_FAILED, fates["number_cancelled"], id=cls.__name__
            )
    nothing = job_errors.NoBlankCardError()
    yield pytest.param(job_failed(nothing), str(nothing), True, msg.JOB_FAILED, fates["not_made"], id="before a number")
    pending = job_errors.WriterFailedError(void_pending="ZH-2026-000043")
    yield pytest.param(
        job_failed(pending), str(pending), True, msg.JOB_FAILED, fates["cancel_pending"], id="number cancelled later"
    )
    yield pytest.param(busy_failure(), "", True, msg.KIOSK_BUSY, fates["not_made"], id="StationBusyError")
    yield pytest.param(RuntimeError("boom"), "", False, msg.JOB_FAILED, None, id="unexpected")


@pytest.mark.parametrize(("failure", "attendant", "retry", "reason", "fate"), list(failure_kinds()))
def test_after_any_failure_the_page_offers_a_way_on_and_says_what_became_of_the_card(
    failure: Exception, attendant: str, retry: bool, reason: str, fate: str | None
) -> None:
    from markupsafe import escape

    kiosk = Kiosk(make_app(idle_timeout=90))
    kiosk.job.fail_with = failure
    kiosk.walk_to_review(lang="de")
    request_id = kiosk.review()
    kiosk.post("/personalise", {"request_id": request_id})
    kiosk.wait_done()
    page = kiosk.get("/progress").get_data(as_text=True)
    assert kiosk.page is not None and kiosk.page.status_code == 200
    assert tr("de", reason) in page and f"<h1>{tr('de', 'Sorry, something went wrong')}</h1>" in page
    if fate is not None:
        assert f'<p id="progress-card" class="big">{tr("de", fate)}</p>' in page
    assert str(escape(attendant)) in page
    # The ways on: Try again only where it can work, always Start over and the attendant.
    assert ('id="progress-retry" hidden' not in page) is retry
    assert 'action="/cancel" id="progress-start-over"' in page and tr("de", "Start over") in page
    assert tr("de", "Call the attendant") in page
    # No "do not take the card out" any more, and the idle timeout ends the page.
    assert tr("de", msg.HOLD_CARD) not in page and 'id="progress-lead" hidden' in page
    assert '<noscript><meta http-equiv="refresh" content="90;url=/timeout?lang=de"></noscript>' in page
    if retry:
        kiosk.job.fail_with = None
        kiosk.post("/personalise", {"request_id": request_id})
        kiosk.wait_done()
        assert kiosk.get("/progress").location == "/done" and kiosk.job.runs == 2
    else:
        assert kiosk.post("/personalise", {"request_id": request_id}).location == "/progress"
        assert kiosk.job.runs == 1
        assert kiosk.post("/cancel").location == "/"
        assert tr("de", msg.CANCELLED) in kiosk.get("/").get_data(as_text=True)
        assert request_id in kiosk.job.forgotten and kiosk.session().enrolment.fields == {}


def test_do_not_take_the_card_out_only_while_the_chip_is_written() -> None:
    for step, holding in (("allocate", False), ("write_chip", True), ("print_card", False)):
        kiosk = Kiosk(make_app())
        kiosk.job.pause_at = step
        kiosk.walk_to_review()
        kiosk.post("/personalise", {"request_id": kiosk.review()})
        assert kiosk.job.paused.wait(5)
        page = kiosk.get("/progress").get_data(as_text=True)
        kiosk.job.resume.set()
        assert (tr("en", msg.HOLD_CARD) in page) is holding, step
        assert (tr("en", msg.MAKING_CARD) in page) is not holding, step
        assert 'id="progress-failed" hidden' in page
        kiosk.wait_done()


def test_progress_events_stream_until_done(kiosk: Kiosk) -> None:
    kiosk.job.gate = threading.Event()
    kiosk.walk_to_review(lang="ar")
    kiosk.post("/personalise", {"request_id": kiosk.review()})
    page = kiosk.get("/progress").get_data(as_text=True)
    assert '<progress id="progress-bar"' in page and 'aria-live="polite"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    kiosk.job.gate.set()
    response = kiosk.client.get("/progress/events")
    assert response.mimetype == "text/event-stream"
    events = [line for line in response.get_data(as_text=True).splitlines() if line.startswith("data: ")]
    assert events and '"done": true' in events[-1]
    assert tr("ar", msg.PROGRESS_STEPS["done"]) in events[-1]


def test_progress_events_end_with_done_when_the_job_ends_between_two_events(kiosk: Kiosk) -> None:
    """The job may end while the stream is sending a view that is not yet done: the stream
    still sends the done view before it ends, so the page goes on at once (before, it ended
    without it and the page waited for its 2 s reload)."""
    kiosk.job.pause_at = "print_card"
    kiosk.walk_to_review(lang="en")
    kiosk.post("/personalise", {"request_id": kiosk.review()})
    assert kiosk.job.paused.wait(5)
    response = kiosk.client.get("/progress/events", buffered=False)
    chunks = (chunk.decode() for chunk in response.response)  # the WSGI body: bytes
    first = next(chunks)
    assert '"done": false' in first and '"percent": 80' in first
    kiosk.job.resume.set()  # the job ends while the stream is between two events
    kiosk.wait_done()
    rest = "".join(chunks)
    response.close()
    events = [line for line in rest.splitlines() if line.startswith("data: ")]
    assert events and '"done": true' in events[-1], f"the stream ended without done: {rest!r}"


# -- idle timeout, cancel, zero retention ----------------------------------------------------


def test_idle_timeout_wipes_the_session() -> None:
    clock = Clock()
    kiosk = Kiosk(make_app(clock=clock, idle_timeout=120))
    kiosk.language("pt")
    kiosk.about()
    kiosk.details()
    old = kiosk.session()
    page = kiosk.get("/documents").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="120;url=/timeout?lang=pt"></noscript>' in page
    assert 'data-idle-timeout="120"' in page
    clock.now += 121
    response = kiosk.get("/documents")
    assert response.location == "/"
    assert old.enrolment.fields == {}  # wiped in place
    page = kiosk.get("/").get_data(as_text=True)
    assert tr("pt", msg.TIMED_OUT) in page
    assert kiosk.session().enrolment.completed == set()


def test_still_here_keeps_the_session_and_says_when_it_had_ended() -> None:
    clock = Clock()
    kiosk = Kiosk(make_app(clock=clock, idle_timeout=120))
    kiosk.language("it")
    kiosk.about()
    page = kiosk.get("/details").get_data(as_text=True)
    assert '<dialog id="still-there"' in page and tr("it", "I am still here") in page
    assert 'data-still-here-url="/still-here"' in page
    clock.now += 110
    assert kiosk.get("/still-here").status_code == 204
    clock.now += 110  # 220 s since the page, 110 s since "still here": the visit goes on
    assert kiosk.details().status_code == 303
    clock.now += 121
    assert kiosk.get("/still-here").status_code == 410  # too late: wiped, the page goes


def test_sweeper_drops_expired_sessions_without_a_request() -> None:
    clock = Clock()
    app = make_app(clock=clock, idle_timeout=60)
    kiosk = Kiosk(app)
    kiosk.language("en")
    kiosk.about()
    kiosk.details()
    session = kiosk.session()
    clock.now += 61
    assert state_of(app).store.sweep() == 1
    assert session.enrolment.fields == {} and len(state_of(app).store) == 0


def test_timeout_url_wipes_and_greets_in_the_language(kiosk: Kiosk) -> None:
    kiosk.language("fa")
    kiosk.about()
    kiosk.details()
    assert kiosk.get("/timeout?lang=fa").location == "/"
    page = kiosk.get("/").get_data(as_text=True)
    assert tr("fa", msg.TIMED_OUT) in page and 'dir="rtl"' in page


def test_cancel_deletes_everything(kiosk: Kiosk) -> None:
    kiosk.language("it")
    kiosk.about()
    kiosk.details()
    kiosk.post("/cancel")
    page = kiosk.get("/").get_data(as_text=True)
    assert tr("it", msg.CANCELLED) in page
    assert kiosk.session().enrolment.fields == {}


def test_nothing_personal_is_logged(kiosk: Kiosk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    kiosk.walk_to_review()
    kiosk.details(given_name="Mаria")  # a bad input on the way
    kiosk.details()
    kiosk.attendant()
    kiosk.fee()
    kiosk.post("/personalise", {"request_id": kiosk.review()})
    kiosk.wait_done()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (FAMILY, GIVEN, "1990-01-01", "Mаria", PIN):
        assert secret not in logged


@pytest.fixture(autouse=True)
def _no_threads_left() -> Iterator[None]:
    yield
    for thread in threading.enumerate():
        if thread.name == "kiosk-job":
            thread.join(5)


# -- citycard-kiosk serve --------------------------------------------------------------------


def test_serve_on_a_taken_port_says_what_to_do(tmp_path: Any) -> None:
    """It said "Address already in use; check the path and permissions.": no path was wrong."""
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-c", "from kiosk.cli import main; main()", "serve"]
        command += ["--program", "new-york", "--data", str(tmp_path / "data"), "--port", str(port)]
        result = subprocess.run(
            [*command, "--simulate"], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: Cannot listen on 127.0.0.1:{port} (")
    assert last.endswith("); pick another --port or --host.") and "Traceback" not in result.stderr


def test_serve_prints_the_url_and_serves_the_kiosk(tmp_path: Any) -> None:
    """`citycard-kiosk serve` on a print-only programme (no chip writer needed), port 0."""
    import signal
    import subprocess
    import sys
    import urllib.request

    command = [sys.executable, "-c", "from kiosk.cli import main; main()", "serve"]
    command += ["--program", "new-york", "--data", str(tmp_path / "data"), "--port", "0"]
    command += ["--simulate"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CITYCARD_ATTENDANT_PIN_HASH": PIN_HASH},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("SIMULATED HARDWARE")  # asked for, and said
        line = proc.stdout.readline()
        found = re.search(r"Kiosk for IDNYC at (http://127\.0\.0\.1:\d+/)", line)
        assert found, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        with urllib.request.urlopen(found.group(1), timeout=10) as response:
            page = response.read().decode()
            assert response.headers["Cache-Control"] == "no-store"
        assert 'lang="en"' in page and "English" in page
        assert "Simulated hardware" in page  # every page of a simulated kiosk says so
        # The hash was given, so no one-time PIN line comes between the URL and this one.
        assert proc.stdout.readline() == "Press Ctrl+C to stop.\n"
        # a supervisor's stop (SIGTERM) ends it in order, as Ctrl-C does: it used to die of it
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert proc.stderr is not None and "unhandled close event" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_web_enrolment_with_the_real_job_leaves_nothing_on_disk(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New York (a printed card, no chip): the real station (issuer, journal) behind the web
    flow. Afterwards no file under the data directory or the temp directory holds the name,
    the birth date, the address or the photo."""
    import tempfile
    from pathlib import Path

    from kiosk.simulate import simulated_station
    from kiosk.web.adapters import StationJobs

    temp = Path(tmp_path) / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    data = Path(tmp_path) / "data"
    program = load_program("new-york")
    printed: list[tuple[tuple[str, str], ...]] = []

    class Jobs(StationJobs):
        def enrolment(self, request: CardRequest) -> Any:
            made = super().enrolment(request)
            printed.append(made.printed_fields)
            return made

    with simulated_station(data, program) as station:
        kiosk = Kiosk(make_app("new-york", job=Jobs(station)))
        kiosk.language("es")
        kiosk.about()
        address = "Calle Inventada 12, Queens"
        assert kiosk.details(address=address, eye_colour="hazel", height="163", birth_day="17", birth_month="11", birth_year="1979").status_code == 303
        kiosk.documents("passport", "utility-bill")
        photo = synthetic_portrait()
        kiosk.photo(photo)
        prepared = kiosk.session().enrolment.photo_jpeg
        kiosk.signature()
        kiosk.attendant()
        kiosk.fee()
        kiosk.post("/personalise", {"request_id": kiosk.review()})
        kiosk.wait_done(30)
        assert kiosk.session().finished, kiosk.session().job
        assert kiosk.get("/done").status_code == 200
    # Printed on the card (labelled and worded in the card's language, English), in no file.
    assert printed == [(("address", address), ("eye_colour", "Hazel"), ("height", "163 cm"))]
    secrets = [FAMILY.encode(), GIVEN.encode(), address.encode(), b"1979-11-17", b"17.11.1979", photo[200:264], prepared[300:364]]
    files = [p for p in (*data.rglob("*"), *temp.rglob("*")) if p.is_file()]
    assert files  # the registry and the journal were written
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret not in content, (path, secret[:20])
