"""No committed revocation is ever lost: `citycard-api serve` killed with SIGKILL at each step
of a revocation's publishing, or at random moments under a load of revocations, then started
again, publishes it, signed.

The server runs in a subprocess with CITYCARD_TEST_CRASH_AT naming the step at which it kills
itself (api.issuer.publisher.crash_point): after the status change committed and before any
publish, after the list was signed and before it was kept anywhere, after DIR/public was
written and before the registry was, and after the publish before the answer. A clean restart
must then serve a list, valid under the trust list's status key, that shows every card the
registry has revoked, in the registry's bytes and in DIR/public alike; a retried revocation is
answered 200 "changed": false. Under load, four clients revoke cards while the server is
killed from outside after a random moment, three times over; after each restart the signed list
must show exactly the cards the registry has revoked, every acknowledged one among them. On
SQLite and on PostgreSQL (CITYCARD_TEST_PG_URL).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.issuer.publisher import CRASH_ENV
from api.issuer.service import Issuer
from cardio.credential import Holder
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, TRUST_LIST_FILE, load_verifier
from cardio.statuslist import Status
from tests.api_fixtures import (
    BACKENDS,
    fixture_database_url,  # noqa: F401 - fixture
    make_issuer,
    new_request_id,
)

STEPS = ["status-committed", "status-signed", "status-written", "status-published"]
STARTUP_SECONDS = 30


@contextmanager
def serving(directory: Path, crash_at: str | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`citycard-api serve` for `directory` on a free loopback port, in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.issuer.cli import main; main()", "serve", "--dir", str(directory), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Serving the citycard API of ... on http://host:port/ ..."
        assert "http://" in line, line
        url = line.split(" on ", 1)[1].split("/ ", 1)[0]
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=STARTUP_SECONDS)
        if proc.stdout is not None:
            proc.stdout.close()


def _revoke(url: str, number: str, token: str) -> dict[str, object] | None:
    """POST revoke; the answer, or None when the server died before answering."""
    req = urllib.request.Request(
        f"{url}/api/v1/staff/cards/{number}/revoke",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            answer: dict[str, object] = json.loads(res.read())
            return answer
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"revoking {number} answered {exc.code}") from exc
    except (OSError, http.client.HTTPException):  # refused, reset, cut off mid-answer
        return None


def _get(url: str, path: str) -> bytes:
    with urllib.request.urlopen(f"{url}{path}", timeout=30) as res:
        body: bytes = res.read()
        return body


def _fetch_published(url: str, into: Path) -> Path:
    """The three public files as this server serves them, laid out like DIR/public."""
    (into / STATUS_DIR).mkdir(parents=True)
    for name, path in (
        (TRUST_LIST_FILE, "/.well-known/citycard/trust-list"),
        (ROOT_KEY_FILE, "/.well-known/citycard/root-key"),
        (f"{STATUS_DIR}/1.cwt", "/status/1"),
    ):
        (into / name).write_bytes(_get(url, path))
    return into


def _published_statuses(public: Path, indexes: dict[str, int]) -> dict[str, Status]:
    """The status of each card in the list under `public`, its signature checked."""
    verifier, problems = load_verifier(public)
    assert problems == []
    (token,) = verifier.status_lists.values()
    return {number: Status(token.status_list.get(i)) for number, i in indexes.items()}


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_committed_revocation_survives_a_kill_at_every_step(
    tmp_path: Path, database_url: str | None
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    issuer.add_kiosk("kiosk-2")
    token = issuer.add_staff("desk-1")
    indexes = {}
    for _ in STEPS:
        slot = issuer.allocate("kiosk-2", new_request_id())
        issuer.report_issued("kiosk-2", slot.document_number, 1_790_000_000, 1_850_000_000)
        indexes[slot.document_number] = slot.status_index
    issuer.close()

    acknowledged = []
    for step, number in zip(STEPS, indexes, strict=True):
        with serving(issuer.dir, crash_at=step) as (url, proc):
            answer = _revoke(url, number, token)
            assert proc.wait(timeout=STARTUP_SECONDS) == -signal.SIGKILL, step
        assert answer is None, (step, answer)  # it died before answering
        with serving(issuer.dir) as (url, _proc):
            # Started again: the start-up catch-up published what the killed one owed.
            served = _fetch_published(url, tmp_path / f"served-{step}")
            retried = _revoke(url, number, token)
            assert retried is not None and retried["changed"] is False, retried
            assert retried["status"] == "revoked"
            acknowledged.append(number)
        for public in (served, issuer.dir / "public"):
            statuses = _published_statuses(public, indexes)
            for card, status in statuses.items():
                expected = Status.INVALID if card in acknowledged else Status.VALID
                assert status == expected, (step, public, card, status)
    assert sorted(acknowledged) == sorted(indexes)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_no_acknowledged_revocation_is_lost_to_kills_under_load(
    tmp_path: Path, database_url: str | None, holder: Holder
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    token = issuer.add_staff("desk-1")
    indexes = {}
    for _ in range(3 * 100):
        card = issuer.issue(holder)
        indexes[card.credential.document_number] = card.status_index
    issuer.close()
    waiting: list[str] = []
    acknowledged: set[str] = set()
    errors: list[str] = []
    lock = threading.Lock()
    rng = random.Random(14)

    def client(url: str) -> None:
        while True:
            with lock:
                if not waiting:
                    return
                number = waiting.pop()
            try:
                answer = _revoke(url, number, token)
            except AssertionError as exc:  # an error answer: fail the test, not just this thread
                errors.append(str(exc))
                return
            if answer is None:
                return  # the server is gone
            if answer["status"] != "revoked":
                errors.append(f"{number}: {answer}")
            with lock:
                acknowledged.add(number)

    for round_ in range(3):
        waiting[:] = list(indexes)[round_ * 100 : (round_ + 1) * 100]  # fresh cards each round
        with serving(issuer.dir) as (url, proc):
            clients = [threading.Thread(target=client, args=(url,)) for _ in range(4)]
            for thread in clients:
                thread.start()
            time.sleep(rng.uniform(0.2, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=STARTUP_SECONDS)
            for thread in clients:
                thread.join(timeout=60)
        assert errors == []
        with serving(issuer.dir) as (url, _proc):
            served = _fetch_published(url, tmp_path / f"served-{round_}")
        registry = Issuer(issuer.dir)
        revoked = {n for n, c in registry.registry.cards().items() if c["status"] == "revoked"}
        registry.close()
        assert acknowledged <= revoked
        for public in (served, issuer.dir / "public"):
            statuses = _published_statuses(public, indexes)
            shown = {n for n, status in statuses.items() if status == Status.INVALID}
            assert shown == revoked, (round_, public, shown ^ revoked)
    assert acknowledged, "no revocation was answered before the kills: the test proved nothing"
