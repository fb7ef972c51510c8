"""A card made is recorded issued at the registry even when its report did not get through at
once: a failed report, a crash between the card printer and the report, or a kiosk retired
just after its last card. Until then the holder's receipt code cannot cancel the card and the
card cannot be renewed or replaced, so the kiosk sends the report again (kiosk.job.recovery.
send_owed_reports) after its next card and at its next start. (A retired kiosk's last reports:
test_kiosk_retire.)"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from api.issuer.registry import ALLOCATED, ISSUED, VALID
from cardio.chip import CardProfile
from cardio.credential import expiry_timestamp
from kiosk.allocator import Allocation, AllocationError
from kiosk.http_allocator import RegistryUnreachableError
from kiosk.job import new_request_id, recover
from kiosk.journal import Journal, Record

from .kiosk_helpers import Kiosk, enrolment, make_kiosk


class _ReportsRefused:
    """The kiosk's allocator, whose report calls get no answer while `down` (or a refusal for
    the numbers in `refused`)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = True
        self.refused: set[str] = set()
        self.reports: list[str] = []

    def allocate(self, request_id: str) -> Allocation:
        return self.inner.allocate(request_id)  # type: ignore[attr-defined, no-any-return]

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        self.reports.append(document_number)
        if self.down:
            raise RegistryUnreachableError("The city registry cannot be reached for the report.")
        if document_number in self.refused:
            refused = AllocationError("The city registry refused the report (HTTP 409).")
            refused.status = 409
            raise refused
        self.inner.report_issued(document_number, issued_at, expires_at)  # type: ignore[attr-defined]

    def void(self, document_number: str) -> None:
        self.inner.void(document_number)  # type: ignore[attr-defined]


def _state(kiosk: Kiosk, number: str) -> tuple[str, str]:
    [row] = [r for r in kiosk.cards() if r.document_number == number]
    return row.state, row.status


def _card(kiosk: Kiosk) -> str:
    return kiosk.station.job(new_request_id(), enrolment(CardProfile.PRINT)).run().document_number


def test_a_report_that_failed_is_sent_after_the_next_card(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    flaky = _ReportsRefused(kiosk.allocator)
    kiosk.station.allocator = flaky
    job = kiosk.station.job(new_request_id(), enrolment(CardProfile.PRINT))
    first = job.run()
    [notice] = first.notices
    assert notice.kind == "report_pending" and first.document_number in notice.message
    assert "cannot be reached" in notice.message and "next card" in notice.message
    assert _state(kiosk, first.document_number) == (ALLOCATED, VALID)
    [owed] = kiosk.station.journal.owed_reports()
    assert owed.doc == first.document_number and owed.terminal

    flaky.down = False
    second = _card(kiosk)
    assert _state(kiosk, second) == (ISSUED, VALID)
    assert _state(kiosk, first.document_number) == (ISSUED, VALID)  # sent again
    assert kiosk.station.journal.owed_reports() == []
    # the times reported are the ones signed into the card
    [row] = [r for r in kiosk.cards() if r.document_number == first.document_number]
    history = kiosk.station.journal.jobs()[first.job_id]
    assert (row.iat, row.exp) == (history.iat, expiry_timestamp(date(2030, 6, 30)))
    # nothing is sent twice
    flaky.reports.clear()
    _card(kiosk)
    assert len(flaky.reports) == 1


def test_a_report_a_crash_cut_off_is_sent_by_recovery(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    journal = kiosk.station.journal
    got = kiosk.allocator.allocate("req-crashed-after-print.1")
    iat = int(time.time())
    exp = "2030-06-30"
    for step in ("started", "allocating", "allocated", "signed", "card_printing", "card_printed"):
        journal.append(Record(job="f" * 32, req="req-crashed-after-print", step=step, t=1.0,
                              alloc="req-crashed-after-print.1", doc=got.document_number,
                              list=got.status_list, idx=got.status_index, exp=exp, iat=iat))  # fmt: skip
    assert _state(kiosk, got.document_number) == (ALLOCATED, VALID)

    with journal.exclusive():
        [notice] = recover(journal, kiosk.allocator)
    assert notice.kind == "kept"  # the attendant hands the card over, as before
    assert _state(kiosk, got.document_number) == (ISSUED, VALID)
    assert journal.owed_reports() == [] and journal.unfinished() == []
    with journal.exclusive():
        assert recover(journal, kiosk.allocator) == []


def test_recovery_tells_the_attendant_of_a_report_still_owed(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    flaky = _ReportsRefused(kiosk.allocator)
    kiosk.station.allocator = flaky
    made = _card(kiosk)
    [notice] = kiosk.station.recover()
    assert notice.kind == "report_pending" and made in notice.message
    assert "technical support" in notice.message
    flaky.down = False
    assert kiosk.station.recover() == []
    assert _state(kiosk, made) == (ISSUED, VALID)


def test_a_registry_that_does_not_answer_is_asked_once_a_refusal_only_for_its_card(
    tmp_path: Path,
) -> None:
    kiosk = make_kiosk(tmp_path, None)
    flaky = _ReportsRefused(kiosk.allocator)
    kiosk.station.allocator = flaky
    made = [_card(kiosk), _card(kiosk), _card(kiosk)]
    flaky.reports.clear()
    notices = kiosk.station.recover()  # no answer: one try, not one wait per card
    assert [n.document_number for n in notices] == made and len(flaky.reports) == 1
    assert all("cannot be reached" in n.message for n in notices)
    flaky.down, flaky.refused = False, {made[0]}
    [notice] = kiosk.station.recover()  # the first is refused; the others are still sent
    assert notice.kind == "report_refused" and notice.document_number == made[0]
    assert "refuses" in notice.message and "will not ask again" in notice.message
    assert [_state(kiosk, n)[0] for n in made] == [ALLOCATED, ISSUED, ISSUED]
    # a refusal for what the card is is final: not asked again, nothing left owed
    flaky.reports.clear()
    assert kiosk.station.recover() == [] and flaky.reports == []
    assert kiosk.station.journal.owed_reports() == []


def test_an_expired_card_is_no_longer_reported(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    flaky = _ReportsRefused(kiosk.allocator)
    kiosk.station.allocator = flaky
    _card(kiosk)
    flaky.reports.clear()
    kiosk.station.clock = lambda: expiry_timestamp(date(2030, 6, 30)) + 1.0
    assert kiosk.station.recover() == [] and flaky.reports == []
    assert kiosk.station.journal.owed_reports() == []  # and compaction may drop it


def test_compaction_keeps_an_owed_report_whatever_its_age(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    steps = ("started", "allocating", "allocated", "card_printing", "card_printed", "done")
    for job, reported in (("a" * 32, False), ("b" * 32, True)):
        for step in steps + (("reported",) if reported else ()):
            journal.append(Record(job=job, req=f"req-{job[:8]}", step=step, t=1.0,
                                  doc=f"DOC-{job[:4].upper()}", exp="2030-06-30",
                                  iat=1_790_000_000))  # fmt: skip
    journal.compact(now=2.0)  # both recent: the reported one keeps one terminal summary
    summary = journal.jobs()["b" * 32]
    assert summary.steps == ["done"] and not summary.report_owed and not summary.reported
    assert journal.jobs()["a" * 32].report_owed
    journal.compact(now=1.0 + 30 * 86400)  # both older than the week kept: the owed one stays
    jobs = journal.jobs()
    assert list(jobs) == ["a" * 32] and jobs["a" * 32].report_owed


def test_the_journal_refuses_an_issue_time_that_is_no_time() -> None:
    for bad in (-1, 2**40, 1.5, "1790000000", True):
        with pytest.raises(ValueError):
            Record(job="c" * 32, req="req-abcdefgh", step="allocated", iat=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # an expiry that is no day (the report would need it)
        Record(job="c" * 32, req="req-abcdefgh", step="allocated", exp="2030-13-45")


def test_a_job_of_which_only_its_report_survives_is_nothing_to_recover(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.append(Record(job="d" * 32, req="req-abcdefgh", step="reported", t=1.0, doc="DOC-1"))
    assert journal.unfinished() == []
    journal.compact(now=1.0 + 30 * 86400)  # nor anything to keep
    assert journal.records() == []


def test_with_no_answer_to_the_reports_no_torn_code_is_asked_for(tmp_path: Path) -> None:
    """One wait for a registry that does not answer, not one more for each torn code."""
    journal = Journal.in_dir(tmp_path)
    torn = ("started", "allocated", "card_printed", "receipt_failed", "done")
    for step in torn:
        outcome = "code_unconfirmed" if step == "receipt_failed" else None
        journal.append(Record(job="a" * 32, req="req-torn-one", step=step, t=1.0,
                              doc="DOC-TORN", exp="2030-06-30", outcome=outcome))  # fmt: skip
    for step in ("started", "allocated", "card_printed", "done"):
        journal.append(Record(job="b" * 32, req="req-owed-one", step=step, t=1.0,
                              doc="DOC-OWED", exp="2030-06-30", iat=1_790_000_000))  # fmt: skip

    class Registry:
        def __init__(self) -> None:
            self.up, self.codes = False, 0

        def allocate(self, request_id: str) -> Allocation:
            raise AssertionError("nothing to allocate")

        def void(self, document_number: str) -> None:
            raise AssertionError("nothing to void")

        def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
            if not self.up:
                raise RegistryUnreachableError("The city registry cannot be reached.")

        def replace_revocation_code(self, document_number: str, code_hash: str) -> None:
            self.codes += 1

    registry = Registry()
    with journal.exclusive():
        [notice] = recover(journal, registry)
    assert notice.kind == "report_pending" and registry.codes == 0
    registry.up = True
    with journal.exclusive():
        assert recover(journal, registry) == []
    assert registry.codes == 1 and journal.torn_codes() == [] and journal.owed_reports() == []
