"""The service desk (/desk/): who gets in, what is refused, and what each action changes and
records."""

from __future__ import annotations

import pytest

from api.issuer.desk import sessions
from tests.api_fixtures import BACKENDS, Api, fixture_api, fixture_database_url  # noqa: F401
from tests.desk_helpers import (
    SAME_SITE,
    assert_page_headers,
    csrf_of,
    desk_post,
    issued_card,
    login_with_token,
    post_form,
    text_of,
)

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
PASSWORD = "correct horse battery staple"


def audit_rows(api: Api) -> list[dict[str, object]]:
    return api.issuer.registry.dump()["audit_events"]


def login_with_password(api: Api, staff_id: str, password: str, address: str = "192.0.2.50"):  # type: ignore[no-untyped-def]
    return post_form(
        api.client,
        "/desk/login",
        "/desk/login",
        {"method": "password", "staff_id": staff_id, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.mark.parametrize(
    "path", ["/desk/", "/desk/card?number=DEV00000018", "/desk/accounts", "/desk/audit"]
)
def test_anonymous_users_are_sent_to_the_login_page(api: Api, path: str) -> None:
    res = api.client.get(path)
    assert res.status_code == 303 and res.headers["Location"] == "/desk/login"
    assert_page_headers(res)


def test_an_anonymous_post_is_refused(api: Api) -> None:
    number, _code = issued_card(api)
    res = api.client.post(f"/desk/cards/{number}/revoke", data={"confirm": "yes"}, headers=SAME_SITE)
    assert res.status_code == 403
    assert api.issuer.card(number).status == "valid"


def test_login_page_has_the_headers_and_a_strict_cookie(api: Api) -> None:
    res = api.client.get("/desk/login")
    assert res.status_code == 200
    assert_page_headers(res)
    cookie = res.headers["Set-Cookie"]
    assert cookie.startswith("__Host-citycard-desk-login=")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"))


def test_token_login_gives_a_strict_session_cookie(api: Api) -> None:
    res = post_form(api.client, "/desk/login", "/desk/login", {"method": "token", "token": api.staff_token})
    assert res.status_code == 303
    cookie = res.headers["Set-Cookie"]
    assert cookie.startswith(sessions.SESSION_COOKIE + "=")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Max-Age="))
    home = api.client.get("/desk/")
    assert home.status_code == 200 and "desk-1" in text_of(home)
    assert_page_headers(home)


def test_a_wrong_token_or_password_is_refused_and_throttled(api: Api) -> None:
    api.issuer.accounts.set_password("desk-1", PASSWORD, 1)
    res = post_form(api.client, "/desk/login", "/desk/login", {"method": "token", "token": "ccs_nope"})
    assert res.status_code == 401
    assert login_with_password(api, "desk-1", "wrong password!!").status_code == 401
    assert login_with_password(api, "no-such-person", PASSWORD).status_code == 401
    assert api.client.get("/desk/").status_code == 303  # still not logged in
    statuses = [login_with_password(api, "desk-1", "wrong password!!").status_code for _ in range(6)]
    assert statuses[-1] == 429, statuses
    # Throttled: even the right password waits.
    res = login_with_password(api, "desk-1", PASSWORD)
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1
    # Refused logins are audited, without the typed id unless it is an account's.
    refused = [e for e in audit_rows(api) if e["action"] == "desk-login-refused"]
    assert refused and {e["detail"] for e in refused} <= {"desk-1", None}


def test_password_login_and_logout(api: Api) -> None:
    api.issuer.accounts.set_password("desk-1", PASSWORD, 1)
    res = login_with_password(api, "desk-1", PASSWORD)
    assert res.status_code == 303
    assert api.client.get("/desk/").status_code == 200
    old_cookie = api.client.get_cookie(sessions.SESSION_COOKIE)
    assert old_cookie is not None
    res = desk_post(api.client, "/desk/logout")
    assert res.status_code == 303 and res.headers["Location"] == "/desk/login"
    assert api.client.get("/desk/").status_code == 303
    # The old cookie, replayed, no longer opens the desk.
    api.client.set_cookie(sessions.SESSION_COOKIE, old_cookie.value, secure=True)
    assert api.client.get("/desk/").status_code == 303


def test_cross_site_and_tokenless_posts_are_refused(api: Api) -> None:
    number, _code = issued_card(api)
    login_with_token(api)
    token = csrf_of(api.client.get("/desk/"))
    path = f"/desk/cards/{number}/suspend"
    other_site = {"Origin": "https://evil.example"}
    assert api.client.post(path, data={"csrf": token}, headers=other_site).status_code == 403
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert api.client.post(path, data={"csrf": token}, headers=cross).status_code == 403
    assert api.client.post(path, data={}, headers=SAME_SITE).status_code == 403
    assert api.client.post(path, data={"csrf": "y" * 43}, headers=SAME_SITE).status_code == 403
    assert api.issuer.card(number).status == "valid"
    assert api.client.post(path, data={"csrf": token}, headers=SAME_SITE).status_code == 303
    assert api.issuer.card(number).status == "suspended"


@BOTH
def test_suspend_reinstate_revoke_are_audited_with_the_staff_id(api: Api) -> None:
    number, _code = issued_card(api)
    login_with_token(api)
    page = api.client.get(f"/desk/card?number={number}")
    assert page.status_code == 200
    assert_page_headers(page)
    assert "Card made" in text_of(page) and "kiosk kiosk-2" in text_of(page)
    assert desk_post(api.client, f"/desk/cards/{number}/suspend").status_code == 303
    assert api.issuer.card(number).status == "suspended"
    assert desk_post(api.client, f"/desk/cards/{number}/reinstate").status_code == 303
    assert api.issuer.card(number).status == "valid"
    # Revoking needs the confirmation box.
    assert desk_post(api.client, f"/desk/cards/{number}/revoke").status_code == 400
    res = desk_post(api.client, f"/desk/cards/{number}/revoke", {"confirm": "yes"})
    assert res.status_code == 303
    assert api.issuer.card(number).status == "revoked"
    again = desk_post(api.client, f"/desk/cards/{number}/reinstate")
    assert again.status_code == 409 and "stays revoked" in text_of(again)
    history = text_of(api.client.get(f"/desk/card?number={number}"))
    for word in ("Suspended", "Reinstated", "Revoked", "staff desk-1"):
        assert word in history
    events = [(e["actor_id"], e["action"], e["detail"]) for e in audit_rows(api) if e["document_number"] == number]
    assert ("desk-1", "status", "suspended") in events
    assert ("desk-1", "status", "valid") in events
    assert ("desk-1", "status", "revoked") in events
    assert ("desk-1", "desk-lookup", None) in events


def test_unknown_and_malformed_numbers_get_a_sentence(api: Api) -> None:
    login_with_token(api)
    res = api.client.get("/desk/card?number=DEV99999997")
    assert res.status_code == 404 and "There is no card DEV99999997" in text_of(res)
    res = api.client.get("/desk/card?number=<x>")
    assert res.status_code == 400 and "4 to 24 capital letters" in text_of(res)


def test_a_new_receipt_code_is_shown_once_and_replaces_the_old(api: Api) -> None:
    number, old_code = issued_card(api)
    login_with_token(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    assert res.status_code == 303
    res = api.client.get(res.headers["Location"])  # shown once (desk.flash)
    new_code = text_of(res).split('id="new-code">', 1)[1].split("<", 1)[0]
    assert len(new_code) == 11 and new_code != old_code
    assert api.issuer.self_revoke(number, old_code) is None
    assert api.issuer.self_revoke(number, new_code) is not None
    digests = {c["revocation_code_hash"] for c in api.issuer.registry.dump()["cards"]}
    assert not any(new_code.replace("-", "") in str(d) for d in digests)


def test_accounts_need_an_admin(api: Api) -> None:
    login_with_token(api)
    res = api.client.get("/desk/accounts")
    assert res.status_code == 403 and "Only a desk admin" in text_of(res)
    assert desk_post(api.client, "/desk/accounts/staff", {"staff_id": "desk-9"}).status_code == 403
    assert api.issuer.accounts.staff_account("desk-9") is None


def test_an_admin_manages_staff_and_kiosks(api: Api) -> None:
    api.issuer.accounts.set_role("desk-1", True, 1)
    login_with_token(api)
    res = desk_post(api.client, "/desk/accounts/staff", {"staff_id": "desk-2"})
    assert res.status_code == 303
    res = api.client.get(res.headers["Location"])
    token = text_of(res).split('id="new-token">', 1)[1].split("<", 1)[0]
    assert api.issuer.staff_for_token(token) == "desk-2"
    short = desk_post(api.client, "/desk/accounts/staff/desk-2/password", {"password": "short", "password2": "short"})
    assert short.status_code == 400 and "12 to 256 characters" in text_of(short)
    res = desk_post(
        api.client,
        "/desk/accounts/staff/desk-2/password",
        {"password": PASSWORD, "password2": PASSWORD},
        follow_redirects=True,
    )
    assert res.status_code == 200 and "The password is set" in text_of(res)
    assert api.issuer.accounts.staff_for_password("desk-2", PASSWORD) == "desk-2"
    res = desk_post(api.client, "/desk/accounts/staff/desk-2/disable", {"confirm": "yes"})
    assert res.status_code == 303
    assert api.issuer.staff_for_token(token) is None
    assert api.issuer.accounts.staff_for_password("desk-2", PASSWORD) is None
    res = desk_post(api.client, "/desk/accounts/kiosks/kiosk-2/disable", {"confirm": "yes"})
    assert res.status_code == 303
    kiosk = api.issuer.kiosk("kiosk-2")
    assert kiosk is not None and kiosk.state == "revoked"
    actions = {(e["actor_id"], e["action"], e["detail"]) for e in audit_rows(api)}
    assert {
        ("desk-1", "staff-add", "desk-2"),
        ("desk-1", "password-set", "desk-2"),
        ("desk-1", "staff-revoke", "desk-2"),
        ("desk-1", "kiosk-revoke", "kiosk-2"),
    } <= actions


def test_a_disabled_account_loses_its_open_session(api: Api) -> None:
    login_with_token(api)
    assert api.client.get("/desk/").status_code == 200
    api.issuer.revoke_staff("desk-1")
    assert api.client.get("/desk/").status_code == 303


def test_the_audit_log_page(api: Api) -> None:
    number, _code = issued_card(api)
    login_with_token(api)
    api.client.get(f"/desk/card?number={number}")
    res = api.client.get("/desk/audit")
    assert res.status_code == 200 and number in text_of(res)
    assert_page_headers(res)


def test_the_desk_speaks_its_languages_and_english_otherwise(api: Api) -> None:
    german = text_of(api.client.get("/desk/login", headers={"Accept-Language": "de-CH,de;q=0.9"}))
    assert '<html lang="de"' in german and "Am Schalter anmelden" in german
    catalan = text_of(api.client.get("/desk/login?lang=ca"))
    assert '<html lang="ca"' in catalan and "Inicia la sessió" in catalan
    # A browser that never chose with ?lang= (a language chosen so is kept in a cookie).
    fresh = api.app.test_client()
    arabic = text_of(fresh.get("/desk/login", headers={"Accept-Language": "ar"}))
    assert '<html lang="en"' in arabic and "Log in to the service desk" in arabic
