"""Recovery of half-made jobs: after a crash, void every unfinished job's number (its card
was not confirmed printed) and tell the attendant; send the registry the reports of cards made
that it has not recorded issued; also the result of a request read back from the journal."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from datetime import date

from cardio.credential import expiry_timestamp
from cardio.errors import CitycardError

from ..allocator import Allocator, card_refused
from ..journal import CODE_KEPT, CODE_UNCONFIRMED, REPORTED, JobHistory, Journal, JournalError
from .model import JobResult, Notice
from .receipt_code import settle_torn_codes

TORN_RECEIPT = (
    " The receipt that was torn off half printed shows a revocation code that may still work: "
    "tear it up before anyone can take it."
)

log = logging.getLogger(__name__)

COMPACT_AT = 256 * 1024
"""Journal size (bytes) above which finished jobs are compacted to one record each."""


def result_from(history: JobHistory, *, repeated: bool, notices: tuple[Notice, ...]) -> JobResult:
    """The result of the attempt `history` records (its card was made)."""
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


# -- reports owed --------------------------------------------------------------------------------


def report_pending(number: str, reason: str, job_id: str, request_id: str) -> Notice:
    """The attendant's notice for a card made whose report the registry has not recorded."""
    return Notice(
        "report_pending",
        f"Card {number} is made and valid, but the city registry has not recorded it as issued "
        f"yet ({reason}); the kiosk tells the registry again after its next card and at its "
        "next start. Until then the card's receipt code cannot cancel it, and the card cannot "
        "be renewed or replaced. If this notice comes back, tell technical support the number.",
        number,
        job_id,
        request_id,
    )


def report_refused(number: str, reason: str, job_id: str, request_id: str) -> Notice:
    """The attendant's notice for a card made whose report the registry refuses for good."""
    return Notice(
        "report_refused",
        f"Card {number} is made and valid, but the city registry refuses to record it as "
        f"issued ({reason}), so its receipt code cannot cancel it and it cannot be renewed or "
        "replaced. The kiosk will not ask again: tell technical support the number.",
        number,
        job_id,
        request_id,
    )


def send_owed(
    journal: Journal,
    allocator: Allocator,
    clock: Callable[[], float] = time.time,
    settled: Collection[str] = (),
) -> list[Notice]:
    """What earlier jobs still owe the registry, from one read of the journal: their reports
    (`send_owed_reports`), then, when the registry answered those, their torn receipts' codes
    (receipt_code.settle_torn_codes; not those of the jobs in `settled`, asked just now). The
    notices for the attendant. The caller holds `journal.exclusive()`."""
    jobs = journal.jobs().values()
    owed = [h for h in jobs if h.report_owed]
    notices, answered = send_owed_reports(owed, journal, allocator, clock)
    if answered:
        torn = [h for h in jobs if h.torn_code_owed and h.job not in settled]
        settle_torn_codes(torn, journal, allocator, clock)
    return notices


def send_owed_reports(
    histories: Iterable[JobHistory],
    journal: Journal,
    allocator: Allocator,
    clock: Callable[[], float],
) -> tuple[list[Notice], bool]:
    """Report issued, again, the cards of `histories` (jobs whose report the registry has not
    confirmed: it failed, or a crash came before it): idempotent at the registry, with the
    times signed into the card. The notices for the attendant, and whether the registry
    answered.

    A report refused for what the card is (kiosk.allocator.card_refused) is not sent again
    (`reported`, outcome `report_refused`, and a notice), nor is an expired card's
    (`report_expired`). Any other failure leaves it owed (a notice), and the rest wait for
    the next time: each would wait out its own timeout."""
    notices = []
    now = clock()
    unanswered: str | None = None
    for history in histories:
        assert history.doc is not None and history.exp is not None and history.iat is not None
        expires_at = expiry_timestamp(date.fromisoformat(history.exp))
        outcome = None
        if expires_at <= now:
            outcome = "report_expired"  # nothing left for the registry to record
        elif unanswered is not None:
            notices.append(report_pending(history.doc, unanswered, history.job, history.req))
            continue
        else:
            try:
                allocator.report_issued(history.doc, history.iat, expires_at)
            except CitycardError as exc:
                log.warning("report of %s failed again: %s", history.doc, type(exc).__name__)
                if not card_refused(exc):
                    notices.append(report_pending(history.doc, str(exc), history.job, history.req))
                    unanswered = str(exc)
                    continue
                notices.append(report_refused(history.doc, str(exc), history.job, history.req))
                outcome = "report_refused"
        try:
            journal.append_for(history, REPORTED, clock(), doc=history.doc, outcome=outcome)
        except JournalError:  # sent again next time (idempotent)
            log.error("journal: could not record the report of %s", history.doc)
    return notices, unanswered is None


# -- recovery ------------------------------------------------------------------------------------


def recover(
    journal: Journal, allocator: Allocator, clock: Callable[[], float] = time.time
) -> list[Notice]:
    """Void every unfinished job's half-made card (see the `kiosk.job` package doc), then send
    the reports still owed and give up the codes of torn receipts never printed again; the
    caller holds `journal.exclusive()` (Station.recover does)."""
    unfinished = journal.unfinished()
    notices = [recover_job(history, journal, allocator, clock) for history in unfinished]
    notices += send_owed(journal, allocator, clock, settled={h.job for h in unfinished})
    if journal.size() > COMPACT_AT:
        journal.compact(now=clock())
    return notices


def recover_job(
    history: JobHistory, journal: Journal, allocator: Allocator, clock: Callable[[], float]
) -> Notice:
    def record(step: str, **values: object) -> None:  # `history` kept in step with the journal
        history.add(journal.append_for(history, step, clock(), **values))

    doc = history.doc
    if history.card_made:
        record("done", outcome="receipt_missing")
        # No receipt will be printed: a torn one's code is given up if the registry answers.
        settle_torn_codes([history] if history.torn_code_owed else [], journal, allocator, clock)
        # The last code outcome (the settling's too), not the last outcome: a later failure
        # (printer offline) leaves a torn receipt's code as it was.
        torn = history.code_outcome in (CODE_KEPT, CODE_UNCONFIRMED)
        return Notice(
            "kept",
            f"Card {doc} was printed but its receipt was not, because the kiosk stopped. The card "
            "is valid: give it to the resident. The receipt cannot be printed again, because the "
            "kiosk keeps nothing about the resident."
            + (TORN_RECEIPT if torn else ""),
            doc,
            history.job,
            history.req,
            torn_receipt=torn,
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

