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

Order (docs/architecture.md): wait for a blank card on the writer → allocate a number and status
slot → bind (the chip's UID, or a key the card generates) → sign both credentials with the kiosk
key → draw the card → write the chip, read it back, lock it → print the card → report it issued
→ print the receipt → forget the resident.

**The journal** (`kiosk.journal`) gets a record before and after every step that touches the
registry or a device, fsync'ed before the job goes on. It holds job and request ids, step
names, document number, status slot, expiry date and outcome codes: never anything personal.

**Failures.** Any failure after the number was allocated and before the card printer confirmed
the card voids the number (`Allocator.void`: its status becomes INVALID for good), so a
half-made chip — torn, unlocked, or complete but never printed — can never verify. The error
is a `JobError` with one sentence for the attendant (put the card back, take another card,
refill the printer, ...). A failure of the receipt printer does not void: the card is made;
`run()` again prints the receipt (the job keeps it in memory until then). A receipt that failed
mid-print may show its one-time revocation code, so the one printed again has a new code whose
digest replaces the old one at the registry; when the registry cannot be told, the attendant's
sentence says to tear up the torn receipt, and a new code the registry has not confirmed is not
printed until it answers (`receipt_code`). A torn receipt never printed again has its code
given up (a digest of a code nobody keeps) once the registry answers.

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
tried again at the next recovery. Then it sends the registry, again, the report of every card
made that the registry has not recorded issued (the report failed, or a crash came first): the
journal keeps each card's `iat` and expiry for that. A job whose own report gets through does
the same for the others (`send_owed`); a report still owed is a `report_pending`
notice.

**Renewal and replacement.** An enrolment with a `successor` (kiosk.allocator.Successor)
makes a new card for an existing document number: the attempt asks the registry for a new slot
for that number instead of a new number, and everything else is the same. A failure voids the
new slot as for a first card; the registry then leaves a renewed card as it was (it supersedes
it only when the new card is reported issued), while a replaced card stays revoked.

**Forgetting.** The resident's data (holder, photos, signature, credentials, card images) lives
only in this object and is dropped at the end of `run()` (or by `forget()`); nothing personal is
logged, journalled or written to a temporary file. (Python cannot scrub freed memory; the kiosk
process is the boundary.)

The modules: `model` (the enrolment, steps, progress, result, notices), `errors` (a `JobError`
per cause), `writer` (the PC/SC card writer), `personalisation` (the `Station` and its
`PersonalisationJob`), `receipt_code` (a torn receipt's new revocation code), `recovery`
(voiding what a crash left half-made). Import from `kiosk.job`.
"""

from __future__ import annotations

from ..allocator import Successor
from ..journal import StationBusyError
from .errors import (
    AllocationFailedError,
    CardAlreadyUsedError,
    CardLayoutFailedError,
    CardPrinterFailedError,
    CardPulledError,
    CardTooSmallForCredentialError,
    ChipWriteFailedError,
    JobClosedError,
    JobError,
    JournalFailedError,
    NoBlankCardError,
    NotBlankCardError,
    ProfileTooSmallError,
    ReceiptPrinterFailedError,
    SigningFailedError,
    SuccessorRefusedJobError,
    WriterFailedError,
)
from .model import (
    NOTICE_KINDS,
    Enrolment,
    JobResult,
    JobStep,
    Notice,
    Progress,
    ProgressCallback,
    new_request_id,
)
from .personalisation import PersonalisationJob, Station
from .receipt_code import CodeReplacer
from .recovery import recover
from .writer import CardWriter, PcscWriter

__all__ = [
    "NOTICE_KINDS",
    "AllocationFailedError",
    "CardAlreadyUsedError",
    "CardLayoutFailedError",
    "CardPrinterFailedError",
    "CardPulledError",
    "CardTooSmallForCredentialError",
    "CardWriter",
    "ChipWriteFailedError",
    "CodeReplacer",
    "Enrolment",
    "JobClosedError",
    "JobError",
    "JobResult",
    "JobStep",
    "JournalFailedError",
    "NoBlankCardError",
    "NotBlankCardError",
    "Notice",
    "PcscWriter",
    "PersonalisationJob",
    "ProfileTooSmallError",
    "Progress",
    "ProgressCallback",
    "ReceiptPrinterFailedError",
    "SigningFailedError",
    "Station",
    "StationBusyError",
    "Successor",
    "SuccessorRefusedJobError",
    "WriterFailedError",
    "new_request_id",
    "recover",
]

