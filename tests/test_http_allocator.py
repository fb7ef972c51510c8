"""kiosk.http_allocator against the real issuer API (citycard-api serve under waitress)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.issuer import cli
from api.issuer.registry import ISSUED, REVOKED, VALID, VOIDED
from api.issuer.service import Issuer
from cardio.chip import read_card
from cardio.errors import CitycardError
from cardio.kiosk_auth import KioskCredential
from cardio.pcsc import PcscConnection
from cardio.published import load_verifier
from cardio.verdict import Verdict
from hardware.virtual_t4t import VirtualType4Card
from kiosk.allocator import Allocation, AllocationError
from kiosk.http_allocator import HttpAllocator, RegistryUnreachableError, fetch_published
from kiosk.job import CardPrinterFailedError, JobError, PcscWriter, Station, new_request_id
from kiosk.journal import Journal
from kiosk.printing import FileReceiptSink
from printer.card_printer import CardJobResult, FileCardPrinter, OutOfCardsError
from tests.api_fixtures import make_api
from tests.pcsc_fixtures import (  # noqa: F401 - fixtures
    VpcdCards,
    fixture_pcscd_service,
    fixture_vpcd_cards,
    requires_pcscd,
)

from .kiosk_helpers import enrolment

pytestmark = pytest.mark.vpcd  # it presents cards in the vpcd slots (tests/xdist_groups.py)

READER = "Virtual PCD 00 00"


@dataclass
class Server:
    url: str
    dir: Path
    credential: KioskCredential  # kiosk-2's API credential, as `citycard-api kiosk add` prints

    def card(self, number: str) -> tuple[str, str]:
        """(state, status) of a card, read from the server's registry."""
        issuer = Issuer(self.dir)
        try:
            info = issuer.card(number)
            return info.state, info.status
        finally:
            issuer.close()

    def allocator(self, timeout: float = 10) -> HttpAllocator:
        return HttpAllocator(self.url, self.credential, timeout)


@pytest.fixture(name="server", scope="module")
def fixture_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("http-allocator") / "issuer"
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
        yield Server(match[1], directory, env.kiosk)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def test_allocate_report_and_void_over_http(server: Server, tmp_path: Path) -> None:
    alloc = server.allocator()
    assert alloc.whoami()["kiosk_id"] == "kiosk-2"
    request = new_request_id()
    first = alloc.allocate(request)
    again = alloc.allocate(request)  # idempotent per request id
    assert not first.replayed and again.replayed
    assert (again.document_number, again.status_list, again.status_index) == (
        first.document_number,
        first.status_list,
        first.status_index,
    )
    assert first.revocation_code and first.kid and first.status_uri.endswith("/status/1")
    assert server.card(first.document_number)[0] == "allocated"

    alloc.report_issued(first.document_number, 1_790_000_000, 1_790_000_000 + 86400 * 730)
    alloc.report_issued(first.document_number, 1_790_000_000, 1_790_000_000 + 86400 * 730)
    assert server.card(first.document_number) == (ISSUED, VALID)
    with pytest.raises(AllocationError, match=r"HTTP 409"):  # an issued card's id is spent
        alloc.allocate(request)

    other = alloc.allocate(new_request_id())
    alloc.void(other.document_number)
    alloc.void(other.document_number)  # idempotent
    assert server.card(other.document_number) == (VOIDED, REVOKED)
    with pytest.raises(AllocationError, match=r"refused the report \(HTTP 409\)"):
        alloc.report_issued(other.document_number, 1_790_000_000, 1_790_000_100)
    with pytest.raises(AllocationError, match=r"HTTP 404"):
        alloc.void("DEV99999997")

    # A credential the server does not know is refused with the server's sentence.
    stranger = HttpAllocator(server.url, KioskCredential.generate("kiosk-2"))
    with pytest.raises(AllocationError, match=r"HTTP 401\): The kiosk signature does not verify"):
        stranger.allocate(new_request_id())

    # The credential file works as well as the object; the signing key must be the registered one.
    cred_file = tmp_path / "kiosk-2.json"
    cred_file.write_text(server.credential.to_json())
    from_file = HttpAllocator(server.url + "/", cred_file)
    signer = from_file.kiosk_signer(server.dir / "keys")
    assert signer.signer.kid.hex() == first.kid and signer.issuer_id
    with pytest.raises(CitycardError, match="not the registered signing key of kiosk 'kiosk-2'"):
        from_file.kiosk_signer(server.dir / "keys" / "root.pem")


def test_a_reprinted_receipts_new_code_replaces_the_old_over_http(server: Server) -> None:
    """A receipt torn mid-print is printed again with a new code (kiosk.job.receipt_code):
    after the call only the new code revokes the card; the call may be repeated."""
    from api.issuer.registry import queries
    from cardio import codes
    from printer.receipt import RevocationCode

    alloc = server.allocator()
    got = alloc.allocate(new_request_id())
    alloc.report_issued(got.document_number, 1_790_000_000, 1_790_000_000 + 86400 * 730)
    new = RevocationCode.generate()
    alloc.replace_revocation_code(got.document_number, new.digest)
    alloc.replace_revocation_code(got.document_number, new.digest)  # an unknown outcome, sent again
    issuer = Issuer(server.dir)
    try:
        with issuer.registry.read() as s:
            row = queries.card(s, got.document_number)
            assert row is not None
            stored = row.revocation_code_hash
        pepper = issuer.cards.config.pepper()
    finally:
        issuer.close()
    assert codes.check_code(new.printable, stored, pepper)
    assert got.revocation_code and not codes.check_code(got.revocation_code, stored, pepper)


def test_server_down_or_silent_is_an_unknown_outcome(server: Server) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = HttpAllocator(f"http://127.0.0.1:{port}", server.credential, timeout=2)
    started = time.monotonic()
    with pytest.raises(RegistryUnreachableError, match="cannot be reached") as exc:
        down.allocate(new_request_id())
    assert not isinstance(exc.value, AllocationError)
    assert time.monotonic() - started < 2

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        mute = HttpAllocator(
            f"http://127.0.0.1:{silent.getsockname()[1]}", server.credential, timeout=0.5
        )
        started = time.monotonic()
        with pytest.raises(RegistryUnreachableError, match="no answer in time"):
            mute.void("DEV00000018")
        assert time.monotonic() - started < 3


def _station(server: Server, tmp: Path, allocator: object, printer: object = None) -> Station:
    http = server.allocator()
    return Station(
        allocator,  # type: ignore[arg-type]
        http.kiosk_signer(server.dir / "keys"),
        Journal.in_dir(tmp / "kiosk"),
        PcscWriter(READER, timeout=5),
        printer or FileCardPrinter(tmp / "out"),  # type: ignore[arg-type]
        FileReceiptSink(tmp / "out"),
    )


@requires_pcscd
def test_a_job_makes_a_card_the_server_knows(
    server: Server, vpcd_cards: VpcdCards, tmp_path: Path
) -> None:
    vpcd_cards.attach(0, VirtualType4Card("t4t"))
    station = _station(server, tmp_path, server.allocator())
    result = station.job(new_request_id(), enrolment()).run()
    assert server.card(result.document_number) == (ISSUED, VALID)
    assert (tmp_path / "out" / "card-front.png").exists()

    # A venue reader with the server's published files finds the card valid.
    fetch_published(server.url, tmp_path / "trust", [result.status_list])
    with PcscConnection.wait(READER, timeout=5) as conn:
        read = read_card(conn, load_verifier(tmp_path / "trust")[0])
    assert read.result.verdict is Verdict.VALID, read.result
    assert read.result.claims and read.result.claims["document_number"] == result.document_number


class _NoCards(FileCardPrinter):
    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        raise OutOfCardsError("The card printer has no blank cards: fill the card feeder.")


@requires_pcscd
def test_a_failed_job_voids_its_number_over_http(
    server: Server, vpcd_cards: VpcdCards, tmp_path: Path
) -> None:
    vpcd_cards.attach(0, VirtualType4Card("t4t"))
    station = _station(server, tmp_path, server.allocator(), _NoCards(tmp_path / "out"))
    with pytest.raises(CardPrinterFailedError) as exc:
        station.job(new_request_id(), enrolment()).run()
    assert exc.value.voided
    assert server.card(exc.value.voided) == (VOIDED, REVOKED)


class _LostAnswer:
    """The server allocates, then the kiosk is killed before the answer reaches the journal."""

    def __init__(self, inner: HttpAllocator) -> None:
        self.inner = inner
        self.numbers: list[str] = []

    def allocate(self, request_id: str) -> Allocation:
        self.numbers.append(self.inner.allocate(request_id).document_number)
        raise RegistryUnreachableError("The connection dropped.")

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        self.inner.report_issued(document_number, issued_at, expires_at)

    def void(self, document_number: str) -> None:
        self.inner.void(document_number)


@requires_pcscd
def test_a_killed_job_is_voided_over_http_at_recovery(
    server: Server, vpcd_cards: VpcdCards, tmp_path: Path
) -> None:
    vpcd_cards.attach(0, VirtualType4Card("t4t"))
    lost = _LostAnswer(server.allocator())
    station = _station(server, tmp_path, lost)
    with pytest.raises(JobError) as exc:
        station.job(new_request_id(), enrolment()).run()
    assert exc.value.voided is None and exc.value.void_pending is None
    [number] = lost.numbers
    assert server.card(number)[0] == "allocated"
    [pending] = station.journal.unfinished()
    assert pending.last == "allocating"

    # The kiosk starts again with the plain HTTP allocator: recovery asks again with the same
    # request id (same number) and voids it on the server.
    station.allocator = server.allocator()
    [notice] = station.recover()
    assert notice.kind == "voided" and notice.document_number == number
    assert server.card(number) == (VOIDED, REVOKED)
    assert station.journal.unfinished() == []


def test_a_revoked_kiosk_is_refused(server: Server) -> None:
    """Last in this module: it revokes the module server's kiosk."""
    alloc = server.allocator()
    alloc.allocate(new_request_id())
    result = CliRunner().invoke(cli.main, ["kiosk", "revoke", "--dir", str(server.dir), "kiosk-2"])
    assert result.exit_code == 0, result.output
    with pytest.raises(AllocationError, match=r"HTTP 403\): This kiosk has been revoked") as exc:
        alloc.allocate(new_request_id())
    assert "refused the allocation" in str(exc.value)
    with pytest.raises(AllocationError, match="revoked"):
        alloc.void("DEV00000018")
