"""`citycard-kiosk serve --station FILE`: the station file, and a card made on the devices it
names — the real pcscd with a blank card in a vpcd slot, ippeveprinter as the card printer and
the ESC/POS simulator on TCP as the receipt printer."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from cardio.chip import read_card
from cardio.pcsc import PcscConnection
from cardio.published import load_verifier
from cardio.verdict import Verdict
from hardware.escpos_sim import EscposSimulator
from hardware.ipp_sim import IppEvePrinter, ippeveprinter_path
from hardware.pcscd import PcscdService
from hardware.virtual_t4t import VirtualType4Card
from kiosk.job import new_request_id
from kiosk.printing import EscposReceiptSink, FileReceiptSink
from kiosk.programs import load_program
from kiosk.simulate import local_numbers
from kiosk.station import configured_station
from kiosk.station_config import StationConfig, StationConfigError, load_station_config
from printer.card_printer import FileCardPrinter
from printer.ipp_card_printer import IppCardPrinter

from .kiosk_helpers import enrolment
from .pcsc_fixtures import VpcdCards, requires_pcscd


def _station(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _load(tmp_path: Path, text: str) -> StationConfig:
    return load_station_config(_station(tmp_path, text))


def test_a_whole_station_file_is_read(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        [writer]
        reader = "ACR122U"
        wait = 45
        [card_printer]
        ipp = "ipp://cardprinter.local/ipp/print"
        [receipt_printer]
        usb = "04b8:0E15"
        paper = 58
        """,
    )
    assert config.writer is not None and config.writer.reader == "ACR122U"
    assert config.writer.wait == 45.0
    assert config.card_printer.ipp == "ipp://cardprinter.local/ipp/print"
    assert config.receipt_printer.usb == (0x04B8, 0x0E15) and config.receipt_printer.paper == 58


def test_defaults_and_spool_directories(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        '[card_printer]\ndirectory = "/var/spool/citycard/cards"\n'
        '[receipt_printer]\nnetwork = "192.0.2.10"\n',
    )
    assert config.writer is None
    assert config.card_printer.directory == Path("/var/spool/citycard/cards")
    assert config.receipt_printer.network == ("192.0.2.10", 9100)
    assert config.receipt_printer.paper == 80


_PRINTERS = '[card_printer]\nipp = "ipp://p/ipp/print"\n[receipt_printer]\nserial = "/dev/ttyUSB0"\n'


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        ("[card_printer\n", "", "not valid TOML"),
        ("[printer]\n" + _PRINTERS, "printer", "unknown section"),
        ("[writer]\nreadr = 'x'\n" + _PRINTERS, "writer.readr", "[writer] takes reader, wait"),
        ("[writer]\nwait = 0\n" + _PRINTERS, "writer.wait", "from 1 to 600"),
        ("[writer]\nreader = ''\n" + _PRINTERS, "writer.reader", "PC/SC name"),
        ('[receipt_printer]\nnetwork = "h:9100"\n', "card_printer", "missing"),
        ('[card_printer]\nipp = "ipp://p"\n', "receipt_printer", "missing"),
        (
            '[card_printer]\nipp = "ipp://p"\ndirectory = "/x"\n[receipt_printer]\nnetwork = "h"\n',
            "card_printer",
            "exactly one of ipp, directory (found 2)",
        ),
        ('[card_printer]\nipp = "lpr://p"\n[receipt_printer]\nnetwork = "h"\n', "card_printer.ipp", "ipp://"),
        ('[card_printer]\ndirectory = "cards"\n[receipt_printer]\nnetwork = "h"\n', "card_printer.directory", "absolute"),
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\nnetwork = "h:99999"\n', "receipt_printer.network", "HOST:PORT"),
        # str.isdigit takes "²", which int() refuses (a traceback, not this sentence)
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\nnetwork = "h:\u00b2"\n', "receipt_printer.network", "HOST:PORT"),
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\nnetwork = "h:' + "9" * 5000 + '"\n', "receipt_printer.network", "HOST:PORT"),
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\nusb = "4b8:e15"\n', "receipt_printer.usb", "VID:PID"),
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\nserial = "COM1"\n', "receipt_printer.serial", "/dev/ttyUSB0"),
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\nnetwork = "h"\npaper = 70\n', "receipt_printer.paper", "80 or 58"),
        ('[card_printer]\nipp = "ipp://p"\n[receipt_printer]\n', "receipt_printer", "found 0"),
    ],
)  # fmt: skip
def test_mistakes_name_the_file_the_key_and_the_fix(
    tmp_path: Path, text: str, key: str, fix: str
) -> None:
    path = _station(tmp_path, text)
    with pytest.raises(StationConfigError) as caught:
        load_station_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: " if key else f"{path}: ") and fix in message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StationConfigError, match="no such file"):
        load_station_config(tmp_path / "nowhere.toml")


@pytest.fixture(name="numbers_for")
def fixture_numbers_for(tmp_path: Path) -> Iterator[Callable[[str], tuple[Any, Any]]]:
    """numbers_for(programme id): an allocator and signer from a local issuer (closed after)."""
    with ExitStack() as stack:
        yield lambda program_id: local_numbers(stack, tmp_path / "data", program_id)


def test_a_chip_programme_needs_a_writer(tmp_path: Path, numbers_for: Any) -> None:
    config = _load(tmp_path, '[card_printer]\nipp = "ipp://p/ipp"\n[receipt_printer]\nnetwork = "h"\n')
    with (
        pytest.raises(StationConfigError, match=r"writer: Zurich City Card cards have a chip"),
        configured_station(tmp_path / "data", load_program("zurich"), config, numbers_for("zurich")),
    ):
        pass


def test_each_kind_of_device_is_built(tmp_path: Path, numbers_for: Any) -> None:
    config = _load(
        tmp_path,
        f'[card_printer]\ndirectory = "{tmp_path}/cards"\n'
        f'[receipt_printer]\ndirectory = "{tmp_path}/receipts"\n',
    )
    numbers = numbers_for("new-york")
    with configured_station(tmp_path / "data", load_program("new-york"), config, numbers) as station:
        assert station.writer is None  # a printed card: nothing to write
        assert isinstance(station.card_printer, FileCardPrinter)
        assert isinstance(station.receipt_printer, FileReceiptSink)


@pytest.fixture(name="card_printer")
def fixture_card_printer() -> Iterator[IppEvePrinter]:
    if ippeveprinter_path() is None or shutil.which("dbus-daemon") is None:
        pytest.skip("ippeveprinter or dbus-daemon missing (apt-get install cups-ipp-utils dbus-daemon)")
    with IppEvePrinter() as printer:
        yield printer


@requires_pcscd
def test_a_card_is_made_on_the_devices_the_file_names(
    tmp_path: Path,
    pcscd_service: PcscdService,
    vpcd_cards: VpcdCards,
    card_printer: IppEvePrinter,
    numbers_for: Any,
) -> None:
    blank = VirtualType4Card("t4t")
    vpcd_cards.attach(1, blank)
    reader = pcscd_service.vpcd_reader(1)
    with EscposSimulator() as receipts:
        host, port = receipts.address
        path = _station(
            tmp_path,
            f'[writer]\nreader = "{reader}"\nwait = 10\n'
            f'[card_printer]\nipp = "{card_printer.uri}"\n'
            f'[receipt_printer]\nnetwork = "{host}:{port}"\n',
        )
        config = load_station_config(path)
        program = load_program("zurich")
        with configured_station(
            tmp_path / "data", program, config, numbers_for(program.id)
        ) as station:
            assert isinstance(station.card_printer, IppCardPrinter)
            assert isinstance(station.receipt_printer, EscposReceiptSink)
            result = station.job(new_request_id(), enrolment()).run()
        assert result.receipt_printed and blank.locked
        assert result.document_number.encode() in receipts.printed
        assert b"Mira" not in receipts.received  # the receipt names no one
    assert len(card_printer.wait_captured(1)) == 1  # one two-sided job

    from hardware.local_issuer import open_issuer

    issuer = open_issuer(tmp_path / "data" / "issuer", program.id)
    try:
        issuer.publish()
        verifier = load_verifier(issuer.dir)[0]
    finally:
        issuer.close()
    with PcscConnection.wait(reader, timeout=5) as conn:
        assert read_card(conn, verifier).result.verdict is Verdict.VALID


def test_serve_with_a_wrong_station_file_says_what_to_fix(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kiosk.cli import main

    path = _station(tmp_path, "[printer]\n")
    args = ["serve", "--program", "zurich", "--data", str(tmp_path / "data"), "--station", str(path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code != 0 and "printer: unknown section" in res.output, res.output
    assert "Traceback" not in res.output and not (tmp_path / "data").exists()
    both = CliRunner().invoke(main, [*args, "--printer-dir", str(tmp_path / "out")])
    assert both.exit_code == 2 and "--printer-dir is for simulated printers" in both.output
