"""The IPP client and IppCardPrinter against CUPS's ippeveprinter, plus a scripted IPP server
for what ippeveprinter will not do on demand (busy, stopped with a reason)."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from hardware.ipp_sim import IppEvePrinter, ScriptedAnswer, ScriptedIppServer, ippeveprinter_path
from printer.card_printer import (
    CardCoverOpenError,
    CardJamError,
    CardPrinter,
    CardPrinterBusyError,
    CardPrinterError,
    CardPrinterOfflineError,
    FileCardPrinter,
    OutOfCardsError,
    RibbonError,
)
from printer.errors import PrinterError
from printer.ipp_card_printer import IppCardPrinter, _pdf
from printer.ipp_client import IppClient, IppStatusError
from printer.ipp_codec import (
    DelimiterTag,
    IppAttribute,
    IppCollection,
    IppJobState,
    IppMessage,
    IppRange,
    IppResolution,
    Operation,
    OutOfBand,
    StatusCode,
    ValueTag,
    attr,
    decode_message,
    encode_message,
    integer,
    strings,
)
from printer.pwg import decode_pwg_raster, encode_pwg_raster

from .card_fixtures import fixture_card_pngs  # noqa: F401 - the card_pngs fixture

requires_ippeveprinter = pytest.mark.skipif(
    ippeveprinter_path() is None or shutil.which("dbus-daemon") is None,
    reason="ippeveprinter or dbus-daemon missing (apt-get install cups-ipp-utils dbus-daemon)",
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def start_printer(**kwargs: object) -> Iterator[IppEvePrinter]:
    printer = IppEvePrinter(**kwargs).start()  # type: ignore[arg-type]
    pids = printer.pids
    try:
        yield printer
    finally:
        printer.stop()
        left = [pid for pid in pids if _alive(pid)]
        assert not left, f"ippeveprinter / dbus-daemon left running: {left}"
        assert not printer.capture_dir.exists(), "the captured documents were not removed"


@pytest.fixture(scope="module")
def ippeve() -> Iterator[IppEvePrinter]:
    if ippeveprinter_path() is None or shutil.which("dbus-daemon") is None:
        pytest.skip("ippeveprinter or dbus-daemon missing")
    yield from start_printer()


# -- encoding -----------------------------------------------------------------------------------


def test_encode_decode_round_trip_with_every_value_kind() -> None:
    media = IppCollection(
        {
            "media-size": attr(
                "media-size",
                ValueTag.BEGIN_COLLECTION,
                IppCollection(
                    {
                        "x-dimension": attr("x-dimension", ValueTag.INTEGER, 8560),
                        "y-dimension": attr("y-dimension", ValueTag.INTEGER, 5398),
                    }
                ),
            ),
            "media-type": attr("media-type", ValueTag.KEYWORD, "cardstock"),
        }
    )
    printer = {
        a.name: a
        for a in (
            attr("printer-state", ValueTag.ENUM, 3),
            attr("printer-is-accepting-jobs", ValueTag.BOOLEAN, True),
            attr("document-format-supported", ValueTag.MIME_MEDIA_TYPE, "application/pdf", "image/pwg-raster"),
            attr("printer-resolution-supported", ValueTag.RESOLUTION, IppResolution(300, 300)),
            attr("copies-supported", ValueTag.RANGE, IppRange(1, 1)),
            attr("printer-info", ValueTag.TEXT, "Ünïcode card printer"),
            attr("printer-geo-location", ValueTag.URI, OutOfBand.UNKNOWN),
            attr("printer-current-time", ValueTag.DATETIME, bytes(11)),
            attr("media-col-default", ValueTag.BEGIN_COLLECTION, media),
            attr("printer-name", ValueTag.NAME_WITH_LANGUAGE, "Karte"),
        )
    }
    msg = IppMessage(0x0000, 7, [(DelimiterTag.OPERATION, {}), (DelimiterTag.PRINTER, printer)], data=b"%PDF")
    back = decode_message(encode_message(msg))
    assert back.code == 0 and back.request_id == 7 and back.version == (1, 1) and back.data == b"%PDF"
    got = back.group(DelimiterTag.PRINTER)
    assert set(got) == set(printer)
    for name, attribute in printer.items():
        assert got[name].values == attribute.values, name
    col = got["media-col-default"].value
    assert isinstance(col, IppCollection)
    size = col.get("media-size")
    assert isinstance(size, IppCollection) and size.get("x-dimension") == 8560


@pytest.mark.parametrize(
    "data",
    [
        b"\x01\x01\x00",  # truncated header
        b"\x01\x01\x00\x00\x00\x00\x00\x01\x01\x21\x00\x01a\x00\x02\x00\x00\x03",  # integer of 2 bytes
        b"\x01\x01\x00\x00\x00\x00\x00\x01\x09\x03",  # unknown group tag
        b"\x01\x01\x00\x00\x00\x00\x00\x01\x01\x21\x00\x01a\x00\x04\x00\x00\x00\x01",  # no end tag
    ],
)
def test_malformed_answers_are_typed(data: bytes) -> None:
    with pytest.raises(CardPrinterOfflineError, match="malformed IPP"):
        decode_message(data)


def test_pwg_raster_round_trip(card_pngs: tuple[bytes, bytes]) -> None:
    front = Image.open(io.BytesIO(card_pngs[0])).convert("RGB")
    stream = encode_pwg_raster([front, front.convert("L")], color="srgb_8")
    assert stream.startswith(b"RaS2PwgRaster")
    pages = decode_pwg_raster(stream)
    assert len(pages) == 2 and pages[0].size == front.size
    assert ImageChops.difference(pages[0], front).getbbox() is None  # lossless
    assert len(stream) < front.width * front.height * 3 / 3  # compressed well below raw


# -- ippeveprinter -------------------------------------------------------------------------------


@requires_ippeveprinter
def test_get_printer_attributes_parses(ippeve: IppEvePrinter) -> None:
    attrs = IppClient(ippeve.uri).get_printer_attributes()
    assert integer(attrs, "printer-state") == 3
    assert {"application/pdf", "image/png", "image/pwg-raster"} <= set(strings(attrs, "document-format-supported"))
    assert "two-sided-long-edge" in strings(attrs, "sides-supported")
    assert strings(attrs, "printer-make-and-model") == ("citycard Card Printer",)
    assert any(isinstance(v, IppCollection) for a in attrs.values() for v in a.values), "collections decode"
    status = IppCardPrinter(ippeve.uri).status()
    assert status.ready and status.state == "idle"


@requires_ippeveprinter
def test_print_job_completes_and_the_printer_gets_our_pdf(
    ippeve: IppEvePrinter, card_pngs: tuple[bytes, bytes]
) -> None:
    printer = IppCardPrinter(ippeve.uri)
    assert isinstance(printer, CardPrinter)
    before = len(ippeve.captured())
    result = printer.print_card(*card_pngs)
    assert result.state == "completed" and result.document_format == "application/pdf"
    assert result.job_id is not None
    captured = ippeve.wait_captured(before + 1)[before:]
    assert len(captured) == 1 and captured[0].suffix == ".pdf"
    expected = _pdf(Image.open(io.BytesIO(card_pngs[0])), Image.open(io.BytesIO(card_pngs[1])), 300.0)
    assert captured[0].read_bytes() == expected  # exactly the two-page PDF we sent
    assert result.bytes_sent == len(expected)
    job = IppClient(ippeve.uri).get_job_attributes(result.job_id)
    assert integer(job, "job-state") == IppJobState.COMPLETED


@requires_ippeveprinter
def test_pwg_raster_when_pdf_is_not_preferred(ippeve: IppEvePrinter, card_pngs: tuple[bytes, bytes]) -> None:
    before = len(ippeve.captured())
    result = IppCardPrinter(ippeve.uri, formats=("image/pwg-raster",)).print_card(*card_pngs)
    assert result.document_format == "image/pwg-raster"
    captured = ippeve.wait_captured(before + 1)[before:]
    pages = decode_pwg_raster(captured[0].read_bytes())
    assert [p.size for p in pages] == [(1011, 638), (1011, 638)]
    # ippeveprinter offers sgray_8 (not srgb_8): the front arrives as the grey card
    front = Image.open(io.BytesIO(card_pngs[0])).convert("L")
    assert ImageStat.Stat(ImageChops.difference(pages[0].convert("L"), front)).mean[0] < 1.0


@requires_ippeveprinter
def test_aborted_job_is_an_error_not_a_card(card_pngs: tuple[bytes, bytes]) -> None:
    for printer in start_printer(fail_jobs=True):
        with pytest.raises(CardPrinterError, match="aborted the card job") as info:
            IppCardPrinter(printer.uri).print_card(*card_pngs)
        assert info.value.during_job


@requires_ippeveprinter
def test_one_sided_printer_is_refused(card_pngs: tuple[bytes, bytes]) -> None:
    for printer in start_printer(duplex=False):
        with pytest.raises(CardPrinterError, match="one side only"):
            IppCardPrinter(printer.uri).print_card(*card_pngs)
        assert printer.captured() == []


@requires_ippeveprinter
def test_stopped_printer_is_a_typed_error(card_pngs: tuple[bytes, bytes]) -> None:
    for printer in start_printer():
        card_printer = IppCardPrinter(printer.uri, timeout=2.0)
        assert card_printer.status().ready
        printer.kill_printer()
        with pytest.raises(CardPrinterOfflineError, match="does not answer") as info:
            card_printer.print_card(*card_pngs)
        assert isinstance(info.value, PrinterError)  # the kiosk catches every printer problem alike
        status = card_printer.status()
        assert not status.ready and status.state == "offline"


# -- scripted IPP server ---------------------------------------------------------------------------

IDLE_DUPLEX = [
    attr("printer-state", ValueTag.ENUM, 3),
    attr("printer-state-reasons", ValueTag.KEYWORD, "none"),
    attr("printer-is-accepting-jobs", ValueTag.BOOLEAN, True),
    attr("document-format-supported", ValueTag.MIME_MEDIA_TYPE, "application/pdf"),
    attr("sides-supported", ValueTag.KEYWORD, "one-sided", "two-sided-long-edge"),
]


def test_busy_is_retried_with_backoff() -> None:
    busy = ScriptedAnswer(StatusCode.SERVER_ERROR_BUSY)
    ok = ScriptedAnswer(printer=IDLE_DUPLEX)
    sleeps: list[float] = []
    with ScriptedIppServer([busy, busy, ScriptedAnswer(http_status=503), ok]) as server:
        attrs = IppClient(server.uri, sleep=sleeps.append, backoff=0.5).get_printer_attributes()
        assert integer(attrs, "printer-state") == 3
        assert sleeps == [0.5, 1.0, 2.0]
        assert [r.code for r in server.requests] == [Operation.GET_PRINTER_ATTRIBUTES] * 4
        assert len({r.request_id for r in server.requests}) == 4


def test_busy_through_every_retry() -> None:
    sleeps: list[float] = []
    with ScriptedIppServer([ScriptedAnswer(StatusCode.SERVER_ERROR_BUSY)]) as server:
        client = IppClient(server.uri, sleep=sleeps.append, retries=4, backoff=1.0, max_backoff=3.0)
        with pytest.raises(CardPrinterBusyError, match="stayed busy through 4 attempts"):
            client.get_printer_attributes()
    assert sleeps == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("media-empty-error", OutOfCardsError),
        ("marker-supply-empty-error", RibbonError),
        ("cover-open", CardCoverOpenError),
        ("media-jam-error", CardJamError),
        ("spool-area-full", CardPrinterError),
    ],
)
def test_stopped_printer_reasons_become_typed_errors(
    reason: str, error: type[CardPrinterError], card_pngs: tuple[bytes, bytes]
) -> None:
    stopped = [
        attr("printer-state", ValueTag.ENUM, 5),
        attr("printer-state-reasons", ValueTag.KEYWORD, reason, "toner-low-warning"),
        *IDLE_DUPLEX[2:],
    ]
    with ScriptedIppServer([ScriptedAnswer(printer=stopped)]) as server:
        printer = IppCardPrinter(server.uri)
        with pytest.raises(error) as info:
            printer.print_card(*card_pngs)
        assert type(info.value) is error
        assert str(info.value).endswith(".")
        assert not printer.status().ready
        assert all(r.code != Operation.PRINT_JOB for r in server.requests), "no job was sent"


def test_warnings_do_not_stop_a_job(card_pngs: tuple[bytes, bytes]) -> None:
    def answer(request: IppMessage) -> ScriptedAnswer:
        if request.code == Operation.GET_PRINTER_ATTRIBUTES:
            warn = [attr("printer-state-reasons", ValueTag.KEYWORD, "marker-supply-low-warning"), IDLE_DUPLEX[0], *IDLE_DUPLEX[2:]]
            return ScriptedAnswer(printer=warn)
        if request.code == Operation.PRINT_JOB:
            job = request.group(DelimiterTag.JOB)
            assert job["sides"].value == "two-sided-long-edge"
            assert request.group(DelimiterTag.OPERATION)["document-format"].value == "application/pdf"
            return ScriptedAnswer(job=[attr("job-id", ValueTag.INTEGER, 42), attr("job-state", ValueTag.ENUM, 3)])
        return ScriptedAnswer(job=[attr("job-state", ValueTag.ENUM, 9)])

    with ScriptedIppServer(answer) as server:
        result = IppCardPrinter(server.uri, sleep=lambda s: None).print_card(*card_pngs)
    assert result.job_id == 42 and result.state == "completed"


def test_a_slow_job_times_out_as_slow_not_as_a_stopped_printer(card_pngs: tuple[bytes, bytes]) -> None:
    # Before, the timeout always said "The card printer is stopped (no reason given)".
    processing = [attr("printer-state", ValueTag.ENUM, 4), *IDLE_DUPLEX[1:]]

    def answer(request: IppMessage) -> ScriptedAnswer:
        if request.code == Operation.GET_PRINTER_ATTRIBUTES:
            return ScriptedAnswer(printer=processing)
        if request.code == Operation.PRINT_JOB:
            return ScriptedAnswer(job=[attr("job-id", ValueTag.INTEGER, 7), attr("job-state", ValueTag.ENUM, 5)])
        return ScriptedAnswer(job=[attr("job-state", ValueTag.ENUM, 5)])  # processing, still

    with ScriptedIppServer(answer) as server:
        printer = IppCardPrinter(server.uri, job_timeout=0.0, sleep=lambda s: None)
        with pytest.raises(CardPrinterError, match=r"did not finish within 0 s") as info:
            printer.print_card(*card_pngs)
    assert info.value.during_job and "stopped" not in str(info.value)
    assert any(r.code == Operation.CANCEL_JOB for r in server.requests), "the job was cancelled"


def test_refusals_carry_the_ipp_status(card_pngs: tuple[bytes, bytes]) -> None:
    refusal = ScriptedAnswer(StatusCode.CLIENT_ERROR_NOT_AUTHORIZED)
    with (
        ScriptedIppServer([refusal]) as server,
        pytest.raises(IppStatusError, match="client-error-not-authorized") as info,
    ):
        IppClient(server.uri).get_printer_attributes()
    assert info.value.status == StatusCode.CLIENT_ERROR_NOT_AUTHORIZED


def test_not_an_ipp_uri() -> None:
    with pytest.raises(CardPrinterError, match="not a printer URI"):
        IppClient("lpd://printer/queue")


# -- the file printer -------------------------------------------------------------------------------


def test_file_card_printer(tmp_path: Path, card_pngs: tuple[bytes, bytes]) -> None:
    printer = FileCardPrinter(tmp_path / "out")
    assert isinstance(printer, CardPrinter) and printer.status().ready
    result = printer.print_card(*card_pngs)
    assert (tmp_path / "out" / "card-front.png").read_bytes() == card_pngs[0]
    assert (tmp_path / "out" / "card-back.png").read_bytes() == card_pngs[1]
    assert result.document_format == "image/png" and sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "card-back.png",
        "card-front.png",
    ]
    with pytest.raises(CardPrinterError, match="not a PNG"):
        printer.print_card(b"GIF89a", card_pngs[1])


def test_ipp_attribute_helpers() -> None:
    attrs = {"a": IppAttribute("a", ValueTag.INTEGER, (OutOfBand.NO_VALUE,))}
    assert integer(attrs, "a") is None and strings(attrs, "missing") == ()
