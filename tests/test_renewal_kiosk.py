"""Renewal and replacement through the kiosk's personalisation job: the same document number,
the old card superseded only once the new card is made (not after a failed job), a replaced
card revoked at once; over the in-process issuer and over the issuer's HTTP API."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from api.issuer.card_status import card_history, set_current_card_status
from cardio.chip import CardProfile, personalise
from cardio.kiosk_auth import KioskCredential
from cardio.statuslist import parse_token
from cardio.type4 import credential_from_ndef
from cardio.verdict import Verdict
from hardware.local import LocalConnection
from hardware.virtual_t4t import VirtualType4Card
from kiosk.allocator import RENEWAL, REPLACEMENT, Successor, SuccessorRefusedError
from kiosk.demo_application import load_known_program
from kiosk.http_allocator import HttpAllocator
from kiosk.job import CardPrinterFailedError, SuccessorRefusedJobError, new_request_id
from kiosk.renewal import OldCardRefused, read_chip, verify_old_card
from kiosk.web.adapters import StationJobs, program_view
from printer.card_printer import CardJobResult, FileCardPrinter, OutOfCardsError
from tests.api_fixtures import make_api

from .kiosk_helpers import Kiosk, LocalWriter, enrolment, make_kiosk

PRINT = CardProfile.PRINT


class _Jammed(FileCardPrinter):
    """A card printer that fails while `jammed` (then the job voids the new card)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.jammed = False

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        if self.jammed:
            raise OutOfCardsError("The card printer has no blank cards: fill the card feeder.")
        return super().print_card(front_png, back_png)


@pytest.fixture(name="kiosk")
def fixture_kiosk(tmp_path: Path) -> Iterator[tuple[Kiosk, _Jammed]]:
    printer = _Jammed(tmp_path / "out")
    kiosk = make_kiosk(tmp_path, None, card_printer=printer)
    try:
        yield kiosk, printer
    finally:
        kiosk.issuer.close()


def _make(kiosk: Kiosk, successor: Successor | None = None) -> str:
    job = kiosk.station.job(new_request_id(), replace(enrolment(PRINT), successor=successor))
    return job.run().document_number


def _statuses(kiosk: Kiosk, number: str) -> list[str]:
    return [c.status for c in card_history(kiosk.issuer.cards, number)]


def test_a_renewal_keeps_the_number_and_supersedes_once_made(
    kiosk: tuple[Kiosk, _Jammed],
) -> None:
    k, _printer = kiosk
    number = _make(k)
    assert _make(k, Successor(RENEWAL, number)) == number
    history = card_history(k.issuer.cards, number)
    assert [(c.generation, c.status) for c in history] == [(0, "superseded"), (1, "valid")]
    old, new = history
    lst = k.issuer.status_list(old.status_list)
    assert (lst.get(old.status_index), lst.get(new.status_index)) == (3, 0)
    # the published list a venue downloads says so too
    public = k.issuer.dir / "public" / "status" / f"{old.status_list}.cwt"
    assert parse_token(public.read_bytes()).status_list.get(old.status_index) == 3


def test_a_failed_renewal_job_leaves_the_old_card_valid(kiosk: tuple[Kiosk, _Jammed]) -> None:
    k, printer = kiosk
    number = _make(k)
    printer.jammed = True
    renewal = replace(enrolment(PRINT), successor=Successor(RENEWAL, number))
    job = k.station.job(new_request_id(), renewal)
    with pytest.raises(CardPrinterFailedError) as exc:
        job.run()
    assert exc.value.voided == number
    assert _statuses(k, number) == ["valid", "revoked"]  # the new slot is void, the old card not
    assert k.issuer.card(number).generation == 0
    printer.jammed = False
    assert job.run().document_number == number  # Retry: a new attempt, a new slot
    assert _statuses(k, number) == ["superseded", "revoked", "valid"]


def test_a_replacement_revokes_at_once_even_when_the_job_fails(
    kiosk: tuple[Kiosk, _Jammed],
) -> None:
    k, printer = kiosk
    number = _make(k)
    printer.jammed = True
    job = k.station.job(
        new_request_id(), replace(enrolment(PRINT), successor=Successor(REPLACEMENT, number))
    )
    with pytest.raises(CardPrinterFailedError):
        job.run()
    assert _statuses(k, number) == ["revoked", "revoked"]
    printer.jammed = False
    assert job.run().document_number == number
    assert _statuses(k, number) == ["revoked", "revoked", "valid"]


def test_the_registry_refusing_a_renewal_is_one_sentence_and_no_retry(
    kiosk: tuple[Kiosk, _Jammed],
) -> None:
    k, _printer = kiosk
    number = _make(k)
    set_current_card_status(k.issuer.cards, number, "revoked", "staff", "desk-1")
    renewal = replace(enrolment(PRINT), successor=Successor(RENEWAL, number))
    job = k.station.job(new_request_id(), renewal)
    with pytest.raises(SuccessorRefusedJobError) as exc:
        job.run()
    assert exc.value.retry is False
    assert str(exc.value) == (
        f"Card {number} is revoked, so it cannot be renewed; a lost or stolen card is replaced "
        "instead."
    )
    assert len(card_history(k.issuer.cards, number)) == 1  # no slot was taken


# -- over the issuer's HTTP API ----------------------------------------------------------------


@pytest.fixture(name="http_issuer", scope="module")
def fixture_http_issuer(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, KioskCredential, Path]]:
    directory = tmp_path_factory.mktemp("renewal-http") / "issuer"
    env = make_api(directory, None)
    env.issuer.close()
    env.app.extensions["citycard"].issuer.close()
    exe = Path(sys.executable).with_name("citycard-api")
    proc = subprocess.Popen(
        [str(exe), "serve", "--dir", str(directory), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"on (http://127\.0\.0\.1:\d+)/ ", proc.stdout.readline())
        assert match, "citycard-api serve did not start"
        yield match[1], env.kiosk, directory
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def test_successors_over_http(http_issuer: tuple[str, KioskCredential, Path]) -> None:
    url, credential, _directory = http_issuer
    alloc = HttpAllocator(url, credential)
    first = alloc.allocate(new_request_id())
    alloc.report_issued(first.document_number, 1_790_000_000, 1_790_000_000 + 86400 * 730)
    rid = new_request_id()
    renewal = alloc.allocate_successor(rid, Successor(RENEWAL, first.document_number))
    again = alloc.allocate_successor(rid, Successor(RENEWAL, first.document_number))
    assert renewal.document_number == first.document_number and again.replayed
    assert renewal.status_index != first.status_index
    with pytest.raises(SuccessorRefusedError, match="is being made at kiosk kiosk-2"):
        alloc.allocate_successor(new_request_id(), Successor(REPLACEMENT, first.document_number))
    with pytest.raises(SuccessorRefusedError, match="There is no card DEV99999990"):
        alloc.allocate_successor(new_request_id(), Successor(RENEWAL, "DEV99999990"))


# -- the old card tapped on the kiosk's card writer ----------------------------------------------


def test_the_old_card_read_on_the_writer(tmp_path: Path) -> None:

    old = VirtualType4Card("t4t")
    writer = LocalWriter(old)
    k = make_kiosk(tmp_path, writer)
    try:
        number = k.station.job(new_request_id(), enrolment()).run().document_number
        jobs = StationJobs(k.station)
        program = program_view(load_known_program("zurich"))
        assert jobs.check_old_card(None, program) == number  # the chip, binding checked
        # a copy of its chip data on another chip: not genuine (the UID binding fails)
        with LocalConnection(old) as conn:
            chip_cose = credential_from_ndef(read_chip(conn))
        copy = VirtualType4Card("t4t", uid=bytes.fromhex("04112233445566"))
        with LocalConnection(copy) as conn:
            personalise(conn, chip_cose)
        writer.card = copy
        with pytest.raises(OldCardRefused) as cloned:
            jobs.check_old_card(None, program)
        assert cloned.value.code == "not_genuine"
        writer.card = VirtualType4Card("t4t")  # a blank card: nothing to read, no forgery
        with pytest.raises(OldCardRefused) as blank:
            jobs.check_old_card(None, program)
        assert blank.value.code == "not_read"
        writer.card = None
        with pytest.raises(OldCardRefused) as none:
            jobs.check_old_card(None, program)
        assert none.value.code == "no_card"
    finally:
        k.issuer.close()


def test_the_renewal_window_counts_the_stations_own_days(tmp_path: Path) -> None:
    # An expired card's window ends with the station's day, not UTC's: a New York evening on
    # the window's last day is already the next day in UTC.
    old = VirtualType4Card("t4t")
    k = make_kiosk(tmp_path, LocalWriter(old))
    mp = pytest.MonkeyPatch()
    try:
        k.station.job(new_request_id(), enrolment()).run()
        with LocalConnection(old) as conn:
            data = read_chip(conn)
        program = load_known_program("zurich")
        window = program.validity.renewal_window_days
        expires = verify_old_card(k.station.allocator, data, program).expires
        last = expires + timedelta(days=window)  # the window's last day
        mp.setenv("TZ", "America/New_York")
        time.tzset()
        evening = datetime.combine(last, dt_time(21, 0), ZoneInfo("America/New_York"))
        assert evening.astimezone(UTC).date() > last  # the next day in UTC
        renewable = verify_old_card(k.station.allocator, data, program, now=evening.timestamp())
        assert renewable.verdict is Verdict.EXPIRED
        with pytest.raises(OldCardRefused, match="can no longer be renewed"):
            verify_old_card(
                k.station.allocator, data, program, now=(evening + timedelta(hours=4)).timestamp()
            )
    finally:
        mp.undo()
        time.tzset()
        k.issuer.close()
