"""Desk sessions and logins beyond the basics: expiry, forged cookies, every page's headers,
and the command that makes the first admin."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from itsdangerous import URLSafeTimedSerializer

from api.issuer.desk import admin_cli, sessions
from tests.api_fixtures import Api, fixture_api, fixture_database_url  # noqa: F401
from tests.desk_helpers import assert_page_headers, desk_post, issued_card, login_with_token

PASSWORD = "seven unrelated words are better"


def test_a_session_older_than_its_max_age_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Log in "nine hours ago": itsdangerous stamps the cookie with time.time().
    real = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real() - 9 * 3600)
    login_with_token(api)
    monkeypatch.setattr("itsdangerous.timed.time.time", real)
    assert api.client.get("/desk/").status_code == 303


def test_a_cookie_signed_with_another_key_is_refused(api: Api) -> None:
    forged = URLSafeTimedSerializer(b"not the issuer's key", salt="citycard-desk-session")
    cookie = forged.dumps({"s": "desk-1", "t": int(time.time() * 1000), "c": "x" * 43})
    api.client.set_cookie(sessions.SESSION_COOKIE, cookie, secure=True)
    assert api.client.get("/desk/").status_code == 303


def test_every_desk_page_has_the_security_headers(api: Api) -> None:
    number, _code = issued_card(api)
    api.issuer.accounts.set_role("desk-1", True, 1)
    login_with_token(api)
    for path in ("/desk/", f"/desk/card?number={number}", "/desk/card?number=DEV99999997",
                 "/desk/card?number=%3Cx%3E", "/desk/accounts", "/desk/audit", "/lost"):  # fmt: skip
        res = api.client.get(path)
        assert res.status_code in (200, 400, 404), path
        assert_page_headers(res)
    for res in (
        desk_post(api.client, f"/desk/cards/{number}/code"),
        desk_post(api.client, f"/desk/cards/{number}/nothing"),
        api.client.post(f"/desk/cards/{number}/suspend", data={}),  # no token
    ):
        assert_page_headers(res)


def test_citycard_api_has_the_desk_commands(api: Api) -> None:
    from api.issuer.cli import main as citycard_api

    result = CliRunner().invoke(citycard_api, ["desk", "admin", "--dir", str(api.dir), "desk-1"])
    assert result.exit_code == 0, result.output
    account = api.issuer.accounts.staff_account("desk-1")
    assert account is not None and account.admin


def test_the_first_admin_from_the_command_line(api: Api, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(admin_cli.desk, ["admin", "--dir", str(api.dir), "desk-1"])
    assert result.exit_code == 0, result.output
    account = api.issuer.accounts.staff_account("desk-1")
    assert account is not None and account.admin
    result = runner.invoke(
        admin_cli.desk, ["password", "--dir", str(api.dir), "desk-1"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert api.issuer.accounts.staff_for_password("desk-1", PASSWORD) == "desk-1"
    result = runner.invoke(admin_cli.desk, ["password", "--dir", str(api.dir), "desk-1", "--password", "short"])
    assert result.exit_code == 2 and result.output.startswith("Error: A password needs 12")
    result = runner.invoke(admin_cli.desk, ["admin", "--dir", str(api.dir), "nobody"])
    assert result.exit_code == 2 and "no active staff account 'nobody'" in result.output
