"""Receipt and card printers, from an exploratory pass: a device that is not an ESC/POS printer
is named as such (not "out of paper"), the printer's GS r 1 "finished" answer counts even when
it arrives inside a status poll's answer, and an IPP card printer that stops with the job still
pending is reported at once, not after the whole job timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from escpos.printer import Network

from hardware.ipp_sim import ScriptedAnswer, ScriptedIppServer
from printer.card_printer import CardCoverOpenError, CardPrinterError, OutOfCardsError
from printer.document import Document, Text
from printer.errors import NotEscposPrinterError, PrinterUnreachableError
from printer.escpos_printer import PaperLevel, ReceiptPrinter
from printer.ipp_card_printer import IppCardPrinter
from printer.ipp_codec import IppMessage, Operation, ValueTag, attr

from .card_fixtures import fixture_card_pngs  # noqa: F401 - the card_pngs fixture

pytestmark = pytest.mark.timeout(30)

QUERIES = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
GS_R_1 = b"\x1dr\x01"
DOCUMENT = Document((Text("Test receipt for Resident Example"),))


def _serve(handler: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback TCP server that runs `handler` on its first connection; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    port = int(server.getsockname()[1])

    def run() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn, contextlib.suppress(OSError):
            handler(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(timeout=2)


def _http_server(conn: socket.socket) -> None:
    conn.recv(100)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
    time.sleep(0.3)


# -- 3: a device that is not an ESC/POS printer ------------------------------------------------


def test_a_web_server_on_the_printer_port_is_not_read_as_out_of_paper() -> None:
    # Before, "HTTP/1.1 400" kept 'R' and ':' as status bytes, and ':' read as "paper end".
    for port in _serve(_http_server):
        printer = ReceiptPrinter.network("127.0.0.1", port, status_timeout=1.0)
        with pytest.raises(NotEscposPrinterError) as info:
            printer.status()
        printer.close()
    error = info.value
    assert isinstance(error, PrinterUnreachableError) and not error.during_job
    text = str(error)
    assert f"127.0.0.1:{port}" in text and "ESC/POS" in text and "station file" in text
    assert "paper" not in text


def test_printing_to_a_web_server_sends_no_job() -> None:
    received = bytearray()

    def handler(conn: socket.socket) -> None:
        received.extend(conn.recv(100))
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.settimeout(0.5)
        try:
            while data := conn.recv(4096):
                received.extend(data)
        except TimeoutError:
            pass

    for port in _serve(handler):
        printer = ReceiptPrinter.network("127.0.0.1", port, status_timeout=1.0)
        with pytest.raises(NotEscposPrinterError, match="Nothing was printed"):
            printer.print_document(DOCUMENT)
    assert bytes(received) == QUERIES, "only the status queries reached the device"


def test_a_real_status_answer_still_reads() -> None:
    def handler(conn: socket.socket) -> None:
        conn.recv(100)
        conn.sendall(b"\x12\x12\x12")
        time.sleep(0.3)

    for port in _serve(handler):
        printer = ReceiptPrinter.network("127.0.0.1", port, status_timeout=1.0)
        status = printer.status()
        printer.close()
    assert status.online and status.paper is PaperLevel.OK and not status.cover_open


# -- 4: the GS r 1 answer inside a status poll's answer ------------------------------------------


def _late_sync_printer(conn: socket.socket) -> None:
    """Answers real-time status at once; finishes printing just as a status poll comes in,
    so its GS r 1 answer (0x00) goes out in the same segment as the status answers."""
    buf = b""
    sync_asked = False
    conn.settimeout(0.02)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            data = conn.recv(65536)
        except TimeoutError:
            continue
        if not data:
            return
        buf += data
        if GS_R_1 in buf:
            sync_asked = True
            buf = buf.split(GS_R_1, 1)[1]
        while QUERIES in buf:
            buf = buf.split(QUERIES, 1)[1]
            answer = b"\x12\x12\x12"
            if sync_asked:
                answer += b"\x00"
                sync_asked = False
            conn.sendall(answer)


def test_the_finished_answer_counts_when_it_arrives_with_a_status_answer() -> None:
    # Before, status() kept only status bytes and the job waited out sync_timeout, then failed.
    for port in _serve(_late_sync_printer):
        printer = ReceiptPrinter.network(
            "127.0.0.1", port, status_timeout=0.5, sync_timeout=1.0, poll_interval=0.05
        )
        started = time.monotonic()
        result = printer.print_document(DOCUMENT)
    assert result.confirmed and not result.paper_near_end
    assert time.monotonic() - started < 0.9


def test_a_connection_that_breaks_while_waiting_for_the_finish_is_during_the_job() -> None:
    # The job was sent, then the printer hung up: the print-out may be half done (and a
    # receipt's code half printed), so the error must say so, not "nothing happened".
    def handler(conn: socket.socket) -> None:
        buf = b""
        while GS_R_1 not in buf:
            data = conn.recv(65536)
            if not data:
                return
            if buf == b"" and data.startswith(QUERIES):
                conn.sendall(b"\x12\x12\x12")
                data = data[len(QUERIES) :]
            buf += data

    for port in _serve(handler):
        printer = ReceiptPrinter.network(
            "127.0.0.1", port, status_timeout=0.5, sync_timeout=1.0, poll_interval=0.05
        )
        with pytest.raises(PrinterUnreachableError) as info:
            printer.print_document(DOCUMENT)
    assert info.value.during_job and "may be incomplete" in str(info.value)


class _BreaksOnTheNextPoll(Network):
    """python-escpos's TCP transport whose writes fail once the job (ending in GS r 1) is out:
    the socket died while the printer printed, and the status poll's write is what sees it."""

    job_out = False

    def _raw(self, msg: bytes) -> None:
        if self.job_out:
            raise BrokenPipeError(32, "Broken pipe")
        super()._raw(msg)
        self.job_out = self.job_out or GS_R_1 in msg


def test_a_poll_whose_write_breaks_during_the_job_says_the_print_out_may_be_incomplete() -> None:
    def handler(conn: socket.socket) -> None:  # answers the status queries, never GS r 1
        while data := conn.recv(65536):
            conn.sendall(b"\x12" * (data.count(b"\x10\x04")))

    for port in _serve(handler):
        device = _BreaksOnTheNextPoll("127.0.0.1", port=port, timeout=3)
        printer = ReceiptPrinter(device, status_timeout=0.5, sync_timeout=1.0, poll_interval=0.05)
        with pytest.raises(PrinterUnreachableError) as info:
            printer.print_document(DOCUMENT)
    assert info.value.during_job and "may be incomplete" in str(info.value)


# -- 6: an IPP card printer that stops with the job pending -------------------------------------

IDLE = [
    attr("printer-state", ValueTag.ENUM, 3),
    attr("printer-state-reasons", ValueTag.KEYWORD, "none"),
    attr("printer-is-accepting-jobs", ValueTag.BOOLEAN, True),
    attr("document-format-supported", ValueTag.MIME_MEDIA_TYPE, "application/pdf"),
    attr("sides-supported", ValueTag.KEYWORD, "one-sided", "two-sided-long-edge"),
]


def _stops_with_job_pending(
    *reasons: str, state: int = 5, job_reason: str = "job-queued"
) -> Callable[[IppMessage], ScriptedAnswer]:
    """Idle at Print-Job; then the printer reports `state` with `reasons` while the job stays
    pending, as a CUPS queue leaves it."""
    asked = {"printer": 0}

    def answer(request: IppMessage) -> ScriptedAnswer:
        if request.code == Operation.GET_PRINTER_ATTRIBUTES:
            asked["printer"] += 1
            if asked["printer"] == 1:
                return ScriptedAnswer(printer=IDLE)
            return ScriptedAnswer(
                printer=[
                    attr("printer-state", ValueTag.ENUM, state),
                    attr("printer-state-reasons", ValueTag.KEYWORD, *reasons),
                    *IDLE[2:],
                ]
            )
        if request.code == Operation.PRINT_JOB:
            return ScriptedAnswer(
                job=[attr("job-id", ValueTag.INTEGER, 7), attr("job-state", ValueTag.ENUM, 3)]
            )
        if request.code == Operation.GET_JOB_ATTRIBUTES:
            return ScriptedAnswer(
                job=[
                    attr("job-state", ValueTag.ENUM, 3),
                    attr("job-state-reasons", ValueTag.KEYWORD, job_reason),
                ]
            )
        return ScriptedAnswer()

    return answer


@pytest.mark.parametrize(
    ("reason", "error"),
    [("media-empty-error", OutOfCardsError), ("cover-open", CardCoverOpenError)],
)
def test_a_printer_stopped_with_the_job_pending_is_reported_at_once(
    reason: str, error: type[CardPrinterError], card_pngs: tuple[bytes, bytes]
) -> None:
    # Before, only the job timeout (180 s in the kiosk; 1.5 s here) ended the wait.
    with ScriptedIppServer(_stops_with_job_pending(reason)) as server:
        printer = IppCardPrinter(server.uri, job_timeout=1.5, sleep=lambda s: None)
        started = time.monotonic()
        with pytest.raises(error) as info:
            printer.print_card(*card_pngs)
        elapsed = time.monotonic() - started
        requests = [r.code for r in server.requests]
    assert elapsed < 1.0
    assert info.value.during_job and "cancelled" in str(info.value)
    assert Operation.CANCEL_JOB in requests, "the pending job was cancelled"
    assert requests.count(Operation.GET_JOB_ATTRIBUTES) <= 10


def test_a_busy_printer_with_the_job_pending_is_waited_for(card_pngs: tuple[bytes, bytes]) -> None:
    # Processing another card (state 4), no blocking reason: the job waits, then completes.
    polls = {"job": 0}
    busy = _stops_with_job_pending("none", state=4)

    def answer(request: IppMessage) -> ScriptedAnswer:
        if request.code == Operation.GET_JOB_ATTRIBUTES:
            polls["job"] += 1
            if polls["job"] >= 12:
                return ScriptedAnswer(job=[attr("job-state", ValueTag.ENUM, 9)])
        return busy(request)

    with ScriptedIppServer(answer) as server:
        result = IppCardPrinter(server.uri, job_timeout=5, sleep=lambda s: None).print_card(
            *card_pngs
        )
        requests = [r.code for r in server.requests]
    assert result.state == "completed"
    assert Operation.CANCEL_JOB not in requests


def test_a_job_that_says_printer_stopped_has_its_printer_asked_at_once(
    card_pngs: tuple[bytes, bytes],
) -> None:
    answer = _stops_with_job_pending("media-jam-error", job_reason="printer-stopped")
    with ScriptedIppServer(answer) as server:
        printer = IppCardPrinter(server.uri, printer_check=60, sleep=lambda s: None)
        with pytest.raises(CardPrinterError, match="jammed"):
            printer.print_card(*card_pngs)
        requests = [r.code for r in server.requests]
    assert requests.count(Operation.GET_JOB_ATTRIBUTES) == 1
