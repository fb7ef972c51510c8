"""Benchmark: the kiosk's software time per card against the time it waits on devices.

Each card is one resident's enrolment from the moment the photo is taken: the photo pipeline
(chip and print portraits from a 720 x 960 camera JPEG), then `kiosk.job.PersonalisationJob.run`
through the real stacks — allocation in the issuer's SQLite registry (in process, including
the receipt code's scrypt), signing with the kiosk key, the card layout at 300 dpi
(printer.card_layout), the durable journal (fsync per record), the chip written, read back and
locked through pcscd + vpcd, the card printer, the registry report, the receipt's ESC/POS bytes,
forgetting.

**Device time** is the time spent inside device calls, measured by wrapping them: the card
writer's `connect()` (waiting for the card) and every `Connection.transmit` / `uid` / `close`
(pcscd, vpcd, the virtual card), and the printers' modelled printing time. What the simulated
printers do besides waiting (the file card printer decoding and writing the PNGs, the receipt
sink building the ESC/POS bytes) counts as software, so the ratio errs on the high side.
**Software time** is the rest of the wall time per card.

The simulated devices take as long as real ones:
- the virtual card answers each APDU after `--apdu-ms` (default 8 ms: an ISO 14443-4 exchange
  of a 255-byte block at 106-424 kbit/s with frame waiting time is 5-25 ms on real readers);
- the card printer takes `--printer-s` per card (default 15 s: a YMCKO single-side colour print
  on desktop card printers such as the Evolis Primacy 2 or Zebra ZC300 is 12-25 s, i.e.
  150-300 cards/hour);
- the receipt printer takes `--receipt-s` (default 1.5 s: ~15 cm at 150-250 mm/s plus the cut).
`--scale` multiplies both printer times (e.g. 0.1 for a quick run); the ratio line is always
computed from the delays actually used, and the projection at full printer times is printed too.

One warm-up card (printer delays 0) loads modules and caches first; it is not counted.

    .venv/bin/python bench/kiosk.py [--cards 3] [--scale 1.0]

Ends with `ratio: X.XX` = total software time / total device time (target <= 0.05).
pcscd is reused when one with the vpcd reader runs, else started and stopped again.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.issuer.service import Issuer
from cardio.chip import CardProfile
from cardio.connection import Connection, ConnectionProxy
from cardio.credential import Holder
from hardware.local_issuer import IssuerAllocator
from hardware.virtual_t4t import Faults, VirtualType4Card
from kiosk.demo import synthetic_portrait
from kiosk.job import Enrolment, PcscWriter, Station, new_request_id
from kiosk.job import personalisation as job_module
from kiosk.journal import Journal, Record
from kiosk.photo import prepare_photos
from kiosk.printing import FileReceiptSink, Receipt, render_card_images, use_escpos_cache
from printer.card_printer import CardJobResult, FileCardPrinter, PrinterStatus

SLOT = 0


@dataclass
class Clock:
    """Seconds spent in named parts of one card."""

    parts: dict[str, float] = field(default_factory=dict)
    apdus: int = 0

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - start

    def get(self, name: str) -> float:
        return self.parts.get(name, 0.0)


CLOCK = Clock()
DEVICE_PARTS = ("writer", "card printer", "receipt printer")


class TimedConnection(ConnectionProxy):
    @property
    def uid(self) -> bytes:
        with CLOCK.part("writer"):
            return self.inner.uid

    def transmit(self, apdu: bytes) -> bytes:
        CLOCK.apdus += 1
        with CLOCK.part("writer"):
            return self.inner.transmit(apdu)

    def close(self) -> None:
        with CLOCK.part("writer"):
            self.inner.close()


class TimedWriter:
    def __init__(self, inner: PcscWriter) -> None:
        self.inner = inner

    def connect(self) -> Connection:
        with CLOCK.part("writer"):
            return TimedConnection(self.inner.connect())


class SlowCardPrinter:
    def __init__(self, inner: FileCardPrinter, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        with CLOCK.part("card printer"):
            time.sleep(self.seconds)
        return self.inner.print_card(front_png, back_png)  # writing the files: software

    def status(self) -> PrinterStatus:
        return self.inner.status()


class SlowReceipts:
    def __init__(self, inner: FileReceiptSink, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    def print_receipt(self, receipt: Receipt) -> None:
        with CLOCK.part("receipt printer"):
            time.sleep(self.seconds)
        self.inner.print_receipt(receipt)  # making the ESC/POS bytes: software


def _timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with CLOCK.part(name):
            return func(*args, **kwargs)

    return wrapper


class TimedJournal(Journal):
    def append(self, record: Record) -> None:
        with CLOCK.part("journal"):
            super().append(record)


class TimedAllocator:
    def __init__(self, inner: IssuerAllocator) -> None:
        self.inner = inner
        self.allocate = _timed("registry", inner.allocate)
        self.report_issued = _timed("registry", inner.report_issued)
        self.void = _timed("registry", inner.void)


class TimedSigner:
    def __init__(self, inner: Any) -> None:
        self.sign = _timed("sign", inner.sign)


def one_card(station: Station, upload: bytes, n: int) -> tuple[float, Clock]:
    global CLOCK
    CLOCK = Clock()
    start = time.perf_counter()
    with CLOCK.part("photo"):
        chip_photo, print_photo = prepare_photos(upload, 3072, 48 * 1024)
        assert chip_photo is not None
        chip, printed = chip_photo.jpeg, print_photo.jpeg
    holder = Holder("zurich", "Beispiel-Musterfrau", f"Mira {n}", date(1990, 1, 1), "X",
                    ("library", "pool"), ("de", "en"))  # fmt: skip
    enrolment = Enrolment(holder, CardProfile.T4T, chip, printed, expires=date(2030, 12, 31))
    result = station.job(new_request_id(), enrolment).run()
    assert result.receipt_printed
    return time.perf_counter() - start, CLOCK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cards", type=int, default=3, help="cards measured (after one warm-up)")
    parser.add_argument("--apdu-ms", type=float, default=8.0, help="card delay per APDU, ms")
    parser.add_argument("--printer-s", type=float, default=15.0, help="card printer per card, s")
    parser.add_argument("--receipt-s", type=float, default=1.5, help="receipt printer, s")
    parser.add_argument("--scale", type=float, default=1.0, help="factor on both printer times")
    args = parser.parse_args()
    from hardware.pcscd import ensure_pcscd
    from hardware.vpcd import VpcdCard
    from tests.pcsc_fixtures import wait_reader

    threads_before = set(threading.enumerate())
    started = time.monotonic()
    printer_s, receipt_s = args.printer_s * args.scale, args.receipt_s * args.scale
    rows: list[tuple[int, float, Clock]] = []
    service = ensure_pcscd()
    try:
        reader = service.vpcd_reader(SLOT)
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            use_escpos_cache(base / "cache")
            issuer = Issuer.init(base / "issuer", program="zurich", doc_prefix="ZUR")
            allocator = IssuerAllocator.ensure_kiosk(issuer)
            card_printer = SlowCardPrinter(FileCardPrinter(base / "out"), 0.0)
            receipts = SlowReceipts(FileReceiptSink(base / "out"), 0.0)
            station = Station(
                TimedAllocator(allocator),
                TimedSigner(allocator.kiosk_signer()),
                TimedJournal(base / "kiosk" / "journal.jsonl"),
                TimedWriter(PcscWriter(reader, timeout=10)),
                card_printer,
                receipts,
            )
            # time the card layout where the job calls it
            job_module.render_card_images = _timed("card layout", render_card_images)  # type: ignore[attr-defined]
            upload = synthetic_portrait()
            for n in range(args.cards + 1):
                card = VirtualType4Card("t4t", faults=Faults(delay=args.apdu_ms / 1000))
                vcard = VpcdCard(card, SLOT).start()
                try:
                    wait_reader(reader, True)
                    warm = n == 0
                    card_printer.seconds = 0.0 if warm else printer_s
                    receipts.seconds = 0.0 if warm else receipt_s
                    wall, clock = one_card(station, upload, n)
                    assert card.locked
                finally:
                    vcard.stop()
                    wait_reader(reader, False)
                if not warm:
                    rows.append((n, wall, clock))
            issuer.close()
    finally:
        service.stop()
    deadline = time.monotonic() + 5.0
    while extra := [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]:
        assert time.monotonic() < deadline, f"threads left behind: {extra}"
        time.sleep(0.02)
    report(rows, args, printer_s, receipt_s, time.monotonic() - started)


def report(
    rows: list[tuple[int, float, Clock]],
    args: argparse.Namespace,
    printer_s: float,
    receipt_s: float,
    elapsed: float,
) -> None:
    soft_parts = ("photo", "registry", "sign", "card layout", "journal")
    header = (
        f"{'card':>4} {'wall s':>8} {'device s':>9} {'chip s':>7} {'APDUs':>5} {'printers s':>10}"
        f" {'software ms':>11}"
        + "".join(f" {p[:11]:>11}" for p in soft_parts)
        + f" {'other ms':>8}"
        f" {'ratio':>6}"
    )
    print(
        f"t4t card, 3 KB chip photo; card {args.apdu_ms:g} ms/APDU, card printer {printer_s:g} s, "
        f"receipt printer {receipt_s:g} s (scale {args.scale:g}); software = wall - device"
    )
    print(header)
    print("-" * len(header))
    total_soft = total_dev = 0.0
    softs = []
    for n, wall, c in rows:
        device = sum(c.get(p) for p in DEVICE_PARTS)
        soft = wall - device
        named = sum(c.get(p) for p in soft_parts)
        total_soft += soft
        total_dev += device
        softs.append(soft)
        print(
            f"{n:>4} {wall:>8.2f} {device:>9.2f} {c.get('writer'):>7.3f} {c.apdus:>5}"
            f" {c.get('card printer') + c.get('receipt printer'):>10.2f} {soft * 1000:>11.1f}"
            + "".join(f" {c.get(p) * 1000:>11.1f}" for p in soft_parts)
            + f" {(soft - named) * 1000:>8.1f} {soft / device:>6.3f}"
        )
    print("-" * len(header))
    mean_dev = total_dev / len(rows)
    print(
        f"software per card: median {statistics.median(softs) * 1000:.0f} ms, mean "
        f"{total_soft / len(rows) * 1000:.0f} ms; device per card: mean {mean_dev:.2f} s"
    )
    if args.scale != 1.0:
        full = mean_dev + (args.printer_s + args.receipt_s) * (1 - args.scale)
        print(
            f"at full printer times ({args.printer_s:g} s + {args.receipt_s:g} s) the device "
            f"time would be {full:.2f} s per card: ratio {total_soft / len(rows) / full:.3f}"
        )
    print(f"elapsed {elapsed:.1f} s")
    print(f"ratio: {total_soft / total_dev:.2f}")


if __name__ == "__main__":
    main()
