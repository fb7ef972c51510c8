"""The personalisation job's journal: only ids, steps, numbers and times; fsync'ed; crash-tolerant."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from kiosk.journal import (
    STEPS,
    Journal,
    Record,
    StationBusyError,
)

JOB = "0123456789abcdef0123456789abcdef"
REQ = "req-0001-abcdef"


def rec(step: str, job: str = JOB, **values: object) -> Record:
    return Record(job=job, req=REQ, step=step, t=1_790_000_000.5, **values)  # type: ignore[arg-type]


def test_records_round_trip_and_fold_into_jobs(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.append(rec("started"))
    journal.append(rec("allocating", alloc=f"{REQ}.1"))
    journal.append(rec("allocated", alloc=f"{REQ}.1", doc="ZUR00000018", list="1", idx=42,
                       exp="2031-11-27"))  # fmt: skip
    journal.append(rec("chip_written", doc="ZUR00000018", list="1", idx=42))
    history = journal.jobs()[JOB]
    assert history.steps == ["started", "allocating", "allocated", "chip_written"]
    assert (history.doc, history.list, history.idx, history.exp) == ("ZUR00000018", "1", 42,
                                                                     "2031-11-27")  # fmt: skip
    assert not history.terminal and not history.card_made
    assert journal.unfinished() == [history]
    journal.append(rec("voided", outcome="recovered"))
    assert journal.jobs()[JOB].terminal and journal.unfinished() == []
    assert journal.for_request(REQ)[0].outcome == "recovered"


def test_only_known_keys_and_narrow_values_get_in(tmp_path: Path) -> None:
    bad: list[dict[str, object]] = [
        {"step": "started", "req": "Mira Beispiel"},  # a space: not a request token
        {"step": "started", "req": "x"},  # too short
        {"step": "made_up"},
        {"step": "allocated", "doc": "zur 1990-01-01"},
        {"step": "failed", "outcome": "Card of Mira failed"},
        {"step": "allocated", "exp": "01.01.1990"},
        {"step": "allocated", "list": "a" * 40},
        {"step": "allocated", "idx": -1},
        {"step": "allocating", "alloc": "Beispiel-Musterfrau Mira"},
    ]
    for fields in bad:
        values = {"job": JOB, "req": REQ, **fields}
        with pytest.raises(ValueError):
            Record(**values)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Record.from_obj({"job": JOB, "req": REQ, "step": "started", "name": "Mira"})


def test_every_line_holds_only_the_documented_keys(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    for step in STEPS:
        journal.append(rec(step, doc="DEV00000018", list="1", idx=7, outcome="card_removed",
                           iat=1_790_000_000))  # fmt: skip
    allowed = {"t", "job", "req", "attempt", "step", "alloc", "doc", "list", "idx", "exp",
               "iat", "outcome"}  # fmt: skip
    for line in journal.path.read_text("ascii").splitlines():
        assert set(json.loads(line)) <= allowed


def test_each_append_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    journal = Journal.in_dir(tmp_path)
    journal.append(rec("started"))  # file + directory (new file)
    journal.append(rec("allocating", alloc=f"{REQ}.1"))
    assert len(synced) == 3
    assert oct(journal.path.stat().st_mode & 0o777) == oct(0o600)


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.append(rec("started"))
    journal.append(rec("allocating", alloc=f"{REQ}.1"))
    with journal.path.open("ab") as fh:  # power lost in the middle of the next record
        fh.write(b'{"attempt":1,"doc":"DEV000')
    assert [r.step for r in journal.records()] == ["started", "allocating"]
    assert journal.damaged == 0
    journal.append(rec("allocated", doc="DEV00000018", list="1", idx=3))
    lines = journal.path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])
    assert [r.step for r in journal.records()] == ["started", "allocating", "allocated"]


def test_a_file_that_is_only_a_torn_line(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.path.write_bytes(b'{"job":"01')
    assert journal.records() == []
    journal.append(rec("started"))
    assert [r.step for r in journal.records()] == ["started"]


def test_damaged_middle_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.append(rec("started"))
    with journal.path.open("ab") as fh:
        fh.write(b"garbage\n" + b'{"job":"x"}\n')
    journal.append(rec("failed", outcome="no_card"))
    assert [r.step for r in journal.records()] == ["started", "failed"]
    assert journal.damaged == 2


def test_compact_keeps_unfinished_jobs_and_summaries(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    done_job, open_job, old_job = "a" * 32, "b" * 32, "c" * 32
    for job in (done_job, open_job, old_job):
        journal.append(rec("started", job=job))
        journal.append(rec("allocated", job=job, doc="DEV00000018", list="1", idx=1))
    journal.append(rec("done", job=done_job))
    journal.append(Record(job=old_job, req=REQ, step="voided", t=1_000_000_000.0))
    journal.compact(keep_seconds=86400, now=1_790_000_100)
    jobs = journal.jobs()
    assert set(jobs) == {done_job, open_job}
    assert jobs[done_job].steps == ["done"] and jobs[done_job].doc == "DEV00000018"
    assert jobs[open_job].steps == ["started", "allocated"]


def test_one_station_lock_per_kiosk(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    other = Journal.in_dir(tmp_path)  # e.g. another part of the kiosk in the same process
    with journal.exclusive():
        with pytest.raises(StationBusyError), journal.exclusive():
            pass
        errors: list[BaseException] = []

        def try_other() -> None:
            try:
                with other.exclusive():
                    pass
            except StationBusyError as exc:
                errors.append(exc)

        thread = threading.Thread(target=try_other)
        thread.start()
        thread.join()
        assert errors, "a second journal object on the same directory got the lock"
    with other.exclusive():
        pass


def test_compaction_keeps_a_torn_code_to_give_up_whatever_its_age(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    course = [("started", None), ("allocated", None), ("card_printed", None),
              ("receipt_failed", "paper_out"), ("receipt_failed", "code_unconfirmed"),
              ("receipt_failed", "printer_offline"), ("done", "receipt_missing")]  # fmt: skip
    for step, outcome in course:
        journal.append(rec(step, doc="DEV00000018", outcome=outcome))
    [torn] = journal.torn_codes()  # the last code outcome counts, not the last outcome
    assert torn.code_outcome == "code_unconfirmed" and torn.terminal
    journal.compact(now=1_790_000_000.5 + 30 * 86400)
    assert [h.job for h in journal.torn_codes()] == [JOB]
    journal.append(rec("code_settled", doc="DEV00000018", outcome="code_renewed"))
    [history] = journal.jobs().values()
    assert history.terminal and history.last == "done" and journal.torn_codes() == []
    journal.compact(now=1_790_000_000.5 + 30 * 86400)
    assert journal.jobs() == {}
