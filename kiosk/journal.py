"""The personalisation job's durable journal: what a restarted kiosk needs, nothing personal.

One JSON object per line, appended and fsync'ed before the job goes on (so after a crash the
journal is never behind the hardware). A record holds only:

| key | meaning |
| --- | --- |
| `t` | time of the record (seconds since the epoch) |
| `job` | job id (random hex, one per attempt) |
| `req` | the UI's request id (an opaque token, see `REQUEST_ID`) |
| `attempt` | the attempt number for that request (1, 2, ...) |
| `step` | one of `STEPS` |
| `alloc` | the allocator's idempotency key for the attempt |
| `doc`, `list`, `idx` | document number, status list id and status index of the card |
| `exp` | the card's expiry date (YYYY-MM-DD) |
| `iat` | the card's issue time (seconds since the epoch), as signed into it |
| `outcome` | a short error or recovery code such as `card_removed` |

Names, birth dates, photos, chip UIDs and credentials are never written: `Record` refuses any
other key, and every value is checked against a narrow pattern, so nothing free-form (which
could carry a name by mistake) gets in.

A card made is reported issued to the registry (`reported`). That record may come after the
job's terminal one: a report that failed, or that a crash cut off, is owed (`JobHistory.
report_owed`) and sent again later (kiosk.job.recovery.send_owed_reports); the job's
records are kept through compaction until it is sent. Likewise `code_settled`: a finished job
whose receipt tore mid-print and was never printed again gives up its code
(`JobHistory.torn_code_owed`, kiosk.job.receipt_code.settle_torn_codes).

A torn last line (power lost mid-write) is ignored when reading and cut off before the next
append: its step was never acknowledged, because the job waits for the fsync. Damaged lines
elsewhere are skipped and counted (`Journal.damaged`). `compact()` rewrites the journal keeping
unfinished jobs and the last record of recent finished ones.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError
from cardio.files import write_atomic

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = "station.lock"

STEPS = (
    "started",  # a job attempt began (nothing allocated yet)
    "allocating",  # about to ask the allocator (alloc key recorded first)
    "allocated",  # document number and status index known
    "bound",  # the chip's binding read (UID or on-card key)
    "signed",  # credentials signed (kept in memory only)
    "chip_writing",  # about to write the chip
    "chip_written",  # written, read back, locked
    "card_printing",  # the card printer was given the card
    "card_printed",  # the card printer reported the card printed: the card exists
    "receipt_printed",
    "receipt_failed",  # the card is made, the receipt is not (the job may print it again)
    "void_failed",  # the card must be voided but the allocator did not answer
    "done",  # terminal: card made (outcome "receipt_missing" when no receipt)
    "voided",  # terminal: the card's number was set INVALID
    "failed",  # terminal: nothing was allocated, nothing to void
    "closed",  # terminal: recovery finished a job that needed no voiding
    "reported",  # the registry recorded the card issued (may follow the terminal record)
    "code_settled",  # a torn receipt's code given up for one nobody has (after the terminal)
)
TERMINAL = frozenset({"done", "voided", "failed", "closed"})
REPORTED, CODE_SETTLED = "reported", "code_settled"  # not steps of the job's course
AFTERWARDS = frozenset({REPORTED, CODE_SETTLED})
# The outcomes of a torn receipt's new code (kiosk.job.receipt_code): the registry has it, or
# kept the torn one's, or its answer was lost (either).
CODE_RENEWED, CODE_KEPT, CODE_UNCONFIRMED = "code_renewed", "code_kept", "code_unconfirmed"
CODE_OUTCOMES = frozenset({CODE_RENEWED, CODE_KEPT, CODE_UNCONFIRMED})

REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,56}\Z")
"""Request ids are opaque tokens (uuid4().hex, secrets.token_urlsafe(16)): 8 to 56 letters,
digits, '_' or '-'."""
_JOB_ID = re.compile(r"[0-9a-f]{8,32}\Z")
_ALLOC = re.compile(r"[A-Za-z0-9_.-]{8,64}\Z")
_DOC = re.compile(r"[A-Z0-9-]{4,24}\Z")
_LIST = re.compile(r"[A-Za-z0-9_.-]{1,32}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
_VALUES = ("alloc", "doc", "list", "idx", "exp", "iat", "outcome")  # what a job's records say
_KEYS = ("t", "job", "req", "attempt", "step", *_VALUES)


class JournalError(CitycardError):
    """The journal cannot be written; the kiosk must not make cards without it."""


def _check(value: str | None, pattern: re.Pattern[str], what: str) -> None:
    if value is not None and (not isinstance(value, str) or not pattern.match(value)):
        raise ValueError(f"{what} {value!r} does not belong in the journal.")


@dataclass(frozen=True)
class Record:
    """One journal line. Construction validates every field (ValueError otherwise)."""

    job: str
    req: str
    step: str
    attempt: int = 1
    t: float = 0.0
    alloc: str | None = None
    doc: str | None = None
    list: str | None = None
    idx: int | None = None
    exp: str | None = None
    iat: int | None = None
    outcome: str | None = None

    def __post_init__(self) -> None:
        _check(self.job, _JOB_ID, "Job id")
        _check(self.req, REQUEST_ID, "Request id")
        if self.step not in STEPS:
            raise ValueError(f"Unknown journal step {self.step!r}.")
        if type(self.attempt) is not int or not 1 <= self.attempt <= 10_000:
            raise ValueError("The attempt is not a small positive number.")
        if not isinstance(self.t, int | float) or not 0 <= self.t < 2**40:
            raise ValueError("The record time is not a time.")
        _check(self.alloc, _ALLOC, "Allocation key")
        _check(self.doc, _DOC, "Document number")
        _check(self.list, _LIST, "Status list id")
        if self.idx is not None and (type(self.idx) is not int or not 0 <= self.idx < 2**32):
            raise ValueError("The status index is not a whole number.")
        _check(self.exp, _DATE, "Expiry date")
        if self.exp is not None:
            date.fromisoformat(self.exp)  # ValueError for a day that does not exist
        if self.iat is not None and (type(self.iat) is not int or not 0 <= self.iat < 2**40):
            raise ValueError("The issue time is not a time.")
        _check(self.outcome, _OUTCOME, "Outcome")

    def to_line(self) -> bytes:
        obj: dict[str, Any] = {}
        for key in _KEYS:
            value = getattr(self, key)
            if value is not None:
                obj[key] = round(value, 3) if key == "t" else value
        return (json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n").encode("ascii")

    @classmethod
    def from_obj(cls, obj: object) -> Record:
        if not isinstance(obj, dict) or set(obj) - set(_KEYS):
            raise ValueError("not a journal record")
        return cls(**obj)


@dataclass
class JobHistory:
    """Everything the journal says about one job attempt, folded from its records."""

    job: str
    req: str
    attempt: int
    steps: list[str] = field(default_factory=list)
    alloc: str | None = None
    doc: str | None = None
    list: str | None = None
    idx: int | None = None
    exp: str | None = None
    iat: int | None = None
    outcome: str | None = None
    started: float = 0.0
    updated: float = 0.0
    reported: bool = False
    code_outcome: str | None = None  # the last of CODE_OUTCOMES (a settled code's included)
    code_settled: bool = False

    @property
    def last(self) -> str:
        return self.steps[-1] if self.steps else "started"

    @property
    def terminal(self) -> bool:
        return self.last in TERMINAL

    @property
    def done(self) -> bool:
        return self.last == "done"

    @property
    def card_made(self) -> bool:
        """The card printer reported the card printed (it exists in someone's hand)."""
        return "card_printed" in self.steps

    @property
    def report_owed(self) -> bool:
        """The card was made, and the registry has not confirmed it issued: the report is to
        be sent (again). Not for a job journalled before issue times were (no `iat`)."""
        return (
            self.card_made
            and not self.reported
            and None not in (self.doc, self.exp, self.iat)
        )

    @property
    def torn_code_owed(self) -> bool:
        """A receipt torn mid-print may show a code that still works, and no receipt will be
        printed for this finished job: the code is to be given up (kiosk.job.receipt_code)."""
        return (
            self.terminal
            and self.card_made
            and "receipt_printed" not in self.steps
            and self.code_outcome in (CODE_KEPT, CODE_UNCONFIRMED)
            and not self.code_settled
            and self.doc is not None
        )

    def add(self, record: Record) -> None:
        if record.outcome in CODE_OUTCOMES:
            self.code_outcome = record.outcome
        if record.step in AFTERWARDS:  # may follow the terminal record: not in `steps`
            if record.step == REPORTED:
                self.reported = True
            else:
                self.code_settled = True
            self.updated = record.t
            return
        self.steps.append(record.step)
        if not self.started:
            self.started = record.t
        self.updated = record.t
        for key in _VALUES:
            value = getattr(record, key)
            if value is not None:
                setattr(self, key, value)

    @classmethod
    def of(cls, records: Sequence[Record]) -> JobHistory:
        """The history of one job's records (in order)."""
        history = cls(records[0].job, records[0].req, records[0].attempt)
        for record in records:
            history.add(record)
        return history


class Journal:
    """An append-only, fsync'ed journal file (see the module doc). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.damaged = 0
        self._lock = threading.Lock()
        self._station = threading.Lock()

    @classmethod
    def in_dir(cls, kiosk_dir: Path) -> Journal:
        return cls(Path(kiosk_dir) / JOURNAL_FILE)

    # -- writing ---------------------------------------------------------------------------------

    def append(self, record: Record) -> None:
        """Write one record and fsync it (and the directory when the file is new)."""
        line = record.to_line()
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                new = not self.path.exists()
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    _cut_torn_tail(fd)
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if new:
                    _fsync_dir(self.path.parent)
            except OSError as exc:
                raise JournalError(
                    f"The kiosk cannot write its job journal ({exc.strerror or exc}); stop "
                    "making cards and call technical support."
                ) from exc

    # -- reading ---------------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Every readable record, in order. A torn or damaged line is skipped."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]  # tail is b"" unless the last line is torn
        out: list[Record] = []
        damaged = 0
        for raw in complete:
            if not raw.strip():
                continue
            try:
                out.append(Record.from_obj(json.loads(raw)))
            except (ValueError, TypeError):
                damaged += 1
        if tail:
            log.info("journal: ignoring a torn last record (%d bytes)", len(tail))
        if damaged:
            log.warning("journal: %d damaged record(s) skipped", damaged)
        self.damaged = damaged
        return out

    def jobs(self) -> dict[str, JobHistory]:
        """Every job attempt by job id, in the order they started."""
        jobs: dict[str, JobHistory] = {}
        for record in self.records():
            history = jobs.get(record.job)
            if history is None:
                history = jobs[record.job] = JobHistory(record.job, record.req, record.attempt)
            history.add(record)
        return jobs

    def for_request(self, request_id: str) -> list[JobHistory]:
        return [h for h in self.jobs().values() if h.req == request_id]

    def unfinished(self) -> list[JobHistory]:
        # A job of which only later records survive (its others damaged) is no job to recover.
        return [h for h in self.jobs().values() if not h.terminal and h.steps]

    def owed_reports(self) -> list[JobHistory]:
        """Jobs whose card was made but not yet recorded issued at the registry."""
        return [h for h in self.jobs().values() if h.report_owed]

    def torn_codes(self) -> list[JobHistory]:
        """Finished jobs whose torn receipt's code may still work (JobHistory.torn_code_owed)."""
        return [h for h in self.jobs().values() if h.torn_code_owed]

    def append_for(self, history: JobHistory, step: str, t: float, **values: object) -> Record:
        """Write one record of job `history` and return it (JournalError when it cannot)."""
        record = Record(
            job=history.job,
            req=history.req,
            step=step,
            attempt=history.attempt,
            t=t,
            **values,  # type: ignore[arg-type]
        )
        self.append(record)
        return record

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    # -- upkeep ----------------------------------------------------------------------------------

    def compact(self, keep_seconds: float = 7 * 86400, now: float | None = None) -> None:
        """Rewrite the journal with the records of unfinished jobs and of jobs that still owe
        their report or a torn code's settling, whatever their age, and the last record of
        other finished jobs younger than `keep_seconds` (enough to answer a repeated
        request)."""
        now = time.time() if now is None else now
        with self._lock:
            keep: list[Record] = []
            jobs: dict[str, list[Record]] = {}
            for record in self.records():
                jobs.setdefault(record.job, []).append(record)
            for records in jobs.values():
                history = JobHistory.of(records)
                unfinished = not history.terminal and history.steps  # as unfinished() says
                if unfinished or history.report_owed or history.torn_code_owed:
                    keep.extend(records)
                elif now - history.updated <= keep_seconds:
                    course = [r for r in records if r.step not in AFTERWARDS]
                    if course:  # (always: a report follows the card's records)
                        keep.append(_summary(course))
            write_atomic(self.path, b"".join(r.to_line() for r in keep), 0o600)

    # -- one job at a time per kiosk -------------------------------------------------------------

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the station lock (this process and others): one job or recovery at a time.

        Raises StationBusyError at once when it is held.
        """
        if not self._station.acquire(blocking=False):
            raise StationBusyError()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path.parent / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StationBusyError() from None
                yield
            finally:
                os.close(fd)
        finally:
            self._station.release()


class StationBusyError(CitycardError):
    def __init__(self) -> None:
        super().__init__(
            "Another card is being made at this kiosk right now; wait until it is finished, "
            "then try again."
        )


def _summary(records: list[Record]) -> Record:
    """One terminal record carrying what the job's records said (for repeated requests)."""
    last = records[-1]
    values: dict[str, Any] = {}
    for record in records:
        for key in _VALUES:
            value = getattr(record, key)
            if value is not None:
                values[key] = value
    return Record(
        job=last.job, req=last.req, step=last.step, attempt=last.attempt, t=last.t, **values
    )


def _cut_torn_tail(fd: int) -> None:
    """Drop a last line without its newline (a record torn by a crash) before appending."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    keep = size
    step = 4096
    while keep > 0:
        start = max(0, keep - step)
        chunk = os.pread(fd, keep - start, start)
        at = chunk.rfind(b"\n")
        if at >= 0:
            keep = start + at + 1
            break
        keep = start
    os.ftruncate(fd, keep)
    log.info("journal: cut a torn last record (%d bytes)", size - keep)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
