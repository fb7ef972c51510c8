"""Benchmark: render time and bytes on the wire for receipts and paper cards, per language.

Each row lays a document out (`build_receipt` / `build_paper_card`), encodes it to ESC/POS
through python-escpos (render = both, median of --reps, languages interleaved in rounds), then
prints it once through `ReceiptPrinter` over python-escpos' Network printer to the simulated
TCP printer (`hardware.escpos_sim`), which counts the bytes it received: the job plus the
status queries before and after it. English, French and German fit the printer's code pages
and go as text; Arabic and Chinese are drawn with Noto fonts and go as raster images.

Ends with `ratio: X.XX` = bytes of the English receipt drawn as a raster / bytes of the same
receipt sent as text.

    .venv/bin/python bench/print.py [--reps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.issuer.service import Issuer
from cardio.credential import Holder, to_qr
from hardware.escpos_sim import EscposSimulator
from kiosk.printing import paper_card_text
from printer.document import Document, EncodedJob, encode
from printer.escpos_printer import ReceiptPrinter
from printer.paper import PAPER_58MM, PAPER_80MM, PaperProfile
from printer.paper_card import PaperCardContent, build_paper_card
from printer.receipt import RevocationCode, build_receipt
from tests.receipt_samples import sample_content

LANGUAGES = ("en", "fr", "de", "ar", "zh")
NAMES = {
    "en": ("Miller", "Anna"),
    "fr": ("Lefèvre", "Zoé"),
    "de": ("Müller", "Jürgen"),
    "ar": ("الهاشمي", "فاطمة"),
    "zh": ("王", "小明"),
}


@dataclass
class Row:
    kind: str
    language: str
    mode: str
    profile: PaperProfile
    build: Callable[[], Document]
    times: list[float]
    job: EncodedJob | None = None
    wire: int = 0
    print_ms: float = 0.0


def _photo() -> bytes:
    from tests.conftest import synthetic_photo

    return synthetic_photo(3072)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5, help="renders per row (median)")
    args = parser.parse_args()
    started = time.perf_counter()

    code = RevocationCode.generate()
    code_times = []
    for _ in range(3):
        t = time.perf_counter()
        RevocationCode.generate()
        code_times.append(time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer.init(Path(tmp) / "issuer")
        photo = _photo()
        rows: list[Row] = []
        for lang in LANGUAGES:
            content = sample_content(lang, code)
            mode = "text" if lang in ("en", "fr", "de") else "raster"
            rows.append(
                Row(
                    "receipt",
                    lang,
                    mode,
                    PAPER_80MM,
                    lambda c=content: build_receipt(c, PAPER_80MM).document,
                    [],
                )
            )
        en = sample_content("en", code)
        rows.append(
            Row(
                "receipt",
                "en",
                "raster*",
                PAPER_80MM,
                lambda: build_receipt(en, PAPER_80MM, force_raster=True).document,
                [],
            )
        )
        for lang in ("en", "ar"):
            content = sample_content(lang, code)
            mode = "text" if lang == "en" else "raster"
            rows.append(
                Row(
                    "receipt",
                    lang,
                    mode,
                    PAPER_58MM,
                    lambda c=content: build_receipt(c, PAPER_58MM).document,
                    [],
                )
            )
        for lang in LANGUAGES:
            family, given = NAMES[lang]
            holder = Holder("demo", family, given, date(1985, 6, 15), None, ("library",), (lang,))
            issued = issuer.issue(replace(holder, photo=photo))
            card = PaperCardContent.from_credential(
                issued.credential,
                to_qr(issued.print_cose),
                programme_name="Züri City Card",
                text=paper_card_text(lang),
                language=lang,
                photo=photo,
            )
            mode = "text+photo" if lang in ("en", "fr", "de") else "raster"
            rows.append(
                Row(
                    "paper card",
                    lang,
                    mode,
                    PAPER_80MM,
                    lambda c=card: build_paper_card(c, PAPER_80MM).document,
                    [],
                )
            )

        for row in rows:  # warm-up: fonts loaded, glyph coverage cached
            encode(row.build(), row.profile)
        for _ in range(args.reps):
            for row in rows:
                t = time.perf_counter()
                row.job = encode(row.build(), row.profile)
                row.times.append(time.perf_counter() - t)

        with EscposSimulator() as sim:
            for row in rows:
                sim.clear()
                printer = ReceiptPrinter.network(sim.host, sim.port, row.profile)
                t = time.perf_counter()
                result = printer.print_document(row.build())
                row.print_ms = (time.perf_counter() - t) * 1000
                assert result.confirmed
                row.wire = len(sim.received)

    header = (
        f"{'document':<11}{'lang':<6}{'paper':<7}{'mode':<12}{'render ms':>10}{'job B':>9}"
        f"{'wire B':>9}{'images':>8}{'QR':>8}{'print ms':>10}"
    )
    print(
        f"median of {args.reps} renders (layout + ESC/POS encoding); wire B = bytes the simulated "
        "printer received (job + status queries); print ms = one print over TCP incl. render"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        job = row.job
        assert job is not None
        qr = "native" if job.qr_native else ("raster" if job.qr_raster else "-")
        print(
            f"{row.kind:<11}{row.language:<6}{row.profile.name:<7}{row.mode:<12}"
            f"{statistics.median(row.times) * 1000:>10.1f}{len(job.data):>9}{row.wire:>9}"
            f"{job.raster_images:>8}{qr:>8}{row.print_ms:>10.1f}"
        )
    print("-" * len(header))
    print("raster* = the English receipt with every block drawn (force_raster), for the ratio")
    print(
        f"revocation code (scrypt N=2^15, r=8, p=1): median "
        f"{statistics.median(code_times) * 1000:.0f} ms to generate and hash"
    )
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    text_receipt = next(r for r in rows if r.kind == "receipt" and r.mode == "text")
    raster_receipt = next(r for r in rows if r.mode == "raster*")
    assert text_receipt.job is not None and raster_receipt.job is not None
    print(f"ratio: {len(raster_receipt.job.data) / len(text_receipt.job.data):.2f}")


if __name__ == "__main__":
    main()
