"""Whole enrolments in a real browser: Debian's Chromium driven by Playwright, against the kiosk
served by waitress, with the real personalisation job on simulated hardware (the chip written
through pcscd into a virtual card in a vpcd slot, file card and receipt printers).

One walk in English (Zurich: chip with on-card key, signature) and one in Arabic (San Francisco:
right to left, a fee). Screenshots of every step are kept under test-artifacts/kiosk-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kiosk.demo import synthetic_portrait
from kiosk.programs import load_program
from kiosk.simulate import simulated_station
from kiosk.web import KioskConfig, create_kiosk_app
from kiosk.web import messages as msg
from kiosk.web.adapters import EngineRules, PipelinePhotos, StationJobs, program_view
from kiosk.web.attendant import hash_pin
from kiosk.web.context import state_of
from kiosk.web.server import KioskServer
from tests.pcsc_fixtures import requires_pcscd

from .browser import ARTIFACTS, chromium, requires_chromium

pytestmark = [pytest.mark.vpcd, requires_pcscd, requires_chromium, pytest.mark.timeout(240)]
PIN = "2468"
VIEWPORT = {"width": 1080, "height": 1920}  # a portrait kiosk screen


@dataclass
class Served:
    url: str
    app: Any
    printer_dir: Path


@pytest.fixture
def serve(tmp_path: Path, pcscd_service: Any) -> Iterator[Any]:
    """serve(program_id) -> Served: the kiosk app for a programme, on a real server."""
    stack: list[Any] = []

    def start(program_id: str) -> Served:
        program = load_program(program_id)
        printer_dir = tmp_path / f"printer-{program_id}"
        station_cm = simulated_station(tmp_path / f"data-{program_id}", program, printer_dir=printer_dir)
        station = station_cm.__enter__()
        stack.append(station_cm)
        config = KioskConfig(
            program=program_view(program),
            rules=EngineRules(),
            photos=PipelinePhotos(),
            job=StationJobs(station),
            attendant_pin_hash=hash_pin(PIN, iterations=1000),
            sweep_interval=None,
        )
        app = create_kiosk_app(config)
        server = KioskServer(app, config, "127.0.0.1", 0).start()
        stack.append(server)
        return Served(server.url.rstrip("/"), app, printer_dir)

    yield start
    for item in reversed(stack):
        if isinstance(item, KioskServer):
            item.stop()
        else:
            item.__exit__(None, None, None)


class Walk:
    """One resident's walk, with a numbered screenshot of each step."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.count = 0

    def shot(self, step: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"kiosk-{self.name}-{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def submit(self, label: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=label, exact=True).click()

    def check_page(self, lang: str, direction: str) -> None:
        page = self.page
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.evaluate("document.documentElement.dir") == direction
        assert page.evaluate("getComputedStyle(document.body).direction") == direction
        small = page.evaluate(
            """() => [...document.querySelectorAll(
                    'button, a.button, input[type=text], input[type=password], label.option, textarea')]
                .filter(e => e.offsetParent !== null)
                .map(e => [e.textContent.trim() || e.id || e.name, e.getBoundingClientRect()])
                .filter(([, r]) => r.height < 48 || r.width < 48)
                .map(([n, r]) => `${n}: ${Math.round(r.width)}x${Math.round(r.height)}`)"""
        )
        assert small == [], f"touch targets under 48 px: {small}"


def draw_signature(page: Any) -> None:
    box = page.locator("#signature-pad").bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for i in range(1, 9):  # a zigzag: enough ink for the kiosk's check, few browser round trips
        page.mouse.move(x + w * (0.1 + i * 0.09), y + h * (0.5 + 0.25 * (-1) ** i), steps=2)
    page.mouse.up()


def portrait_file(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.jpg"
    path.write_bytes(synthetic_portrait())
    return path


def test_whole_enrolment_in_english(serve: Any, tmp_path: Path) -> None:
    served = serve("zurich")
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT, locale="en-GB")
        walk = Walk(page, "en")
        page.goto(served.url + "/")
        walk.check_page("de", "ltr")  # Zurich's first language until the resident chooses
        walk.shot("language")
        walk.submit("English")

        assert page.url.endswith("/about")
        walk.check_page("en", "ltr")
        assert "It is not a residence permit." in page.inner_text("main")
        walk.shot("about")
        walk.submit("I understand. Continue")

        # A mixed-script name first: a clear message, focus on the field.
        page.fill("#family_name", "Beispiel-Musterfrau")
        page.fill("#given_name", "Mаria")  # Cyrillic а
        page.fill("#birth_day", "30")
        page.fill("#birth_month", "2")
        page.fill("#birth_year", "2023")
        walk.submit("Continue")
        assert "This name mixes letters from different alphabets." in page.inner_text("#errors")
        assert page.evaluate("document.activeElement.id") == "given_name"
        walk.check_page("en", "ltr")
        walk.shot("details-errors")
        page.fill("#given_name", "Mira")
        walk.submit("Continue")
        assert "This date does not exist." in page.inner_text("#errors")
        assert page.evaluate("document.activeElement.id") == "birth_day"
        page.fill("#birth_day", "28")
        page.fill("#birth_year", "1990")
        page.get_by_label("X (another gender)").check()
        walk.shot("details")
        walk.submit("Continue")

        assert page.url.endswith("/documents"), page.inner_text("main")
        page.locator('input[value="passport"]').check()
        page.locator('input[value="bill"]').check()
        walk.check_page("en", "ltr")
        walk.shot("documents")
        walk.submit("Continue")

        assert page.url.endswith("/photo")
        # Back from the photo: the documents again, with their Continue.
        with page.expect_navigation():
            page.locator("a.back").click()
        assert page.url.endswith("/documents")
        walk.submit("Continue")
        assert page.url.endswith("/photo")
        page.set_input_files("#photo", str(portrait_file(tmp_path)))
        walk.shot("photo")
        walk.submit("Send the photo")
        assert page.evaluate("document.querySelector('img.photo-preview').naturalWidth") == 360
        walk.check_page("en", "ltr")
        walk.shot("photo-preview")
        walk.submit("Use this photo")

        assert page.url.endswith("/signature")
        walk.submit("Continue")  # nothing drawn yet
        assert "Please sign in the box" in page.inner_text("#errors")
        draw_signature(page)
        walk.check_page("en", "ltr")
        walk.shot("signature")
        walk.submit("Continue")

        # The attendant checks the documents and the photo together.
        assert page.url.endswith("/attendant")
        assert "Beispiel-Musterfrau" in page.inner_text("main")
        assert page.evaluate("document.getElementById('attendant-photo').naturalWidth") == 360
        page.fill("#pin", "0000")
        walk.submit("Approve")
        assert "This PIN is not right." in page.inner_text("#errors")
        page.fill("#pin", PIN)
        walk.shot("attendant")
        walk.submit("Approve")

        assert page.url.endswith("/fee")
        assert "Your card is free." in page.inner_text("main")
        walk.shot("fee")
        walk.submit("Continue")

        assert page.url.endswith("/review")
        main = page.inner_text("main")
        assert "Beispiel-Musterfrau" in main and "February 28, 1990" in main
        walk.check_page("en", "ltr")
        walk.shot("review")
        with page.expect_navigation():
            page.get_by_role("button", name="Make my card").click()
        walk.shot("progress")
        page.wait_for_url("**/done", timeout=60_000)
        assert "Please take your card and your receipt." in page.inner_text("main")
        walk.check_page("en", "ltr")
        walk.shot("done")

        # The back button after "done": the session is gone.
        page.go_back()
        page.wait_for_load_state()
        assert page.url.rstrip("/") == served.url
        assert "This session has ended and nothing was kept." in page.inner_text("main")
        assert "Beispiel-Musterfrau" not in page.content()
        walk.shot("back-after-done")

    assert (served.printer_dir / "card-front.png").stat().st_size > 0
    assert (served.printer_dir / "receipt.escpos").stat().st_size > 0
    store = state_of(served.app).store
    assert all(not s.enrolment.fields for s in store._sessions.values())


def test_whole_enrolment_in_arabic(serve: Any, tmp_path: Path) -> None:
    served = serve("san-francisco")
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT, locale="ar")
        walk = Walk(page, "ar")
        page.goto(served.url + "/")
        walk.submit("العربية")

        walk.check_page("ar", "rtl")
        assert "ليست تصريح إقامة" in page.inner_text("main")
        walk.shot("about")
        walk.submit("فهمت. متابعة")

        page.fill("#family_name", "العلي")
        page.fill("#given_name", "محمد")
        page.fill("#birth_day", "١٥")
        page.fill("#birth_month", "٣")
        page.fill("#birth_year", "١٩٨٨")
        page.fill("#address", "١٢٣ شارع السوق، سان فرانسيسكو")
        page.get_by_label("نعم").check()  # lived here long enough
        walk.check_page("ar", "rtl")
        walk.shot("details")
        walk.submit("متابعة")

        assert page.url.endswith("/documents"), page.inner_text("main")
        page.locator('input[value="passport"]').check()
        page.locator('input[value="utility-bill"]').check()
        walk.check_page("ar", "rtl")
        walk.shot("documents")
        walk.submit("متابعة")

        page.set_input_files("#photo", str(portrait_file(tmp_path)))
        walk.submit("أرسل الصورة")
        walk.check_page("ar", "rtl")
        walk.shot("photo-preview")
        walk.submit("استخدم هذه الصورة")

        draw_signature(page)
        walk.check_page("ar", "rtl")
        walk.shot("signature")
        walk.submit("متابعة")

        assert page.url.endswith("/attendant")
        page.fill("#pin", PIN)
        walk.check_page("ar", "rtl")
        walk.shot("attendant")
        walk.submit("موافقة")

        assert page.url.endswith("/fee")
        assert "US$" in page.inner_text("main") or "١٥" in page.inner_text("main")
        walk.check_page("ar", "rtl")
        walk.shot("fee")
        walk.submit("متابعة")

        main = page.inner_text("main")
        assert "العلي" in main and "محمد" in main
        walk.check_page("ar", "rtl")
        walk.shot("review")
        with page.expect_navigation():
            page.get_by_role("button", name="اصنع بطاقتي").click()
        page.wait_for_url("**/done", timeout=60_000)
        walk.check_page("ar", "rtl")
        walk.shot("done")
        walk.submit("إنهاء")
        assert page.url.rstrip("/") == served.url

    assert (served.printer_dir / "card-front.png").stat().st_size > 0


def test_camera_capture_fills_the_upload(serve: Any) -> None:
    """With a camera (Chromium's fake one), the picture is taken on a canvas and sent as the
    same upload as a file: the server cannot tell the two apart."""
    from playwright.sync_api import sync_playwright

    from .browser import ARGS, CHROMIUM

    served = serve("zurich")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        )
        try:
            context = browser.new_context(viewport=VIEWPORT, permissions=["camera"])
            page = context.new_page()
            page.goto(served.url + "/")
            walk = Walk(page, "camera")
            walk.submit("English")
            walk.submit("I understand. Continue")
            page.fill("#family_name", "Muster")
            page.fill("#given_name", "Kim")
            page.fill("#birth_day", "2")
            page.fill("#birth_month", "3")
            page.fill("#birth_year", "1985")
            walk.submit("Continue")
            page.locator('input[value="passport"]').check()
            page.locator('input[value="bill"]').check()
            walk.submit("Continue")
            page.wait_for_selector("#camera:not([hidden])", timeout=10_000)
            for _ in range(100):  # (wait_for_function evaluates a string: the page's CSP forbids it)
                if page.evaluate("document.getElementById('camera-video').videoWidth") > 0:
                    break
                page.wait_for_timeout(100)
            walk.shot("camera")
            with page.expect_navigation():
                page.click("#camera-shoot")
            # Chromium's fake camera shows a bright test pattern: the pipeline may take it or
            # refuse it with a reason; either way it went through the upload path.
            main = page.inner_text("main")
            assert page.locator("img.photo-preview").count() == 1 or page.locator("#errors").count() == 1, main
            walk.shot("camera-result")
        finally:
            browser.close()



def test_still_there_dialog_keeps_the_visit_and_the_timeout_still_ends_it() -> None:
    """20 s before the idle wipe a dialog asks; its button keeps the visit (the browser and the
    server); left alone, the visit ends at the timeout (no job: a stand-in that never runs)."""
    from .test_kiosk_web import CATALOGUES, make_app

    # up to 20 s the dialog comes at half the timeout (kiosk.js): after 5 s, the wipe after 10 s
    app = make_app("zurich", idle_timeout=10)
    config = state_of(app).config
    with KioskServer(app, config, "127.0.0.1", 0) as server, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        walk = Walk(page, "still-there")
        page.goto(server.url)
        walk.submit("Italiano")
        assert page.url.endswith("/about")
        dialog = page.locator("#still-there")
        dialog.wait_for(state="visible", timeout=8_000)
        assert page.evaluate("document.activeElement.id") == "still-there-keep"
        assert "È ancora qui?" in dialog.inner_text()
        walk.check_page("it", "ltr")
        walk.shot("dialog")
        with page.expect_response("**/still-here") as answer:
            page.click("#still-there-keep")
        assert answer.value.status == 204
        assert not page.evaluate("document.getElementById('still-there').open")
        page.wait_for_timeout(6_000)  # past the dialog's time: it comes again, the page stays
        dialog.wait_for(state="visible", timeout=8_000)
        assert page.url.endswith("/about")
        # Left alone: the visit ends at the timeout, and the start page says why.
        page.wait_for_url(server.url.rstrip("/") + "/", timeout=30_000)
        assert CATALOGUES.gettext("it", msg.TIMED_OUT) in page.inner_text("main")
        walk.shot("timed-out")


def test_a_failed_card_job_offers_a_way_on_in_the_browser(tmp_path: Path) -> None:
    """The failure arrives over the event stream (progress.js): what became of the card, no
    Try again where it cannot work, the attendant's help, Start over; no "do not take the card
    out" (no job: the stand-in of test_kiosk_web, told to fail)."""
    import threading

    from kiosk.job import errors as job_errors
    from kiosk.web.adapters import job_failed

    from .test_kiosk_web import CATALOGUES, RecordingJob, make_app
    from .test_kiosk_web import PIN as STAND_IN_PIN

    app = make_app("zurich")
    config = state_of(app).config
    job = config.job
    assert isinstance(job, RecordingJob)
    failure = job_errors.SigningFailedError(voided="ZH-2026-000042")
    job.fail_with = job_failed(failure)
    job.gate = threading.Event()
    with KioskServer(app, config, "127.0.0.1", 0) as server, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        walk = Walk(page, "failed")
        page.goto(server.url)
        walk.submit("English")
        walk.submit("I understand. Continue")
        page.fill("#family_name", "Muster")
        page.fill("#given_name", "Kim")
        page.fill("#birth_day", "2")
        page.fill("#birth_month", "3")
        page.fill("#birth_year", "1985")
        walk.submit("Continue")
        page.locator('input[value="passport"]').check()
        page.locator('input[value="bill"]').check()
        walk.submit("Continue")
        page.evaluate("document.getElementById('camera').hidden = true")
        page.set_input_files("#photo", str(portrait_file(tmp_path)))
        walk.submit("Send the photo")
        walk.submit("Use this photo")
        draw_signature(page)
        walk.submit("Continue")
        page.fill("#pin", STAND_IN_PIN)
        walk.submit("Approve")
        walk.submit("Continue")  # the fee
        with page.expect_navigation():
            page.get_by_role("button", name="Make my card").click()
        assert page.url.endswith("/progress")
        assert page.locator("#progress-lead").is_visible()
        assert page.locator("#progress-failed").is_hidden()
        job.gate.set()
        page.locator("#progress-failed").wait_for(state="visible", timeout=10_000)
        main = page.inner_text("main")
        assert page.inner_text("main h1") == "Sorry, something went wrong"
        assert CATALOGUES.gettext("en", msg.JOB_FAILED) in main
        assert CATALOGUES.gettext("en", msg.CARD_FATES["number_cancelled"]) in main
        assert "Do not take the card out" not in main and page.locator("#progress-lead").is_hidden()
        assert page.locator("#progress-retry").is_hidden()  # signing cannot work by trying again
        assert page.get_by_role("button", name="Start over").is_visible()
        page.locator("#progress-call summary").click()
        assert page.locator("#progress-attendant").inner_text() == str(failure)
        walk.check_page("en", "ltr")
        walk.shot("failed")
        walk.submit("Start over")
        assert page.url.rstrip("/") == server.url.rstrip("/")
        assert CATALOGUES.gettext("en", msg.CANCELLED) in page.inner_text("main")


def test_an_upload_over_the_servers_limit_shows_the_kiosks_photo_page(tmp_path: Path) -> None:
    """A file over waitress's own body limit, sent by Chromium: the kiosk's translated photo page
    with the message and a way back, not waitress's bare one or a reset connection."""
    from kiosk.web.server import waitress_adjustments

    from .test_kiosk_web import CATALOGUES, make_app

    app = make_app("zurich", max_upload_bytes=256 * 1024)
    config = state_of(app).config
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff\xd8" + b"\0" * waitress_adjustments(config)["max_request_body_size"])
    with KioskServer(app, config, "127.0.0.1", 0) as server, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        walk = Walk(page, "too-large")
        page.goto(server.url)
        walk.submit("Deutsch")
        walk.submit("Ich habe verstanden. Weiter")
        page.fill("#family_name", "Muster")
        page.fill("#given_name", "Kim")
        page.fill("#birth_day", "2")
        page.fill("#birth_month", "3")
        page.fill("#birth_year", "1985")
        walk.submit("Weiter")
        page.locator('input[value="passport"]').check()
        page.locator('input[value="bill"]').check()
        walk.submit("Weiter")
        assert page.url.endswith("/photo")
        page.evaluate("document.getElementById('camera').hidden = true")
        page.set_input_files("#photo", str(huge))
        with page.expect_navigation() as sent:
            page.click("#photo-submit")
        assert sent.value is not None and sent.value.status == 413
        walk.check_page("de", "ltr")
        assert CATALOGUES.gettext("de", msg.PHOTO_TOO_BIG) in page.inner_text("#errors")
        assert page.locator("a.back").get_attribute("href") == "/documents"
        walk.shot("too-large")


@pytest.mark.parametrize("lang", ["ti", "zh", "fa"])
def test_large_text_and_high_contrast(lang: str) -> None:
    """The display toggles, kept in the session, in scripts that need their own fonts (no job:
    the app gets a stand-in that never runs)."""
    from .test_kiosk_web import make_app

    app = make_app("new-york")
    config = state_of(app).config
    with KioskServer(app, config, "127.0.0.1", 0) as server, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        walk = Walk(page, f"display-{lang}")
        page.goto(server.url)
        with page.expect_navigation():
            page.locator(f'button[value="{lang}"]').click()
        size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        with page.expect_navigation():
            page.locator('button[value="large"]').click()
        with page.expect_navigation():
            page.locator('button[value="contrast"]').click()
        with page.expect_navigation():
            page.locator("main form button.primary").click()  # about -> details
        assert page.evaluate("document.documentElement.className") == "large-text high-contrast"
        assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > size
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"
        assert page.locator('button[value="large"]').get_attribute("aria-pressed") == "true"
        walk.check_page(lang, "rtl" if lang == "fa" else "ltr")
        walk.shot("details")
