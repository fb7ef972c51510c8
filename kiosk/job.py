"""The personalisation job: one resident's card, from a number to a printed card, then forget.

    station = Station(allocator, signer, Journal.in_dir(kiosk_dir), PcscWriter("ACR122"),
                      card_printer, receipt_sink)
    for notice in station.recover():             # at start-up: void what a crash left behind
        tell_attendant(notice.message)
    job = station.job(request_id, enrolment, on_progress=lambda p: show(p.step, p.fraction))
    try:
        result = job.run()                       # JobResult: document number, expiry, ...
    except JobError as exc:
        tell_attendant(str(exc))                 # one sentence; exc.code for the UI
        # exc.retry: run() again (same job, or a new job with the same request id)

Order (DESIGN.md): wait for a blank card on the writer → allocate a number and status slot →
bind (the chip's UID, or a key the card generates) → sign both credentials with the kiosk key →
draw the card → write the chip, read it back, lock it → print the card → report it issued →
print the receipt → forget the resident.

**The journal** (`kiosk.journal`) gets a record before and after every step that touches the
registry or a device, fsync'ed before the job goes on. It holds job and request ids, step
names, document number, status slot, expiry date and outcome codes: never anything personal.

**Failures.** Any failure after the number was allocated and before the card printer confirmed
the card voids the number (`Allocator.void`: its status becomes INVALID for good), so a
half-made chip — torn, unlocked, or complete but never printed — can never verify. The error
is a `JobError` with one sentence for the attendant (put the card back, take another card,
refill the printer, ...). A failure of the receipt printer does not void: the card is made;
`run()` again prints the receipt (the job keeps it in memory until then).

**Retries never issue twice.** A request id names one enrolment. Each attempt allocates with
its own id (`<request id>.<attempt>`), idempotent at the allocator, so a crash between the
allocator's answer and the journal record loses nothing (recovery asks again and voids). A new
job for a request whose card was made returns that card's result (`repeated=True`) without
touching the writer or the registry; one for a request whose attempt failed starts a new attempt
with a new number (the failed one is void). Only one job runs per kiosk at a time (the journal's
station lock; others get StationBusyError).

**Recovery.** `Station.recover()` (or `recover(journal, allocator)`) voids every unfinished job
that has a number and whose card was not confirmed printed, closes the others, and returns a
`Notice` per job for the attendant. A void that fails (registry unreachable) stays pending and is
tried again at the next recovery.

**Forgetting.** The resident's data (holder, photos, signature, credentials, card images) lives
only in this object and is dropped at the end of `run()` (or by `forget()`); nothing personal is
logged, journalled or written to a temporary file. (Python cannot scrub freed memory; the kiosk
process is the boundary.)
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Protocol

from cardio.apdu import ApduError
from cardio.chip import CardProfile, PersonalisationError, bind, personalise
from cardio.connection import Connection, ConnectionProxy
from cardio.credential import ChipBinding, Holder, expiry_timestamp
from cardio.errors import (
    CardConnectionError,
    CardLockedError,
    CardRemovedError,
    CardTooSmallError,
    CitycardError,
    MalformedError,
    NoCardError,
    NotType4Error,
    ReaderNotFoundError,
)
from printer.card_layout import CardDesign as LayoutDesign
from printer.card_layout import CardLayoutError
from printer.card_printer import CardPrinter
from printer.errors import PrinterError

from .allocator import Allocation, AllocationError, Allocator, CredentialSigner, SignedCard
from .journal import REQUEST_ID, JobHistory, Journal, JournalError, Record, StationBusyError
from .printing import Receipt, ReceiptSink, card_design, render_card_images, utc_day
from .programs import Program

log = logging.getLogger(__name__)

__all__ = [
    "AllocationFailedError",
    "CardAlreadyUsedError",
    "CardLayoutFailedError",
    "CardPrinterFailedError",
    "CardPulledError",
    "CardTooSmallForCredentialError",
    "ChipWriteFailedError",
    "Enrolment",
    "JobClosedError",
    "JobError",
    "JobResult",
    "JobStep",
    "NoBlankCardError",
    "NotBlankCardError",
    "Notice",
    "PcscWriter",
    "PersonalisationJob",
    "Progress",
    "ReceiptPrinterFailedError",
    "Station",
    "StationBusyError",
    "WriterFailedError",
    "new_request_id",
    "recover",
]


COMPACT_AT = 256 * 1024
"""Journal size (bytes) above which finished jobs are compacted to one record each."""


def new_request_id() -> str:
    """A fresh request id for one enrolment (the UI makes one per resident session)."""
    return uuid.uuid4().hex


# -- progress ------------------------------------------------------------------------------------


class JobStep(StrEnum):
    """What the job is doing, for the UI (translate by value)."""

    WAIT_CARD = "wait_card"
    ALLOCATE = "allocate"
    SIGN = "sign"
    WRITE_CHIP = "write_chip"
    PRINT_CARD = "print_card"
    PRINT_RECEIPT = "print_receipt"
    FORGET = "forget"
    DONE = "done"


# (start, end) of each step on the 0..1 progress bar, roughly by the time real devices take.
_SPAN = {
    JobStep.WAIT_CARD: (0.00, 0.02),
    JobStep.ALLOCATE: (0.02, 0.04),
    JobStep.SIGN: (0.04, 0.08),
    JobStep.WRITE_CHIP: (0.08, 0.15),
    JobStep.PRINT_CARD: (0.15, 0.90),
    JobStep.PRINT_RECEIPT: (0.90, 0.98),
    JobStep.FORGET: (0.98, 1.00),
    JobStep.DONE: (1.00, 1.00),
}


@dataclass(frozen=True)
class Progress:
    step: JobStep
    fraction: float  # of the whole job, 0.0 .. 1.0, never decreasing within a run


ProgressCallback = Callable[[Progress], None]


# -- inputs and outputs --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Enrolment:
    """One resident's card, in memory only. `repr()` shows nothing personal.

    `holder` carries what is printed (its `photo` is ignored: the chip photo is `chip_photo`,
    prepared with kiosk.photo to the profile's chip budget; `print_photo` is the larger one for
    the printed card). `expires` is the last valid day (the programme's validity), None for the
    station's default. `program` is the `kiosk.programs.Program` when there is one (its card
    design is used), `language` the resident's language for the receipt.

    `printed_fields` are the programme's other printed fields as (field code, value), e.g.
    ("address", "..."), ("height", "163 cm"): printed on the card only (labelled in the card's
    language by its design), never put in the chip or QR credential, never journaled or logged.
    """

    holder: Holder
    profile: CardProfile
    chip_photo: bytes | None = None
    print_photo: bytes | None = None
    signature_png: bytes | None = None
    expires: date | None = None
    language: str = "en"
    program: object | None = None  # a kiosk.programs.Program; anything else is ignored
    programme_name: str | None = None
    printed_fields: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return f"Enrolment(profile={self.profile.value}, <personal data not shown>)"


@dataclass(frozen=True)
class Notice:
    """Something the attendant must know after a restart (or a retry found left over)."""

    kind: str  # "voided", "kept", "pending", "interrupted"
    message: str
    document_number: str | None
    job_id: str
    request_id: str


@dataclass(frozen=True)
class JobResult:
    """A card made. Nothing personal: the UI shows the number and the expiry date."""

    request_id: str
    job_id: str
    document_number: str
    status_list: str
    status_index: int
    expires: date | None
    profile: CardProfile | None
    receipt_printed: bool
    repeated: bool = False  # True: this request's card was made before; nothing was done now
    notices: tuple[Notice, ...] = ()


# -- errors --------------------------------------------------------------------------------------


class JobError(CitycardError):
    """The card was not (fully) made. `str()` is for the attendant; `code` for the UI.

    `voided` is the document number cancelled because of this failure (None when nothing was
    allocated, or for a receipt failure); `card_made` is True when only the receipt failed;
    `retry` says that running the job again (same request id) may succeed.
    """

    code: ClassVar[str] = "failed"
    retry: ClassVar[bool] = True
    default: ClassVar[str] = "The card could not be made; press Retry, or call technical support."

    def __init__(
        self,
        message: str | None = None,
        *,
        step: JobStep | None = None,
        voided: str | None = None,
        void_pending: str | None = None,
        card_made: bool = False,
    ) -> None:
        self.base_message = message or self.default
        self.step = step
        self.voided = voided
        self.void_pending = void_pending
        self.card_made = card_made
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = self.base_message
        if self.voided:
            text += f" The number {self.voided} given to that card has been cancelled."
        elif self.void_pending:
            text += (
                f" The number {self.void_pending} given to that card could not be cancelled yet;"
                " the kiosk will cancel it when the registry answers."
            )
        return text

    def with_void(self, voided: str | None, pending: str | None) -> JobError:
        self.voided, self.void_pending = voided, pending
        self.args = (self._compose(),)
        return self


class NoBlankCardError(JobError):
    code = "no_card"
    default = "There is no card on the card writer; put a blank card on it and press Retry."


class WriterFailedError(JobError):
    code = "writer_failed"
    default = (
        "The card writer is not answering; check that it is plugged in, then press Retry. "
        "If it keeps failing, call technical support."
    )


class CardPulledError(JobError):
    code = "card_removed"
    default = (
        "The card was taken off the writer before it was finished; put the same card back on "
        "the writer and press Retry."
    )


class CardTooSmallForCredentialError(JobError):
    code = "card_too_small"
    default = (
        "This card's chip has too little memory for this programme's card; put it aside, take "
        "a card with more memory (a 4 KB or larger chip) and press Retry."
    )


class CardAlreadyUsedError(JobError):
    code = "card_locked"
    default = (
        "This card is already used (its chip is locked); put it in the reject tray, take a new "
        "blank card and press Retry."
    )


class NotBlankCardError(JobError):
    code = "not_blank_card"
    default = (
        "This is not a blank resident card (its chip is not the right kind); put it aside, take "
        "a blank card from the resident-card stock and press Retry."
    )


class ChipWriteFailedError(JobError):
    code = "chip_failed"
    default = (
        "The chip did not keep what was written; put this card in the reject tray, take a new "
        "blank card and press Retry."
    )


class AllocationFailedError(JobError):
    code = "allocation_failed"
    default = (
        "The city registry did not give a card number; check the kiosk's network connection, "
        "then press Retry."
    )


class SigningFailedError(JobError):
    code = "signing_failed"
    retry = False
    default = (
        "The kiosk could not sign the card (its key is not available); call technical support."
    )


class CardLayoutFailedError(JobError):
    code = "card_layout"
    retry = False
    default = "The card cannot be laid out with these details; check the name and photo."


class CardPrinterFailedError(JobError):
    code = "card_printer"
    default = "The card printer did not print the card; check it, then press Retry."


class ReceiptPrinterFailedError(JobError):
    code = "receipt_printer"
    default = "The receipt printer did not print; check it, then press Retry."


class JobClosedError(JobError):
    code = "closed"
    retry = False
    default = "This enrolment was already closed (forgotten); start a new enrolment."


class JournalFailedError(JobError):
    code = "journal_failed"
    retry = False


def _step_error(step: JobStep, exc: BaseException) -> JobError:
    """The JobError for a failure in `step` (the cause's own sentence where it is apt)."""
    if isinstance(exc, JobError):
        return exc
    if isinstance(exc, JournalError):
        return JournalFailedError(str(exc), step=step)
    if step is JobStep.ALLOCATE:
        return AllocationFailedError(
            f"The city registry did not give a card number ({exc}); check the kiosk's network "
            "connection, then press Retry."
            if isinstance(exc, AllocationError)
            else None,
            step=step,
        )
    if step is JobStep.PRINT_CARD:
        if isinstance(exc, PrinterError):
            return CardPrinterFailedError(
                f"{exc} Put any card left in the printer in the reject tray.", step=step
            )
        return CardPrinterFailedError(step=step)
    if step is JobStep.PRINT_RECEIPT:
        msg = str(exc) if isinstance(exc, PrinterError) else None
        return ReceiptPrinterFailedError(msg, step=step, card_made=True)
    if isinstance(exc, CardLayoutError):
        return CardLayoutFailedError(str(exc), step=step)
    if isinstance(exc, NoCardError):
        return NoBlankCardError(step=step)
    if isinstance(exc, CardRemovedError):
        return CardPulledError(step=step)
    if isinstance(exc, ReaderNotFoundError):
        return WriterFailedError(
            f"The card writer is not connected ({exc}); plug it in, then press Retry.", step=step
        )
    if isinstance(exc, CardTooSmallError):
        return CardTooSmallForCredentialError(step=step)
    if isinstance(exc, CardLockedError):
        return CardAlreadyUsedError(step=step)
    if isinstance(exc, NotType4Error | MalformedError):
        return NotBlankCardError(step=step)
    if isinstance(exc, PersonalisationError | ApduError):
        return ChipWriteFailedError(step=step)
    if isinstance(exc, CardConnectionError):
        return WriterFailedError(step=step)
    if step is JobStep.SIGN:
        return SigningFailedError(step=step)
    return JobError(step=step)


# -- devices -------------------------------------------------------------------------------------


class CardWriter(Protocol):
    def connect(self) -> Connection:
        """Wait for a card on the writer and connect to it (NoCardError when none comes)."""
        ...


class PcscWriter:
    """The card writer on PC/SC: the first reader whose name contains `reader` (any reader
    for None); waits up to `timeout` seconds for a card."""

    def __init__(self, reader: str | None = None, timeout: float = 10.0) -> None:
        self.reader = reader
        self.timeout = timeout

    def connect(self) -> Connection:
        from cardio.pcsc import PcscConnection

        return PcscConnection.wait(self.reader, timeout=self.timeout)


class _Observed(ConnectionProxy):
    """Passes APDUs through and reports the chip step's progress by bytes written and read."""

    def __init__(self, inner: Connection, expected: int, report: Callable[[float], None]) -> None:
        super().__init__(inner)
        self.expected = max(1, expected)
        self.report = report
        self.moved = 0

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        if len(apdu) > 5 and apdu[1] == 0xD6:
            self.moved += len(apdu) - 5
        elif len(apdu) >= 4 and apdu[1] == 0xB0:
            self.moved += max(0, len(response) - 2)
        self.report(min(1.0, self.moved / self.expected))
        return response


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
        """Void what crashed jobs left half-made; one Notice per unfinished job."""
        with self.journal.exclusive():
            return recover(self.journal, self.allocator, self.clock)

    def design(self, enrolment: Enrolment) -> LayoutDesign:
        if self.design_for is not None:
            return self.design_for(enrolment)
        program = enrolment.program if isinstance(enrolment.program, Program) else None
        return card_design(program, enrolment.holder.program, enrolment.language)


class PersonalisationJob:
    """One request's card (see the module doc). Not thread-safe: run it from one thread; the
    progress callback is called from that thread. `progress` is the last step reported."""

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
        start, end = _SPAN[step]
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
                    self._notices.append(_recover_job(history, st.journal, st.allocator, st.clock))
                return _result_from(history, repeated=True, notices=tuple(self._notices))
        for history in histories:
            if not history.terminal:
                self._notices.append(_recover_job(history, st.journal, st.allocator, st.clock))
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
            error = _step_error(self._step, exc)
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
            self._allocation = self.station.allocator.allocate(self._alloc_key)
            issued_at, expires_at = self._validity(enrolment)
            self._times = (issued_at, expires_at)
            self._record(
                "allocated", alloc=self._alloc_key, exp=utc_day(expires_at - 1).isoformat()
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
                observed = _Observed(
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
        try:
            self.station.allocator.report_issued(
                self._allocation.document_number, issued_at, expires_at
            )
        except CitycardError as exc:
            log.warning(
                "report of %s failed: %s", self._allocation.document_number, type(exc).__name__
            )
            self._notices.append(
                Notice(
                    "report_pending",
                    f"Card {self._allocation.document_number} is made and valid, but the city "
                    f"registry was not told so ({exc}); tell technical support the number.",
                    self._allocation.document_number,
                    self.job_id or "",
                    self.request_id,
                )
            )

    def _validity(self, enrolment: Enrolment) -> tuple[int, int]:
        issued_at = int(self.station.clock())
        expires = enrolment.expires
        if expires is None:
            today = datetime.fromtimestamp(issued_at, UTC).date()
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
            issued=utc_day(issued_at),
            expires=utc_day(expires_at - 1),
            language=enrolment.language,
            revocation_code=self._allocation.revocation_code,
        )

    def _finish_receipt(self) -> JobResult:
        receipt = self._pending_receipt
        assert receipt is not None and self.job_id is not None
        self._report(JobStep.PRINT_RECEIPT)
        try:
            self.station.receipt_printer.print_receipt(receipt)
        except Exception as exc:
            error = _step_error(JobStep.PRINT_RECEIPT, exc)
            try:
                self._record("receipt_failed", outcome=error.code)
            except JournalError:
                log.error("journal: could not record a receipt failure")
            raise error from exc
        self._record("receipt_printed")
        self._pending_receipt = None
        self._report(JobStep.FORGET)
        self.forget()
        self._record("done")
        self._report(JobStep.DONE, 1.0)
        assert self._history is not None
        result = _result_from(self._history, repeated=False, notices=tuple(self._notices))
        self.result = replace(result, profile=self._profile, receipt_printed=True)
        return self.result

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


def _result_from(history: JobHistory, *, repeated: bool, notices: tuple[Notice, ...]) -> JobResult:
    assert history.doc is not None and history.list is not None and history.idx is not None
    return JobResult(
        request_id=history.req,
        job_id=history.job,
        document_number=history.doc,
        status_list=history.list,
        status_index=history.idx,
        expires=date.fromisoformat(history.exp) if history.exp else None,
        profile=None,
        receipt_printed="receipt_printed" in history.steps,
        repeated=repeated,
        notices=notices,
    )


# -- recovery ------------------------------------------------------------------------------------


def recover(
    journal: Journal, allocator: Allocator, clock: Callable[[], float] = time.time
) -> list[Notice]:
    """Void every unfinished job's half-made card (see the module doc); the caller holds
    `journal.exclusive()` (Station.recover does)."""
    notices = [_recover_job(history, journal, allocator, clock) for history in journal.unfinished()]
    if journal.size() > COMPACT_AT:
        journal.compact(now=clock())
    return notices


def _recover_job(
    history: JobHistory, journal: Journal, allocator: Allocator, clock: Callable[[], float]
) -> Notice:
    def record(step: str, **values: object) -> None:
        journal.append(
            Record(
                job=history.job,
                req=history.req,
                step=step,
                attempt=history.attempt,
                t=clock(),
                **values,  # type: ignore[arg-type]
            )
        )

    doc = history.doc
    if history.card_made:
        record("done", outcome="receipt_missing")
        return Notice(
            "kept",
            f"Card {doc} was printed but its receipt was not, because the kiosk stopped. The card "
            "is valid: give it to the resident. The receipt cannot be printed again, because the "
            "kiosk keeps nothing about the resident.",
            doc,
            history.job,
            history.req,
        )
    if doc is None and history.alloc is not None:
        # The allocator may have answered before the crash: ask again (idempotent) to learn
        # the number, so that it can be voided.
        try:
            doc = allocator.allocate(history.alloc).document_number
        except CitycardError as exc:
            log.warning("recovery: allocation lookup failed: %s", type(exc).__name__)
            return Notice(
                "pending",
                "The kiosk stopped while asking the city registry for a card number, and the "
                f"registry does not answer now ({exc}); the kiosk will try again at its next start.",
                None,
                history.job,
                history.req,
            )
    if doc is None:
        record("failed", outcome="interrupted")
        return Notice(
            "interrupted",
            "The kiosk stopped before a card number was given; nothing needs cancelling. Start "
            "the resident's enrolment again.",
            None,
            history.job,
            history.req,
        )
    try:
        allocator.void(doc)
    except CitycardError as exc:
        log.warning("recovery: void of %s failed: %s", doc, type(exc).__name__)
        if history.last != "void_failed":
            record("void_failed", doc=doc, outcome="recovery")
        return Notice(
            "pending",
            f"The kiosk stopped while making card {doc}, and the city registry does not answer "
            f"now ({exc}); the number will be cancelled at the next start. Put any card left in "
            "the writer or the printer in the reject tray.",
            doc,
            history.job,
            history.req,
        )
    record("voided", doc=doc, outcome="recovered")
    return Notice(
        "voided",
        f"The kiosk stopped while making card {doc}; that card number is now cancelled. Put any "
        "card left in the writer or the printer in the reject tray, and start the resident's "
        "enrolment again.",
        doc,
        history.job,
        history.req,
    )
