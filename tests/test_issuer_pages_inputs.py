"""Inputs the issuer's pages (/lost, /desk/) got wrong in exploratory testing: errors of the web
layer (404, 405, 413, 5xx) as the page's own translated page rather than the API's JSON, the
desk's account refusals in the page's language, and the last desk admin kept."""

from __future__ import annotations

import contextlib
import threading

import pytest
from click.testing import CliRunner
from markupsafe import escape
from werkzeug.test import TestResponse

from api.issuer.page_i18n import DESK_LANGUAGES, translations
from tests.api_fixtures import BACKENDS, Api, fixture_api, fixture_database_url  # noqa: F401
from tests.desk_helpers import (
    SAME_SITE,
    assert_page_headers,
    csrf_of,
    desk_post,
    login_with_token,
    text_of,
)

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
BIG = 70_000  # over the default max_body of 64 KiB

# The English msgids; each test looks its translation up in the catalogue it expects.
NOT_FOUND = "There is no page at this address."
WRONG_METHOD = "This page cannot be used that way."
TOO_LARGE = "What was sent is too long for this page. Go back and try again."
FAILED = "Something went wrong on our side. Try again in a few minutes."
BAD_ID = (
    "The staff id '%(id)s' is not usable: use 1 to 63 lower-case letters, digits, '.', '_' or "
    "'-', starting with a letter or digit."
)
TAKEN = "There is already a staff account '%(id)s'; choose another id."
PASSWORD_RULE = (
    "A password needs %(min)s to %(max)s characters; a few unrelated words make a good one."
)
NO_STAFF = "There is no active staff account '%(id)s'."
NO_KIOSK = "There is no kiosk '%(id)s'."
LAST_ADMIN = "'%(id)s' is the last desk admin. Make another staff account an admin first."


def said(lang: str, message: str, **values: object) -> str:
    """`message` in `lang` as the page shows it (HTML-escaped like the page's text)."""
    text = translations(lang).gettext(message)
    if lang != "en":
        assert text != message, (lang, message)  # the catalogue has it
    text = text % values if values else text
    return str(escape(text))


def assert_error_page(res: TestResponse, status: int, lang: str, message: str, back: str) -> None:
    assert res.status_code == status, (res.status_code, text_of(res)[:300])
    assert res.mimetype == "text/html", res.headers
    assert_page_headers(res)
    html = text_of(res)
    assert f'<html lang="{lang}"' in html, html[:200]
    assert said(lang, message) in html, html
    assert f'href="{back}' in html, html
    assert '"code"' not in html and "openapi" not in html


def admin(api: Api) -> None:
    api.issuer.accounts.set_role("desk-1", True, 1)
    login_with_token(api)


# -- 1. errors under /lost and /desk/ are the pages' own --------------------------------------


def test_the_lost_form_sends_its_language_in_the_address(api: Api) -> None:
    """A body too large is never read, so the language must travel in the address too."""
    assert 'action="/lost?lang=de"' in text_of(api.client.get("/lost?lang=de"))


def test_a_lost_form_too_large_gets_the_lost_page_in_its_language(api: Api) -> None:
    token = csrf_of(api.client.get("/lost?lang=de"))
    data = {"csrf": token, "lang": "de", "doc": "A" * 100_000, "code": "x", "action": "revoke"}
    res = api.client.post("/lost?lang=de", data=data, headers=SAME_SITE)
    assert_error_page(res, 413, "de", TOO_LARGE, "/lost?lang=de")
    # Without ?lang=, the browser's language.
    res = api.client.post("/lost", data=data, headers={**SAME_SITE, "Accept-Language": "uk"})
    assert_error_page(res, 413, "uk", TOO_LARGE, "/lost?lang=uk")


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/lost/", 404, NOT_FOUND),
        ("GET", "/lost/anything?lang=ar", 404, NOT_FOUND),
        ("PUT", "/lost", 405, WRONG_METHOD),
        ("DELETE", "/lost?lang=fr", 405, WRONG_METHOD),
    ],
)
def test_lost_addresses_that_are_not_pages_get_the_lost_page(
    api: Api, method: str, path: str, status: int, message: str
) -> None:
    res = api.client.open(path, method=method, headers={"Accept-Language": "fr-CH"})
    lang = "ar" if "lang=ar" in path else "fr"
    assert_error_page(res, status, lang, message, f"/lost?lang={lang}")
    if status == 405:
        assert "POST" in res.headers["Allow"]
    if lang == "ar":
        assert 'dir="rtl"' in text_of(res)


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/desk/nope?lang=de", 404, NOT_FOUND),
        ("GET", "/desk/accounts/nope/more", 404, NOT_FOUND),
        ("POST", "/desk/", 405, WRONG_METHOD),
        ("GET", "/desk/cards/DEV00000018/suspend", 405, WRONG_METHOD),
        ("PUT", "/desk/login", 405, WRONG_METHOD),
    ],
)
def test_desk_addresses_that_are_not_pages_get_the_desk_page(
    api: Api, method: str, path: str, status: int, message: str
) -> None:
    res = api.client.open(path, method=method, headers={"Accept-Language": "nl", **SAME_SITE})
    assert_error_page(res, status, "de" if "lang=de" in path else "nl", message, "/desk/")


def test_a_desk_post_too_large_gets_the_desk_page(api: Api) -> None:
    admin(api)
    res = desk_post(api.client, "/desk/accounts/staff?lang=de", {"staff_id": "x" * BIG})
    assert_error_page(res, 413, "de", TOO_LARGE, "/desk/")
    assert api.issuer.accounts.staff_account("x" * BIG) is None
    # Not logged in: the login form too.
    res = api.client.post("/desk/login?lang=ca", data={"staff_id": "x" * BIG}, headers=SAME_SITE)
    assert_error_page(res, 413, "ca", TOO_LARGE, "/desk/")


def test_a_desk_page_outside_the_desk_languages_is_english(api: Api) -> None:
    res = api.client.get("/desk/nope", headers={"Accept-Language": "ar"})
    assert_error_page(res, 404, "en", NOT_FOUND, "/desk/")


def test_a_failure_on_a_page_is_a_page_too(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.issuer import routes_lost
    from api.issuer.desk import routes_login
    from api.issuer.registry import RegistryError

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("a bug")

    def away(*_args: object, **_kw: object) -> None:
        raise RegistryError("database away")

    monkeypatch.setattr(routes_lost, "_form", broken)
    assert_error_page(api.client.get("/lost?lang=es"), 500, "es", FAILED, "/lost?lang=es")
    monkeypatch.setattr(routes_login.sessions, "current", away)
    res = api.client.get("/desk/login?lang=it")
    assert_error_page(res, 503, "it", FAILED, "/desk/")
    assert res.headers["Retry-After"] == "60"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nope", 404, "not_found"),
        ("GET", "/lostx", 404, "not_found"),
        ("GET", "/deskx/", 404, "not_found"),
        ("GET", "/.well-known/nope", 404, "not_found"),
        ("PUT", "/oid4vci/credential", 405, "method_not_allowed"),
        ("GET", "/api/v1/self-revocation", 405, "method_not_allowed"),
    ],
)
def test_the_api_keeps_its_json_errors(
    api: Api, method: str, path: str, status: int, code: str
) -> None:
    res = api.client.open(path, method=method, headers={"Accept-Language": "de"})
    assert res.status_code == status
    assert res.is_json and res.json is not None and res.json["code"] == code


def test_an_api_body_too_large_is_still_json(api: Api) -> None:
    res = api.client.post(
        "/api/v1/self-revocation", data="x" * BIG, content_type="application/x-www-form-urlencoded"
    )
    # The API reads JSON bodies only; however it refuses this one, it answers JSON.
    assert res.status_code in (413, 415) and res.is_json, res.status_code


# -- 2. the desk's account refusals in the page's language -------------------------------------


@pytest.mark.parametrize("lang", DESK_LANGUAGES)
def test_account_refusals_are_in_the_page_language(api: Api, lang: str) -> None:
    admin(api)
    english = "is not usable", "12 to 256", "There is no active", "There is no kiosk", "already"
    cases = [
        ("/desk/accounts/staff", {"staff_id": "Jane Doe"}, BAD_ID, {"id": "Jane Doe"}),
        ("/desk/accounts/staff", {"staff_id": "desk-1"}, TAKEN, {"id": "desk-1"}),
        (
            "/desk/accounts/staff/desk-1/password",
            {"password": "short", "password2": "short"},
            PASSWORD_RULE,
            {"min": 12, "max": 256},
        ),
        (
            "/desk/accounts/staff/nobody/password",
            {"password": "a long enough password", "password2": "a long enough password"},
            NO_STAFF,
            {"id": "nobody"},
        ),
        ("/desk/accounts/staff/nobody/role", {"role": "admin"}, NO_STAFF, {"id": "nobody"}),
        ("/desk/accounts/staff/nobody/disable", {}, NO_STAFF, {"id": "nobody"}),
        ("/desk/accounts/kiosks/no-kiosk/disable", {}, NO_KIOSK, {"id": "no-kiosk"}),
    ]
    for path, data, message, values in cases:
        res = desk_post(api.client, f"{path}?lang={lang}", data)
        assert res.status_code in (400, 404), (path, res.status_code)
        assert_page_headers(res)
        html = text_of(res)
        assert f'<html lang="{lang}"' in html
        assert said(lang, message, **values) in html, (path, html)
        if lang != "en":
            assert not any(words in html for words in english), (path, html)


def test_a_refused_id_with_markup_or_percent_is_shown_as_text(api: Api) -> None:
    admin(api)
    for typed in ("50% <b>off</b>", "%(id)s %s %"):
        res = desk_post(api.client, "/desk/accounts/staff?lang=fr", {"staff_id": typed})
        assert res.status_code == 400, res.status_code
        assert said("fr", BAD_ID, id=typed) in text_of(res)
        assert "<b>off" not in text_of(res)


# -- 3. the last desk admin stays -------------------------------------------------------------


@BOTH
def test_the_last_admin_cannot_demote_or_disable_itself(api: Api) -> None:
    admin(api)
    res = desk_post(api.client, "/desk/accounts/staff/desk-1/role?lang=de", {"role": "staff"})
    assert res.status_code == 409, res.status_code
    assert said("de", LAST_ADMIN, id="desk-1") in text_of(res)
    res = desk_post(api.client, "/desk/accounts/staff/desk-1/disable?lang=de")
    assert res.status_code == 409, res.status_code
    account = api.issuer.accounts.staff_account("desk-1")
    assert account is not None and account.admin and account.active
    assert api.client.get("/desk/accounts").status_code == 200
    roles = [e["action"] for e in api.issuer.registry.dump()["audit_events"]]
    assert "role-staff" not in roles and "staff-revoke" not in roles


@BOTH
def test_with_another_admin_an_admin_may_step_down(api: Api) -> None:
    api.issuer.add_staff("desk-2")
    api.issuer.accounts.set_role("desk-2", True, 1)
    admin(api)
    res = desk_post(api.client, "/desk/accounts/staff/desk-1/role", {"role": "staff"})
    assert res.status_code == 303
    res = api.client.get(res.headers["Location"])
    assert res.status_code == 200 and "The role is changed." in text_of(res)
    account = api.issuer.accounts.staff_account("desk-1")
    assert account is not None and not account.admin
    # desk-2 is now the last one: the rule holds for it too.
    with pytest.raises(Exception, match="last desk admin") as info:
        api.issuer.accounts.set_role("desk-2", False, 2)
    assert type(info.value).__name__ == "LastAdminError"


def test_a_withdrawn_admin_does_not_count(api: Api) -> None:
    api.issuer.add_staff("desk-2")
    api.issuer.accounts.set_role("desk-2", True, 1)
    admin(api)
    api.issuer.revoke_staff("desk-2")  # its desk row still says admin
    res = desk_post(api.client, "/desk/accounts/staff/desk-1/role", {"role": "staff"})
    assert res.status_code == 409
    # A plain staff account's role is still changed freely; the last admin may stay admin.
    api.issuer.add_staff("desk-3")
    for staff_id, role in (("desk-3", "staff"), ("desk-1", "admin")):
        res = desk_post(api.client, f"/desk/accounts/staff/{staff_id}/role", {"role": role})
        assert res.status_code == 303, (staff_id, res.status_code)


def test_the_command_line_keeps_the_last_admin_but_can_still_revoke_it(api: Api) -> None:
    from api.issuer.cli import main as citycard_api

    runner = CliRunner()
    directory = str(api.dir)
    result = runner.invoke(citycard_api, ["desk", "admin", "--dir", directory, "desk-1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(citycard_api, ["desk", "admin", "--dir", directory, "desk-1", "--off"])
    assert result.exit_code == 2 and "last desk admin" in result.output, result.output
    account = api.issuer.accounts.staff_account("desk-1")
    assert account is not None and account.admin
    # Revoking is the emergency cut-off: the host may always do it, and is told what is left.
    result = runner.invoke(citycard_api, ["staff", "revoke", "--dir", directory, "desk-1"])
    assert result.exit_code == 0, result.output
    assert "No active desk admin is left" in result.output
    assert "citycard-api desk admin" in result.output
    account = api.issuer.accounts.staff_account("desk-1")
    assert account is not None and not account.active


@pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)
def test_two_admins_demoting_each_other_at_once_leave_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL runs the two at once (SQLite queues write transactions): the admin rows are
    locked while counted, so the second sees the first's change."""
    from api.issuer.registry import desk_queries

    for staff_id in ("desk-1", "desk-2"):
        if staff_id != "desk-1":
            api.issuer.add_staff(staff_id)
        api.issuer.accounts.set_role(staff_id, True, 1)
    counted = desk_queries.active_admin_ids
    meet = threading.Barrier(2)

    def slow_count(session: object) -> list[str]:
        admins = counted(session)  # type: ignore[arg-type]
        # Without the lock both get here and go on together; with it the second waits.
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=1.0)
        return admins

    monkeypatch.setattr(desk_queries, "active_admin_ids", slow_count)
    errors: list[Exception] = []

    def demote(staff_id: str) -> None:
        try:
            api.issuer.accounts.set_role(staff_id, False, 2, ("staff", "x"))
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=demote, args=(i,)) for i in ("desk-1", "desk-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [type(e).__name__ for e in errors] == ["LastAdminError"], errors
    assert len(api.issuer.accounts.desk_admins()) == 1
