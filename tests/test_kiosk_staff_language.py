"""The attendant page in the attendants' language (`KioskConfig.staff_language`,
`citycard-kiosk serve --staff-language`): a Zurich attendant reads German while the resident
uses Tigrinya. The resident's own line on that page stays in their language, with its own
`lang` and `dir`; every other page stays in the resident's language; without the setting the
attendant page is in the resident's language, as before."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.journal import Journal, Record
from kiosk.web import messages as msg
from kiosk.web.notices import NoticeBoard
from kiosk.web.ports import StationNotice

from .serve_helpers import free_port, wait_for
from .test_kiosk_station_notices import NoticesJob, _approve, _at_the_attendant, _sentence
from .test_kiosk_web import Kiosk, make_app, tr


def _html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', page)
    assert found is not None
    return f"{found.group(1)} {found.group(2)}"


def _lead(page: str) -> str:
    found = re.search(r'<p class="lead"([^>]*)>([^<]*)</p>', page)
    assert found is not None, page[:2000]
    return f"{found.group(1).strip()}|{found.group(2)}"


def _job() -> NoticesJob:
    job = NoticesJob(notices=NoticeBoard())
    job.notices.post([StationNotice("report_pending", "DEV00000018")])
    return job


def test_the_attendant_reads_german_while_the_resident_uses_tigrinya() -> None:
    kiosk = Kiosk(make_app(job=_job(), staff_language="de"))
    page = _at_the_attendant(kiosk, "ti")
    assert _html_lang(page) == "de ltr"
    assert _lead(page) == f'lang="ti" dir="ltr"|{tr("ti", msg.SHOW_DOCUMENTS)}'
    assert tr("de", "Attendant PIN") in page and tr("de", "For the attendant") in page
    assert _sentence("report_pending", "DEV00000018", "de") in page
    assert tr("ti", "Attendant PIN") not in page

    assert _approve(kiosk, page, pin="0000") == 422  # the attendant's error, in German too
    wrong = kiosk.text()
    assert _html_lang(wrong) == "de ltr" and tr("de", msg.WRONG_PIN) in wrong
    assert _approve(kiosk, page) == 303
    fee = kiosk.get("/fee").get_data(as_text=True)  # the resident's turn again: Tigrinya
    assert _html_lang(fee) == "ti ltr"


def test_a_right_to_left_resident_line_keeps_its_direction() -> None:
    page = _at_the_attendant(Kiosk(make_app(job=_job(), staff_language="de")), "ar")
    assert _html_lang(page) == "de ltr"
    assert _lead(page) == f'lang="ar" dir="rtl"|{tr("ar", msg.SHOW_DOCUMENTS)}'


@pytest.mark.parametrize("staff", [None, "ti"])
def test_without_a_staff_language_or_in_the_same_one_the_page_is_the_residents(
    staff: str | None,
) -> None:
    page = _at_the_attendant(Kiosk(make_app(job=_job(), staff_language=staff)), "ti")
    assert _html_lang(page) == "ti ltr"
    assert _lead(page) == f"|{tr('ti', msg.SHOW_DOCUMENTS)}"  # no lang of its own
    assert tr("ti", "Attendant PIN") in page
    assert _sentence("report_pending", "DEV00000018", "ti") in page


def test_a_staff_language_without_a_catalogue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="staff language 'xx'"):
        make_app(staff_language="xx")
    data = tmp_path / "data"
    args = ["serve", "--program", "zurich", "--data", str(data), "--simulate"]
    res = CliRunner().invoke(main, [*args, "--staff-language", "xx"])
    assert res.exit_code == 2 and "--staff-language" in res.output, res.output
    assert "Traceback" not in res.output and not data.exists()


def _form_post(http: requests.Session, base: str, path: str, data: dict[str, Any]) -> str:
    """GET the page (for its CSRF token), POST the form; the page it leads to."""
    page = http.get(base + path, timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, page[:2000]
    answer = http.post(base + path, data={**data, "csrf_token": token.group(1)}, timeout=30)
    errors = re.findall(r'<li><a href="#([^"]+)"', answer.text)
    assert answer.status_code == 200, (path, answer.status_code, errors)
    return answer.url


def test_serve_puts_a_restarts_notice_on_the_german_attendant_page(tmp_path: Path) -> None:
    """`citycard-kiosk serve --simulate --staff-language de` as a kiosk starts after a crash:
    the console says what recovery found, and so does the attendant page, in German, while
    the resident uses Tigrinya (Bern: a programme without a chip, so no card writer)."""
    data = tmp_path / "data"
    Journal.in_dir(data / "kiosk").append(
        Record(job="e" * 32, req="req-cut-before-a-number", step="started", t=1.0)
    )
    port = free_port()
    exe = Path(sys.executable).with_name("citycard-kiosk")
    args = ["serve", "--simulate", "--program", "bern", "--data", str(data), "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), *args, "--staff-language", "de"], stdout=out, stderr=out)
    try:
        wait_for(port, proc, "citycard-kiosk serve", log)
        console = log.read_text()
        assert "Attendant: The kiosk stopped before a card number was given" in console
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        assert _form_post(http, base, "/language", {"lang": "ti"}).endswith("/about")
        _form_post(http, base, "/about", {})
        _form_post(http, base, "/details", {
            "family_name": "Beispiel-Musterfrau", "given_name": "Mira", "birth_day": "1",
            "birth_month": "1", "birth_year": "1990", "address": "Musterweg 1, 3000 Bern",
            "lived_long_enough": "yes",
        })  # fmt: skip
        _form_post(http, base, "/documents", {"document": ["passport", "bill"]})
        assert _form_post(http, base, "/photo", {"action": "skip"}).endswith("/attendant")
        page = http.get(base + "/attendant", timeout=30).text
        assert _html_lang(page) == "de ltr"
        assert _sentence("interrupted", None, "de") in page
        assert _lead(page).startswith('lang="ti"')
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
