"""A nearly empty receipt roll is reported where the attendant looks (the attendant page),
not discarded: the ESC/POS printer's paper-near-end answer is kept by the receipt sink."""

from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.printing import EscposReceiptSink, Receipt
from kiosk.web import messages as msg
from printer.escpos_printer import PrintResult
from printer.paper import PAPER_80MM
from tests.test_kiosk_web import Kiosk, RecordingJob, make_app, tr


class NearlyEmptyPrinter:
    profile = PAPER_80MM

    def print_receipt(self, _layout: Any) -> PrintResult:
        return PrintResult(bytes_sent=1, confirmed=True, paper_near_end=True, seconds=0.0)


def test_the_receipt_sink_keeps_the_paper_near_end_answer() -> None:
    sink = EscposReceiptSink(NearlyEmptyPrinter())  # type: ignore[arg-type]
    assert sink.paper_near_end is False
    sink.print_receipt(Receipt("Demo City Card", "DEV00000018", date(2026, 9, 21), date(2031, 9, 21)))
    assert sink.paper_near_end is True


class LowPaperJob(RecordingJob):
    def paper_near_end(self) -> bool:
        return True


def test_the_attendant_page_says_the_roll_is_nearly_empty() -> None:
    kiosk = Kiosk(make_app(job=LowPaperJob()))
    kiosk.walk_to_review()
    page = kiosk.get("/attendant").get_data(as_text=True)
    assert tr("en", msg.PAPER_NEAR_END).replace("'", "&#39;") in page
    quiet = Kiosk(make_app())
    quiet.walk_to_review()
    assert "paper roll" not in quiet.get("/attendant").get_data(as_text=True)
