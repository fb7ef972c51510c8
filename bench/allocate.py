"""Benchmark: kiosk allocations on PostgreSQL as the registry grows, against a bare transaction.

Starts (or finds) the loopback PostgreSQL of scripts/ensure_postgres.sh and makes a fresh
issuer whose registry lives in a schema of its own. At each size (0 cards, 1 M, then
`--cards`) it measures allocations per second with 16 concurrent kiosks: 16 threads, each its
own kiosk account, calling the real `Issuer.allocate` (api.issuer.cards.CardRegistry: keyed
receipt-code digest, document counter, slot cursor, card row, audit row, in one transaction)
and, side by side, a bare transaction doing the same statements in plain SQL through psycopg
(kiosk read, request probe, both counters, slot probe, card and audit
inserts) on 16 connections, the two interleaved (`--rounds`, alternating which goes first).
Between sizes the set-up fills the registry with COPY (cards
issued by the CLI, 1 % revoked), laying the filled cards on the slots the lists' cursors would
have handed out, so that allocations continue exactly as after a real fill.

After each fill it publishes every status list with the issuer's publisher and reports their
total signed size (the budget of a reader that holds them all).

Prints a table (allocations per second, mean time per allocation, ours / bare) and ends with
`slope: X.XX` (our mean time per allocation at `--cards` over that at 0; target <= 1.5) and
`ratio: X.XX` (ours / bare in allocations per second at `--cards`; target >= 0.5).

    .venv/bin/python bench/allocate.py [--cards 10000000] [--seconds 10] [--rounds 2] [--kiosks 16]
"""

from __future__ import annotations

import argparse
import io
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.issuer.cards import luhn_digit  # noqa: E402
from api.issuer.registry import queries  # noqa: E402
from api.issuer.service import Issuer  # noqa: E402
from api.issuer.slots import SlotOrder, slot_key  # noqa: E402
from cardio.published import STATUS_DIR, STATUS_SUFFIX  # noqa: E402

NOW = 1_790_000_000
BARE_LIST = "bare"
BARE_COUNTER = "bare-document"
MILLION = 1_000_000


@dataclass
class Rate:
    allocations: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.allocations / self.seconds

    @property
    def mean_ms(self) -> float:
        return 1000 * statistics.fmean(self.latencies)


def merge(rates: list[Rate]) -> Rate:
    return Rate(
        sum(r.allocations for r in rates),
        sum(r.seconds for r in rates),
        [x for r in rates for x in r.latencies],
    )


def postgres_url() -> str:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure_postgres.sh")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip()


def fresh_schema(base: str) -> tuple[str, str, str]:
    """(SQLAlchemy URL, psycopg conninfo, schema) of a new, empty schema."""
    schema = "bench_alloc_" + secrets.token_hex(4)
    url = make_url(base).set(drivername="postgresql+psycopg")
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    options = f"-csearch_path={schema}"
    sa_url = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return sa_url, f"{plain}?options={options.replace('=', '%3D')}", schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def run_threads(kiosks: int, seconds: float, work: Callable[[int, int], None]) -> Rate:
    """`work(thread, n)` in `kiosks` threads for `seconds`; one allocation per call."""
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(kiosks)]
    errors: list[BaseException] = []

    def loop(t: int) -> None:
        n = 0
        try:
            while time.monotonic() < stop:
                start = time.perf_counter()
                work(t, n)
                latencies[t].append(time.perf_counter() - start)
                n += 1
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(t,)) for t in range(kiosks)]
    began = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - began
    if errors:
        raise SystemExit(f"an allocation failed: {errors[0]!r}")
    flat = [x for lat in latencies for x in lat]
    return Rate(len(flat), elapsed, flat)


class Bench:
    def __init__(self, workdir: Path, sa_url: str, conninfo: str, kiosks: int) -> None:
        self.issuer = Issuer.init(workdir / "issuer", now=NOW, database_url=sa_url)
        self.conninfo = conninfo
        self.kiosks = [f"kiosk-{n:02d}" for n in range(kiosks)]
        for kiosk in self.kiosks:
            self.issuer.add_kiosk(kiosk, now=NOW)
        self.size = int(self.issuer.config["status_list_size"])
        self.round = 0
        self.cards = 0  # filled by COPY, beside the measured allocations
        self.shuffler = random.Random(1)
        with self.issuer.registry.write() as s:
            queries.ensure_status_list(s, BARE_LIST, 2**31 - 1, 2, NOW)
            queries.ensure_counter(s, BARE_COUNTER)
            queries.ensure_counter(s, queries.slot_cursor(BARE_LIST))
        self.bare_conns = [psycopg.connect(conninfo) for _ in self.kiosks]
        self.kid = {k.kiosk_id: k.kid for k in self.issuer.accounts.kiosks()}

    def published_status_bytes(self) -> tuple[int, int]:
        """(lists, bytes): every status list signed by the issuer's publisher, as readers get
        them (DIR/public/status/*.cwt)."""
        self.issuer.publish_status(now=NOW)
        lists = self.issuer.config["status_lists"]
        public = self.issuer.dir / "public" / STATUS_DIR
        return len(lists), sum((public / f"{lid}{STATUS_SUFFIX}").stat().st_size for lid in lists)

    def close(self) -> None:
        for conn in self.bare_conns:
            conn.close()
        self.issuer.close()

    # -- the two contenders ---------------------------------------------------------------------

    def ours(self, seconds: float) -> Rate:
        self.round += 1
        tag = f"r{self.round}"

        def work(t: int, n: int) -> None:
            self.issuer.allocate(self.kiosks[t], f"{tag}-{n}", NOW)

        return run_threads(len(self.kiosks), seconds, work)

    def bare(self, seconds: float) -> Rate:
        self.round += 1
        tag = f"r{self.round}"
        digest = "hmac-sha256$" + "A" * 22 + "$" + "B" * 43

        def work(t: int, n: int) -> None:
            kiosk, conn = self.kiosks[t], self.bare_conns[t]
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT state, kid FROM kiosks WHERE kiosk_id = %s", (kiosk,))
                (_state, kid) = cur.fetchone() or ("", "")
                cur.execute("SELECT document_number FROM cards WHERE kiosk_id = %s AND request_id = %s", (kiosk, f"{tag}-{n}"))
                cur.execute("UPDATE counters SET value = value + 1 WHERE name = %s RETURNING value", (BARE_COUNTER,))
                seq = cur.fetchone()[0]  # type: ignore[index]
                cur.execute("UPDATE counters SET value = value + 1 WHERE name = %s RETURNING value", (queries.slot_cursor(BARE_LIST),))
                idx = cur.fetchone()[0]  # type: ignore[index]
                cur.execute("SELECT document_number FROM cards WHERE status_list = %s AND status_index = %s", (BARE_LIST, idx))
                cur.execute(
                    "INSERT INTO cards (document_number, status_list, status_index, kid, status, state, kiosk_id, request_id, revocation_code_hash, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, 'valid', 'allocated', %s, %s, %s, %s, %s)",
                    (f"BARE{seq:08d}", BARE_LIST, idx, kid, kiosk, f"{tag}-{n}", digest, NOW, NOW),
                )
                cur.execute(
                    "INSERT INTO audit_events (at, actor_type, actor_id, action, document_number) VALUES (%s, 'kiosk', %s, 'allocate', %s)",
                    (NOW, kiosk, f"BARE{seq:08d}"),
                )

        return run_threads(len(self.kiosks), seconds, work)

    # -- filling with COPY ----------------------------------------------------------------------

    def fill_to(self, cards: int) -> float:
        """Add CLI-issued cards (1 % revoked) until about `cards` are in the lists; seconds taken."""
        start = time.monotonic()
        config = self.issuer._config
        pepper = config.pepper()
        prefix = config.data["doc_prefix"]
        lists: list[str] = list(config.data["status_lists"])
        with self.issuer.registry.read() as s:
            cursors = {
                lid: min(self.size, int(s.execute(text("SELECT value FROM counters WHERE name = :n"), {"n": queries.slot_cursor(lid)}).scalar() or 0))
                for lid in lists
            }
        in_lists = sum(cursors.values())
        todo = cards - in_lists
        if todo <= 0:
            return 0.0
        with psycopg.connect(self.conninfo) as conn, conn.cursor() as cur:
            cur.execute("SELECT value FROM counters WHERE name = 'document'")
            seq = int(cur.fetchone()[0])  # type: ignore[index]
            n = 0
            buf = io.StringIO()
            while n < todo:
                lid = lists[-1]
                pos = cursors.setdefault(lid, 0)
                if pos >= self.size:
                    lid = str(int(lid) + 1)
                    lists.append(lid)
                    cursors[lid] = 0
                    cur.execute(
                        "INSERT INTO status_lists (list_id, size, bits, created_at) VALUES (%s, %s, 2, %s)",
                        (lid, self.size, NOW),
                    )
                    continue
                take = min(self.size - pos, todo - n)
                order = SlotOrder(slot_key(pepper, lid), self.size)
                if pos == 0 and take == self.size:
                    # A whole list: every slot, in an order as random as the permutation's (so
                    # that the revoked 1 % fall where they would), without 131072 Feistel walks.
                    slots: list[int] = list(range(self.size))
                    self.shuffler.shuffle(slots)
                else:
                    slots = [order.slot(p) for p in range(pos, pos + take)]
                for idx in slots:
                    seq += 1
                    digits = f"{seq:07d}"
                    status = "revoked" if seq % 100 == 0 else "valid"
                    buf.write(f"{prefix}{digits}{luhn_digit(digits)}\t{lid}\t{idx}\t{'0' * 16}\t{NOW}\t{NOW + 10**8}\t{status}\tissued\t{NOW}\t{NOW}\n")
                cursors[lid] = pos + take
                n += take
                if buf.tell() > 64 * 1024 * 1024 or n >= todo:
                    buf.seek(0)
                    with cur.copy("COPY cards (document_number, status_list, status_index, kid, iat, exp, status, state, created_at, updated_at) FROM STDIN") as copy:
                        while chunk := buf.read(1 << 20):
                            copy.write(chunk)
                    buf = io.StringIO()
            cur.execute("UPDATE counters SET value = %s WHERE name = 'document'", (seq,))
            for lid, pos in cursors.items():
                cur.execute(
                    "INSERT INTO counters (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                    (queries.slot_cursor(lid), pos),
                )
            conn.commit()
        # Now, not during a measurement: autovacuum would visit a million fresh rows.
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE cards")
        config.data["status_lists"] = lists
        config.save()
        self.cards += todo
        return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=10 * MILLION, help="the registry's size at the last step")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per side and size, interleaved")
    parser.add_argument("--kiosks", type=int, default=16, help="concurrent kiosks (threads)")
    args = parser.parse_args()
    base = postgres_url()
    sa_url, conninfo, schema = fresh_schema(base)
    workdir = Path(tempfile.mkdtemp(prefix="citycard-bench-allocate-"))
    sizes = sorted({0, min(MILLION, args.cards), args.cards})
    rows: list[tuple[int, Rate, Rate]] = []
    budgets: list[tuple[int, int, int]] = []
    bench = Bench(workdir, sa_url, conninfo, args.kiosks)
    try:
        for size in sizes:
            took = bench.fill_to(size)
            if took:
                print(f"set-up: filled to {size:,} cards with COPY in {took:.0f} s", flush=True)
            warm = min(2.0, args.seconds)
            bench.ours(warm)
            bench.bare(warm)
            ours_runs, bare_runs = [], []
            for r in range(args.rounds):  # interleaved, alternating who goes first
                first, second = (bench.ours, bench.bare) if r % 2 == 0 else (bench.bare, bench.ours)
                a, b = first(args.seconds), second(args.seconds)
                ours_runs.append(a if r % 2 == 0 else b)
                bare_runs.append(b if r % 2 == 0 else a)
            ours, bare = merge(ours_runs), merge(bare_runs)
            rows.append((size, ours, bare))
            print(f"  {size:>12,} cards: ours {ours.per_second:7.1f}/s, bare {bare.per_second:7.1f}/s", flush=True)
            if size:
                budgets.append((size, *bench.published_status_bytes()))
    finally:
        bench.close()
        drop_schema(base, schema)
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"PostgreSQL, {args.kiosks} concurrent kiosks, {args.seconds:g} s per measurement")
    print(f"{'cards':>12} | {'ours/s':>8} | {'bare/s':>8} | {'ours ms':>8} | {'bare ms':>8} | {'ratio':>6}")
    print(f"{'-' * 12}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 6}")
    for size, ours, bare in rows:
        print(
            f"{size:>12,} | {ours.per_second:8.1f} | {bare.per_second:8.1f} | "
            f"{ours.mean_ms:8.2f} | {bare.mean_ms:8.2f} | {ours.per_second / bare.per_second:6.2f}"
        )
    print()
    print("signed status lists as published (2 bits per entry, 1 % of the filled cards revoked)")
    for size, lists, total in budgets:
        print(f"{size:>12,} cards: {lists} lists, {total:,} bytes ({total / lists / 1024:.1f} KiB per list)")
    first, last = rows[0][1], rows[-1][1]
    print(f"slope: {last.mean_ms / first.mean_ms:.2f}")
    print(f"ratio: {rows[-1][1].per_second / rows[-1][2].per_second:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
