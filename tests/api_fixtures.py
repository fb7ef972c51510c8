"""Fixtures for the issuer API tests: an issuer on SQLite or PostgreSQL, a kiosk, a staff token.

PostgreSQL runs when CITYCARD_TEST_PG_URL names a database the tests may use (`make test` starts
one on loopback with scripts/ensure_postgres.sh and sets it); each test gets a schema of its
own, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from cardio.kiosk_auth import KioskCredential

PG_ENV = "CITYCARD_TEST_PG_URL"
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set (make test sets it)"
        ),
    ),
]
ALLOCATE = "/api/v1/kiosk/allocations"


@pytest.fixture(name="database_url")
def fixture_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite (the issuer directory's default file); a fresh PostgreSQL schema else."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield None
        return
    base = os.environ[PG_ENV]
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def make_issuer(directory: Path, url: str | None, **config: Any) -> Issuer:
    """A fresh issuer in `directory`; with `url`, its registry there (named in server.toml)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    if url is not None:
        lines += ["[database]", f"url = {json.dumps(url)}"]
    if config:
        lines.append("[self_revocation]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    if lines:
        (directory / "server.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Issuer.init(directory)


@dataclass
class Api:
    """An issuer, its app, a test client, one kiosk's credential and one staff token."""

    issuer: Issuer
    app: Flask
    client: FlaskClient
    kiosk: KioskCredential
    staff_token: str

    @property
    def dir(self) -> Path:
        return self.issuer.dir

    def kiosk_call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        credential: KioskCredential | None = None,
        raw: bytes | None = None,
    ) -> TestResponse:
        body = raw if raw is not None else b"" if payload is None else json.dumps(payload).encode()
        headers = (credential or self.kiosk).headers(method, path, body)
        if body:
            headers["Content-Type"] = "application/json"
        return self.client.open(path, method=method, data=body, headers=headers)

    def allocate(self, request_id: str | None = None) -> dict[str, Any]:
        res = self.kiosk_call("POST", ALLOCATE, {"request_id": request_id or new_request_id()})
        assert res.status_code == 201, res.json
        data: dict[str, Any] = res.json  # type: ignore[assignment]
        return data

    def issued(self, number: str, iat: int = 1_790_000_000) -> TestResponse:
        return self.kiosk_call(
            "POST",
            f"/api/v1/kiosk/cards/{number}/issued",
            {"issued_at": iat, "expires_at": iat + 86400 * 730},
        )

    def staff(self, action: str, number: str, token: str | None = None) -> TestResponse:
        return self.client.post(
            f"/api/v1/staff/cards/{number}/{action}",
            headers={"Authorization": f"Bearer {token or self.staff_token}"},
        )

    def self_revoke(self, number: str, code: str, address: str = "192.0.2.10") -> TestResponse:
        return self.client.post(
            "/api/v1/self-revocation",
            json={"document_number": number, "code": code},
            environ_base={"REMOTE_ADDR": address},
        )


def new_request_id() -> str:
    return "req-" + secrets.token_hex(8)


def make_api(directory: Path, url: str | None, **config: Any) -> Api:
    issuer = make_issuer(directory, url, **config)
    _account, credential = issuer.add_kiosk("kiosk-2")
    assert credential is not None
    token = issuer.add_staff("desk-1")
    app = create_app(load_config(directory))
    return Api(issuer, app, app.test_client(), credential, token)


@pytest.fixture(name="api")
def fixture_api(tmp_path: Path, database_url: str | None) -> Iterator[Api]:
    env = make_api(tmp_path / "issuer", database_url)
    try:
        yield env
    finally:
        env.app.extensions["citycard"].issuer.close()
        env.issuer.close()
