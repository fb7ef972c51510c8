"""Real servers for tests: `citycard-api serve` and Debian's nginx on citycard.conf (rendered
by deploy/nginx/render.py --standalone, everything under a temporary prefix), on free loopback
ports; plain HTTP GETs that keep every header."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

NGINX = Path("/usr/sbin/nginx")
ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "deploy" / "nginx" / "render.py"


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes


def get(url: str, method: str = "GET", **headers: str) -> Answer:
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return Answer(res.status, res.headers, res.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


PORT_BASE, PORTS_PER_WORKER = 20_000, 1_000
"""Test servers take ports below the kernel's ephemeral range (32768 and up): one block of
ports per xdist worker."""
_ports = itertools.count()


def free_port() -> int:
    """A loopback port for a test server that no other test worker hands out and no outgoing
    connection takes. bind(0) gives an ephemeral port, which another worker's bind(0) or any
    client's connection could take before the server binds it; a wrong server then answers.
    Each worker walks its own block instead, skipping ports that do not bind."""
    digits = "".join(c for c in os.environ.get("PYTEST_XDIST_WORKER", "") if c.isdigit())
    # 12 blocks fit below 32768: a 13th worker shares gw0's block (the bind check still holds)
    base = PORT_BASE + PORTS_PER_WORKER * (int(digits or 0) % 12)
    for _ in range(PORTS_PER_WORKER):
        port = base + next(_ports) % PORTS_PER_WORKER
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use, or closing (TIME_WAIT): the next one
                continue
        return port
    raise AssertionError(f"no free loopback port in {base}..{base + PORTS_PER_WORKER - 1}")


def wait_for(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port}: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Nginx:
    url: str
    prefix: Path


class Nginxes:
    """Starts nginx processes on citycard.conf, each under its own prefix; stops them all."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, issuer_dir: Path, upstream: int, public_dir: Path | None = None) -> Nginx:
        prefix = self.tmp_path / f"nginx{len(self.procs)}"
        port = free_port()
        cmd = [sys.executable, str(RENDER), "--dir", str(issuer_dir),
               "--upstream", f"127.0.0.1:{upstream}", "--listen", f"127.0.0.1:{port}",
               "--standalone", str(prefix), "--out", str(prefix / "nginx.conf")]  # fmt: skip
        if public_dir is not None:
            cmd += ["--public-dir", str(public_dir)]
        subprocess.run(cmd, check=True)
        self.run(prefix, port)
        return Nginx(f"http://127.0.0.1:{port}", prefix)

    def run(self, prefix: Path, *ports: int) -> None:
        """nginx on the nginx.conf rendered under `prefix`, until it listens on every port."""
        log = prefix / "error.log"
        proc = subprocess.Popen(
            [str(NGINX), "-p", str(prefix), "-e", str(log), "-c", str(prefix / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        for port in ports:
            wait_for(port, proc, "nginx", log)
