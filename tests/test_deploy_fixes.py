"""What the first production deployment pass found (docs/deployment.md followed literally):

- behind nginx (`proxy_hops = 1`), the real `citycard-api serve` sees each client's address
  and scheme from X-Forwarded-For / -Proto (waitress no longer strips them first);
- a registry migrated by a newer citycard is one sentence, exit 2, for every command;
- `serve` refuses an unwritable DIR/public at start; the publisher thread logs a citycard
  error as its sentence, not a traceback;
- a kiosk key this host's issuer.json does not know is its own 403 and a log line;
- the publisher says when it takes the lock and gives it up; `status set` and `trust show`
  give advice that fits a host of several.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import request

from api.issuer.publishing import PublisherWorker
from api.issuer.registry import SQLITE_FILE
from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from tests.api_fixtures import (
    Api,
    fixture_api,  # noqa: F401 - fixture
    fixture_database_url,  # noqa: F401 - fixture
)
from tests.serve_helpers import free_port, stop, wait_for
from tests.terminal_fixtures import ServedApp
from tests.terminal_fixtures import wait_for as wait_until
from tests.test_cli import RESIDENT, one_error_line
from tests.test_cli import api as cli

EXE = Path(sys.executable).with_name("citycard-api")


@pytest.fixture(name="issuer_dir")
def fixture_issuer_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "issuer"
    result = cli("init", "--dir", directory)
    assert result.exit_code == 0, result.output
    return directory


# -- H1: X-Forwarded-For / -Proto through the real `serve` ------------------------------------


@pytest.fixture(name="proxied")
def fixture_proxied(tmp_path: Path, issuer_dir: Path) -> Iterator[str]:
    """`citycard-api serve` with proxy_hops = 1, as behind nginx; its URL (its output in
    tmp_path/serve.log)."""
    (issuer_dir / "server.toml").write_text(
        "[server]\nproxy_hops = 1\n[self_revocation]\naddress_burst = 2\n", encoding="utf-8"
    )
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(EXE), "serve", "--dir", str(issuer_dir), "--port", str(port), "--threads", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(port, proc, "citycard-api serve", log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _self_revoke(url: str, number: str, forwarded_for: str) -> int:
    import urllib.error
    import urllib.request

    body = json.dumps({"document_number": number, "code": "AAAAA-AAAAA"}).encode()
    req = urllib.request.Request(
        f"{url}/api/v1/self-revocation",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return int(res.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def test_serve_behind_a_proxy_counts_each_client_and_sees_https(proxied: str) -> None:
    # Six clients, six numbers: each its own bucket (burst 2), none refused as "too many".
    answers = [_self_revoke(proxied, f"DEV0000{100 + i}", f"10.9.{i}.7") for i in range(6)]
    assert 429 not in answers, answers
    # One client trying again and again is still limited (the buckets count at all).
    again = [_self_revoke(proxied, f"DEV0000{200 + i}", "10.9.99.7") for i in range(3)]
    assert again[-1] == 429, again
    # The scheme nginx saw: redirects stay on https.
    conn = http.client.HTTPConnection(proxied.removeprefix("http://"), timeout=10)
    try:  # not urllib: it would follow the redirect
        conn.request("GET", "/verify", headers={"X-Forwarded-Proto": "https", "Host": "cc.example"})
        res = conn.getresponse()
        res.read()
    finally:
        conn.close()
    assert res.status in (301, 302, 308), res.status
    assert res.getheader("Location") == "https://cc.example/verify/", res.getheader("Location")


def test_two_proxies_see_the_client_and_https(issuer_dir: Path) -> None:
    """proxy_hops = 2 (a CDN in front of nginx): nginx appends to X-Forwarded-For but
    overwrites X-Forwarded-Proto with the one scheme it saw, so the scheme is its one value."""
    app = create_app(load_config(issuer_dir, proxy_hops=2, publisher=False))
    try:
        app.add_url_rule("/_seen", "seen", lambda: f"{request.remote_addr} {request.scheme}")
        res = app.test_client().get(
            "/_seen",
            headers={"X-Forwarded-For": "6.6.6.6, 1.2.3.4, 10.0.0.1", "X-Forwarded-Proto": "https"},
        )
        assert res.get_data(as_text=True) == "1.2.3.4 https"
    finally:
        app.extensions["citycard"].issuer.close()


def _closed_by_waitress(served: ServedApp) -> None:
    """Close the server as waitress does itself after an uncaptured exception."""
    done = threading.Event()

    def close() -> None:
        served.server.close()
        served.server.trigger.close()
        done.set()

    served.server.trigger.pull_trigger(close)
    assert done.wait(5)


def test_a_served_app_s_teardown_does_not_hide_the_test_s_own_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(ValueError, match="the test's own"),
        ServedApp(lambda environ, start: [], threads=1) as served,
    ):
        _closed_by_waitress(served)
        raise ValueError("the test's own failure")
    assert any("already closed the server" in r.getMessage() for r in caplog.records)
    with (
        pytest.raises(AssertionError, match="already closed the server"),
        ServedApp(lambda environ, start: [], threads=1) as served,
    ):
        _closed_by_waitress(served)  # a body that passed: the teardown's problem fails it


@pytest.mark.parametrize("loop_saw_it", [False, True], ids=["at-once", "after-the-loop-saw-it"])
def test_a_trigger_closed_by_someone_else_still_stops_the_server(
    caplog: pytest.LogCaptureFixture, loop_saw_it: bool
) -> None:
    """Its write end closed by another part of the process (a double close whose number the
    trigger had reused): no wake-up, but the port is closed and the loop ends all the same,
    whether the loop has read the pipe's end (and closed its trigger, not its server) by the
    time the test stops (seen under load) or not."""
    with caplog.at_level(logging.WARNING):
        served = ServedApp(lambda environ, start: [], threads=1).__enter__()
        port = int(served.url.rsplit(":", 1)[1])
        os.close(served.server.trigger.trigger)  # what that someone else did
        if loop_saw_it:
            wait_until(lambda: served.server.trigger._closed)
        served.stop()  # no AssertionError: the test itself passed
    assert not served._thread.is_alive()
    assert any("closed by someone else" in r.getMessage() for r in caplog.records)
    with socket.socket() as probe:  # nobody listens there any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0


# -- M1: a registry migrated by a newer citycard ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["db", "upgrade"], ["serve", "--port", "0"], ["kiosk", "list"], ["publish"]],
    ids=["db-upgrade", "serve", "kiosk-list", "publish"],
)
def test_a_newer_schema_is_one_sentence(issuer_dir: Path, args: list[str]) -> None:
    with sqlite3.connect(issuer_dir / SQLITE_FILE) as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    result = cli(*args, "--dir", issuer_dir)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert "migrated by a newer citycard (schema revision 0099" in line, line
    assert "restore the backup taken before the upgrade" in line, line


# -- M2: DIR/public unwritable, and the publisher thread's log ---------------------------------


def _as_unprivileged(cmd: list[str]) -> list[str]:
    """Root ignores file modes; without CAP_DAC_OVERRIDE it is bound by them as anyone."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("runs as root without setpriv")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]


@pytest.mark.parametrize("which", ["public", "public/status"])
def test_serve_refuses_an_unwritable_public_dir(issuer_dir: Path, which: str) -> None:
    target = issuer_dir / which
    target.chmod(0o555)
    try:
        proc = subprocess.run(
            _as_unprivileged([str(EXE), "serve", "--dir", str(issuer_dir), "--port", "0"]),
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("serve started with an unwritable " + which)
    finally:
        target.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert str(target) in lines[0] and "cannot be written" in lines[0], lines[0]
    assert "publisher = false" in lines[0], lines[0]


def test_serve_without_publisher_does_not_need_public(issuer_dir: Path) -> None:
    """A host with `publisher = false` never writes DIR/public: no need to check it."""
    from api.issuer.cli import _check_public_dir
    from api.issuer.server import load_config

    (issuer_dir / "server.toml").write_text("[server]\npublisher = false\n", encoding="utf-8")
    shutil.rmtree(issuer_dir / "public")
    (issuer_dir / "public").write_text("not a directory")
    _check_public_dir(load_config(issuer_dir))  # no error


def test_the_publisher_thread_logs_a_sentence_not_a_traceback(
    issuer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    issuer = Issuer(issuer_dir)
    shutil.rmtree(issuer_dir / "public")
    (issuer_dir / "public").write_text("not a directory")  # every write under it fails
    worker = PublisherWorker(issuer, interval=0.05, lock_retry=0.05)
    caplog.set_level(logging.INFO, "citycard.api.publisher")
    try:
        worker.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            "publishing failed" in r.getMessage() for r in caplog.records
        ):
            time.sleep(0.05)
    finally:
        worker.stop()
        issuer.close()
    failed = [r for r in caplog.records if "publishing failed" in r.getMessage()]
    assert failed, [r.getMessage() for r in caplog.records]
    assert failed[0].exc_info is None, "a traceback for a citycard error"
    message = failed[0].getMessage()
    assert str(issuer_dir / "public") in message and "trying again in" in message, message


# -- M3: a kiosk key this host does not know --------------------------------------------------


def test_a_kiosk_key_this_host_does_not_know_is_its_own_answer(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # Host B: the registry knows the kiosk (added on host A), its issuer.json not yet.
    path = api.dir / "issuer.json"
    data = json.loads(path.read_text("utf-8"))
    data["keys"] = [k for k in data["keys"] if k["label"] != "kiosk-2"]
    path.write_text(json.dumps(data), encoding="utf-8")
    caplog.set_level(logging.INFO, "citycard.api")
    res = api.kiosk_call("GET", "/api/v1/kiosk/self")
    assert res.status_code == 403, res.json
    assert res.json is not None and res.json["code"] == "kiosk_key_unknown", res.json
    message = res.json["message"]
    assert "does not know" in message and "issuer.json" in message and "keys/" in message
    assert "revoked" not in message
    logged = [r.getMessage() for r in caplog.records if "kiosk-2" in r.getMessage()]
    assert logged and "issuer.json" in logged[0], [r.getMessage() for r in caplog.records]


def test_a_revoked_kiosk_key_is_still_inactive(api: Api) -> None:
    from cardio.trustlist import KeyState

    api.issuer.set_key_state("kiosk-2", KeyState.REVOKED)
    res = api.kiosk_call("GET", "/api/v1/kiosk/self")
    assert res.status_code == 403 and res.json is not None
    assert res.json["code"] == "kiosk_key_inactive", res.json


# -- L1: the publisher lock in the log ---------------------------------------------------------


def test_the_publisher_says_when_it_takes_and_gives_up_the_lock(
    issuer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    issuer = Issuer(issuer_dir)
    caplog.set_level(logging.INFO, "citycard.api.publisher")
    worker = PublisherWorker(issuer)
    try:
        assert worker.catch_up()
        assert worker.catch_up()  # held already: said once
    finally:
        worker.stop()
        worker.stop()  # given up already: said once
        issuer.close()
    lines = [r.getMessage() for r in caplog.records]
    taken = [ln for ln in lines if "took the publisher lock" in ln]
    given = [ln for ln in lines if "gave the publisher lock up" in ln]
    assert len(taken) == 1 and len(given) == 1, lines


def test_serve_logs_the_lock_it_takes(proxied: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    deadline = time.monotonic() + 10
    while "took the publisher lock" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "this process took the publisher lock: it publishes for demo-city" in log.read_text()


# -- L2: status set and trust show advice ------------------------------------------------------


def test_status_set_usage_names_card(issuer_dir: Path) -> None:
    result = cli("status", "set", "--help")
    usage = result.stdout.splitlines()[0]
    assert "CARD" in usage and "DOCUMENT_NUMBER|INDEX" not in usage, usage


def _first_card(issuer_dir: Path) -> int:
    resident = issuer_dir.parent / "resident.json"
    resident.write_text(json.dumps(RESIDENT), encoding="utf-8")
    result = cli(
        "issue", "--dir", issuer_dir, "--resident", resident, "--out", resident.with_suffix(".cose")
    )
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("Status index: "))
    return int(line.split()[2])


def test_status_set_advice_follows_the_publisher(issuer_dir: Path) -> None:
    index = _first_card(issuer_dir)
    result = cli("status", "set", "--dir", issuer_dir, str(index), "suspended")
    assert result.exit_code == 0, result.output
    assert f"run 'citycard-api publish --dir {issuer_dir}'" in result.stdout, result.stdout

    issuer = Issuer(issuer_dir)
    worker = PublisherWorker(issuer)  # a running serve's publisher holds the lock
    try:
        assert worker.catch_up()
        result = cli("status", "set", "--dir", issuer_dir, str(index), "revoked")
    finally:
        worker.stop()
        issuer.close()
    assert result.exit_code == 0, result.output
    assert "citycard-api publish" not in result.stdout, result.stdout
    assert "publishes it within seconds" in result.stdout, result.stdout


def test_trust_show_on_a_host_that_does_not_publish(issuer_dir: Path) -> None:
    before = cli("trust", "show", "--dir", issuer_dir, "--json")
    assert before.exit_code == 0, before.output
    shutil.rmtree(issuer_dir / "public")  # host B: a copy without public/, never published
    after = cli("trust", "show", "--dir", issuer_dir, "--json")
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout) == json.loads(before.stdout)
