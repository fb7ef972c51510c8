"""One publisher, its marks and what every host serves (api.issuer.publisher, publishing,
published_cache), on SQLite and PostgreSQL.

- every status change raises its list's mark in its own transaction, whichever path made it;
- a server starting up publishes what a killed process left owed;
- a retried revocation that finds its list not yet published answers only once it is;
- two hosts on one database serve the same bytes with the same ETags, before and after a change,
  and the second takes the publishing over when the first goes away;
- `citycard-api publish --watch` holds the lock: a server beside it does not sign.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.issuer.publishing import PublisherWorker
from api.issuer.registry import SQLITE_FILE, publication_queries
from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from cardio.statuslist import Status, parse_token
from tests.api_fixtures import (
    BACKENDS,
    Api,
    fixture_api,  # noqa: F401 - fixture
    fixture_database_url,  # noqa: F401 - fixture
    make_api,
    new_request_id,
)

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
PUBLIC_PATHS = ["/.well-known/citycard/trust-list", "/.well-known/citycard/root-key", "/status/1"]


def _mark(issuer: Issuer, list_id: str = "1") -> tuple[int, int]:
    with issuer.registry.read() as s:
        return publication_queries.mark(s, list_id)


def _issued_card(api: Api) -> dict[str, object]:
    card = api.allocate()
    assert api.issued(str(card["document_number"])).status_code == 200
    return card


def _served_status(api: Api, index: int) -> Status:
    return Status(parse_token(api.client.get("/status/1").data).status_list.get(index))


@BOTH
def test_every_status_change_raises_its_lists_mark(api: Api) -> None:
    issuer = api.issuer
    cards = [_issued_card(api) for _ in range(4)]
    numbers = [str(c["document_number"]) for c in cards]
    changed, _ = _mark(issuer)
    issuer.set_card_status(numbers[0], "suspended", "staff", "desk-1")
    issuer.set_card_status(numbers[0], "valid", "staff", "desk-1")
    issuer.set_card_status(numbers[0], "revoked", "staff", "desk-1")
    issuer.set_card_status(numbers[0], "revoked", "staff", "desk-1")  # no change: no mark
    issuer.void("kiosk-2", numbers[1])
    assert issuer.self_revoke(numbers[2], str(cards[2]["revocation_code"])) is not None
    issuer.set_status(int(str(cards[3]["status_index"])), "suspended", "1")
    assert _mark(issuer)[0] == changed + 6
    _allocated = api.allocate()  # a new card (valid) owes nothing
    assert _mark(issuer)[0] == changed + 6


@BOTH
def test_start_up_publishes_what_a_killed_process_left_owed(
    tmp_path: Path, database_url: str | None
) -> None:
    env = make_api(tmp_path / "issuer", database_url)
    card = _issued_card(env)
    env.app.extensions["citycard"].issuer.close()  # the server is gone (its thread too)
    # Committed, never published: what a crash between the two leaves.
    env.issuer.set_card_status(str(card["document_number"]), "revoked", "staff", "desk-1")
    assert env.issuer.publisher.owed("1")
    app = create_app(load_config(env.dir))
    assert not env.issuer.publisher.owed("1")  # before the first request
    again = Api(env.issuer, app, app.test_client(), env.kiosk, env.staff_token)
    assert _served_status(again, int(str(card["status_index"]))) == Status.INVALID
    app.extensions["citycard"].issuer.close()
    env.issuer.close()


@BOTH
def test_a_retried_revocation_answers_once_its_list_is_published(api: Api) -> None:
    card = _issued_card(api)
    number, index = str(card["document_number"]), int(str(card["status_index"]))
    worker: PublisherWorker = api.app.extensions["citycard"].extra["publisher"]
    worker.stop()  # as if the server died right after the commit
    api.issuer.set_card_status(number, "revoked", "staff", "desk-1")
    assert api.issuer.publisher.owed("1")
    worker = PublisherWorker(api.app.extensions["citycard"].issuer)
    api.app.extensions["citycard"].extra["publisher"] = worker
    worker.start()  # a publisher again (a restarted or another process)
    res = api.staff("revoke", number)
    assert res.status_code == 200 and res.json is not None
    assert res.json["changed"] is False and res.json["status"] == "revoked"
    assert not api.issuer.publisher.owed("1")
    assert _served_status(api, index) == Status.INVALID
    worker.stop()


def _second_host(first: Path, second: Path, database_url: str | None) -> Path:
    """Another host's issuer directory: the same configuration and keys, its own (empty)
    DIR/public, the same registry database."""
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("public", "registry.sqlite*"))
    url = database_url or f"sqlite:///{(first / SQLITE_FILE).resolve()}"
    (second / "server.toml").write_text(f"[database]\nurl = {json.dumps(url)}\n", encoding="utf-8")
    return second


@BOTH
def test_two_hosts_serve_the_same_bytes_and_etags(
    tmp_path: Path, database_url: str | None
) -> None:
    one = make_api(tmp_path / "one", database_url)
    other_dir = _second_host(one.dir, tmp_path / "two", database_url)
    other_app = create_app(load_config(other_dir))
    two = Api(one.issuer, other_app, other_app.test_client(), one.kiosk, one.staff_token)
    publishers = [a.app.extensions["citycard"].extra["publisher"].leader for a in (one, two)]
    assert publishers == [True, False]  # one publisher for the database

    def same_everywhere() -> dict[str, bytes]:
        seen = {}
        for path in PUBLIC_PATHS:
            a, b = one.client.get(path), two.client.get(path)
            assert a.status_code == b.status_code == 200, path
            assert a.data == b.data and a.headers["ETag"] == b.headers["ETag"], path
            again = two.client.get(path, headers={"If-None-Match": a.headers["ETag"]})
            assert again.status_code == 304, path
            seen[path] = a.data
        return seen

    before = same_everywhere()
    card = _issued_card(one)
    res = two.staff("revoke", str(card["document_number"]))  # at the host that does not sign
    assert res.status_code == 200 and res.json is not None and res.json["changed"] is True
    time.sleep(1.1)  # a host checks its copy against the registry each second
    after = same_everywhere()
    assert after["/status/1"] != before["/status/1"]
    assert _served_status(two, int(str(card["status_index"]))) == Status.INVALID
    # DIR/public of the publishing host holds the same bytes, for static hosting.
    assert (one.dir / "public" / "status" / "1.cwt").read_bytes() == after["/status/1"]

    # The publishing host goes away: the other takes the lock over within seconds, and copies
    # what the registry holds into its own DIR/public first.
    one.app.extensions["citycard"].issuer.close()
    deadline = time.monotonic() + 15
    while not other_app.extensions["citycard"].extra["publisher"].leader:
        assert time.monotonic() < deadline, "no other host took the publishing over"
        time.sleep(0.1)
    while not (other_dir / "public" / "status" / "1.cwt").is_file():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (other_dir / "public" / "status" / "1.cwt").read_bytes() == after["/status/1"]
    other_app.extensions["citycard"].issuer.close()
    one.issuer.close()


def _publish_watch(env: Api, stderr: int) -> subprocess.Popen[str]:
    """`citycard-api publish --watch` on env's issuer, its stdout piped."""
    return subprocess.Popen(
        [sys.executable, "-c", "from api.issuer.cli import main; main()", "publish", "--watch", "--dir", str(env.dir)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def test_publish_watch_holds_the_lock_and_publishes(tmp_path: Path) -> None:
    env = make_api(tmp_path / "issuer", None)
    env.app.extensions["citycard"].issuer.close()  # its publisher lets the lock go
    watch = _publish_watch(env, subprocess.DEVNULL)
    try:
        assert watch.stdout is not None and "Publishing for" in watch.stdout.readline()
        server = create_app(load_config(env.dir))
        deadline = time.monotonic() + 20
        while server.extensions["citycard"].extra["publisher"].leader:
            # The server may have taken the lock before the worker: let it go, and try again.
            server.extensions["citycard"].issuer.close()
            assert time.monotonic() < deadline
            time.sleep(0.5)
            server = create_app(load_config(env.dir))
        client = server.test_client()
        slot = env.issuer.allocate("kiosk-2", new_request_id())
        env.issuer.report_issued("kiosk-2", slot.document_number, 1_790_000_000, 1_850_000_000)
        res = client.post(
            f"/api/v1/staff/cards/{slot.document_number}/suspend",
            headers={"Authorization": f"Bearer {env.staff_token}"},
        )
        assert res.status_code == 200
        assert not env.issuer.publisher.owed("1")  # published by the worker
        token = parse_token((env.dir / "public" / "status" / "1.cwt").read_bytes())
        assert token.status_list.get(slot.status_index) == Status.SUSPENDED
        server.extensions["citycard"].issuer.close()
    finally:
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 0
        if watch.stdout is not None:
            watch.stdout.close()
    env.issuer.close()


def test_publish_watch_stops_in_order_on_sigterm(tmp_path: Path) -> None:
    """A supervisor stops a worker with SIGTERM: it used to die of it (status -15) mid-publish;
    now it stops as on Ctrl-C, says so, exits 0 and gives the lock up."""
    env = make_api(tmp_path / "issuer", None)
    env.app.extensions["citycard"].issuer.close()
    watch = _publish_watch(env, subprocess.PIPE)
    out, err = "", ""
    try:
        assert watch.stdout is not None and "Publishing for" in watch.stdout.readline()
        watch.send_signal(signal.SIGTERM)
        out, err = watch.communicate(timeout=30)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0 and out == "Stopped.\n" and err == "", (watch.returncode, err)
    other = PublisherWorker(env.issuer)
    assert other.lock.acquire()  # given up: the next publisher takes it
    other.lock.release()
    env.issuer.close()
