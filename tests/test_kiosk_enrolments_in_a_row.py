"""Enrolment after enrolment on one card writer, through the real pcscd + vpcd stack: every card
is written on its first try and no document number is voided.

The simulated writer once swapped the finished card for a blank one faster than pcscd polls the
reader, so pcscd still believed the old card lay there, powered, and the next job reached the
new card unpowered ("card was taken off the writer", a number voided). These tests keep both
halves of the fix: the simulator takes a card off like a real writer does, and the writer's wait
for a card survives a swap pcscd did not see.

`CITYCARD_ENROLMENTS=20 pytest tests/test_kiosk_enrolments_in_a_row.py -k soak` runs the long
count by hand (skipped otherwise).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.issuer.registry import ISSUED, VALID, CardRecord
from hardware.local_issuer import IssuerAllocator
from hardware.virtual_t4t import VirtualType4Card
from kiosk.job import JobError, PcscWriter, Station, new_request_id
from kiosk.programs import load_program
from kiosk.simulate import simulated_station
from kiosk.web.adapters import StationJobs
from tests.pcsc_fixtures import VpcdCards, requires_pcscd

from .kiosk_helpers import enrolment, make_kiosk
from .test_kiosk_web import Kiosk, make_app

pytestmark = [pytest.mark.vpcd, requires_pcscd, pytest.mark.timeout(120)]

READER = "Virtual PCD 00 00"


def _registry(station: Station) -> list[tuple[str, str, str]]:
    """(document number, state, status) of every card the station's local issuer knows."""
    allocator = station.allocator
    assert isinstance(allocator, IssuerAllocator)
    with allocator.issuer.registry.read() as s:
        return [
            (row.document_number, row.state, row.status)
            for row in s.query(CardRecord).order_by(CardRecord.document_number)
        ]


@pytest.fixture(name="zurich_station")
def fixture_zurich_station(tmp_path: Path) -> Iterator[Station]:
    """The simulated station for Zurich (a t4t chip card), as `serve --simulate` makes it."""
    program = load_program("zurich")
    assert program.card.profile.has_chip
    with simulated_station(tmp_path / "data", program) as station:
        yield station


def _enrol(station: Station, count: int) -> tuple[list[str], list[str]]:
    """`count` enrolments, each run once: (document numbers issued, failures as text)."""
    issued: list[str] = []
    failed: list[str] = []
    for n in range(count):
        job = station.job(new_request_id(), enrolment())
        try:
            issued.append(job.run().document_number)
        except JobError as exc:
            failed.append(f"enrolment {n + 1}: {exc.code} ({exc.__cause__!r}), voided {exc.voided}")
            issued.append(job.run().document_number)  # Try again, as the attendant would
    return issued, failed


def test_ten_enrolments_in_a_row_on_the_simulated_writer(zurich_station: Station) -> None:
    started = time.monotonic()
    issued, failed = _enrol(zurich_station, 10)
    elapsed = time.monotonic() - started

    assert failed == []
    assert len(set(issued)) == 10
    assert _registry(zurich_station) == [(number, ISSUED, VALID) for number in sorted(issued)]
    assert elapsed < 25, f"ten enrolments took {elapsed:.1f} s"


def test_residents_one_after_another_through_the_web_kiosk(zurich_station: Station) -> None:
    """The web flow on the simulated station, as `serve --simulate` runs it: the second
    resident's card (the first one after a card swap) is made on the first try too."""
    app = make_app("zurich", job=StationJobs(zurich_station))
    for _ in range(2):
        kiosk = Kiosk(app)  # the next resident at the kiosk
        kiosk.walk_to_review(sex="X")
        kiosk.post("/personalise", {"request_id": kiosk.review()})
        kiosk.wait_done(30)
        session = kiosk.session()
        assert session.finished, session.job
        assert kiosk.get("/done").status_code == 200
        kiosk.post("/finish")
    rows = _registry(zurich_station)
    assert len(rows) == 2 and {(state, status) for _n, state, status in rows} == {(ISSUED, VALID)}


@pytest.mark.skipif(
    "CITYCARD_ENROLMENTS" not in os.environ, reason="run by hand: CITYCARD_ENROLMENTS=20"
)
def test_soak_many_enrolments_in_a_row(zurich_station: Station) -> None:
    count = int(os.environ["CITYCARD_ENROLMENTS"])
    started = time.monotonic()
    issued, failed = _enrol(zurich_station, count)
    elapsed = time.monotonic() - started
    print(f"\n{count} enrolments in {elapsed:.1f} s: {len(failed)} failed first tries")
    assert failed == []
    assert _registry(zurich_station) == [(number, ISSUED, VALID) for number in sorted(issued)]


def test_a_card_swapped_faster_than_pcscd_polls_is_written_on_the_first_try(
    vpcd_cards: VpcdCards, tmp_path: Path
) -> None:
    """A real writer: the finished card goes and a new one comes before pcscd's next presence
    poll, so pcscd still reports the old card, powered. The job's wait must reach the new card."""
    first = VirtualType4Card("t4t")
    kiosk = make_kiosk(tmp_path, PcscWriter(READER, timeout=5))
    vcard = vpcd_cards.attach(0, first)
    done = [kiosk.station.job(new_request_id(), enrolment()).run().document_number]
    assert first.locked

    for _ in range(2):
        card = VirtualType4Card("t4t")
        vpcd_cards.remove(vcard, wait=False)
        vcard = vpcd_cards.attach(0, card, wait=False)
        done.append(kiosk.station.job(new_request_id(), enrolment()).run().document_number)
        assert card.locked

    rows = [(r.document_number, r.state, r.status) for r in kiosk.cards()]
    assert rows == [(number, ISSUED, VALID) for number in sorted(done)]
