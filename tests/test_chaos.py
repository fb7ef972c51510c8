"""The issuer at city scale under chaos (PostgreSQL only): two hosts of one issuer and an nginx.

Two `citycard-api serve` processes share one PostgreSQL registry; their issuer directories
are copies of one (the same issuer.json, keys/, receipt-pepper.key and server.toml, as
docs/deployment.md says a second host is set up), and their public/ is one directory (a shared
volume) that nginx serves as static files. For CITYCARD_CHAOS_SECONDS (default 30: about five
kills; set it for longer runs) seconds, 16 kiosks allocate and report cards through either
host, staff revoke random issued cards through either host, and either process is killed with
SIGKILL at random moments and started again. Afterwards:

- no document number and no (list, index) slot was handed out twice, and every card a kiosk
  was answered for is in the registry as it was answered;
- every revocation answered 2xx is REVOKED (INVALID) in the signed status list, verified with
  cardio against the trust list and the root key, fetched through nginx and through each host;
- each public file has the same bytes and ETag on both hosts (and the same bytes via nginx).
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text

from api.issuer.registry import publication_queries
from api.issuer.service import Issuer
from cardio.keys import load_public_pem
from cardio.kiosk_auth import KioskCredential
from cardio.statuslist import Status, parse_token
from cardio.trustlist import KeyPurpose, TrustList, parse_trust_list
from kiosk.allocator import AllocationError
from kiosk.http_allocator import HttpAllocator, RegistryUnreachableError
from tests.api_fixtures import PG_ENV, fixture_database_url, make_issuer  # noqa: F401
from tests.serve_helpers import NGINX, Nginxes, free_port, get, stop, wait_for

SECONDS = float(os.environ.get("CITYCARD_CHAOS_SECONDS", "30"))
KILLS_AT_LEAST = min(3, int(SECONDS // 8))
pytestmark = [
    pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set (make test sets it)"),
    pytest.mark.skipif(not NGINX.is_file(), reason="nginx is not installed (make deps does)"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    pytest.mark.timeout(SECONDS + 90),  # set-up, restarts, the checks
]
KIOSKS = 16
STAFF_THREADS = 2
TRUST = "/.well-known/citycard/trust-list"
ROOT_KEY = "/.well-known/citycard/root-key"
EXPIRES = 86400 * 730
T = TypeVar("T")


class Host:
    """One `citycard-api serve` process of the issuer, on a fixed port across restarts."""

    def __init__(self, directory: Path, log: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        exe = Path(sys.executable).with_name("citycard-api")
        where = ["--dir", str(self.dir), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(exe), "serve", *where, "--threads", "8"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.port, self.proc, "citycard-api serve", self.log)

    def kill(self) -> None:
        """SIGKILL: no atexit, no lock released, requests in flight cut off."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.kills += 1


@dataclass
class Ledger:
    """What the clients were answered, from every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    allocated: dict[str, tuple[str, int]] = field(default_factory=dict)  # number -> slot
    slots: list[tuple[str, str, int]] = field(default_factory=list)  # (number, list, index)
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)  # revocations answered 2xx
    errors: list[str] = field(default_factory=list)
    retries: int = 0


@pytest.fixture(name="hosts")
def fixture_hosts(tmp_path: Path, database_url: str) -> Iterator[tuple[Host, Host, dict[str, object]]]:
    """Two hosts of one issuer on one PostgreSQL registry; 16 kiosk credentials, a staff token."""
    one = tmp_path / "host-a"
    issuer = make_issuer(one, database_url)
    kiosks: list[KioskCredential] = []
    for n in range(KIOSKS):
        _account, credential = issuer.add_kiosk(f"kiosk-{n}")
        assert credential is not None
        kiosks.append(credential)
    token = issuer.add_staff("desk-1")
    issuer.close()
    # A second host: a copy of the issuer directory (issuer.json, keys/, receipt-pepper.key,
    # server.toml naming the same database); here its public/ is the same directory.
    two = tmp_path / "host-b"
    shutil.copytree(one, two, ignore=shutil.ignore_patterns("public", ".lock"))
    (two / "public").symlink_to(one / "public", target_is_directory=True)
    hosts = (Host(one, tmp_path / "host-a.log"), Host(two, tmp_path / "host-b.log"))
    try:
        for host in hosts:
            host.start()
        yield hosts[0], hosts[1], {"kiosks": kiosks, "token": token, "url": database_url}
    finally:
        for host in hosts:
            if host.proc is not None and host.proc.poll() is None:
                stop(host.proc)


def _kiosk(credential: KioskCredential, hosts: tuple[Host, Host], ledger: Ledger, until: float) -> None:
    allocators = [HttpAllocator(h.url, credential, timeout=10) for h in hosts]
    rng = random.Random()
    while time.monotonic() < until:
        try:
            _one_card(allocators, rng, ledger, until + 30)
        except (AllocationError, RegistryUnreachableError) as exc:  # a refusal, or no host
            with ledger.lock:
                ledger.errors.append(f"{credential.kiosk_id}: {exc}")
            return


def _one_card(
    allocators: list[HttpAllocator], rng: random.Random, ledger: Ledger, give_up: float
) -> None:
    """Allocate, then report the card issued, each through either host."""
    request = "req-" + secrets.token_hex(8)
    got = _retrying(lambda: rng.choice(allocators).allocate(request), ledger, give_up)
    with ledger.lock:
        seen = ledger.allocated.setdefault(got.document_number, (got.status_list, got.status_index))
        if seen != (got.status_list, got.status_index):
            ledger.errors.append(f"{got.document_number} answered two slots")
        if not got.replayed:
            ledger.slots.append((got.document_number, got.status_list, got.status_index))
    now = int(time.time())
    number = got.document_number
    _retrying(
        lambda: rng.choice(allocators).report_issued(number, now, now + EXPIRES), ledger, give_up
    )
    with ledger.lock:
        ledger.issued.append(number)


def _retrying(call: Callable[[], T], ledger: Ledger, give_up: float) -> T:
    """What a kiosk does with an unknown outcome: ask again, same request, either host."""
    while True:
        try:
            return call()
        except RegistryUnreachableError:
            if time.monotonic() > give_up:
                raise
            with ledger.lock:
                ledger.retries += 1
            time.sleep(0.2)


def _staff(token: str, hosts: tuple[Host, Host], ledger: Ledger, until: float) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        with ledger.lock:
            candidates = [n for n in ledger.issued if n not in ledger.revoked]
        if not candidates:
            time.sleep(0.1)
            continue
        number = rng.choice(candidates)
        req = urllib.request.Request(
            f"{rng.choice(hosts).url}/api/v1/staff/cards/{number}/revoke",
            method="POST",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                ok = 200 <= res.status < 300
        except (urllib.error.URLError, OSError):
            ok = False  # no answer, or not 2xx: not acknowledged (it may still have happened)
        if ok:
            with ledger.lock:
                ledger.revoked.add(number)
        time.sleep(rng.uniform(0.05, 0.3))


def _chaos(hosts: tuple[Host, Host], until: float, failures: list[str]) -> None:
    rng = random.Random()
    kills, restart = 0, 0.0  # restart: how long the last one took (seconds under load)
    while True:
        pause = rng.uniform(2.0, 6.0)
        if kills < KILLS_AT_LEAST:  # paced so that the kills asked for fit in the run even
            left = until - 2 - time.monotonic()  # when restarts are slow (seen in CI: 2 of 3)
            pause = min(pause, max(0.5, left / (KILLS_AT_LEAST - kills) - restart - 0.75))
        time.sleep(pause)
        if time.monotonic() >= until - 2:
            return
        host = rng.choice(hosts) if kills else hosts[0]  # the first publisher dies at least once
        host.kill()
        kills += 1
        time.sleep(rng.uniform(0.0, 1.5))
        started = time.monotonic()
        try:
            host.start()
        except AssertionError as exc:
            failures.append(str(exc))
            return
        restart = time.monotonic() - started


def test_two_hosts_kiosks_revocations_and_kill_9(
    hosts: tuple[Host, Host, dict[str, object]], tmp_path: Path, nginxes: Nginxes
) -> None:
    one, two, env = hosts
    pair = (one, two)
    nginx = nginxes.start(one.dir, one.port, one.dir / "public")
    ledger = Ledger()
    chaos_failures: list[str] = []
    until = time.monotonic() + SECONDS
    kiosks: list[KioskCredential] = env["kiosks"]  # type: ignore[assignment]
    threads = [threading.Thread(target=_kiosk, args=(k, pair, ledger, until)) for k in kiosks]
    threads += [
        threading.Thread(target=_staff, args=(str(env["token"]), pair, ledger, until))
        for _ in range(STAFF_THREADS)
    ]
    threads.append(threading.Thread(target=_chaos, args=(pair, until, chaos_failures)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(  # shown with -s: what the run did
        f"chaos: {len(ledger.issued)} cards issued, {len(ledger.revoked)} revocations "
        f"acknowledged, {one.kills}+{two.kills} kill -9, {ledger.retries} kiosk retries"
    )
    assert not chaos_failures, chaos_failures
    assert not ledger.errors, ledger.errors[:5]
    assert one.kills + two.kills >= KILLS_AT_LEAST, "the chaos did not happen"
    assert len(ledger.issued) > 100 and ledger.revoked, (len(ledger.issued), len(ledger.revoked))

    # The registry: every number and every slot once, as the kiosks were answered.
    registry = Issuer(one.dir, str(env["url"]))
    try:
        with registry.registry.read() as s:
            rows = s.execute(
                text("SELECT document_number, status_list, status_index, status FROM cards")
            ).all()
        numbers = [r[0] for r in rows]
        slots = [(r[1], int(r[2])) for r in rows]
        assert len(set(numbers)) == len(numbers)
        assert len(set(slots)) == len(slots)
        held = {r[0]: (r[1], int(r[2])) for r in rows}
        for number, slot in ledger.allocated.items():
            assert held.get(number) == slot, number
        assert len({(lst, idx) for _n, lst, idx in ledger.slots}) == len(ledger.slots)
        status_of = {r[0]: r[3] for r in rows}
        assert all(status_of[n] == "revoked" for n in ledger.revoked)

        # The publisher (whichever host holds the lock) catches up on what was left owed.
        deadline = time.monotonic() + 20
        while True:
            with registry.registry.read() as s:
                marks = publication_queries.marks(s)
            if all(changed <= published for changed, published in marks.values()):
                break
            assert time.monotonic() < deadline, f"status lists left unpublished: {marks}"
            time.sleep(0.2)
    finally:
        registry.close()

    root = load_public_pem((one.dir / "public" / "root-key.pem").read_bytes())
    revoked = {ledger.allocated[n] for n in ledger.revoked}
    # Every host answers with the registry's bytes within a second of a publish.
    time.sleep(1.5)
    served: dict[str, dict[str, tuple[bytes, str]]] = {}
    for name, base in (("host-a", one.url), ("host-b", two.url), ("nginx", nginx.url)):
        served[name] = _published(base, root, revoked)
    paths = set(served["host-a"])
    assert paths == set(served["host-b"]) == set(served["nginx"])
    for path in paths:
        a, b, static = served["host-a"][path], served["host-b"][path], served["nginx"][path]
        assert a == b, f"{path}: the hosts differ in bytes or ETag"
        assert static[0] == a[0], f"{path}: nginx serves other bytes than the hosts"


def _published(
    base: str, root: ec.EllipticCurvePublicKey, revoked: set[tuple[str, int]]
) -> dict[str, tuple[bytes, str]]:
    """path -> (bytes, ETag) of every public file at `base`, after checking, with cardio, that
    the trust list is signed by the root key, each status list by a status key of the trust
    list, and that every acknowledged revocation shows as INVALID."""
    files: dict[str, tuple[bytes, str]] = {}
    for path in (ROOT_KEY, TRUST):
        answer = get(base + path)
        assert answer.status == 200, (base, path)
        files[path] = (answer.body, answer.headers["ETag"])
    trust: TrustList = parse_trust_list(files[TRUST][0], root)
    status_keys = {k.kid: k.public_key for k in trust.keys if k.purpose is KeyPurpose.STATUS}
    lists_seen = set()
    for uri in trust.status_lists:
        list_id = uri.rsplit("/", 1)[1]
        path = f"/status/{list_id}"
        answer = get(base + path)
        assert answer.status == 200, (base, path)
        files[path] = (answer.body, answer.headers["ETag"])
        token = parse_token(answer.body)
        assert token.uri == uri
        assert token.sign1.verify(status_keys[token.kid]), f"{base}{path} does not verify"
        for lst, idx in revoked:
            if lst == list_id:
                assert token.status_list.get(idx) == Status.INVALID, (base, lst, idx)
        lists_seen.add(list_id)
    assert {lst for lst, _idx in revoked} <= lists_seen
    return files


@pytest.fixture(name="nginxes")
def fixture_nginxes(tmp_path: Path) -> Iterator[Nginxes]:
    nginxes = Nginxes(tmp_path)
    yield nginxes
    for proc in nginxes.procs:
        stop(proc)
