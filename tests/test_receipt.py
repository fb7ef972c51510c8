"""Receipts through python-escpos' real Network printer to the simulated TCP printer."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from hardware.escpos_sim import EscposSimulator
from kiosk.printing import receipt_about, receipt_text
from printer.document import Align, Document, Style, Text, encode, printable_as_text
from printer.errors import (
    CoverOpenError,
    PaperOutError,
    PrinterError,
    PrinterOfflineError,
    PrinterUnreachableError,
)
from printer.escpos_decode import Raster, decode
from printer.escpos_printer import ReceiptPrinter
from printer.paper import CP857, CP866, CP1251, CP1254, PAPER_58MM, PAPER_80MM, PaperProfile
from printer.receipt import (
    ReceiptText,
    RevocationCode,
    RevocationCodeError,
    build_receipt,
    normalise_code,
    verify_revocation_code,
)

from .escpos_fixtures import PrinterFactory, closed_port, fixture_printer_for, fixture_sim  # noqa: F401
from .receipt_samples import SAMPLE_CONTACTS, SAMPLE_PROGRAMME_TEXT, sample_content

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def code() -> RevocationCode:
    return RevocationCode.generate()


def _bands(raster: Raster) -> list[tuple[int, int]]:
    """Row ranges (top, bottom) of the text lines in a raster: runs of rows with ink."""
    img = raster.to_image()
    bands: list[tuple[int, int]] = []
    top = None
    for y in range(img.height):
        low = img.crop((0, y, img.width, y + 1)).getextrema()[0]
        assert isinstance(low, int | float)  # one band: (min, max)
        ink = low < 128
        if ink and top is None:
            top = y
        elif not ink and top is not None:
            bands.append((top, y))
            top = None
    if top is not None:
        bands.append((top, img.height))
    # Arabic dots and vowel marks make thin bands of their own: merge them into their line.
    merged: list[tuple[int, int]] = []
    for band in bands:
        if merged and (band[0] - merged[-1][1] < 4 or band[1] - band[0] < 8):
            merged[-1] = (merged[-1][0], band[1])
        else:
            merged.append(band)
    return merged


def test_english_receipt_is_text(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    receipt = build_receipt(sample_content("en", code))
    result = printer_for().print_receipt(receipt)
    assert result.confirmed and not result.paper_near_end
    printed = sim.decoded()
    assert printed.rasters == [] and printed.qr_codes == []
    lines = printed.lines
    assert lines[0] == "Züri City Card"  # ü through a code page (ESC t), not a raster
    assert "Document number" in lines and "ZH-2026-000123" in lines and "2031-09-21" in lines
    assert "Phone: +41 44 000 00 00" in lines
    assert any("It is not a residence permit" in line for line in lines)
    assert all(len(line) <= 48 for line in lines)
    assert len(printed.cuts) == 1
    heading = next(r for r in printed.runs if "Züri" in r.text)
    assert heading.align == "center" and heading.width == 2 and heading.bold
    # Everything the job sent was printed; after it came only the GS r 1 sync.
    assert result.bytes_sent == len(sim.printed) - 3
    assert [q.kind for q in printed.status_queries] == ["GS r"]


def test_revocation_code_printed_once_and_only_its_hash_returned(
    sim: EscposSimulator, printer_for: PrinterFactory
) -> None:
    code = RevocationCode.generate()
    other = RevocationCode.generate()
    receipt = build_receipt(sample_content("en", code))
    printer_for().print_receipt(receipt)
    text = sim.decoded().text
    assert text.count(code.printable) == 1
    assert code.printable not in repr(receipt) and code.printable not in repr(code)
    assert code.printable not in str(code) and code.printable not in receipt.revocation_hash
    # The registry's hash verifies the code as people type it, and nothing else.
    assert verify_revocation_code(code.printable, receipt.revocation_hash)
    assert verify_revocation_code(code.printable.lower().replace("-", " "), receipt.revocation_hash)
    assert not verify_revocation_code(other.printable, receipt.revocation_hash)
    assert not verify_revocation_code("", receipt.revocation_hash)
    assert other.digest != code.digest
    assert receipt.revocation_hash.startswith("scrypt$15$8$1$")
    assert normalise_code("o1l-u") == "011V"
    with pytest.raises(RevocationCodeError):
        verify_revocation_code(code.printable, "sha256$abc")


def test_codes_are_unambiguous_and_random() -> None:
    codes = {RevocationCode.generate().printable for _ in range(5)}
    assert len(codes) == 5
    for printable in codes:
        assert len(printable) == 11 and printable[5] == "-"
        assert not set(printable) & set("ILOU")


@pytest.mark.parametrize("language", ["ar", "zh"])
def test_arabic_and_chinese_are_raster_images_that_fit_the_paper(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode, language: str
) -> None:
    printer_for().print_receipt(build_receipt(sample_content(language, code)))
    printed = sim.decoded()
    assert len(printed.rasters) >= 4
    for raster in printed.rasters:
        assert raster.width == PAPER_80MM.dots and 0 < raster.height <= 960
        assert raster.scale == (1, 1)
    # No Arabic or Chinese character went out as printer text (it would print as '?').
    for char in printed.text:
        assert ord(char) < 0x250, f"{char!r} was sent as text"
    # The code, the number and the dates stay printer text (crisp, and OCR-friendly).
    assert printed.text.count(code.printable) == 1
    assert "ZH-2026-000123" in printed.lines


def test_arabic_is_right_aligned(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    receipt = build_receipt(sample_content("ar", code))
    printer_for().print_receipt(receipt)
    rasters = sim.decoded().rasters
    right_edge = PAPER_80MM.dots - PAPER_80MM.margin
    lefts: list[int] = []
    checked = 0
    for raster in rasters[1:]:  # the first one is the centred title
        for top, bottom in _bands(raster):
            columns = raster.ink_columns(top, bottom)
            assert columns is not None
            left, right = columns
            assert right_edge - 8 <= right < right_edge + 2, (top, columns)
            lefts.append(left)
            checked += 1
    assert checked >= 10
    # Ragged on the left: the last lines of paragraphs end well before the left margin.
    assert max(lefts) > 200 and min(lefts) < 60

    # The same check on an English receipt drawn as a raster finds it left-aligned.
    sim.clear()
    printer_for().print_receipt(build_receipt(sample_content("en", code), force_raster=True))
    english = sim.decoded().rasters
    left_edges = [
        c[0] for r in english for t, b in _bands(r) if (c := r.ink_columns(t, b)) and b - t > 10
    ]
    assert sorted(left_edges)[len(left_edges) // 2] <= PAPER_80MM.margin + 4


def test_58mm_profile_wraps_long_lines(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    content = sample_content("en", code)
    printer_for(PAPER_58MM).print_receipt(build_receipt(content, PAPER_58MM))
    printed = sim.decoded()
    for run in printed.runs:
        for line in run.text.split("\n"):
            assert len(line) * run.width <= 32, line
    lines = printed.lines
    paragraph = content.card_is_and_is_not
    start = next(i for i, line in enumerate(lines) if paragraph.startswith(line))
    wrapped = []
    for line in lines[start:]:
        wrapped.append(line)
        if " ".join(wrapped) == paragraph:
            break
    assert " ".join(wrapped) == paragraph and len(wrapped) >= 6
    assert "https://stadt.example/citycard" in lines  # too long after "Web:", on its own line


def test_58mm_arabic_raster_fits_58mm(code: RevocationCode) -> None:
    job = encode(build_receipt(sample_content("ar", code), PAPER_58MM).document, PAPER_58MM)
    rasters = decode(job.data, strict=True).rasters
    assert rasters and all(r.width == PAPER_58MM.dots for r in rasters)


def test_ukrainian_is_drawn_unless_cp1251_is_configured(code: RevocationCode) -> None:
    content = sample_content("uk", code)
    plain = decode(encode(build_receipt(content).document, PAPER_80MM).data, strict=True)
    assert plain.rasters and receipt_text("uk").title not in plain.text
    # CP866 (Russian) lacks the Ukrainian і, ї, є, ґ: Ukrainian is still drawn.
    cp866 = PAPER_80MM.with_code_pages(CP866)
    assert decode(encode(build_receipt(content, cp866).document, cp866).data).rasters
    profile = PAPER_80MM.with_code_pages(CP1251)
    job = encode(build_receipt(content, profile).document, profile)
    with_cp1251 = decode(job.data, strict=True)
    assert with_cp1251.rasters == []
    assert receipt_text("uk").title in with_cp1251.lines
    assert any(r.codepage == "CP1251" for r in with_cp1251.runs)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fa", "این کارت اجازه اقامت نیست."),
        ("ti", "እዚ ካርድ መንበሪ ፍቓድ ኣይኮነን።"),
        ("de", "Straße – „Grüße“ aus Zürich"),
    ],
)
def test_scripts_without_code_page_are_drawn(language: str, text: str) -> None:
    doc = Document((Text(text, Style.BODY, Align.START),), language)
    printed = decode(encode(doc, PAPER_80MM).data, strict=True)
    if language == "de":  # CP1252 has all of these
        assert printed.rasters == [] and text in printed.lines
    else:
        assert len(printed.rasters) == 1 and printed.text.strip() == ""
        ink = printed.rasters[0].ink_columns()
        assert ink is not None
        if language == "fa":
            assert ink[1] > PAPER_80MM.dots - PAPER_80MM.margin - 8  # right-aligned
        else:
            assert ink[0] < PAPER_80MM.margin + 8


def test_receipt_holds_no_personal_data(code: RevocationCode) -> None:
    content = sample_content("en", code)
    receipt = build_receipt(content)
    texts = [b.text for b in receipt.document.blocks if isinstance(b, Text)]
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
    assert "Holder" not in repr(receipt)


def test_paper_out_before_printing(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    sim.run_out_of_paper()
    with pytest.raises(PaperOutError) as err:
        printer_for().print_receipt(build_receipt(sample_content("en", code)))
    assert not err.value.during_job
    assert "paper roll" in str(err.value) and "Nothing was printed" in str(err.value)
    assert sim.printed == b"" and sim.unprinted == b""
    # Only status queries reached the printer: no job, no code.
    assert all(q.kind == "DLE EOT" for q in decode(sim.received).status_queries)
    assert decode(sim.received).runs == []
    # Paper loaded: the receipt prints.
    sim.load_paper()
    assert printer_for().print_receipt(build_receipt(sample_content("en", code))).confirmed


def test_paper_out_mid_job(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    sim.run_out_of_paper(after_bytes=6000)
    started = time.monotonic()
    with pytest.raises(PaperOutError) as err:
        printer_for().print_receipt(build_receipt(sample_content("ar", code)))
    assert err.value.during_job and "may be incomplete" in str(err.value)
    assert time.monotonic() - started < 3
    assert 0 < len(sim.printed) <= 6000 and len(sim.unprinted) > 0
    assert sim.decoded().cuts == []  # the receipt was not finished


def test_paper_out_right_after_the_last_byte(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    receipt = build_receipt(sample_content("en", code))
    size = len(encode(receipt.document, PAPER_80MM).data)
    sim.run_out_of_paper(after_bytes=size + 1)  # strikes on the GS r sync, after the cut
    with pytest.raises(PaperOutError) as err:
        printer_for().print_receipt(receipt)
    assert err.value.during_job


def test_cover_open_before_and_during(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    receipt = build_receipt(sample_content("en", code))
    sim.open_cover()
    with pytest.raises(CoverOpenError) as err:
        printer_for().print_receipt(receipt)
    assert not err.value.during_job and "cover" in str(err.value)
    sim.close_cover()
    sim.open_cover(after_bytes=200)
    with pytest.raises(CoverOpenError) as err:
        printer_for().print_receipt(receipt)
    assert err.value.during_job


def test_offline_mid_job_and_cutter_jam(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    receipt = build_receipt(sample_content("en", code))
    sim.go_offline(after_bytes=300)
    with pytest.raises(PrinterOfflineError) as err:
        printer_for().print_receipt(receipt)
    assert err.value.during_job and "switch it off and on" in str(err.value)
    sim.recover()
    sim.jam_cutter()
    with pytest.raises(PrinterOfflineError, match="cutter"):
        printer_for().print_receipt(receipt)


def test_a_cutter_jam_mid_receipt_says_the_print_out_may_be_incomplete(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    # Before, it said only "the cutter is jammed", unlike every other error during a job.
    sim.jam_cutter(after_bytes=300)
    with pytest.raises(PrinterOfflineError, match="cutter") as err:
        printer_for().print_receipt(build_receipt(sample_content("en", code)))
    assert err.value.during_job and "may be incomplete" in str(err.value)


def test_paper_near_end_is_reported_not_raised(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    sim.paper_near_end()
    result = printer_for().print_receipt(build_receipt(sample_content("en", code)))
    assert result.confirmed and result.paper_near_end


def test_unreachable_printer_fails_fast(code: RevocationCode) -> None:
    receipt = build_receipt(sample_content("en", code))
    printer = ReceiptPrinter.network("127.0.0.1", closed_port(), connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(PrinterUnreachableError) as err:
        printer.print_receipt(receipt)
    assert time.monotonic() - started < 1.0
    assert "switched on" in str(err.value) and not err.value.during_job


def test_printer_that_does_not_answer(
    sim: EscposSimulator, printer_for: PrinterFactory, code: RevocationCode
) -> None:
    sim.stop_answering()
    started = time.monotonic()
    with pytest.raises(PrinterOfflineError, match="does not answer"):
        printer_for(status_timeout=0.3).print_receipt(build_receipt(sample_content("en", code)))
    assert time.monotonic() - started < 2
    assert sim.printed == b""


def test_serial_printer_on_a_pty(sim: EscposSimulator, code: RevocationCode) -> None:
    """python-escpos' Serial printer (pyserial) on the simulator's pseudo-terminal."""
    device = sim.serve_pty()
    printer = ReceiptPrinter.serial(
        device, 115200, PAPER_80MM, status_timeout=1.0, sync_timeout=5.0, poll_interval=0.1
    )
    receipt = build_receipt(sample_content("fr", code))
    result = printer.print_receipt(receipt)
    assert result.confirmed and result.bytes_sent == len(sim.printed) - 3
    assert "Reçu d'inscription" in sim.decoded().lines
    sim.run_out_of_paper(after_bytes=500)
    with pytest.raises(PaperOutError) as err:
        printer.print_receipt(receipt)
    assert err.value.during_job


def test_file_printer_writes_but_cannot_confirm(tmp_path: Path, code: RevocationCode) -> None:
    path = tmp_path / "lp0"
    receipt = build_receipt(sample_content("de", code))
    result = ReceiptPrinter.file(str(path)).print_receipt(receipt)
    assert not result.confirmed and result.bytes_sent == path.stat().st_size
    assert "Gültig bis" in decode(path.read_bytes(), strict=True).lines


def test_receipt_for_wider_paper_is_refused(code: RevocationCode) -> None:
    receipt = build_receipt(sample_content("en", code), PAPER_80MM)
    printer = ReceiptPrinter.network("127.0.0.1", closed_port(), PAPER_58MM)
    with pytest.raises(PrinterError, match="58 mm"):
        printer.print_receipt(receipt)


def test_sample_content_is_complete() -> None:
    for language in KIOSK_LANGUAGES:
        content = sample_content(language, expires=date(2030, 1, 1))
        assert content.text == receipt_text(language) and content.contacts


KIOSK_LANGUAGES = sorted(
    p.name
    for p in (Path(__file__).parent.parent / "kiosk" / "translations").iterdir()
    if p.is_dir()
)


def test_every_kiosk_language_has_receipt_texts() -> None:
    assert len(KIOSK_LANGUAGES) >= 12 and {"fa", "ti", "tr"} <= set(KIOSK_LANGUAGES)
    english = receipt_text("en")
    for language in KIOSK_LANGUAGES:
        text = receipt_text(language)
        assert isinstance(text, ReceiptText)
        for name in ReceiptText.__dataclass_fields__:
            value = getattr(text, name)
            assert name == "separator" or (value and value == value.strip()), (language, name)
            assert "?" not in value and unicodedata.is_normalized("NFC", value)
            if language != "en" and name not in {"separator", "contacts_heading"}:
                assert value != getattr(english, name), (language, name)  # translated
        assert SAMPLE_PROGRAMME_TEXT[language] and "?" not in SAMPLE_PROGRAMME_TEXT[language]
        contacts = SAMPLE_CONTACTS[language]
        assert [c.value for c in contacts][:2] == [c.value for c in SAMPLE_CONTACTS["en"]][:2]


def _no_replacement_characters(text: str) -> None:
    assert "?" not in text and "\ufffd" not in text


@pytest.mark.parametrize("profile", [PAPER_80MM, PAPER_58MM], ids=lambda p: p.name)
@pytest.mark.parametrize("language", KIOSK_LANGUAGES)
def test_every_kiosk_language_builds_a_receipt(
    code: RevocationCode, language: str, profile: PaperProfile
) -> None:
    content = sample_content(language, code)
    job = encode(build_receipt(content, profile).document, profile)
    printed = decode(job.data, strict=True)
    _no_replacement_characters(printed.text)  # nothing went out as a character it lacks
    assert printed.text.count(code.printable) == 1 and "ZH-2026-000123" in printed.lines
    assert len(printed.cuts) == 1
    for raster in printed.rasters:
        assert raster.width == profile.dots
    for run in printed.runs:
        for line in run.text.split("\n"):
            assert len(line) * run.width <= profile.columns, line
    if _fits_a_code_page(content.text.title, profile):
        assert content.text.title in printed.lines
    else:  # a script or a letter the printer's code pages lack: drawn
        assert printed.rasters and content.text.title not in printed.text


def _fits_a_code_page(text: str, profile: PaperProfile) -> bool:
    for name, _ in profile.code_pages:
        try:
            text.encode(name.lower())
        except UnicodeEncodeError:
            continue
        return True
    return False


@pytest.mark.parametrize("language", ["fa", "ti"])
def test_farsi_and_tigrinya_are_raster(code: RevocationCode, language: str) -> None:
    profile = PAPER_80MM.with_code_pages(CP857, CP1251, CP1254)  # even with every code page
    printed = decode(
        encode(build_receipt(sample_content(language, code), profile).document, profile).data,
        strict=True,
    )
    assert len(printed.rasters) >= 4
    for char in printed.text:
        assert ord(char) < 0x250, f"{char!r} was sent as text"
    ink = printed.rasters[-1].ink_columns()
    assert ink is not None
    if language == "fa":  # right to left: right-aligned
        assert ink[1] > profile.dots - profile.margin - 8
    else:
        assert ink[0] < profile.margin + 8


@pytest.mark.parametrize("page", [CP857, CP1254], ids=lambda p: p[0])
def test_turkish_is_text_with_a_turkish_code_page(
    code: RevocationCode, page: tuple[str, int]
) -> None:
    content = sample_content("tr", code)
    profile = PAPER_80MM.with_code_pages(page)
    printed = decode(encode(build_receipt(content, profile).document, profile).data, strict=True)
    assert printed.rasters == []
    _no_replacement_characters(printed.text)
    assert "Kartınız kaybolursa veya çalınırsa" in printed.lines
    assert "İletişim" in printed.lines
    assert any(r.codepage == page[0] for r in printed.runs)


@pytest.mark.parametrize("language", KIOSK_LANGUAGES)
def test_kiosk_receipt_uses_the_residents_language(language: str) -> None:
    from kiosk.printing import Receipt, escpos_receipt

    receipt = Receipt(
        "Züri City Card",
        "ZH-2026-000123",
        date(2026, 9, 21),
        date(2031, 9, 21),
        language,
        revocation_code="7KQ2M-XR4PD",
    )
    printed = decode(escpos_receipt(receipt), strict=True)
    assert "\ufffd" not in printed.text
    assert "7KQ2M-XR4PD" in printed.lines
    title = receipt_text(language).title
    # Drawn where the default profile's code pages lack the title's script (the kiosk's
    # languages grow: which is which follows the words, not a list).
    if not printable_as_text(title, PAPER_80MM):
        assert printed.rasters and title not in printed.text
        assert receipt_text("en").title not in printed.text  # no fallback to English
        if not printable_as_text(receipt_about(language), PAPER_80MM):
            assert "?" not in printed.text  # the about text's question is drawn too
    else:
        assert title in printed.lines
        about = receipt_about(language)
        if printable_as_text(about, PAPER_80MM):
            # The only '?' is the one of the about text ("Lost your card?"), printed as text.
            assert printed.text.count("?") == about.count("?") == 1
            assert about.split()[0] in printed.text  # in the resident's language
        else:  # drawn (Polish: ł), its question with it
            assert "?" not in printed.text and printed.rasters


# -- the programme's contacts and lost-card page ---------------------------------------------


def _programme_receipt(pid: str, language: str, number: str = "NYC-2026-0000012345") -> bytes:
    from kiosk.printing import Receipt, escpos_receipt, receipt_contact
    from kiosk.programs import load_program

    program = load_program(pid)
    receipt = Receipt(
        program.name(language),
        number,
        date(2026, 9, 21),
        date(2031, 9, 21),
        language,
        revocation_code="7KQ2M-XR4PD",
        contact=receipt_contact(program, language),
    )
    return escpos_receipt(receipt)


def test_the_receipt_names_the_office_phone_web_and_lost_page() -> None:
    # Before, "Contact" had nothing under it and "report it online" gave no address.
    printed = decode(_programme_receipt("new-york", "en"), strict=True)
    contact = printed.lines.index("Contact")
    assert printed.lines[contact + 1 :] == [
        "Office: Any IDNYC enrolment centre",
        "Phone: +1 212 555 0100",
        "Web: https://www1.nyc.gov/site/idnyc/index.page",
    ]
    assert "Report it online: https://issuer.new-york.citycard.example/lost" in " ".join(
        printed.lines
    )
    [qr] = printed.qr_codes  # opens the issuer's lost-card page for this card
    assert qr.data == b"https://issuer.new-york.citycard.example/lost?doc=NYC-2026-0000012345"
    assert "Scan this code to report the card lost or stolen." in " ".join(printed.lines)


def test_the_office_is_in_the_residents_language() -> None:
    printed = decode(_programme_receipt("new-york", "es"), strict=True)
    # The line wraps at the paper's width: read the receipt as one text.
    assert "Oficina: Cualquier centro de inscripción de IDNYC" in " ".join(printed.lines)


def test_contact_is_never_empty() -> None:
    from kiosk.printing import Receipt, escpos_receipt

    receipt = Receipt("Demo City Card", "DEV00000018", date(2026, 9, 21), date(2031, 9, 21), "en")
    printed = decode(escpos_receipt(receipt), strict=True)
    contact = printed.lines.index("Contact")
    assert printed.lines[contact + 1 :] == ["Ask at the office where you enrolled."]
    assert printed.qr_codes == []  # no profile, no lost-card page to open


def test_every_programme_says_where_to_reach_it() -> None:
    from kiosk.printing import lost_page_address, receipt_contact
    from kiosk.programs import load_all

    programs = load_all()
    assert len(programs) == 14
    for pid, program in programs.items():
        contact = receipt_contact(program, program.card.design.languages[0])
        assert contact is not None and contact.office and contact.phone, pid
        assert contact.web and contact.web.startswith("https://"), pid
        assert contact.lost_url and contact.lost_url.endswith("/lost"), pid
    assert lost_page_address("https://x.example/lost", "ZH 1&2") == (
        "https://x.example/lost?doc=ZH+1%262"
    )


def test_lost_url_defaults_to_the_web_address() -> None:
    from kiosk.programs import load_program

    issuer = load_program("zurich").issuer
    assert replace(issuer, lost_page=None).lost_url == "https://zurich.citycard.example/lost"
    assert replace(issuer, lost_page=None, web=None).lost_url is None


def test_bad_contacts_in_a_profile_are_named(tmp_path: Path) -> None:
    import shutil

    from kiosk.programs import ProgramError, load_program

    programs = Path(__file__).resolve().parent.parent / "programs"
    shutil.copytree(programs / "arms", tmp_path / "arms")
    text = (programs / "zurich.toml").read_text("utf-8")
    text = text.replace('phone = "+41 44 000 00 00"', 'phone = "call us"')
    text = text.replace(
        'web = "https://zurich.citycard.example"', 'web = "http://zurich.example/?q=1"'
    )
    (tmp_path / "zurich.toml").write_text(text, "utf-8")
    with pytest.raises(ProgramError) as exc:
        load_program(tmp_path / "zurich.toml")
    message = str(exc.value)
    assert "issuer.phone" in message and "issuer.web" in message
