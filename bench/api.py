"""Benchmark: the published files through the shipped nginx configuration, against plain nginx.

Starts `citycard-api serve` (Flask under waitress) for a fresh issuer with a few hundred cards
(some revoked), and two nginx processes (Debian's /usr/sbin/nginx, the same http settings from
deploy/nginx/render.py --standalone): "ours" runs deploy/nginx/citycard.conf in front of the
issuer's public directory and the API; "plain" is a server block with nothing but `root`, over
a copy of the same bytes laid out as the URL paths (mtimes kept, so the ETags agree). `wrk`
(Debian package) drives them over loopback with keep-alive connections, one server at a time,
interleaved, for the trust list and the status list, each with and without If-None-Match, at
8 and 64 connections. A Lua hook counts every response whose status is not the expected
200 / 304 as an error.

Prints a table (requests per second, p50 and p99 latency, errors) and ends with
`ratio: X.XX` = the geometric mean over those cases of ours / plain nginx (target >= 0.90),
each case's ratio being the median over the rounds of the two servers' rates in that round.
The dynamic endpoints (the issuer API under waitress: /openapi.json directly and through
nginx, kiosk allocations through nginx) are reported separately, outside the ratio, with the
trust list as the API itself serves it, for scale. Exits 1
if any request failed.

    .venv/bin/python bench/api.py [--seconds 1] [--rounds 5] [--connections 8 64]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NGINX = "/usr/sbin/nginx"
RENDER = ROOT / "deploy" / "nginx" / "render.py"
TRUST = "/.well-known/citycard/trust-list"
ROOT_KEY = "/.well-known/citycard/root-key"
STATUS = "/status/1"
OPENAPI = "/openapi.json"
ALLOCATE = "/api/v1/kiosk/allocations"
# What a plain static server needs: the files at their URL paths, nothing else.
PLAIN_TEMPLATE = "server {\n    listen @LISTEN@;\n    root @PUBLIC_DIR@;\n}\n"
PLAIN_LAYOUT = {
    TRUST: "trust-list.cose",
    ROOT_KEY: "root-key.pem",
    STATUS: "status/1.cwt",
}

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
    """(status, body, ETag) of a GET, If-None-Match sent when `etag` is given."""
    req = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read(), res.headers.get("ETag", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("ETag", "")


def wrk(url: str, seconds: float, connections: int, expected: int, etag: str | None,
        script: Path, threads: int) -> Result:  # fmt: skip
    cmd = [
        "wrk",
        f"-t{min(threads, connections)}",
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



def make_issuer(directory: Path, cards: int) -> str:
    """A published issuer with `cards` cards (10 % revoked); its new kiosk's credential (JSON)."""
    from api.issuer.service import Issuer
    from cardio.credential import Holder

    issuer = Issuer.init(directory)
    holder = Holder("demo", "Benchmark", "Fictional", date(1990, 1, 1), "X")
    for i in range(cards):
        issued = issuer.issue(holder)
        if i % 10 == 0:
            issuer.set_status(issued.status_index, "revoked")
    issuer.publish()
    _account, credential = issuer.add_kiosk("bench-kiosk")
    issuer.close()
    assert credential is not None
    return credential.to_json()


def plain_copy(public: Path, root: Path) -> None:
    """The published files at their URL paths under `root`, bytes and mtimes kept."""
    for url_path, relative in PLAIN_LAYOUT.items():
        target = root / url_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(public / relative, target)


def start_nginx(prefix: Path, issuer_dir: Path, port: int, upstream: int,
                template: Path | None = None, public_dir: Path | None = None,
                ) -> subprocess.Popen[bytes]:  # fmt: skip
    """A foreground nginx under `prefix` on deploy/nginx/citycard.conf (or `template`)."""
    cmd = [sys.executable, str(RENDER), "--dir", str(issuer_dir),
           "--upstream", f"127.0.0.1:{upstream}", "--listen", f"127.0.0.1:{port}",
           "--standalone", str(prefix), "--out", str(prefix / "nginx.conf"),
           "--access-log", "off"]  # fmt: skip  (the anchor measured without its access log)
    if template is not None:
        cmd += ["--template", str(template)]
    if public_dir is not None:
        cmd += ["--public-dir", str(public_dir)]
    subprocess.run(cmd, check=True)
    return subprocess.Popen(
        [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def allocations(base: str, credential_json: str, seconds: float, clients: int) -> Result:
    """Kiosk allocations (signed POSTs) from `clients` threads for `seconds`, one at a time each."""
    from cardio.kiosk_auth import KioskCredential

    credential = KioskCredential.from_json(credential_json)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            body = json.dumps({"request_id": "req-" + secrets.token_hex(8)}).encode()
            headers = credential.headers("POST", ALLOCATE, body)
            headers["Content-Type"] = "application/json"
            req = urllib.request.Request(base + ALLOCATE, body, headers, method="POST")
            started = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=10) as res:
                    res.read()
                    ok = res.status == 201
            except (urllib.error.URLError, OSError):
                ok = False
            with lock:
                latencies.append(time.monotonic() - started)
                errors[0] += not ok

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return Result(
        len(latencies),
        elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        errors[0],
    )


def print_table(title: str, rows: list[tuple[str, int | str, dict[str, Result], float | None]],
                names: tuple[str, ...], ratio_label: str) -> None:  # fmt: skip
    print(title)
    header = (
        f"{'case':<38} {'body B':>6} {'server':<12} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {ratio_label:>11}"
    )
    print(header)
    print("-" * len(header))
    for case, size, results, ratio in rows:
        first = True
        for name in names:
            if name not in results:
                continue
            r = results[name]
            shown = f"{ratio:.2f}" if first and ratio is not None else ""
            print(
                f"{case if first else '':<38} {size if first else '':>6} {name:<12} "
                f"{r.rps:>8.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6} {shown:>11}"
            )
            first = False
    print("-" * len(header))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=1, help="seconds per wrk run (whole)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (every case and server)")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[8, 64], help="keep-alive connections"
    )
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads of the API")
    parser.add_argument("--cards", type=int, default=500, help="cards in the registry")
    args = parser.parse_args()
    for tool, package in (("wrk", "wrk"), (NGINX, "nginx")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed; run 'apt-get install {package}' (make deps).")
    exe = Path(sys.executable).with_name("citycard-api")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        issuer_dir = tmp / "issuer"
        credential = make_issuer(issuer_dir, args.cards)
        plain_root = tmp / "plain-root"
        plain_copy(issuer_dir / "public", plain_root)
        plain_template = tmp / "plain.conf"
        plain_template.write_text(PLAIN_TEMPLATE)
        script = tmp / "count.lua"
        script.write_text(WRK_SCRIPT)
        log = (tmp / "api.log").open("wb")  # waitress notes such as queue depth

        api_port, ours_port, plain_port = free_port(), free_port(), free_port()
        procs = [
            subprocess.Popen(
                [str(exe), "serve", "--dir", str(issuer_dir), "--port", str(api_port),
                 "--threads", str(args.threads)],
                stdout=subprocess.DEVNULL, stderr=log,
            ),
            start_nginx(tmp / "ours", issuer_dir, ours_port, api_port),
            start_nginx(tmp / "plain", issuer_dir, plain_port, api_port, plain_template,
                        plain_root),
        ]  # fmt: skip
        started = time.monotonic()
        try:
            api = f"http://127.0.0.1:{api_port}"
            servers = {
                "ours": f"http://127.0.0.1:{ours_port}",
                "plain nginx": f"http://127.0.0.1:{plain_port}",
            }
            for base, proc in zip([api, *servers.values()], procs, strict=True):
                wait_ready(base + TRUST, proc)
            cases = []
            for label, path in (("trust list", TRUST), ("status list", STATUS)):
                bodies = {name: fetch(base + path) for name, base in servers.items()}
                assert bodies["ours"][1] == bodies["plain nginx"][1], "other bytes"
                assert bodies["ours"][2] == bodies["plain nginx"][2], "other ETags"
                for conns in args.connections:
                    for conditional in (False, True):
                        case = f"{label}{' (If-None-Match)' if conditional else ''}, {conns} conn"
                        size = 0 if conditional else len(bodies["ours"][1])
                        cases.append((case, path, size, conditional, conns, bodies))
            runs: dict[tuple[str, str], list[Result]] = {}
            # Interleaved, in alternating order, so that background load and warm-up hit both
            # alike; each case's ratio is the median over rounds of ours / plain in that round.
            for round_ in range(args.rounds):
                for case, path, _size, conditional, conns, bodies in cases:
                    order = list(servers.items())
                    for name, base in order if round_ % 2 == 0 else order[::-1]:
                        etag = bodies[name][2] if conditional else None
                        expected = 304 if conditional else 200
                        status, _body, _etag = fetch(base + path, etag)
                        assert status == expected, (name, path, status)
                        runs.setdefault((case, name), []).append(
                            wrk(base + path, args.seconds, conns, expected, etag, script,
                                args.wrk_threads)
                        )  # fmt: skip
            rows: list[tuple[str, int | str, dict[str, Result], float | None]] = []
            ratios = []
            total_errors = 0
            for case, _path, size, _conditional, _conns, _bodies in cases:
                results = {name: merge(runs[(case, name)]) for name in servers}
                total_errors += sum(r.errors for r in results.values())
                pairs = zip(runs[(case, "ours")], runs[(case, "plain nginx")], strict=True)
                ratio = statistics.median(o.rps / p.rps for o, p in pairs)
                ratios.append(ratio)
                rows.append((case, size, results, ratio))

            # the dynamic endpoints: the API itself, not in the ratio
            dynamic: list[tuple[str, int | str, dict[str, Result], float | None]] = []
            size = len(fetch(api + OPENAPI)[1])
            for conns in args.connections:
                results = {
                    "api direct": wrk(api + OPENAPI, args.seconds, conns, 200, None, script,
                                      args.wrk_threads),
                    "via nginx": wrk(servers["ours"] + OPENAPI, args.seconds, conns, 200, None,
                                     script, args.wrk_threads),
                }  # fmt: skip
                total_errors += sum(r.errors for r in results.values())
                dynamic.append((f"GET {OPENAPI}, {conns} conn", size, results, None))
            # for scale: the trust list from the API itself (its in-memory fast path)
            size = len(fetch(api + TRUST)[1])
            for conns in args.connections:
                direct = wrk(api + TRUST, args.seconds, conns, 200, None, script, args.wrk_threads)
                total_errors += direct.errors
                dynamic.append((f"GET trust list, {conns} conn", size, {"api direct": direct}, None))
            alloc = allocations(servers["ours"], credential, args.seconds, 8)
            total_errors += alloc.errors
            dynamic.append(("POST kiosk allocation, 8 clients", "", {"via nginx": alloc}, None))
            elapsed = time.monotonic() - started
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)

    print(
        f"loopback, wrk {args.wrk_threads} threads, keep-alive connections "
        f"{' and '.join(str(c) for c in args.connections)}, {args.rounds} x {args.seconds:g} s "
        f"per case and server, interleaved, ratios = median over rounds; both nginx "
        f"{nginx_version()} with the same http settings; {args.cards} cards, 10% revoked"
    )
    print_table("public files: deploy/nginx/citycard.conf (ours) vs nginx with only `root`",
                rows, tuple(servers), "ours/plain")  # fmt: skip
    print()
    print_table(f"dynamic endpoints: citycard-api serve, waitress with {args.threads} threads "
                "(not in the ratio)", dynamic, ("api direct", "via nginx"), "")  # fmt: skip
    print(f"errors: {total_errors}")
    print(f"elapsed {elapsed:.1f} s")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"ratio: {geo:.2f}")
    if total_errors:
        sys.exit(1)


def nginx_version() -> str:
    out = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr
    return out.strip().rpartition("/")[2] or "?"


if __name__ == "__main__":
    main()
