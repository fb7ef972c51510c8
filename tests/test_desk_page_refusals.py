"""The desk and the issuer's pages in corners an exploratory pass found: the chosen language
kept past the first form, a form of a session that ended, a made-up role, a password with a
control character, a byte-order mark before JSON, a raw byte in the lost page's address, and
the redirect of /desk."""

from __future__ import annotations

import time

from tests.api_fixtures import Api, fixture_api, fixture_database_url  # noqa: F401
from tests.desk_helpers import (
    assert_page_headers,
    desk_post,
    issued_card,
    login_with_token,
    post_form,
    text_of,
)

PASSWORD = "a fictional desk passphrase"


def test_the_desk_keeps_the_chosen_language_after_login(api: Api) -> None:
    assert 'lang="de"' in text_of(api.client.get("/desk/login?lang=de"))
    res = post_form(
        api.client, "/desk/login", "/desk/login", {"method": "token", "token": api.staff_token}
    )
    assert res.status_code == 303
    home = api.client.get(res.headers["Location"])
    assert '<html lang="de"' in text_of(home), text_of(home)[:200]
    number, _code = issued_card(api)
    res = desk_post(api.client, f"/desk/cards/{number}/suspend")
    assert '<html lang="de"' in text_of(api.client.get(res.headers.get("Location", "/desk/")))
    # A new ?lang= wins, and is kept in turn.
    assert '<html lang="fr"' in text_of(api.client.get("/desk/?lang=fr"))
    assert '<html lang="fr"' in text_of(api.client.get("/desk/audit"))


def test_a_form_of_an_ended_session_says_to_log_in_again(api: Api) -> None:
    login_with_token(api)
    number, _code = issued_card(api)
    form_page = api.client.get("/desk/?lang=es")
    api.issuer.accounts.end_sessions("desk-1", int(time.time()))  # logged out in another tab
    res = post_form(api.client, f"/desk/cards/{number}/suspend", "/desk/login", {})
    assert res.status_code == 403
    html = text_of(res)
    assert 'href="/desk/login"' in html and "did not come from a desk page" not in html
    assert '<html lang="es"' in html and "Vuelva a iniciar" in html, html
    assert form_page.status_code == 200
    assert api.issuer.card(number).status == "valid"


def test_an_unknown_role_or_a_control_character_is_refused(api: Api) -> None:
    api.issuer.accounts.set_role("desk-1", True, 1)
    api.issuer.add_staff("desk-2")
    api.issuer.accounts.set_role("desk-2", True, 1)
    login_with_token(api)
    res = desk_post(api.client, "/desk/accounts/staff/desk-2/role", {"role": "superuser"})
    assert res.status_code == 400 and "The role is changed" not in text_of(res)
    assert "desk-2" in api.issuer.accounts.desk_admins()
    bad = PASSWORD + "\x00"
    res = desk_post(
        api.client, "/desk/accounts/staff/desk-2/password", {"password": bad, "password2": bad}
    )
    assert res.status_code == 400 and "control characters" in text_of(res)
    assert api.issuer.accounts.staff_for_password("desk-2", bad) is None


def test_json_with_a_byte_order_mark_is_bad_json(api: Api) -> None:
    body = b'\xef\xbb\xbf{"document_number": "DEV00000018", "code": "AAAAA-AAAAA"}'
    res = api.client.post("/api/v1/self-revocation", data=body, content_type="application/json")
    assert res.status_code == 400
    assert res.get_json()["code"] == "bad_json"
    assert "byte order mark" in res.get_json()["message"]


def test_a_raw_byte_in_the_lost_address_gets_the_page(api: Api) -> None:
    for query in ("lang=\xff", "doc=\xff&lang=de"):
        res = api.client.get("/lost", environ_overrides={"QUERY_STRING": query})
        assert res.status_code == 200 and res.mimetype == "text/html", res.status_code
        assert '<html lang="en"' in text_of(res)
        assert_page_headers(res)


def test_the_desk_redirect_carries_the_security_headers(api: Api) -> None:
    res = api.client.get("/desk")
    assert res.status_code in (301, 308)
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert name in res.headers, name
