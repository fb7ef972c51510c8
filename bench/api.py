"""Benchmark: the issuer API's public files against a plain static file server, same bytes.

Starts `citycard-api serve` (Flask under waitress) for a fresh issuer with a few hundred cards
(some revoked), and a plain static file server (a minimal WSGI app under waitress with the same
thread count: stat + read the file per request, an nginx-style ETag from mtime and size,
If-None-Match answered with 304) over a copy of the same published files. Both listen on
loopback; `wrk` (Debian package) drives them with keep-alive connections, one server at a time,
interleaved, for the trust list and the status list, each with and without If-None-Match.
A Lua hook counts every response whose status is not the expected 200 / 304 as an error.

Prints a table (requests per second, p50 and p99 latency, errors) and ends with
`ratio: X.XX` = the geometric mean over the four cases of our rate / the static server's rate
(target >= 0.50). Exits 1 if any request failed.

    .venv/bin/python bench/api.py [--seconds 4] [--connections 8] [--threads 4]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TRUST = "/.well-known/citycard/trust-list"
STATUS = "/status/1"

WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; expected = tonumber(args[1]) end
function response(status, headers, body)
  if status ~= expected then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d socket_errors=%d bad_status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, bad_total))
end
"""


# -- the static file server (run in its own process: bench/api.py --static DIR PORT THREADS) ---

StartResponse = Callable[..., Any]


def static_app(root: Path) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    files = {
        TRUST: (root / "trust-list.cose", "application/vnd.citycard.trust-list+cwt"),
        STATUS: (root / "status" / "1.cwt", "application/statuslist+cwt"),
    }

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        entry = files.get(environ.get("PATH_INFO", ""))
        if entry is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        path, media_type = entry
        st = os.stat(path)
        etag = f'"{int(st.st_mtime):x}-{st.st_size:x}"'
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", [("ETag", etag)])
            return [b""]
        with open(path, "rb") as fh:
            body = fh.read()
        start_response(
            "200 OK",
            [("Content-Type", media_type), ("Content-Length", str(len(body))), ("ETag", etag)],
        )
        return [body]

    return app


def run_static(root: str, port: str, threads: str) -> None:
    from waitress import serve

    serve(static_app(Path(root)), host="127.0.0.1", port=int(port), threads=int(threads))


# -- the benchmark ---------------------------------------------------------------------------


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def merge(results: list[Result]) -> Result:
    """Several runs as one: all requests over all time; the median p50, the worst p99."""
    return Result(
        sum(r.requests for r in results),
        sum(r.seconds for r in results),
        sorted(r.p50_ms for r in results)[len(results) // 2],
        max(r.p99_ms for r in results),
        sum(r.errors for r in results),
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server for {url} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                res.read()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server for {url} did not answer within {timeout:.0f} s")


def fetch(url: str, etag: str | None = None) -> tuple[int, bytes, str]:
    req = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read(), res.headers.get("ETag", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("ETag", "")


def wrk(url: str, seconds: float, connections: int, expected: int, etag: str | None,
        script: Path) -> Result:  # fmt: skip
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
    ]
    if etag:
        cmd += ["-H", f"If-None-Match: {etag}"]
    cmd += [url, "--", str(expected)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(
        r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) "
        r"socket_errors=(\d+) bad_status=(\d+)",
        out,
    )
    if m is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    n, dur, p50, p99, sock, bad = (int(g) for g in m.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = sock + bad + (int(non_2xx[1]) if non_2xx else 0)
    return Result(n, dur / 1e6, p50 / 1000, p99 / 1000, errors)


def make_issuer(directory: Path, cards: int) -> None:
    from api.issuer.service import Issuer
    from cardio.credential import Holder

    issuer = Issuer.init(directory)
    holder = Holder("demo", "Benchmark", "Fictional", date(1990, 1, 1), "X")
    for i in range(cards):
        issued = issuer.issue(holder)
        if i % 10 == 0:
            issuer.set_status(issued.status_index, "revoked")
    issuer.publish()
    issuer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (8 wrk runs each)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (both servers)")
    parser.add_argument("--cards", type=int, default=500, help="cards in the registry")
    parser.add_argument(
        "--no-fast-path",
        action="store_true",
        help="serve the public files through Flask too (server.toml fast_path = false)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed; run 'apt-get install wrk' (make deps does it).")
    exe = Path(sys.executable).with_name("citycard-api")

    with tempfile.TemporaryDirectory() as tmp:
        issuer_dir = Path(tmp) / "issuer"
        make_issuer(issuer_dir, args.cards)
        if args.no_fast_path:
            (issuer_dir / "server.toml").write_text("[server]\nfast_path = false\n")
        static_root = Path(tmp) / "static"
        shutil.copytree(issuer_dir / "public", static_root)
        script = Path(tmp) / "count.lua"
        script.write_text(WRK_SCRIPT)
        log = (Path(tmp) / "server.log").open("wb")  # waitress notes such as queue depth

        ours_port, static_port = free_port(), free_port()
        procs = [
            subprocess.Popen(
                [str(exe), "serve", "--dir", str(issuer_dir), "--port", str(ours_port),
                 "--threads", str(args.threads)],
                stdout=subprocess.DEVNULL, stderr=log,
            ),
            subprocess.Popen(
                [sys.executable, __file__, "--static", str(static_root), str(static_port),
                 str(args.threads)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ),
        ]  # fmt: skip
        started = time.monotonic()
        try:
            servers = {
                "ours": f"http://127.0.0.1:{ours_port}",
                "static": f"http://127.0.0.1:{static_port}",
            }
            for base, proc in zip(servers.values(), procs, strict=True):
                wait_ready(base + TRUST, proc)
            cases = []
            for label, path in (("trust list", TRUST), ("status list", STATUS)):
                bodies = {name: fetch(base + path) for name, base in servers.items()}
                assert bodies["ours"][1] == bodies["static"][1], "the servers serve other bytes"
                for conditional in (False, True):
                    case = f"{label}{' (If-None-Match)' if conditional else ''}"
                    size = 0 if conditional else len(bodies["ours"][1])
                    cases.append((case, path, size, conditional, bodies))
            runs: dict[tuple[str, str], list[Result]] = {}
            for _round in range(args.rounds):  # interleaved, so background load hits both alike
                for case, path, _size, conditional, bodies in cases:
                    for name, base in servers.items():
                        etag = bodies[name][2] if conditional else None
                        expected = 304 if conditional else 200
                        status, _body, _etag = fetch(base + path, etag)
                        assert status == expected, (name, path, status)
                        runs.setdefault((case, name), []).append(
                            wrk(base + path, args.seconds, args.connections, expected, etag, script)
                        )
            rows = []
            ratios = []
            total_errors = 0
            for case, _path, size, _conditional, _bodies in cases:
                results = {name: merge(runs[(case, name)]) for name in servers}
                total_errors += sum(r.errors for r in results.values())
                ratio = results["ours"].rps / results["static"].rps
                ratios.append(ratio)
                rows.append((case, size, results, ratio))
            elapsed = time.monotonic() - started
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)

    print(
        f"loopback, wrk 1 thread x {args.connections} keep-alive connections, "
        f"{args.rounds} x {args.seconds:g} s per case and server, interleaved; "
        f"both servers waitress with {args.threads} threads"
        f"{' (ours without the fast path)' if args.no_fast_path else ''}; "
        f"{args.cards} cards, 10% revoked"
    )
    header = (
        f"{'case':<30} {'body B':>6} {'server':<7} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {'ours/static':>11}"
    )
    print(header)
    print("-" * len(header))
    for case, size, results, ratio in rows:
        for name in ("ours", "static"):
            r = results[name]
            print(
                f"{case if name == 'ours' else '':<30} {size if name == 'ours' else '':>6} "
                f"{name:<7} {r.rps:>8.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6} "
                f"{f'{ratio:.2f}' if name == 'ours' else '':>11}"
            )
    print("-" * len(header))
    print(f"errors: {total_errors}")
    print(f"elapsed {elapsed:.1f} s (load generation {8 * args.rounds * args.seconds:g} s)")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"ratio: {geo:.2f}")
    if total_errors:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--static":
        run_static(*sys.argv[2:5])
    else:
        main()
