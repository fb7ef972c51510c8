"""The issuer's /health, what it serves while its registry is away, and what /openapi.json says
about both (docs/api.md).

A registry outage is made for real: the SQLite file is moved aside and a directory put in its
place, and the app's pooled connections are dropped, so every query fails as it would with a
database that does not answer.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.issuer import routes_health
from api.issuer.published_cache import PublishedFiles
from api.issuer.registry import RegistryError, database, publication_queries
from api.issuer.registry.migrate import head
from api.issuer.server import create_app, load_config
from tests.api_fixtures import (
    ALLOCATE,
    BACKENDS,
    Api,
    fixture_database_url,  # noqa: F401 - fixture
    make_api,
    new_request_id,
)

TRUST = "/.well-known/citycard/trust-list"
ROOT = "/.well-known/citycard/root-key"
STRICT = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
HEALTH_FIELDS = {
    "status",
    "database",
    "schema",
    "publisher",
    "last_published_age_seconds",
    "oldest_status_list_age_seconds",
    "warnings",
}


@pytest.fixture(name="env")
def fixture_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setattr(routes_health, "CACHE_SECONDS", 0.0)  # every check asks the registry
    env = make_api(tmp_path / "issuer", None)
    # What a host holds is checked against the registry on every request, not once a second.
    env.app.extensions["citycard"].published.recheck = 0.0
    try:
        yield env
    finally:
        env.app.extensions["citycard"].issuer.close()
        env.issuer.close()


@contextmanager
def registry_away(env: Api | Flask) -> Iterator[None]:
    """The app's registry cannot be opened until the block ends."""
    app = env if isinstance(env, Flask) else env.app
    registry = app.extensions["citycard"].issuer.registry
    path = registry.sqlite_path
    assert path is not None
    aside = path.with_name(path.name + ".aside")
    registry.engine.dispose()
    path.rename(aside)
    path.mkdir()
    registry.engine.dispose()
    try:
        yield
    finally:
        registry.engine.dispose()
        path.rmdir()
        aside.rename(path)


def _security_headers(res: Any) -> None:
    for name, value in STRICT.items():
        assert res.headers[name] == value, name


# -- M6: the public files during an outage -------------------------------------------------------


def test_public_files_held_in_memory_are_served_while_the_registry_is_away(
    env: Api, caplog: pytest.LogCaptureFixture
) -> None:
    before = {path: env.client.get(path) for path in ("/status/1", TRUST, ROOT)}
    for res in before.values():
        assert res.status_code == 200
    with caplog.at_level(logging.WARNING, "citycard.api"), registry_away(env):
        for path, old in before.items():
            res = env.client.get(path)
            assert res.status_code == 200, (path, res.get_data(as_text=True))
            assert res.data == old.data and res.headers["ETag"] == old.headers["ETag"]
            assert res.headers["Cache-Control"] == old.headers["Cache-Control"]
            again = env.client.get(path, headers={"If-None-Match": old.headers["ETag"]})
            assert again.status_code == 304 and again.data == b""
        # Everything that needs the registry stays a typed 503.
        res = env.kiosk_call("POST", ALLOCATE, {"request_id": new_request_id()})
        assert res.status_code == 503 and res.get_json()["code"] == "unavailable"
        assert res.headers["Retry-After"] == "60"
        # One line for the outage, not one per request.
        for _ in range(3):
            env.client.get("/status/1")
    held = [r for r in caplog.records if "serving the public files" in r.getMessage()]
    assert len(held) == 1, [r.getMessage() for r in caplog.records]
    assert env.client.get("/status/1").status_code == 200
    assert env.allocate()["document_number"]


def test_a_file_not_held_is_a_typed_503_while_the_registry_is_away(tmp_path: Path) -> None:
    env = make_api(tmp_path / "issuer", None)
    # A host that has answered no request yet, without the fast path (Flask's route).
    app = create_app(load_config(env.dir, publisher=False, fast_path=False))
    app.extensions["citycard"].published.recheck = 0.0
    client = app.test_client()
    try:
        with registry_away(app):
            res = client.get("/status/1")
        # It read the files at start: it holds them although no one asked for them yet.
        assert res.status_code == 200 and res.data == env.client.get("/status/1").data
        app.extensions["citycard"].published._cache.clear()
        with registry_away(app):
            res = client.get("/status/1")
        assert res.status_code == 503 and res.get_json()["code"] == "unavailable"
        assert res.headers["Retry-After"].isdigit()
    finally:
        app.extensions["citycard"].issuer.close()
        env.app.extensions["citycard"].issuer.close()
        env.issuer.close()


def test_a_slow_registry_does_not_hold_up_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one request waits for the registry, the others get the copy held in memory."""
    entered, release = threading.Event(), threading.Event()

    class SlowRegistry:
        def __init__(self) -> None:
            self.slow = False
            self.version = 1

        @contextmanager
        def read(self) -> Iterator[Any]:
            if self.slow:
                entered.set()
                release.wait(10)
                raise RegistryError("The registry database does not answer.")
            yield self

    registry = SlowRegistry()
    files = PublishedFiles(lambda: registry, tmp_path, recheck=0.0)  # type: ignore[arg-type, return-value]

    class Row:
        body, published_at, version = b"token", 1, 1

    monkeypatch.setattr(publication_queries, "file_version", lambda _s, _name: 1)
    monkeypatch.setattr(publication_queries, "stored_file", lambda _s, _name: Row())
    try:
        held = files.get("status/1.cwt")
        assert held is not None and held.body == b"token"
        registry.slow = True
        waiting = threading.Thread(target=files.get, args=("status/1.cwt",))
        waiting.start()
        assert entered.wait(10)
        assert files.get("status/1.cwt") == held  # answered at once, from memory
        release.set()
        waiting.join(10)
        assert files.get("status/1.cwt") == held
    finally:
        release.set()


class Proxy:
    """A TCP relay to PostgreSQL: `stop()` makes the database stop answering, as an outage
    does (open connections cut, new ones refused); `start()` brings it back on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port, self._listener = listener.getsockname()[1], listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for end in (src, dst):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener is not None:
            with suppress(OSError):  # wakes accept(): close() alone leaves the port listening
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets = []


@pytest.mark.parametrize("database_url", BACKENDS[1:], indirect=True)
def test_a_postgresql_outage_and_back(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL stops answering under a running host: the lists it holds are still served,
    the rest is a typed 503, /health says 503; when it answers again, all is well again."""
    monkeypatch.setattr(routes_health, "CACHE_SECONDS", 0.0)
    real = make_url(database_url)
    proxy = Proxy(real.host or "127.0.0.1", real.port or 5432)
    proxy.start()
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = make_api(tmp_path / "issuer", url)
    env.app.extensions["citycard"].published.recheck = 0.0
    try:
        before = env.client.get("/status/1")
        assert before.status_code == 200 and env.client.get("/health").status_code == 200
        proxy.stop()
        res = env.client.get("/status/1")
        assert res.status_code == 200 and res.headers["ETag"] == before.headers["ETag"]
        res = env.kiosk_call("POST", ALLOCATE, {"request_id": new_request_id()})
        assert res.status_code == 503 and res.get_json()["code"] == "unavailable"
        health = env.client.get("/health")
        assert health.status_code == 503 and health.get_json()["database"] == "unavailable"
        assert "citycard-test" not in health.get_data(as_text=True)  # no password, no URL
        proxy.start()
        assert env.client.get("/health").status_code == 200
        assert env.allocate()["document_number"]
    finally:
        env.app.extensions["citycard"].issuer.close()
        env.issuer.close()
        proxy.stop()


# -- M5: /health -------------------------------------------------------------------------------


def test_health_of_a_host_that_serves_and_publishes(env: Api) -> None:
    res = env.client.get("/health")
    assert res.status_code == 200 and res.mimetype == "application/json"
    body = res.get_json()
    assert set(body) == HEALTH_FIELDS, body
    assert body["status"] == "ok" and body["database"] == "ok" and body["warnings"] == []
    assert body["schema"] == {"current": head(), "expected": head()}
    assert body["publisher"] is True
    assert 0 <= body["last_published_age_seconds"] < 60
    assert 0 <= body["oldest_status_list_age_seconds"] < 60
    assert res.headers["Cache-Control"] == "no-store"
    _security_headers(res)


def test_health_says_which_host_publishes(env: Api) -> None:
    other = create_app(load_config(env.dir))  # the lock is taken: this one only serves
    try:
        body = other.test_client().get("/health").get_json()
        assert body["status"] == "ok" and body["publisher"] is False
    finally:
        other.extensions["citycard"].issuer.close()


def test_health_is_degraded_when_no_one_signs_the_lists(env: Api) -> None:
    env.app.extensions["citycard"].extra["publisher"].stop()
    with env.issuer.registry.write() as s:
        row = publication_queries.stored_file(s, "status/1.cwt")
        assert row is not None
        row.published_at -= 10 * 86400
    res = env.client.get("/health")
    assert res.status_code == 200  # the host can serve and issue; the lists are getting old
    body = res.get_json()
    assert body["status"] == "degraded" and body["publisher"] is False
    assert body["oldest_status_list_age_seconds"] >= 10 * 86400
    (warning,) = body["warnings"]
    assert "Status list 1" in warning and "publisher" in warning and warning.endswith(".")


def test_health_is_503_while_the_registry_is_away(
    env: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "citycard.api"), registry_away(env):
        res = env.client.get("/health")
        env.client.get("/health")
    assert res.status_code == 503 and res.mimetype == "application/json"
    body = res.get_json()
    assert set(body) == HEALTH_FIELDS | {"code", "message"}, body
    assert body["code"] == "unavailable" and body["status"] == "unavailable"
    assert body["database"] == "unavailable" and body["schema"]["current"] is None
    assert body["message"].endswith(".") and "registry" in body["message"]
    assert "sqlite" not in res.get_data(as_text=True)  # no path or URL of the database
    assert res.headers["Retry-After"].isdigit()
    _security_headers(res)
    assert env.client.get("/health").status_code == 200
    changes = [r.getMessage() for r in caplog.records if r.name == "citycard.api.health"]
    assert len(changes) == 2 and "unavailable" in changes[0] and "ok" in changes[1], changes


def test_health_is_503_when_the_schema_is_not_this_version_s(env: Api) -> None:
    registry = env.app.extensions["citycard"].issuer.registry
    with registry.write() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    res = env.client.get("/health")
    assert res.status_code == 503
    body = res.get_json()
    assert body["code"] == "schema_not_current" and body["status"] == "unavailable"
    assert body["database"] == "ok" and body["schema"] == {"current": "9999", "expected": head()}
    assert "9999" in body["message"] and body["message"].endswith(".")


class Clock:
    """The monotonic clock /health reads, moved only by the test (no real time in the checks)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def fixture_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(routes_health, "monotonic", clock)
    return clock


def test_health_is_cheap_between_checks(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load balancer polling every host often costs one query a second, not one a poll."""
    monkeypatch.setattr(routes_health, "CACHE_SECONDS", 1.0)
    env = make_api(tmp_path / "issuer", None)
    try:
        first = env.client.get("/health").get_json()
        assert first["status"] == "ok"
        with registry_away(env):
            clock.now += 0.9
            assert env.client.get("/health").get_json() == first
            clock.now += 0.2  # past the kept answer's second: the registry is asked again
            assert env.client.get("/health").status_code == 503
    finally:
        env.app.extensions["citycard"].issuer.close()
        env.issuer.close()


@contextmanager
def hanging_registry(env: Api) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Registry reads block until `release` is set (a database that takes the connection and
    never answers); `entered` is set when a read has started."""
    registry = env.app.extensions["citycard"].issuer.registry
    entered, release = threading.Event(), threading.Event()
    real_read = registry.read

    @contextmanager
    def hanging_read() -> Iterator[Any]:
        entered.set()
        release.wait(30)
        with real_read() as s:
            yield s

    registry.read = hanging_read
    try:
        yield entered, release
    finally:
        release.set()
        registry.read = real_read


def _poll_in_background(env: Api) -> tuple[threading.Thread, list[int]]:
    got: list[int] = []
    poller = threading.Thread(target=lambda: got.append(env.client.get("/health").status_code))
    poller.start()
    return poller, got


def test_health_is_503_when_the_registry_check_hangs(
    env: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The kept answer covers a check in flight for a few seconds, not for as long as the
    database hangs: then a load balancer is told this host cannot issue."""
    assert env.client.get("/health").status_code == 200
    with caplog.at_level(logging.INFO, "citycard.api.health"):
        with hanging_registry(env) as (entered, release):
            clock.now += 1
            poller, got = _poll_in_background(env)
            assert entered.wait(10)
            clock.now += routes_health.HANG_SECONDS - 1  # a check slow for a moment: kept
            assert env.client.get("/health").status_code == 200
            clock.now += 2
            res = env.client.get("/health")
            assert res.status_code == 503 and res.headers["Retry-After"].isdigit()
            body = res.get_json()
            assert set(body) == HEALTH_FIELDS | {"code", "message"}, body
            assert body["status"] == "unavailable" and body["code"] == "unavailable"
            assert body["database"] == "unavailable"
            assert "does not answer" in body["message"] and body["message"].endswith(".")
            assert env.client.get("/health").status_code == 503
            release.set()
            poller.join(10)
        assert got == [200]
        assert env.client.get("/health").status_code == 200
    changes = [r.getMessage() for r in caplog.records if r.name == "citycard.api.health"]
    assert len(changes) == 2 and "unavailable" in changes[0] and "ok" in changes[1], changes


def test_health_is_503_when_the_first_check_hangs(env: Api, clock: Clock) -> None:
    """No answer kept yet: a second poll waits for the first check only while it may still
    come, then says the registry does not answer."""
    with hanging_registry(env) as (entered, release):
        poller, got = _poll_in_background(env)
        assert entered.wait(10)
        clock.now += routes_health.HANG_SECONDS + 1
        res = env.client.get("/health")
        assert res.status_code == 503 and "does not answer" in res.get_json()["message"]
        release.set()
        poller.join(10)
    assert got == [200]


def test_postgresql_connections_are_bounded() -> None:
    """A frozen server or a dropped route ends a connection attempt or a statement in bounded
    time; what the URL says itself (a search_path, its own timeout) is kept."""
    url = make_url("postgresql+psycopg://u@db.internal/citycard?options=-csearch_path%3Dt1")
    args = database.postgresql_connect_args(url)
    assert args["connect_timeout"] and args["keepalives"] == 1 and args["tcp_user_timeout"]
    assert "statement_timeout" in args["options"] and args["options"].endswith("-csearch_path=t1")
    psycopg.conninfo.make_conninfo("", **args)  # libpq knows every name
    own = make_url("postgresql+psycopg://u@db.internal/citycard?connect_timeout=20")
    assert "connect_timeout" not in database.postgresql_connect_args(own)


@pytest.mark.parametrize("database_url", BACKENDS[1:], indirect=True)
def test_postgresql_statements_are_bounded_but_not_migrations(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = database.Registry(database_url)
    seen: list[str] = []
    real_upgrade = database.migrate.upgrade

    def upgrade(conn: Any) -> str:  # a migration may rebuild a large table: no limit
        seen.append(conn.execute(text("SHOW statement_timeout")).scalar_one())
        return real_upgrade(conn)

    monkeypatch.setattr(database.migrate, "upgrade", upgrade)
    try:
        registry.upgrade()
        with registry.read() as s:
            assert s.execute(text("SHOW statement_timeout")).scalar_one() == "1min"
            assert s.execute(text("SHOW search_path")).scalar_one().startswith("t_")
        assert seen == ["0"]
    finally:
        registry.close()


# -- L3: /openapi.json ---------------------------------------------------------------------------

NO_REGISTRY = {
    ("get", "/.well-known/openid-credential-issuer"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("post", "/oid4vci/nonce"),
}


def test_openapi_documents_health_503_and_no_phantom_204(env: Api) -> None:
    doc = env.client.get("/openapi.json").get_json()
    health = doc["paths"]["/health"]["get"]
    assert set(health["responses"]) == {"200", "503"}
    assert "security" not in health
    schema = doc["components"]["schemas"]["Health"]
    assert set(schema["properties"]) == HEALTH_FIELDS | {"code", "message"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "204" not in responses, (method, path)
            if (method, path) in NO_REGISTRY:
                assert "503" not in responses, (method, path)
            else:
                assert "503" in responses, (method, path)
                assert "Retry-After" in responses["503"]["headers"], (method, path)
    upload = doc["paths"]["/wallet/pickups"]["post"]["responses"]
    assert "415" in upload
    public = doc["paths"]["/status/{list_id}"]["get"]["responses"]["503"]["description"]
    assert "not_published" in public and "unavailable" in public
