"""A receipt torn mid-print may already show its one-time revocation code: the receipt printed
again carries a new code, whose digest replaces the old one at the registry; when the
registry cannot be told, the attendant is told to destroy the torn receipt."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardio import codes
from cardio.errors import CitycardError
from hardware.local_issuer import IssuerAllocator
from hardware.virtual_t4t import VirtualType4Card
from kiosk.allocator import AllocationError
from kiosk.job import JobError, ReceiptPrinterFailedError, new_request_id
from kiosk.job.receipt_code import maybe_printed
from kiosk.journal import Journal
from kiosk.printing import Receipt
from printer.errors import PaperOutError, PrinterOfflineError
from printer.fonts import FontNotFoundError
from printer.raster import ShapingUnavailableError
from tests.kiosk_helpers import Kiosk, LocalWriter, enrolment, make_kiosk


class TornOnce:
    """A receipt printer whose roll runs out in the middle of the first receipt."""

    paper_near_end = False

    def __init__(self, during_job: bool = True) -> None:
        self.codes: list[str | None] = []
        self.during_job = during_job

    def print_receipt(self, receipt: Receipt) -> None:
        self.codes.append(receipt.revocation_code)
        if len(self.codes) == 1:
            raise PaperOutError(during_job=self.during_job)


class ReplacingAllocator(IssuerAllocator):
    """The in-process issuer, counting the calls that give a receipt a new code; the first
    `down` of them fail (the registry cannot be reached)."""

    def __init__(self, allocator: IssuerAllocator, down: int = 0) -> None:
        super().__init__(allocator.issuer, allocator.kiosk_id)
        self.down = down
        self.calls = 0

    def replace_revocation_code(self, document_number: str, code_hash: str) -> None:
        self.calls += 1
        if self.calls <= self.down:
            raise CitycardError("The city registry at https://cards.example cannot be reached.")
        super().replace_revocation_code(document_number, code_hash)


def _kiosk(tmp: Path, down: int = 0, during_job: bool = True) -> tuple[Kiosk, TornOnce]:
    kiosk = make_kiosk(tmp, LocalWriter(VirtualType4Card("t4t")))
    kiosk.station.allocator = ReplacingAllocator(kiosk.allocator, down)
    sink = TornOnce(during_job)
    kiosk.station.receipt_printer = sink
    return kiosk, sink


def _works(kiosk: Kiosk, number: str, code: str | None) -> bool:
    assert code is not None
    card = kiosk.issuer.cards.card(number)
    with kiosk.issuer.registry.read() as s:
        from api.issuer.registry import queries

        row = queries.card(s, card.document_number)
        assert row is not None
        stored = row.revocation_code_hash
    return codes.check_code(code, stored, kiosk.issuer.cards.config.pepper())


def test_a_receipt_torn_mid_print_is_printed_again_with_a_new_code(tmp_path: Path) -> None:
    kiosk, sink = _kiosk(tmp_path)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError) as failed:
        job.run()
    assert "no longer works" in str(failed.value)
    result = job.run()
    assert result.receipt_printed
    torn, printed = sink.codes
    assert torn != printed
    assert _works(kiosk, result.document_number, printed)
    assert not _works(kiosk, result.document_number, torn)
    journal = (tmp_path / "kiosk" / "journal.jsonl").read_text()
    assert "code_renewed" in journal
    for secret in (torn, printed, "scrypt$"):
        assert secret is not None and secret not in journal


def test_when_the_registry_cannot_be_told_the_attendant_destroys_the_torn_receipt(
    tmp_path: Path,
) -> None:
    kiosk, sink = _kiosk(tmp_path)
    kiosk.station.allocator = RefusingAllocator(kiosk.allocator, lost=0)  # refuses every time
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError) as failed:
        job.run()
    assert "still works" in str(failed.value) and "tear" in str(failed.value)
    result = job.run()
    torn, printed = sink.codes
    assert torn == printed  # the only code the registry knows
    assert _works(kiosk, result.document_number, printed)
    assert job.forgotten


def test_a_new_code_the_registry_missed_is_sent_again_before_the_retry(tmp_path: Path) -> None:
    kiosk, sink = _kiosk(tmp_path, down=1)  # down at the failure, back for the retry
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    result = job.run()
    torn, printed = sink.codes
    assert torn != printed and _works(kiosk, result.document_number, printed)
    assert not _works(kiosk, result.document_number, torn)


def test_a_receipt_that_never_started_keeps_its_code(tmp_path: Path) -> None:
    kiosk, sink = _kiosk(tmp_path, during_job=False)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    job.run()
    assert sink.codes[0] == sink.codes[1]
    allocator = kiosk.station.allocator
    assert isinstance(allocator, ReplacingAllocator) and allocator.calls == 0


def test_after_a_restart_the_attendant_still_hears_of_a_torn_receipt(tmp_path: Path) -> None:
    kiosk, sink = _kiosk(tmp_path, down=2)  # down at the tear and at the restart
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    # The kiosk stops here (the job object is gone): recovery reads the journal.
    (notice,) = kiosk.station.recover()
    assert notice.kind == "kept" and "tear it up" in notice.message
    number = notice.document_number
    assert number is not None and _works(kiosk, number, sink.codes[0])
    # The registry answers at the next start: the torn code is given up for one nobody has.
    assert kiosk.station.recover() == []
    assert not _works(kiosk, number, sink.codes[0])
    assert kiosk.station.journal.torn_codes() == []


def test_at_a_restart_with_the_registry_up_the_torn_code_is_given_up(tmp_path: Path) -> None:
    kiosk, sink = _kiosk(tmp_path, down=1)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    (notice,) = kiosk.station.recover()
    # no receipt can be printed now, but the torn one's code no longer works: no tearing up
    assert notice.kind == "kept" and "tear it up" not in notice.message
    assert notice.document_number is not None
    assert not _works(kiosk, notice.document_number, sink.codes[0])
    assert kiosk.issuer.cards.card(notice.document_number).status == "valid"


def test_a_job_left_with_an_unconfirmed_code_gives_it_up_after_the_next_card(
    tmp_path: Path,
) -> None:
    """The attendant ended the visit while the registry had not confirmed the torn receipt's
    new code: no receipt will be printed, and the registry may still hold the torn code."""
    kiosk, sink = _kiosk(tmp_path, down=1)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    number = kiosk.cards()[0].document_number
    job.forget()  # the resident left; the job (and its unconfirmed new code) is gone
    assert _works(kiosk, number, sink.codes[0])
    kiosk.station.writer = LocalWriter(VirtualType4Card("t4t"))
    kiosk.station.job(new_request_id(), enrolment()).run()  # the next resident's card
    assert not _works(kiosk, number, sink.codes[0])
    assert kiosk.issuer.cards.card(number).status == "valid"


@pytest.mark.parametrize("status", [403, 409])
def test_a_torn_code_is_settled_by_a_refusal_for_the_card_only(
    tmp_path: Path, status: int
) -> None:
    """409 (the card is voided or revoked: it needs no code) settles it for good; another
    refusal (a kiosk not allowed now, a clock too far off) may pass: asked again next time."""
    kiosk, _sink = _kiosk(tmp_path)
    allocator = RefusingAllocator(kiosk.allocator, lost=1, status=status)
    kiosk.station.allocator = allocator
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    job.forget()
    assert len(kiosk.station.journal.torn_codes()) == 1
    kiosk.station.recover()
    calls = allocator.calls
    kiosk.station.recover()
    assert allocator.calls == calls + (status != 409)
    assert len(kiosk.station.journal.torn_codes()) == (status != 409)


class PlainAllocator:
    """An allocator that cannot change a receipt's code (only the Allocator calls)."""

    def __init__(self, inner: IssuerAllocator) -> None:
        self.allocate, self.report_issued, self.void = (
            inner.allocate,
            inner.report_issued,
            inner.void,
        )


def test_an_allocator_that_cannot_change_codes_has_the_torn_receipt_destroyed(
    tmp_path: Path,
) -> None:
    kiosk, sink = _kiosk(tmp_path)
    kiosk.station.allocator = PlainAllocator(kiosk.allocator)  # type: ignore[assignment]
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError) as failed:
        job.run()
    assert "cannot give a receipt a new code" in str(failed.value)
    assert "tear that receipt up" in str(failed.value)
    job.run()
    assert sink.codes[0] == sink.codes[1]


# -- review fixes --------------------------------------------------------------------------------


class Scripted:
    """A receipt printer that raises the scripted error at each call (None: it prints)."""

    paper_near_end = False

    def __init__(self, *failures: Exception | None) -> None:
        self.failures = list(failures)
        self.codes: list[str | None] = []

    def print_receipt(self, receipt: Receipt) -> None:
        failure = self.failures.pop(0) if self.failures else None
        self.codes.append(receipt.revocation_code)
        if failure is not None:
            raise failure


class RefusingAllocator(ReplacingAllocator):
    """The answers to its first `lost` calls are lost; the registry refuses the others."""

    def __init__(self, allocator: IssuerAllocator, lost: int = 1, status: int = 0) -> None:
        super().__init__(allocator)
        self.lost = lost
        self.status = status

    def replace_revocation_code(self, document_number: str, code_hash: str) -> None:
        self.calls += 1
        if self.calls <= self.lost:
            raise CitycardError("The city registry at https://cards.example cannot be reached.")
        refused = AllocationError("The city registry refused the new revocation code.")
        refused.status = self.status
        raise refused


def _code_outcomes(tmp: Path) -> list[str]:
    journal = Journal.in_dir(tmp / "kiosk")
    outcomes = (r.outcome for r in journal.records())
    return [o for o in outcomes if o is not None and o.startswith("code_")]


def test_a_new_code_still_unconfirmed_at_the_retry_is_not_printed(tmp_path: Path) -> None:
    # The first request may have landed: the registry may hold either code, so neither is
    # printed until it answers.
    kiosk, sink = _kiosk(tmp_path, down=2)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    with pytest.raises(JobError) as unconfirmed:
        job.run()
    assert unconfirmed.value.retry and unconfirmed.value.card_made
    assert "Retry" in str(unconfirmed.value) and "tear" in str(unconfirmed.value)
    assert len(sink.codes) == 1  # nothing printed at the retry
    assert _code_outcomes(tmp_path) == ["code_unconfirmed", "code_unconfirmed"]
    result = job.run()  # the registry answers: the new code, confirmed, is printed
    torn, printed = sink.codes
    assert torn != printed and _works(kiosk, result.document_number, printed)
    assert not _works(kiosk, result.document_number, torn)
    assert _code_outcomes(tmp_path)[-1] == "code_renewed"


def test_a_new_code_confirmed_at_the_retry_is_journalled(tmp_path: Path) -> None:
    kiosk, _sink = _kiosk(tmp_path, down=1)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    job.run()
    assert _code_outcomes(tmp_path) == ["code_unconfirmed", "code_renewed"]


def test_a_new_code_the_registry_refused_at_the_retry_prints_the_old_code(
    tmp_path: Path,
) -> None:
    kiosk, sink = _kiosk(tmp_path)
    kiosk.station.allocator = RefusingAllocator(kiosk.allocator)
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    result = job.run()
    torn, printed = sink.codes
    assert torn == printed and _works(kiosk, result.document_number, printed)
    assert _code_outcomes(tmp_path) == ["code_unconfirmed", "code_kept"]


def test_recovery_warns_of_a_torn_receipt_after_a_later_failure(tmp_path: Path) -> None:
    kiosk, _sink = _kiosk(tmp_path)
    kiosk.station.allocator = PlainAllocator(kiosk.allocator)  # type: ignore[assignment]
    kiosk.station.receipt_printer = Scripted(PaperOutError(during_job=True), PrinterOfflineError())
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()  # torn, its code kept
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()  # offline: nothing printed, the torn code still works
    # The kiosk stops here (the job object is gone): recovery reads the journal.
    (notice,) = kiosk.station.recover()
    assert notice.kind == "kept" and "tear it up" in notice.message


def test_recovery_is_quiet_once_the_torn_code_was_replaced(tmp_path: Path) -> None:
    kiosk, _sink = _kiosk(tmp_path)
    kiosk.station.receipt_printer = Scripted(PaperOutError(during_job=True), PrinterOfflineError())
    job = kiosk.station.job(new_request_id(), enrolment())
    for _ in range(2):
        with pytest.raises(ReceiptPrinterFailedError):
            job.run()
    (notice,) = kiosk.station.recover()
    assert notice.kind == "kept" and "tear it up" not in notice.message


@pytest.mark.parametrize(
    "failure",
    [
        FontNotFoundError("No installed font can print Tifinagh: install fonts-noto-core."),
        ShapingUnavailableError("Pillow cannot shape Arabic: install libraqm."),
    ],
)
def test_a_receipt_that_could_not_be_laid_out_keeps_its_code(
    tmp_path: Path, failure: Exception
) -> None:
    # Raised while building the receipt document, before a byte reached the printer.
    kiosk, _sink = _kiosk(tmp_path)
    sink = Scripted(failure)
    kiosk.station.receipt_printer = sink
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError) as failed:
        job.run()
    assert "tear" not in str(failed.value)
    job.run()
    assert sink.codes[0] == sink.codes[1]
    allocator = kiosk.station.allocator
    assert isinstance(allocator, ReplacingAllocator) and allocator.calls == 0


def test_an_unexpected_failure_still_counts_as_maybe_printed() -> None:
    assert maybe_printed(RuntimeError("usb stack"))
    assert not maybe_printed(FontNotFoundError("no font"))
    assert not maybe_printed(PrinterOfflineError())
    assert maybe_printed(PaperOutError(during_job=True))
