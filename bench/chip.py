"""Benchmark: a full chip read (chip credential with a 3 KB photo) through the real stacks.

One t4t chip is personalised, then `cardio.chip.read_card` (SELECTs, CC, NDEF, offline verify of
the credential and its UID binding) runs against it through:

- pcscd + the vpcd driver, short APDUs (card MLe 255) and extended APDUs (card MLe 4096);
- nfcpy's `udp` radio with `hardware.nfc_udp.NfcUdpTarget` (ISO-DEP chaining by nfcpy), short
  and extended, and with the target's airtime model at 106 and 424 kbit/s.

Every row reports the APDUs we sent, the minimum for that frame size
(`cardio.type4.minimum_read_apdus` with chunk = min(card MLe, the connection's largest Ne)),
the APDU bytes both ways, the ISO-DEP frames and their bytes (PCB and CRC_A included; udp only),
the median wall time of `read_card` over N reads, and the on-air lower bound
APDU bytes x 9 / rate at 106 and 424 kbit/s. The UID is not counted: a PC/SC reader answers
GET DATA FF CA itself and nfcpy has it from anticollision; it is fetched before timing.
Ends with `ratio: X.XX` = sum of minimum APDUs / sum of our APDUs over the measured rows
(target 1.00).

    .venv/bin/python bench/chip.py [--reps 20] [--air-reps 5]

pcscd is reused when one with the vpcd reader runs, else started and stopped again; the vpcd
slots' machine lock is held meanwhile. No card thread, simulator or pcscd of ours is left.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.issuer.service import Issuer
from cardio.apdu import ApduProcessor
from cardio.chip import CardProfile, bind, personalise, read_card
from cardio.connection import Connection, ConnectionProxy
from cardio.credential import Holder
from cardio.errors import CardConnectionError
from cardio.published import load_verifier
from cardio.type4 import minimum_read_apdus, ndef_message
from cardio.verdict import Verdict
from cardio.verify import Verifier
from hardware.local import LocalConnection
from hardware.virtual_t4t import VirtualType4Card

UID = bytes.fromhex("04C17C0DE0B3A7")
RATES = (106_000, 424_000)  # bit/s
DEADLINE = 55.0  # seconds: rows not started by then are skipped


def _photo() -> bytes:
    from tests.conftest import synthetic_photo

    return synthetic_photo(3072)


class Counting(ConnectionProxy):
    """A pass-through Connection that counts APDUs and bytes both ways."""

    def __init__(self, inner: Connection) -> None:
        super().__init__(inner)
        self.apdus = 0
        self.sent = 0
        self.received = 0

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        self.apdus += 1
        self.sent += len(apdu)
        self.received += len(response)
        return response


class FrameCounter:
    """Counts the ISO-DEP frames and their on-air bytes (+2 CRC_A each) at a udp target."""

    def __init__(self, target: Any) -> None:
        self.frames = 0
        self.bytes = 0
        self._handle: Callable[[bytes], bytes | None] = target.picc.handle
        target.picc.handle = self.handle

    def handle(self, frame: bytes) -> bytes | None:
        answer = self._handle(frame)
        self.frames += 1
        self.bytes += len(frame) + 2
        if answer is not None:
            self.frames += 1
            self.bytes += len(answer) + 2
        return answer


@dataclass
class Row:
    path: str
    frame: str
    reps: int = 0
    apdus: int = 0
    minimum: int = 0
    apdu_bytes: int = 0
    frames: int | None = None
    frame_bytes: int | None = None
    median_ms: float = 0.0
    na: str | None = None


def measure(
    row: Row,
    conn: Connection,
    card: VirtualType4Card,
    verifier: Verifier,
    nlen: int,
    reps: int,
    frames: FrameCounter | None = None,
) -> Row:
    """`reps` full reads through `conn`; every one must be VALID and exchange the same APDUs."""
    assert conn.uid == UID  # fetched (and cached by the connection) before timing
    chunk = max(1, min(card.mle, ApduProcessor(conn).max_response))
    row.minimum = minimum_read_apdus(nlen, chunk, card.nlen_size)
    times: list[float] = []
    seen: set[tuple[int, int, int, int]] = set()
    for _ in range(reps):
        counting = Counting(conn)
        f0 = (frames.frames, frames.bytes) if frames else (0, 0)
        gc.disable()
        t0 = time.perf_counter()
        read = read_card(counting, verifier)
        elapsed = time.perf_counter() - t0
        gc.enable()
        assert read.result.verdict is Verdict.VALID, read.result
        assert read.apdus == counting.apdus and read.bytes_received == counting.received
        times.append(elapsed)
        df = (frames.frames - f0[0], frames.bytes - f0[1]) if frames else (0, 0)
        seen.add((counting.apdus, counting.sent + counting.received, *df))
    assert len(seen) == 1, f"reads differ: {seen}"
    row.apdus, row.apdu_bytes, nframes, nframe_bytes = seen.pop()
    if frames:
        row.frames, row.frame_bytes = nframes, nframe_bytes
    row.reps = reps
    row.median_ms = statistics.median(times) * 1000
    return row


# -- the transports ------------------------------------------------------------------------------


def pcsc_rows(
    short: VirtualType4Card, ext: VirtualType4Card, verifier: Verifier, nlen: int, reps: int
) -> list[Row]:
    rows = [
        Row("pcscd+vpcd", f"short, MLe {short.mle}"),
        Row("pcscd+vpcd", f"extended, MLe {ext.mle}"),
    ]
    try:
        from hardware.pcscd import ensure_pcscd
        from hardware.vpcd import VpcdCard
        from tests.pcsc_fixtures import wait_reader

        service = ensure_pcscd()
    except (CardConnectionError, ImportError) as exc:
        for row in rows:
            row.na = f"no pcscd with vpcd: {exc}"
        return rows
    from cardio.pcsc import PcscConnection

    pid = service.pid
    try:
        for slot, (row, card, extended) in enumerate(
            ((rows[0], short, False), (rows[1], ext, True))
        ):
            reader = service.vpcd_reader(slot)
            vcard = VpcdCard(card, slot).start()
            try:
                with PcscConnection.wait(reader, timeout=5, extended_length=extended) as conn:
                    if extended and (why := _extended_blocked(conn, card)):
                        row.na = why
                        continue
                    measure(row, conn, card, verifier, nlen, reps)
            finally:
                vcard.stop()
                wait_reader(reader, False)
    finally:
        service.stop()
    if pid is not None:
        assert service.process is None and not _alive(pid), f"our pcscd {pid} still runs"
    return rows


def _extended_blocked(conn: Connection, card: VirtualType4Card) -> str | None:
    """Why pcscd+vpcd does not carry one extended READ BINARY (Le = MLe) intact; None if it does."""
    try:
        assert conn.transmit(bytes.fromhex("00A4040007D276000085010100"))[-2:] == b"\x90\x00"
        assert conn.transmit(bytes.fromhex("00A4000C02E104"))[-2:] == b"\x90\x00"
        response = conn.transmit(b"\x00\xb0\x00\x00\x00" + card.mle.to_bytes(2, "big"))
    except (CardConnectionError, AssertionError) as exc:
        return f"vpcd refused an extended APDU: {exc}"
    if response != card.ndef_file[: card.mle] + b"\x90\x00":
        return f"vpcd returned {len(response)} bytes for an extended Le {card.mle}"
    return None


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@contextmanager
def nfc_card(
    card: VirtualType4Card, *, airtime: bool = False, brty: str = "106A"
) -> Iterator[tuple[Connection, FrameCounter]]:
    """A udp target with `card` and an nfcpy connection to it at bit rate `brty`."""
    from cardio.nfc_backend import NfcConnection
    from hardware.nfc_udp import NfcUdpTarget

    with NfcUdpTarget(card, airtime=airtime) as target:
        path = f"udp:localhost:{target.port}"
        conn: Connection
        if brty == "106A":
            conn = NfcConnection.wait(path, timeout=5)
        else:
            conn = _nfc_connect(path, brty, timeout=5)
        with conn:
            yield conn, FrameCounter(target)


def _nfc_connect(path: str, brty: str, timeout: float) -> Connection:
    """NfcConnection.wait at another bit rate than 106 kbit/s (nfcpy's udp radio senses 424A)."""
    import nfc.clf
    import nfc.tag
    import nfc.tag.tt4

    from cardio.nfc_backend import NfcConnection, open_frontend

    clf = open_frontend(path)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            target = clf.sense(nfc.clf.RemoteTarget(brty), iterations=1)
            tag = nfc.tag.activate(clf, target) if target is not None else None
            if isinstance(tag, nfc.tag.tt4.Type4Tag):
                return NfcConnection(clf, tag, path)
            time.sleep(0.05)
    except BaseException:
        clf.close()
        raise
    clf.close()
    raise CardConnectionError(f"no Type 4A card answered at {brty} on {path}")


def nfc_rows(
    short: VirtualType4Card,
    ext: VirtualType4Card,
    verifier: Verifier,
    nlen: int,
    reps: int,
    air_reps: int,
    started: float,
) -> list[Row]:
    plan = [
        (Row("nfcpy udp", f"short, MLe {short.mle}"), short, False, "106A", reps),
        (Row("nfcpy udp", f"extended, MLe {ext.mle}"), ext, False, "106A", reps),
        (Row("nfcpy udp, air 106k", f"short, MLe {short.mle}"), short, True, "106A", air_reps),
        (Row("nfcpy udp, air 424k", f"short, MLe {short.mle}"), short, True, "424A", air_reps),
    ]
    rows = []
    for row, card, airtime, brty, n in plan:
        rows.append(row)
        if time.monotonic() - started > DEADLINE:
            row.na = "skipped: out of time"
            continue
        with nfc_card(card, airtime=airtime, brty=brty) as (conn, frames):
            measure(row, conn, card, verifier, nlen, n, frames)
    return rows


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=20, help="reads per row without airtime")
    parser.add_argument("--air-reps", type=int, default=10, help="reads per airtime row")
    args = parser.parse_args()
    started = time.monotonic()
    threads_before = set(threading.enumerate())

    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer.init(Path(tmp) / "issuer")
        short = VirtualType4Card(profile="t4t", uid=UID)
        ext = VirtualType4Card(profile="t4t", uid=UID, extended=True)
        holder = Holder(
            "demo", "Müller", "Anna", date(1985, 6, 15), "F", ("library", "pool"), ("de",)
        )
        photo = _photo()
        binding = bind(LocalConnection(short), CardProfile.T4T)
        issued = issuer.issue(replace(holder, photo=photo), chip_binding=binding)
        assert issued.chip_cose is not None
        issuer.publish()
        verifier, problems = load_verifier(Path(tmp) / "issuer")
        assert not problems, problems
        for card, extended in ((short, False), (ext, True)):
            with LocalConnection(card, extended_length=extended) as conn:
                done = personalise(conn, issued.chip_cose)
            assert done.locked and done.uid == UID
        nlen = len(ndef_message(issued.chip_cose))

        with LocalConnection(short) as conn:
            local = measure(Row("in-process", "short"), conn, short, verifier, nlen, args.reps)

        rows = pcsc_rows(short, ext, verifier, nlen, args.reps)
        rows += nfc_rows(short, ext, verifier, nlen, args.reps, args.air_reps, started)

    # leave nothing behind: simulator, card-process and nfcpy threads must all be gone
    deadline = time.monotonic() + 5.0
    while extra := [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]:
        assert time.monotonic() < deadline, f"threads left behind: {extra}"
        time.sleep(0.02)

    print(
        f"photo {len(photo)} B, chip credential {len(issued.chip_cose)} B, "
        f"NDEF message {nlen} B + 2 B NLEN; t4t chip, UID bound; medians of read_card "
        "(read + offline verify)"
    )
    head = (
        f"{'path':<20} {'APDUs':<19} {'ours':>4} {'min':>4} {'APDU B':>7} {'frames':>6} "
        f"{'frame B':>7} {'n':>3} {'median ms':>9} {'air106 ms':>9} {'air424 ms':>9}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        if row.na:
            print(f"{row.path:<20} {row.frame:<19} n/a: {row.na}")
            continue
        air = [row.apdu_bytes * 9 / rate * 1000 for rate in RATES]
        frames = "-" if row.frames is None else str(row.frames)
        frame_bytes = "-" if row.frame_bytes is None else str(row.frame_bytes)
        print(
            f"{row.path:<20} {row.frame:<19} {row.apdus:>4} {row.minimum:>4} {row.apdu_bytes:>7} "
            f"{frames:>6} {frame_bytes:>7} {row.reps:>3} {row.median_ms:>9.2f} "
            f"{air[0]:>9.1f} {air[1]:>9.1f}"
        )
    print("-" * len(head))
    print(
        f"in-process reference (LocalConnection, no transport): {local.apdus} APDUs, "
        f"median {local.median_ms:.2f} ms over {local.reps}"
    )
    print(f"elapsed {time.monotonic() - started:.1f} s")
    measured = [row for row in rows if not row.na]
    assert measured, "no row could be measured"
    ratio = sum(r.minimum for r in measured) / sum(r.apdus for r in measured)
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
