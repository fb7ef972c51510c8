"""Notices about earlier cards reach the attendant page (kiosk.web.notices), not only the
kiosk's console: a restart's recovery (a card cut short, a card printed without its receipt, a
torn receipt whose code may still work) and a card whose report the registry has not recorded.
The page shows them in its language with only the end of each card number (the next resident
sees the page too) until the attendant approves an application with them on screen."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from cardio.chip import CardProfile
from kiosk.demo_application import load_known_program
from kiosk.job import NOTICE_KINDS, Notice
from kiosk.journal import Record
from kiosk.web import messages as msg
from kiosk.web.adapters import StationJobs, program_view
from kiosk.web.notices import SHOWN_AT_MOST, NoticeBoard, ids_shown, number_end
from kiosk.web.ports import StationNotice

from .kiosk_helpers import make_kiosk
from .test_kiosk_web import PIN, Kiosk, RecordingJob, make_app, tr
from .test_owed_reports import _ReportsRefused


@dataclass
class NoticesJob(RecordingJob):
    notices: NoticeBoard = field(default_factory=NoticeBoard)


def _at_the_attendant(kiosk: Kiosk, lang: str = "en") -> str:
    """The resident's walk up to the attendant page; its HTML."""
    for step in (lambda: kiosk.language(lang), kiosk.about, kiosk.details,
                 lambda: kiosk.documents("passport", "bill"), kiosk.photo, kiosk.signature):  # fmt: skip
        assert step().status_code == 303
    return kiosk.get("/attendant").get_data(as_text=True)


def _approve(kiosk: Kiosk, page: str, pin: str = PIN) -> int:
    """The attendant's PIN form as the page has it (with the notices it showed)."""
    shown = re.search(r'name="notices" value="([^"]*)"', page)
    assert shown is not None, page
    form = {"method": "pin", "pin": pin, "notices": shown.group(1)}
    return kiosk.post("/attendant", form).status_code


def _sentence(kind: str, number: str | None = None, lang: str = "en") -> str:
    if number is None:
        return tr(lang, msg.STATION_NOTICES_NO_NUMBER[kind])
    return tr(lang, msg.STATION_NOTICES[kind], number=number_end(number))


def test_every_kind_of_notice_has_a_sentence() -> None:
    for kind in NOTICE_KINDS:
        assert kind in msg.STATION_NOTICES or kind in msg.STATION_NOTICES_NO_NUMBER, kind
    assert number_end("DEV00000018") == "…0018" and number_end("0018") == "0018"
    assert ids_shown("3,4,x,,-1,99999999999,²,٣") == [3, 4]


def test_the_attendant_page_shows_the_notices_until_an_approval() -> None:
    job = NoticesJob()
    job.notices.post([
        StationNotice("voided", "DEV00000018"),
        StationNotice("kept", "DEV00000019", torn_receipt=True),
        StationNotice("interrupted", None),
        StationNotice("voided", "DEV00000018"),  # the same notice again: shown once
    ])  # fmt: skip
    kiosk = Kiosk(make_app(job=job))
    page = _at_the_attendant(kiosk)
    assert _sentence("voided", "DEV00000018") in page
    assert _sentence("kept", "DEV00000019") in page and tr("en", msg.TORN_RECEIPT_NOTICE) in page
    assert _sentence("interrupted") in page
    assert page.count(_sentence("voided", "DEV00000018")) == 1
    assert "DEV00000018" not in page and "DEV00000019" not in page  # only the ends
    assert tr("en", "These notices are cleared when you approve this application.") in page

    late = StationNotice("report_pending", "DEV00000020")  # came in after the page was shown
    job.notices.post([late])
    assert _approve(kiosk, page, pin="0000") == 422  # a wrong PIN clears nothing
    assert len(job.notices.pending()) == 4
    assert _approve(kiosk, page) == 303
    assert [n for _i, n in job.notices.pending()] == [late]

    nobody = Kiosk(make_app(job=NoticesJob()))
    assert 'id="station-notices"' not in _at_the_attendant(nobody)


def test_a_long_list_says_how_many_more_the_log_has() -> None:
    job = NoticesJob()
    extra = 3
    job.notices.post(
        StationNotice("report_pending", f"DEV{n:08d}") for n in range(SHOWN_AT_MOST + extra)
    )
    kiosk = Kiosk(make_app(job=job))
    page = _at_the_attendant(kiosk)
    assert page.count("<li>") - _at_the_attendant(Kiosk(make_app())).count("<li>") == SHOWN_AT_MOST
    assert f"{extra} more notices are in the kiosk" in page
    assert _approve(kiosk, page) == 303
    assert len(job.notices.pending()) == extra  # the ones not shown stay


@pytest.mark.parametrize("lang", ["ar", "zh-Hant", "ti"])
def test_the_notices_are_in_the_pages_language(lang: str) -> None:
    job = NoticesJob()
    job.notices.post([StationNotice("report_refused", "DEV00000018"), StationNotice("pending", None)])
    page = _at_the_attendant(Kiosk(make_app(job=job)), lang)
    assert _sentence("report_refused", "DEV00000018", lang) in page
    assert _sentence("pending", None, lang) in page
    assert _sentence("pending", None, lang) != _sentence("pending", None, "en")


def test_a_notice_of_an_unknown_kind_is_still_a_sentence() -> None:
    job = NoticesJob()
    job.notices.post([StationNotice("something_new", "DEV00000018"), StationNotice("odd", None)])
    page = _at_the_attendant(Kiosk(make_app(job=job)))
    assert page.count(tr("en", msg.STATION_NOTICE_OTHER)) == 2


def _resident(jobs: StationJobs) -> Kiosk:
    program = program_view(load_known_program("zurich", CardProfile.PRINT))
    return Kiosk(make_app(program=program, job=jobs, today=date.today))


def test_a_restarts_recovery_reaches_the_attendant_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As `citycard-kiosk serve` starts: a card printed before the kiosk stopped (its receipt
    not), and a card cut short before printing, on the real station and its journal."""
    kiosk = make_kiosk(tmp_path, None)
    journal = kiosk.station.journal
    printed = kiosk.allocator.allocate("req-printed.1")
    cut = kiosk.allocator.allocate("req-cut-short.1")
    for job, req, got, steps in (
        ("a" * 32, "req-printed", printed, ("allocated", "signed", "card_printing", "card_printed")),
        ("b" * 32, "req-cut-short", cut, ("allocated", "signed")),
    ):
        for step in ("started", "allocating", *steps):
            journal.append(Record(job=job, req=req, step=step, t=1.0, alloc=f"{req}.1",
                                  doc=got.document_number, list=got.status_list,
                                  idx=got.status_index, exp="2030-06-30", iat=int(time.time())))  # fmt: skip
    console: list[str] = []
    with caplog.at_level(logging.WARNING, logger="kiosk.web.notices"):
        jobs = StationJobs.after_recovery(kiosk.station, console.append)
    assert len(console) == 2 and all(line.startswith("Attendant: ") for line in console)
    assert printed.document_number in console[0] + console[1]  # the console has the whole number
    for number in (printed.document_number, cut.document_number):  # and the log, for support
        assert number in caplog.text

    page = _at_the_attendant(_resident(jobs))
    assert _sentence("kept", printed.document_number) in page
    assert _sentence("voided", cut.document_number) in page
    assert printed.document_number not in page and cut.document_number not in page


def _make_card(kiosk: Kiosk) -> None:
    """From the attendant's approval on: the fee, the review, the card."""
    assert kiosk.fee().status_code == 303
    request_id = kiosk.review()
    assert kiosk.post("/personalise", {"request_id": request_id}).location == "/progress"
    kiosk.wait_done(60)


def test_a_card_the_registry_has_not_recorded_is_on_the_next_attendant_page(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    registry = _ReportsRefused(kiosk.allocator)  # no answer to the report
    kiosk.station.allocator = registry
    jobs = StationJobs(kiosk.station)
    first = _resident(jobs)
    page = _at_the_attendant(first)
    assert 'id="station-notices"' not in page
    assert _approve(first, page) == 303
    _make_card(first)
    [(_i, notice)] = jobs.notices.pending()
    assert notice.kind == "report_pending" and notice.document_number is not None
    number = notice.document_number

    second = _resident(jobs)
    page = _at_the_attendant(second)
    assert _sentence("report_pending", number) in page
    assert _approve(second, page) == 303 and jobs.notices.pending() == []

    # The registry answers again, but refuses the first card for good: the attendant hears of
    # it after the second card, not only at the next start.
    registry.down, registry.refused = False, {number}
    _make_card(second)
    assert [n for _i, n in jobs.notices.pending()] == [StationNotice("report_refused", number)]


def test_a_jobs_notice_keeps_its_torn_receipt(tmp_path: Path) -> None:
    jobs = StationJobs(make_kiosk(tmp_path, None).station)
    jobs.post_notices([Notice("kept", "text", "DEV00000018", "j", "r", torn_receipt=True)])
    assert [n for _i, n in jobs.notices.pending()] == [StationNotice("kept", "DEV00000018", True)]
