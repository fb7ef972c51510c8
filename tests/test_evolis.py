"""Evolis printers with an encoding station: escape commands over TCP (and USB), against the
simulated printer, and the encode-then-print job with chips written through the real pcscd +
vpcd stack (the station's reader is a vpcd slot)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageOps

from api.issuer.service import Issuer
from cardio.chip import CardProfile, bind, personalise, read_card
from cardio.credential import Holder, Variant, sign_credential, to_qr
from cardio.errors import CardLockedError, ReaderNotFoundError
from cardio.pcsc import PcscConnection
from cardio.published import load_verifier
from cardio.verdict import Verdict
from hardware.card_model import CardModel
from hardware.evolis_sim import Blank, EvolisSimulator
from hardware.local import LocalConnection
from hardware.pcscd import PcscdService
from hardware.virtual_t4t import Faults, VirtualType4Card
from hardware.vpcd import VpcdCard
from printer.card_design import CardData, CardDesign
from printer.card_layout import render_card
from printer.card_printer import (
    CardCoverOpenError,
    CardJamError,
    CardPrinterOfflineError,
    EncodingCardPrinter,
    OutOfCardsError,
    RibbonError,
)
from printer.evolis import EncodingFailedError, EvolisPrinter, encode_and_print
from printer.evolis_bitmap import pack_panel, unpack_panel
from printer.evolis_transport import TcpTransport, frame
from tests.pcsc_fixtures import requires_pcscd, wait_reader

from .card_fixtures import fixture_card_pngs  # noqa: F401 - the card_pngs fixture
from .conftest import NOW, synthetic_photo

SLOT = 1  # the encoding station's reader


class VpcdStation:
    """The printer's contactless station: a chip that reaches it is presented in a vpcd slot."""

    def __init__(self, service: PcscdService, slot: int = SLOT) -> None:
        self.reader = service.vpcd_reader(slot)
        self.slot = slot
        self.current: VpcdCard | None = None
        self.presented: list[CardModel] = []

    def present(self, chip: CardModel) -> None:
        self.current = VpcdCard(chip, self.slot).start()
        self.presented.append(chip)
        wait_reader(self.reader, True)

    def remove(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None
            wait_reader(self.reader, False)


@pytest.fixture
def sim() -> Iterator[EvolisSimulator]:
    with EvolisSimulator([Blank(label=f"blank-{i}") for i in range(5)]) as simulator:
        yield simulator


@pytest.fixture
def printer(sim: EvolisSimulator) -> Iterator[EvolisPrinter]:
    p = EvolisPrinter.tcp("127.0.0.1", sim.port, timeout=5.0)
    yield p
    p.close()


# -- commands and states -------------------------------------------------------------------------


def test_frames_and_bitmaps() -> None:
    assert frame("Rlr;p") == b"\x1bRlr;p\r"
    values = bytes((i * 7) % 32 for i in range(1016 * 648))
    packed = pack_panel(values, 32)
    assert len(packed) == 1016 * 648 * 5 // 8
    assert unpack_panel(packed, 32) == values
    ones = bytes(i % 3 == 0 for i in range(1016 * 648))
    assert len(pack_panel(ones, 2)) == 81 * 1016 and unpack_panel(pack_panel(ones, 2), 2) == ones


def test_identity_and_status(printer: EvolisPrinter, sim: EvolisSimulator) -> None:
    assert isinstance(printer, EncodingCardPrinter)
    assert printer.firmware_version() == "1.9.47"
    assert printer.model() == "Primacy 2"
    status = printer.status()
    assert status.ready and status.state == "idle" and status.details["ribbon-left"] == "200"
    sim.cover_open = True
    sim.ribbon_left = 0
    status = printer.status()
    assert not status.ready and set(status.reasons) == {"cover-open", "marker-supply-empty"}


def test_print_card_from_the_feeder(
    printer: EvolisPrinter, sim: EvolisSimulator, card_pngs: tuple[bytes, bytes]
) -> None:
    result = printer.print_card(*card_pngs)
    assert result.rejected == 0 and result.bytes_sent == 3 * 411480 + 3 * 82296
    assert sim.moves == ["feeder -> print", "print -> output"]
    assert sim.commands[0] == "Pem;2"
    card = sim.printed[0]
    assert set(card.panels) == {("front", p) for p in "ymcko"} | {("back", "k")}
    # the cyan panel is the front's red channel turned into ink: the header band is inked
    cyan = card.panel_image("front", "c")
    assert (
        cyan.size == (1016, 648)
        and cyan.getpixel((500, 40)) < 128
        and cyan.getpixel((700, 250)) > 200
    )
    assert sim.ribbon_left == 199


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ("feeder", OutOfCardsError),
        ("ribbon", RibbonError),
        ("cover", CardCoverOpenError),
        ("jam", CardJamError),
    ],
)
def test_printer_conditions_are_typed(
    printer: EvolisPrinter, sim: EvolisSimulator, state: str, error: type[Exception]
) -> None:
    if state == "feeder":
        sim.feeder.clear()
    elif state == "ribbon":
        sim.ribbon_left = 0
    elif state == "cover":
        sim.cover_open = True
    else:
        sim.jam = True
    with pytest.raises(error) as info:
        printer.insert_to_contactless()
    assert str(info.value).endswith(".")
    assert sim.card is None and sim.moves == []


def test_jam_while_printing(
    printer: EvolisPrinter, sim: EvolisSimulator, card_pngs: tuple[bytes, bytes]
) -> None:
    printer.insert_to_contactless()
    sim.jam = True
    with pytest.raises(CardJamError):
        printer.print_card(*card_pngs)
    assert sim.printed == []


def test_unknown_answers_and_silence(sim: EvolisSimulator) -> None:
    p = EvolisPrinter.tcp("127.0.0.1", sim.port)
    with pytest.raises(Exception, match="refused the command Zz"):
        p.command("Zz")
    p.close()
    sim.stop()
    with pytest.raises(CardPrinterOfflineError, match="does not answer"):
        EvolisPrinter(TcpTransport("127.0.0.1", sim.port, connect_timeout=1.0)).firmware_version()


def test_reject_and_eject_move_the_card(printer: EvolisPrinter, sim: EvolisSimulator) -> None:
    printer.insert_to_contactless()
    assert printer.command("Rlr;p") == "CONTACTLESS CARD"
    printer.reject()
    printer.insert_to_contactless()
    printer.eject()
    assert sim.moves == [
        "feeder -> contactless",
        "contactless -> reject",
        "feeder -> contactless",
        "contactless -> output",
    ]
    assert [b.label for b in sim.rejected] == ["blank-0"]


# -- encode and print, through pcscd --------------------------------------------------------------


class Kiosk:
    """What the kiosk does for one resident: one document number, a chip credential per blank."""

    def __init__(self, issuer: Issuer, holder: Holder, reader: str) -> None:
        self.issuer = issuer
        self.reader = reader
        self.issued = issuer.issue(replace(holder, photo=None), date(2030, 12, 31), now=NOW)
        issuer.publish(NOW)
        self.holder = replace(holder, photo=synthetic_photo(3072))
        self.signer = issuer.keystore.signer("kiosk-1")
        self.written: list[bytes] = []

    def encode(self) -> None:
        with PcscConnection.wait(self.reader, timeout=5) as conn:
            binding = bind(conn, CardProfile.T4T)
            chip = replace(
                self.issued.credential, holder=self.holder, variant=Variant.CHIP, binding=binding
            )
            cose = sign_credential(self.signer, chip)
            personalise(conn, cose)
            self.written.append(binding.uid or b"")


@pytest.fixture
def station(pcscd_service: PcscdService) -> Iterator[VpcdStation]:
    s = VpcdStation(pcscd_service)
    yield s
    s.remove()


@requires_pcscd
def test_faulty_chip_is_rejected_and_the_next_blank_is_printed(
    station: VpcdStation, issuer: Issuer, holder: Holder, card_pngs: tuple[bytes, bytes]
) -> None:
    faulty = VirtualType4Card(faults=Faults(write_protected=True))
    good = VirtualType4Card()
    spare = VirtualType4Card()
    kiosk = Kiosk(issuer, holder, station.reader)
    design = CardDesign(
        "Demo City Card",
        "#1F4E79",
        "#E3A21A",
        fields=frozenset({"sex", "entitlements", "languages"}),
    )
    card = render_card(
        design,
        CardData.from_credential(
            kiosk.issued.credential, to_qr(kiosk.issued.print_cose), synthetic_photo()
        ),
    )
    blanks = [Blank(faulty, "faulty"), Blank(good, "good"), Blank(spare, "spare")]
    with EvolisSimulator(blanks, station=station) as sim:
        printer = EvolisPrinter.tcp("127.0.0.1", sim.port, timeout=10.0)
        try:
            result = encode_and_print(printer, kiosk.encode, card.front_png, card.back_png)
        finally:
            printer.close()
    assert result.rejected == 1 and result.attempts == 2
    assert sim.moves == [
        "feeder -> contactless",
        "contactless -> reject",
        "feeder -> contactless",
        "contactless -> print",
        "print -> output",
    ]
    assert [b.label for b in sim.rejected] == ["faulty"]
    assert [c.blank.label for c in sim.printed] == ["good"]
    assert station.presented == [faulty, good] and [b.label for b in sim.feeder] == ["spare"]
    assert kiosk.written == [good.uid]  # the faulty chip's credential was never completed
    assert faulty.ndef_file[:2] == b"\x00\x00"

    # the printed card's chip reads as VALID, bound to that chip
    verifier = load_verifier(issuer.dir)[0]
    read = read_card(LocalConnection(good), verifier, NOW + 60)
    assert read.result.verdict is Verdict.VALID, read.result.message
    assert good.locked
    # and the QR on the printed back (the black panel) decodes to the print credential
    back = sim.printed[0].panel_image("back", "k").convert("RGB")
    found = zxingcpp.read_barcodes(back, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.text for r in found] == [to_qr(kiosk.issued.print_cose)]


@requires_pcscd
def test_every_blank_faulty_ends_in_the_reject_bin(
    station: VpcdStation, issuer: Issuer, holder: Holder, card_pngs: tuple[bytes, bytes]
) -> None:
    chips = [VirtualType4Card(faults=Faults(write_protected=True)) for _ in range(4)]
    kiosk = Kiosk(issuer, holder, station.reader)
    with EvolisSimulator([Blank(c) for c in chips], station=station) as sim:
        printer = EvolisPrinter.tcp("127.0.0.1", sim.port)
        try:
            with pytest.raises(EncodingFailedError, match="3 blank cards in a row") as info:
                encode_and_print(printer, kiosk.encode, *card_pngs, max_attempts=3)
        finally:
            printer.close()
    assert isinstance(info.value.__cause__, CardLockedError)
    assert len(sim.rejected) == 3 and sim.printed == [] and len(sim.feeder) == 1


def test_reader_missing_is_not_the_cards_fault(
    printer: EvolisPrinter, sim: EvolisSimulator, card_pngs: tuple[bytes, bytes]
) -> None:
    def encode() -> None:
        raise ReaderNotFoundError("No reader named 'station' is attached.")

    with pytest.raises(ReaderNotFoundError):
        encode_and_print(printer, encode, *card_pngs)
    assert len(sim.rejected) == 1 and len(sim.feeder) == 4  # one blank, not three


def test_an_unexpected_encoding_failure_rejects_the_blank(
    printer: EvolisPrinter, sim: EvolisSimulator, card_pngs: tuple[bytes, bytes]
) -> None:
    # Before, an OSError left the possibly half-written blank at the station for the next job.
    def encode() -> None:
        raise OSError("the PC/SC daemon went away")

    with pytest.raises(EncodingFailedError, match="reject bin") as info:
        encode_and_print(printer, encode, *card_pngs)
    assert isinstance(info.value.__cause__, OSError) and info.value.during_job
    assert sim.moves == ["feeder -> contactless", "contactless -> reject"]
    assert sim.printed == [] and len(sim.feeder) == 4


def test_print_failure_after_encoding_rejects_the_card(
    printer: EvolisPrinter, sim: EvolisSimulator, card_pngs: tuple[bytes, bytes]
) -> None:
    def encode() -> None:
        sim.ribbon_left = 0  # the ribbon runs out while the chip is written

    with pytest.raises(RibbonError):
        encode_and_print(printer, encode, *card_pngs)
    assert sim.moves == ["feeder -> contactless", "contactless -> reject"]
    assert sim.printed == []


def test_printed_panels_match_the_card(
    printer: EvolisPrinter, sim: EvolisSimulator, card_pngs: tuple[bytes, bytes]
) -> None:
    printer.print_card(*card_pngs)
    black = sim.printed[0].panel_image("front", "k")
    # the card covers the 1016 x 648 panel (centre crop of the overscan), as the driver does;
    # what is near-black on the card is on the k panel, at the same place
    front = ImageOps.fit(Image.open(io.BytesIO(card_pngs[0])).convert("RGB"), (1016, 648)).convert(
        "L"
    )
    expected = Image.eval(front, lambda v: 255 if v < 60 else 0)
    inked = Image.eval(black, lambda v: 255 if v < 128 else 0)
    differ = ImageChops.difference(expected, inked).histogram()[255]
    assert expected.histogram()[255] > 10_000 and differ < 0.005 * 1016 * 648


def test_usb_transport_through_a_pyusb_backend(card_pngs: tuple[bytes, bytes]) -> None:
    from hardware.evolis_sim import FakeEvolisUsbBackend
    from printer.evolis_transport import UsbTransport

    with EvolisSimulator([Blank(label="usb")]) as sim:
        backend = FakeEvolisUsbBackend(sim)
        printer = EvolisPrinter(UsbTransport(backend=backend))
        try:
            assert printer.firmware_version() == "1.9.47"
            assert backend.detached and backend.claimed == {0}  # usblp detached, interface ours
            printer.insert_to_contactless()
            printer.print_card(*card_pngs)
        finally:
            printer.close()
    assert sim.moves == ["feeder -> contactless", "contactless -> print", "print -> output"]
    assert backend.claimed == set()
    missing = EvolisPrinter(UsbTransport(vendor=0x1234, backend=FakeEvolisUsbBackend(sim)))
    with pytest.raises(CardPrinterOfflineError, match="No Evolis card printer is attached"):
        missing.firmware_version()
