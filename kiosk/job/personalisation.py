"""The station (registry, key, journal, devices) and its personalisation job: one request's
card from a blank card to a printed card and receipt, then forget the resident."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from cardio.chip import CardProfile, bind, personalise
from cardio.connection import Connection
from cardio.credential import ChipBinding, expiry_timestamp, local_day
from cardio.errors import CitycardError
from printer.card_design import CardDesign as LayoutDesign
from printer.card_printer import CardPrinter

from ..allocator import (
    Allocation,
    AllocationError,
    Allocator,
    ChipRoomCheck,
    CredentialSigner,
    SignedCard,
    allocate_for,
)
from ..journal import (
    REPORTED,
    REQUEST_ID,
    JobHistory,
    Journal,
    JournalError,
    Record,
    StationBusyError,
)
from ..printing import (
    Receipt,
    ReceiptSink,
    card_design,
    card_fit_problems,
    fit_problem_sentence,
    receipt_contact,
    render_card_images,
    utc_day,
)
from ..programs import Program
from .errors import (
    CardTextTooLongError,
    JobClosedError,
    JobError,
    ProfileTooSmallError,
    ReceiptPrinterFailedError,
    WriterFailedError,
    step_error,
)
from .model import STEP_SPANS, Enrolment, JobResult, JobStep, Notice, Progress, ProgressCallback
from .receipt_code import CodeRenewal, maybe_printed
from .recovery import (
    COMPACT_AT,
    recover,
    recover_job,
    report_pending,
    result_from,
    send_owed,
)
from .writer import CardWriter, ObservedConnection

log = logging.getLogger(__name__)

# -- the station and its jobs --------------------------------------------------------------------


@dataclass
class Station:
    """One kiosk's personalisation station: registry, key, journal and devices.

    `writer` may be None when every card is `print` profile (no chip). `design_for` maps an
    enrolment to its card layout design (default: from the programme profile, see
    kiosk.printing.card_design).
    """

    allocator: Allocator
    signer: CredentialSigner
    journal: Journal
    writer: CardWriter | None
    card_printer: CardPrinter
    receipt_printer: ReceiptSink
    default_validity_days: int = 730
    clock: Callable[[], float] = time.time
    design_for: Callable[[Enrolment], LayoutDesign] | None = None

    def job(
        self,
        request_id: str,
        enrolment: Enrolment,
        on_progress: ProgressCallback | None = None,
    ) -> PersonalisationJob:
        return PersonalisationJob(self, request_id, enrolment, on_progress)

    def recover(self) -> list[Notice]:
        """Void what crashed jobs left half-made and send the reports still owed; a Notice per
        unfinished job and per report still owed."""
        with self.journal.exclusive():
            return recover(self.journal, self.allocator, self.clock)

    def design(self, enrolment: Enrolment) -> LayoutDesign:
        if self.design_for is not None:
            return self.design_for(enrolment)
        program = enrolment.program if isinstance(enrolment.program, Program) else None
        return card_design(program, enrolment.holder.program, enrolment.language)


class PersonalisationJob:
    """One request's card (see the `kiosk.job` package doc). Not thread-safe: run it from one
    thread; the progress callback is called from that thread. `progress` is the last step
    reported."""

    def __init__(
        self,
        station: Station,
        request_id: str,
        enrolment: Enrolment,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
            raise ValueError(
                "A request id is 8 to 56 letters, digits, '_' or '-' (use new_request_id())."
            )
        self.station = station
        self.request_id = request_id
        self.on_progress = on_progress
        self.progress: Progress | None = None
        self.result: JobResult | None = None
        self.job_id: str | None = None
        self.attempt = 0
        self._enrolment: Enrolment | None = enrolment
        self._fraction = 0.0
        self._notices: list[Notice] = []
        # set while an attempt runs
        self._allocation: Allocation | None = None
        self._signed: SignedCard | None = None
        self._card_images: tuple[bytes, bytes] | None = None
        self._times: tuple[int, int] | None = None
        self._pending_receipt: Receipt | None = None
        self._code_renewal = CodeRenewal()  # a torn receipt's new code (receipt_code)
        self._step = JobStep.WAIT_CARD
        self._alloc_key: str | None = None
        self._profile: CardProfile | None = None
        self._card_printed = False
        self._history: JobHistory | None = None
        self.error: BaseException | None = None  # what ended a start()ed run, for the UI
        self._lock = threading.Lock()

    # -- public ----------------------------------------------------------------------------------

    @property
    def forgotten(self) -> bool:
        return self._enrolment is None and self._pending_receipt is None

    def forget(self) -> None:
        """Drop everything about the resident (also a receipt still waiting to be printed,
        which the journal then records as missing)."""
        if self._pending_receipt is not None and self.job_id is not None:
            try:
                self._record("done", outcome="receipt_missing")
            except JournalError:
                log.error("journal: could not record job %s as finished", self.job_id)
        self._enrolment = None
        self._signed = None
        self._card_images = None
        self._pending_receipt = None
        self._code_renewal.forget()
        self._allocation = None

    def run(self) -> JobResult:
        """Make the card (or finish its receipt). Raises JobError or StationBusyError."""
        if not self._lock.acquire(blocking=False):
            raise StationBusyError()
        try:
            if self.result is not None:
                return self.result
            with self.station.journal.exclusive():
                if self._pending_receipt is not None:
                    return self._finish_receipt()
                if self._enrolment is None:
                    raise JobClosedError()
                repeated = self._previous_result()
                if repeated is not None:
                    self.forget()
                    self.result = repeated
                    return repeated
                return self._attempt()
        finally:
            self._lock.release()

    def start(self) -> threading.Thread:
        """Run in a background thread (the UI polls `progress`, then reads `result` or
        `error`)."""
        self.error = None

        def target() -> None:
            try:
                self.run()
            except BaseException as exc:  # kept for the UI thread to read
                self.error = exc

        thread = threading.Thread(target=target, name="kiosk-job", daemon=True)
        thread.start()
        return thread

    # -- journal and progress ----------------------------------------------------------------------

    def _record(self, step: str, **values: object) -> None:
        assert self.job_id is not None
        alloc = self._allocation
        fields: dict[str, object] = {}
        if alloc is not None:
            fields.update(doc=alloc.document_number, list=alloc.status_list, idx=alloc.status_index)
        fields.update(values)
        record = Record(
            job=self.job_id,
            req=self.request_id,
            step=step,
            attempt=self.attempt,
            t=self.station.clock(),
            **fields,  # type: ignore[arg-type]
        )
        self.station.journal.append(record)
        if self._history is None or self._history.job != self.job_id:
            self._history = JobHistory(self.job_id, self.request_id, self.attempt)
        self._history.add(record)
        log.info("job %s %s %s", self.job_id, step, fields.get("doc", ""))

    def _report(self, step: JobStep, within: float = 0.0) -> None:
        start, end = STEP_SPANS[step]
        fraction = max(self._fraction, start + (end - start) * min(1.0, max(0.0, within)))
        previous = self.progress
        if (
            previous is not None
            and previous.step is step
            and fraction - previous.fraction < 0.005
            and fraction < end
        ):
            return  # too small a change to show (the chip step reports every APDU)
        self._fraction = fraction
        self.progress = Progress(step, round(fraction, 4))
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress)
            except Exception as exc:  # a broken display must not break a card
                log.warning("progress callback failed: %s", type(exc).__name__)

    # -- the attempt -----------------------------------------------------------------------------

    def _previous_result(self) -> JobResult | None:
        """The result of this request's card if it was made; voids attempts left unfinished."""
        st = self.station
        if st.journal.size() > COMPACT_AT:
            st.journal.compact(now=st.clock())
        histories = st.journal.for_request(self.request_id)
        for history in histories:
            if history.done or history.card_made:
                if not history.terminal:  # made, receipt not printed, job object gone
                    self._notices.append(recover_job(history, st.journal, st.allocator, st.clock))
                return result_from(history, repeated=True, notices=tuple(self._notices))
        for history in histories:
            if not history.terminal:
                self._notices.append(recover_job(history, st.journal, st.allocator, st.clock))
        self.attempt = 1 + max((h.attempt for h in histories), default=0)
        return None

    def _attempt(self) -> JobResult:
        enrolment = self._enrolment
        assert enrolment is not None
        self.job_id = uuid.uuid4().hex
        self._fraction = 0.0
        self._allocation = None
        self._alloc_key = None
        self._profile = enrolment.profile
        self._step = JobStep.WAIT_CARD
        self._card_printed = False
        try:
            self._record("started")
            self._make_card(enrolment)
        except BaseException as exc:
            error = step_error(self._step, exc)
            if not self._card_printed:
                self._fail(error, exc)
            if error is exc or not isinstance(exc, Exception):
                raise
            raise error from exc
        finally:
            self._card_images = None
        return self._finish_receipt()

    def _make_card(self, enrolment: Enrolment) -> None:
        """Everything up to the card printer's confirmation (then the card exists)."""
        profile = enrolment.profile
        self._step = JobStep.WAIT_CARD
        self._check_room(enrolment)
        self._check_fit(enrolment)
        connection: Connection | None = None
        if profile.has_chip:
            self._report(JobStep.WAIT_CARD)
            if self.station.writer is None:
                raise WriterFailedError(
                    "This kiosk has no card writer configured for chip cards; call technical "
                    "support.",
                    step=JobStep.WAIT_CARD,
                )
            connection = self.station.writer.connect()
        try:
            self._step = JobStep.ALLOCATE
            self._report(JobStep.ALLOCATE)
            self._alloc_key = f"{self.request_id}.{self.attempt}"
            self._record("allocating", alloc=self._alloc_key)
            self._allocation = allocate_for(
                self.station.allocator, self._alloc_key, enrolment.successor
            )
            issued_at, expires_at = self._validity(enrolment)
            self._times = (issued_at, expires_at)
            self._record(
                "allocated",
                alloc=self._alloc_key,
                exp=utc_day(expires_at - 1).isoformat(),
                iat=issued_at,  # with `exp`, what a report sent again later needs
            )

            binding: ChipBinding | None = None
            if connection is not None:
                self._step = JobStep.WRITE_CHIP
                binding = bind(connection, profile)
                self._record("bound")
            self._step = JobStep.SIGN
            self._report(JobStep.SIGN)
            chip_holder = replace(
                enrolment.holder,
                photo=enrolment.chip_photo if profile.photo_on_chip else None,
            )
            self._signed = self.station.signer.sign(
                self._allocation, chip_holder, binding, issued_at, expires_at
            )
            self._record("signed")
            self._card_images = render_card_images(
                self.station.design(enrolment),
                self._signed.credential,
                self._signed.print_cose,
                enrolment.print_photo,
                enrolment.signature_png,
                enrolment.printed_fields,
            )
            self._report(JobStep.SIGN, 1.0)

            if connection is not None:
                self._step = JobStep.WRITE_CHIP
                chip_cose = self._signed.chip_cose
                assert chip_cose is not None
                self._record("chip_writing")
                observed = ObservedConnection(
                    connection,
                    2 * len(chip_cose) + 64,
                    lambda f: self._report(JobStep.WRITE_CHIP, f),
                )
                personalise(observed, chip_cose)
                self._record("chip_written")
        finally:
            if connection is not None:
                connection.close()

        self._step = JobStep.PRINT_CARD
        self._report(JobStep.PRINT_CARD)
        self._record("card_printing")
        front, back = self._card_images
        self._card_images = None
        self.station.card_printer.print_card(front, back)
        self._card_printed = True
        self._record("card_printed")
        # The card exists: from here on nothing is voided.
        self._step = JobStep.PRINT_RECEIPT
        self._pending_receipt = self._receipt(enrolment)
        self._enrolment = None  # only the receipt (nothing personal) is kept from here on
        self._signed = None
        number = self._allocation.document_number
        try:
            self.station.allocator.report_issued(number, issued_at, expires_at)
        except CitycardError as exc:
            log.warning("report of %s failed: %s", number, type(exc).__name__)
            self._notices.append(
                report_pending(number, str(exc), self.job_id or "", self.request_id)
            )
            return
        try:
            self._record(REPORTED)
        except JournalError:  # sent again later (idempotent): no reason to stop this card
            log.error("journal: could not record the report of %s", number)

    def _check_room(self, enrolment: Enrolment) -> None:
        """Refuse, before a card is taken or a number allocated, a card its chip cannot hold
        (with all of the programme's entitlements, whichever the resident has)."""
        program = enrolment.program
        if isinstance(program, Program):
            entitlements = tuple(e.code for e in program.entitlements)
        else:
            entitlements = enrolment.holder.entitlements
        signer = self.station.signer
        if not isinstance(signer, ChipRoomCheck):
            return  # a signer that cannot tell: the chip write says so (and voids the number)
        problem = signer.room_problem(enrolment.holder.program, entitlements, enrolment.profile)
        if problem is not None:
            raise ProfileTooSmallError(problem, step=JobStep.WAIT_CARD)

    def _check_fit(self, enrolment: Enrolment) -> None:
        """Refuse, before a card is taken or a number allocated, details the card cannot print
        (a field too long even at the smallest type), naming the field to shorten."""
        design = self.station.design(enrolment)
        today = local_day(self.station.clock())
        problems = card_fit_problems(
            design,
            enrolment.holder,
            enrolment.print_photo,
            enrolment.signature_png,
            enrolment.printed_fields,
            today,
        )
        if problems:
            program = enrolment.program
            languages = program.languages if isinstance(program, Program) else ()
            sentence = " ".join(
                fit_problem_sentence(p, enrolment.language, languages) for p in problems
            )
            raise CardTextTooLongError(sentence, step=JobStep.WAIT_CARD)

    def _validity(self, enrolment: Enrolment) -> tuple[int, int]:
        issued_at = int(self.station.clock())
        expires = enrolment.expires
        if expires is None:
            today = local_day(issued_at)  # the station's day, as printed
            expires = today + timedelta(days=self.station.default_validity_days)
        return issued_at, expiry_timestamp(expires)

    def _receipt(self, enrolment: Enrolment) -> Receipt:
        assert self._allocation is not None and self._times is not None
        issued_at, expires_at = self._times
        name = enrolment.programme_name
        if name is None:
            name = _programme_name(enrolment)
        return Receipt(
            programme=name,
            document_number=self._allocation.document_number,
            issued=local_day(issued_at),
            expires=utc_day(expires_at - 1),
            language=enrolment.language,
            revocation_code=self._allocation.revocation_code,
            contact=receipt_contact(enrolment.program, enrolment.language),
        )

    def _finish_receipt(self) -> JobResult:
        receipt = self._pending_receipt
        assert receipt is not None and self.job_id is not None
        self._report(JobStep.PRINT_RECEIPT)
        if self._code_renewal.pending:  # its digest was sent, unconfirmed: ask once more
            receipt = self._confirm_code(receipt)
        try:
            self.station.receipt_printer.print_receipt(receipt)
        except Exception as exc:
            error = step_error(JobStep.PRINT_RECEIPT, exc)
            try:
                self._record("receipt_failed", outcome=error.code)
            except JournalError:
                log.error("journal: could not record a receipt failure")
            if maybe_printed(exc):
                error.with_note(self._renew_code(receipt))
            raise error from exc
        self._record("receipt_printed")
        self._pending_receipt = None
        self._report(JobStep.FORGET)
        self.forget()
        self._record("done")
        self._report(JobStep.DONE, 1.0)
        assert self._history is not None
        result = result_from(self._history, repeated=False, notices=tuple(self._notices))
        self.result = replace(result, profile=self._profile, receipt_printed=True)
        if self._history.reported:  # the registry answers now: what earlier jobs still owe
            try:  # (a report refused or still owed is a notice with this card's result)
                owed = send_owed(self.station.journal, self.station.allocator, self.station.clock)
            except Exception as exc:  # this card is made: never fail it for an earlier one's
                log.warning("owed reports or codes not settled: %s", type(exc).__name__)
            else:
                self.result = replace(self.result, notices=self.result.notices + tuple(owed))
        return self.result

    def _renew_code(self, receipt: Receipt) -> str:
        """A receipt torn mid-print may show its code: give the next one a new code, its
        digest at the registry in place of the old one; the sentence for the attendant."""
        receipt, outcome, sentence = self._code_renewal.renew(self.station.allocator, receipt)
        self._pending_receipt = receipt
        self._record_code(outcome)
        return sentence

    def _confirm_code(self, receipt: Receipt) -> Receipt:
        """Send the unconfirmed new code's digest again: the receipt to print, or
        ReceiptPrinterFailedError while the registry may hold either code (printing the old
        code could give the resident one that no longer cancels their card)."""
        receipt, outcome, sentence = self._code_renewal.renew(self.station.allocator, receipt)
        self._pending_receipt = receipt
        self._record_code(outcome)
        if self._code_renewal.pending:
            raise ReceiptPrinterFailedError(sentence, step=JobStep.PRINT_RECEIPT, card_made=True)
        # Confirmed: the receipt has the new code. Refused (AllocationError): the registry kept
        # the old code, which the receipt still has, so printing it is right (the attendant was
        # told at the tear to destroy the torn receipt).
        return receipt

    def _record_code(self, outcome: str) -> None:
        try:
            self._record("receipt_failed", outcome=outcome)
        except JournalError:
            log.error("journal: could not record a receipt code's renewal")

    def _fail(self, error: JobError, cause: BaseException) -> None:
        """Void the number (the card was not confirmed printed); journal the outcome."""
        alloc = self._allocation
        self._allocation = None
        self._signed = None
        try:
            if alloc is None:
                if self._alloc_key is not None and not isinstance(cause, AllocationError):
                    # The allocator's answer is unknown (it may have allocated): leave the job
                    # unfinished, recovery asks again with the same key and voids.
                    error.with_void(None, None)
                    return
                self._record("failed", outcome=error.code)
                return
            try:
                self.station.allocator.void(alloc.document_number)
            except Exception as exc:
                log.warning("void of %s failed: %s", alloc.document_number, type(exc).__name__)
                self._record("void_failed", outcome=error.code)
                error.with_void(None, alloc.document_number)
                return
            self._record("voided", outcome=error.code)
            error.with_void(alloc.document_number, None)
        except JournalError:
            log.error("journal: could not record the failure of job %s", self.job_id)


def _programme_name(enrolment: Enrolment) -> str:
    if isinstance(enrolment.program, Program):
        return enrolment.program.name(enrolment.language)
    return enrolment.holder.program.replace("-", " ").title() + " City Card"


