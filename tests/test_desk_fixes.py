"""The service desk's and the lost-card page's answers to the exploratory pass
(/tmp/explore/desk): confirmations before what cannot be undone, one-time secrets after a
redirect, translated history and audit lines, the printed dates, and refusals that say what to
do next."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from api.issuer.desk import routes_accounts, routes_login, sessions
from api.issuer.desk.common import SESSION_ENDED
from api.issuer.page_i18n import BY_CODE, DESK_LANGUAGES, translations
from api.issuer.pages import wait_step
from api.issuer.routes_lost import COOKIE as LOST_COOKIE
from api.issuer.routes_lost import NO_COOKIES, THROTTLED
from tests.api_fixtures import Api, fixture_api, fixture_database_url  # noqa: F401
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


def admin(api: Api) -> FlaskClient:
    api.issuer.accounts.set_role("desk-1", True, 1)
    return login_with_token(api)


def shown(html: str, marker: str) -> str:
    return html.split(f'id="{marker}">', 1)[1].split("<", 1)[0]


# -- H1: disabling a kiosk withdraws every card it made: say so, and ask first ----------------


def test_disabling_a_kiosk_needs_a_tick_and_says_its_cards_stop_verifying(api: Api) -> None:
    admin(api)
    page = text_of(api.client.get("/desk/accounts"))
    assert 'name="confirm"' in page.split("/desk/accounts/kiosks/kiosk-2/disable", 1)[1]
    assert "every card it ever made stops verifying" in page
    res = desk_post(api.client, "/desk/accounts/kiosks/kiosk-2/disable")
    assert res.status_code == 400 and "Tick the box" in text_of(res)
    kiosk = api.issuer.kiosk("kiosk-2")
    assert kiosk is not None and kiosk.state == "active"
    res = desk_post(api.client, "/desk/accounts/kiosks/kiosk-2/disable", {"confirm": "yes"})
    assert res.status_code == 303 and res.headers["Location"] == "/desk/accounts"
    html = text_of(api.client.get("/desk/accounts"))
    assert "every card it ever made no longer verifies" in html and "KEY_REVOKED" in html
    assert "from now on" not in html
    kiosk = api.issuer.kiosk("kiosk-2")
    assert kiosk is not None and kiosk.state == "revoked"
    # Once: a reload shows the sentence no more.
    assert "KEY_REVOKED" not in text_of(api.client.get("/desk/accounts"))


# -- H2: a new receipt code is made by a POST, shown once by a GET ----------------------------


def test_a_new_code_is_shown_once_and_a_reload_makes_no_other(api: Api) -> None:
    number, _old = issued_card(api)
    login_with_token(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    assert res.status_code == 303 and res.headers["Location"] == f"/desk/cards/{number}/code"
    first = api.client.get(res.headers["Location"])
    assert first.status_code == 200
    assert_page_headers(first)
    code = shown(text_of(first), "new-code")
    assert len(code) == 11
    # A reload: no code, no new code, and the page says it was shown already.
    again = api.client.get(res.headers["Location"])
    assert again.status_code == 200 and 'id="new-code"' not in text_of(again)
    assert "was shown once and cannot be shown again" in text_of(again)
    made = [e for e in api.issuer.registry.dump()["audit_events"] if e["action"] == "desk-new-code"]
    assert len(made) == 1
    assert api.issuer.self_revoke(number, code) is not None


def test_a_second_code_within_minutes_needs_a_tick(api: Api) -> None:
    number, _old = issued_card(api)
    login_with_token(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    code = shown(text_of(api.client.get(res.headers["Location"])), "new-code")
    # The same form sent again (a resend, another tab): refused, the first code kept.
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    assert res.status_code == 409 and "tick the box to replace it" in text_of(res)
    assert 'name="again"' in text_of(res)
    res = desk_post(api.client, f"/desk/cards/{number}/code", {"again": "yes"})
    assert res.status_code == 303
    newer = shown(text_of(api.client.get(res.headers["Location"])), "new-code")
    assert newer != code
    assert api.issuer.self_revoke(number, code) is None


def _long_lived_card_with_a_new_code(api: Api) -> str:
    """A card with 250 old desk lookups, then a receipt code made at the desk (logged in)."""
    from api.issuer.registry import audit_queries

    number, _old = issued_card(api)
    with api.issuer.registry.write() as s:
        for i in range(250):
            audit_queries.record(s, int(time.time()) - 5000 + i, "desk-1", "desk-lookup", number)
    login_with_token(api)
    assert desk_post(api.client, f"/desk/cards/{number}/code").status_code == 303
    return number


def test_a_second_code_needs_a_tick_however_long_the_cards_history(api: Api) -> None:
    """The guard looks for the newest desk-made code itself, not in the page's history list
    (which holds only a long-lived card's newest events)."""
    number = _long_lived_card_with_a_new_code(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    assert res.status_code == 409 and 'name="again"' in text_of(res)


def test_a_long_lived_cards_page_lists_its_newest_events_and_says_older_are_left_out(
    api: Api,
) -> None:
    """Was: the history listed a card's oldest 200 events, so a clerk never saw what happened
    lately to a card looked up often."""
    from api.issuer.desk.routes_cards import HISTORY_LINES
    from api.issuer.registry import audit_queries

    number = _long_lived_card_with_a_new_code(api)
    html = text_of(api.client.get(f"/desk/card?number={number}"))
    history = html.split("<h2>History</h2>", 1)[1]
    assert history.count("<tr><td>") == HISTORY_LINES
    assert "New receipt code" in history
    with api.issuer.registry.read() as s:
        total = audit_queries.count_for(s, number)
    left_out = history.split('id="history-left-out">', 1)[1].split("<", 1)[0]
    assert left_out == f"Older events left out of this list: {total - HISTORY_LINES}."


def test_a_short_history_is_listed_whole_with_no_left_out_line(api: Api) -> None:
    number, _old = issued_card(api)
    login_with_token(api)
    html = text_of(api.client.get(f"/desk/card?number={number}"))
    assert "history-left-out" not in html and "Looked up at the desk" in html


def test_the_one_time_code_is_not_for_another_account(api: Api) -> None:
    number, _old = issued_card(api)
    login_with_token(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    api.issuer.accounts.set_role("desk-1", True, 1)
    token = api.issuer.accounts.add_staff("desk-2", int(time.time()))
    other = api.app.test_client()
    login_with_token(Api(api.issuer, api.app, other, api.kiosk, token), other)
    cookie = api.client.get_cookie("__Host-citycard-desk-once")
    assert cookie is not None
    other.set_cookie(cookie.key, cookie.value, domain="localhost")
    assert 'id="new-code"' not in text_of(other.get(res.headers["Location"]))


def _code_cookie(api: Api) -> tuple[str, str]:
    """A new code made for a fresh card; the one-time cookie's Set-Cookie and value."""
    number, _old = issued_card(api)
    login_with_token(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    header = next(h for h in res.headers.getlist("Set-Cookie") if h.startswith(flash_cookie()))
    cookie = api.client.get_cookie(flash_cookie())
    assert cookie is not None
    return header, cookie.value


def flash_cookie() -> str:
    from api.issuer.desk.flash import COOKIE

    return COOKIE


def test_the_one_time_cookie_is_encrypted_and_never_written_to_disk(api: Api) -> None:
    """The code (or a new account's token) is a secret: the browser's cookie file must not
    hold it readable, and a session cookie (no Max-Age, no Expires) is not written there."""
    import base64
    import contextlib
    import zlib

    header, value = _code_cookie(api)
    assert "max-age" not in header.lower() and "expires" not in header.lower(), header
    raw = value.encode()
    decoded = [raw]
    for part in raw.split(b"."):
        padded = part + b"=" * (-len(part) % 4)
        try:
            data = base64.urlsafe_b64decode(padded)
        except ValueError:
            continue
        decoded.append(data)
        with contextlib.suppress(zlib.error):
            decoded.append(zlib.decompress(data))
    assert not any(b"DEV" in d or b'"code"' in d for d in decoded), decoded


def test_the_one_time_code_is_only_for_the_session_that_made_it(api: Api) -> None:
    """The same staff id in another session (logged in again, elsewhere or after a log-out)
    does not see a code an earlier session made; logging out deletes the cookie."""
    number, _old = issued_card(api)
    login_with_token(api)
    res = desk_post(api.client, f"/desk/cards/{number}/code")
    cookie = api.client.get_cookie(flash_cookie())
    assert cookie is not None
    other = api.app.test_client()
    login_with_token(api, other)  # desk-1 again: a second session
    other.set_cookie(cookie.key, cookie.value, domain="localhost")
    assert 'id="new-code"' not in text_of(other.get(res.headers["Location"]))
    # the redirect never followed; a log-out, a new login in the same browser: not shown
    out = desk_post(api.client, "/desk/logout")
    assert out.status_code == 303
    assert api.client.get_cookie(flash_cookie()) is None, "deleted on logout"
    api.client.set_cookie(cookie.key, cookie.value, domain="localhost")
    login_with_token(api)
    assert 'id="new-code"' not in text_of(api.client.get(res.headers["Location"]))


# -- M1: renewal and replacement lines are translated -----------------------------------------


def test_renewal_and_replacement_are_named_in_the_history(api: Api) -> None:
    from api.issuer.desk.history import history_lines
    from api.issuer.registry import AuditEvent

    events = [
        AuditEvent(at=1, actor_type="kiosk", actor_id="k", action="renewal-allocate"),
        AuditEvent(at=2, actor_type="kiosk", actor_id="k", action="replacement-allocate"),
    ]
    assert [line.what for line in history_lines(events)] == [
        "Renewal started at a kiosk",
        "Replacement started at a kiosk",
    ]
    for lang in ("de", "ca"):
        assert (
            translations(lang).gettext("Replacement started at a kiosk")
            != "Replacement started at a kiosk"
        )


# -- M2: /lost answers a report with a redirect -----------------------------------------------


def test_a_lost_report_redirects_and_a_reload_shows_the_result_again(api: Api) -> None:
    number, code = issued_card(api)
    res = post_form(
        api.client,
        "/lost?lang=fr",
        "/lost",
        {"doc": number, "code": code, "action": "revoke", "lang": "fr"},
    )
    assert res.status_code == 303 and res.headers["Location"] == "/lost?lang=fr&done=1"
    for _ in range(2):  # the result, and a reload of it
        page = api.client.get(res.headers["Location"])
        assert page.status_code == 200 and number in text_of(page)
        assert translations("fr").gettext("Card %(number)s is revoked.") % {
            "number": number
        } in text_of(page)
        assert_page_headers(page)
    # Without the result cookie the address is only the form: it claims nothing.
    fresh = api.app.test_client()
    assert 'name="code"' in text_of(fresh.get("/lost?lang=fr&done=1"))


# -- M3: the printed days -----------------------------------------------------------------------


def test_the_desk_shows_the_printed_last_day_and_the_made_day(api: Api) -> None:
    number = api.allocate()["document_number"]
    iat = int(datetime(2029, 12, 7, 23, 30, tzinfo=UTC).timestamp())
    exp = int(datetime(2031, 12, 8, tzinfo=UTC).timestamp())  # printed "valid until 2031-12-07"
    res = api.kiosk_call(
        "POST", f"/api/v1/kiosk/cards/{number}/issued", {"issued_at": iat, "expires_at": exp}
    )
    assert res.status_code == 200, res.json
    login_with_token(api)
    html = text_of(api.client.get(f"/desk/card?number={number}"))
    assert "<td>2031-12-07</td>" in html and "2031-12-08" not in html
    assert "<td>2029-12-07</td>" in html and "Valid until" in html


# -- M4: the audit log in words ---------------------------------------------------------------


def test_the_audit_log_translates_actions_and_details(api: Api) -> None:
    number, _code = issued_card(api)
    admin(api)
    desk_post(api.client, f"/desk/cards/{number}/suspend")
    desk_post(api.client, "/desk/accounts/staff", {"staff_id": "desk-3"})
    post_form(
        api.app.test_client(),
        "/desk/login",
        "/desk/login",
        {"method": "password", "staff_id": "nobody", "password": "x" * 12},
    )
    html = text_of(api.client.get("/desk/audit?lang=de"))
    for raw in ("desk-login", "staff-add", "role-admin", ">suspended<", ">token<"):
        assert raw not in html, raw
    de = translations("de")
    for message in (
        "Staff account added",
        "Desk login refused",
        "suspended",
        "staff token",
        "someone not logged in",
    ):
        assert de.gettext(message) != message and de.gettext(message) in html, message
    assert "desk-3" in html  # an id stays as it is


# -- L1: cookies off is said so ---------------------------------------------------------------


def test_a_post_without_any_cookie_says_cookies_are_needed(api: Api) -> None:
    token = csrf_of(api.client.get("/lost"))
    bare = api.app.test_client()
    res = bare.post(
        "/lost",
        data={"csrf": token, "doc": "DEV00000018", "code": "AAAAA-AAAAA", "action": "revoke"},
        headers=SAME_SITE,
    )
    assert res.status_code == 403 and "Allow cookies" in text_of(res)
    api.client.delete_cookie(LOST_COOKIE)
    login_token = csrf_of(api.client.get("/desk/login"))
    res = bare.post(
        "/desk/login",
        data={"csrf": login_token, "method": "token", "token": "x"},
        headers=SAME_SITE,
    )
    assert res.status_code == 403 and "Allow cookies" in text_of(res)
    # A cookie with another token is a form from elsewhere, as before.
    api.client.get("/lost")
    res = api.client.post(
        "/lost",
        data={"csrf": "A" * 43, "doc": "X", "code": "Y", "action": "revoke"},
        headers=SAME_SITE,
    )
    assert res.status_code == 403 and "Allow cookies" not in text_of(res)


# -- L2: the wait in words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "step"), [(6, 0), (60, 0), (175, 1), (716, 2), (1800, 3), (9000, 4)]
)
def test_a_wait_is_said_in_whole_steps(seconds: float, step: int) -> None:
    assert wait_step(seconds) == step


def test_the_lost_page_says_when_to_try_again(api: Api) -> None:
    number, _code = issued_card(api)
    statuses = []
    for _ in range(7):
        res = post_form(
            api.client,
            "/lost",
            "/lost",
            {"doc": number, "code": "AAAAA-AAAAA", "action": "suspend"},
            environ_base={"REMOTE_ADDR": "192.0.2.99"},
        )
        statuses.append(res.status_code)
    assert statuses[-1] == 429, statuses
    wait = int(res.headers["Retry-After"])
    assert THROTTLED[wait_step(wait)] in text_of(res)
    assert "Wait an hour" not in text_of(res)


def test_the_throttle_and_cookie_sentences_are_in_every_language() -> None:
    for code in BY_CODE:
        if code == "en":
            continue
        for message in (*THROTTLED, NO_COOKIES):
            assert translations(code).gettext(message) != message, (code, message)
    for code in DESK_LANGUAGES[1:]:
        for message in (*routes_login.THROTTLED, routes_login.NO_COOKIES, SESSION_ENDED):
            assert translations(code).gettext(message) != message, (code, message)


def test_the_desk_login_says_when_to_try_again(api: Api) -> None:
    for _ in range(12):
        res = post_form(
            api.client,
            "/desk/login",
            "/desk/login",
            {"method": "token", "token": "wrong"},
            environ_base={"REMOTE_ADDR": "192.0.2.98"},
        )
    assert res.status_code == 429
    assert routes_login.THROTTLED[wait_step(int(res.headers["Retry-After"]))] in text_of(res)


# -- L3: an expired session is named as such ---------------------------------------------------


def test_an_eight_hour_old_session_says_so(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    login_with_token(api)
    token = csrf_of(api.client.get("/desk/"))
    raw = api.client.get_cookie(sessions.SESSION_COOKIE)
    assert raw is not None
    with api.app.test_request_context():
        serializer = sessions._serializer()
    payload = serializer.loads(raw.value)
    then = int(time.time()) - sessions.MAX_AGE - 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: then)
    old = serializer.dumps(payload)
    monkeypatch.undo()
    api.client.set_cookie(sessions.SESSION_COOKIE, old, domain="localhost")
    res = api.client.post(
        "/desk/cards/DEV00000018/suspend", data={"csrf": token}, headers=SAME_SITE
    )
    assert res.status_code == 403 and "8 hours" in text_of(res)


# -- L4: ?done= only when the status agrees ----------------------------------------------------


def test_done_is_shown_only_when_the_status_agrees(api: Api) -> None:
    number, _code = issued_card(api)
    login_with_token(api)
    assert (
        desk_post(api.client, f"/desk/cards/{number}/revoke", {"confirm": "yes"}).status_code == 303
    )
    assert "The card is revoked for good." in text_of(
        api.client.get(f"/desk/card?number={number}&done=revoke")
    )
    stale = text_of(api.client.get(f"/desk/card?number={number}&done=reinstate"))
    assert "The card is valid again." not in stale and "message ok" not in stale


# -- L5: the login keeps the id and folds its case ---------------------------------------------


def test_login_keeps_the_typed_id_and_folds_capitals(api: Api) -> None:
    password = "correct horse battery staple"
    api.issuer.accounts.set_password("desk-1", password, 1)
    res = post_form(
        api.client,
        "/desk/login",
        "/desk/login",
        {"method": "password", "staff_id": "desk-1", "password": "wrong password!"},
    )
    assert res.status_code == 401 and 'value="desk-1"' in text_of(res)
    res = post_form(
        api.client,
        "/desk/login",
        "/desk/login",
        {"method": "password", "staff_id": "Desk-1", "password": password},
    )
    assert res.status_code == 303 and res.headers["Location"] == "/desk/"


# -- L6: account changes redirect; disabling staff needs a tick; buttons named -----------------


def test_adding_staff_redirects_and_shows_the_token_once(api: Api) -> None:
    admin(api)
    res = desk_post(api.client, "/desk/accounts/staff", {"staff_id": "desk-3"})
    assert res.status_code == 303
    page = text_of(api.client.get(res.headers["Location"]))
    token = shown(page, "new-token")
    assert api.issuer.staff_for_token(token) == "desk-3"
    again = text_of(api.client.get(res.headers["Location"]))
    assert 'id="new-token"' not in again and "was shown once" in again


def test_disabling_staff_needs_a_tick_and_buttons_name_their_row(api: Api) -> None:
    admin(api)
    api.issuer.accounts.add_staff("desk-3", 1)
    page = text_of(api.client.get("/desk/accounts"))
    assert 'aria-label="Disable desk-3"' in page and 'aria-label="Make desk-3 an admin"' in page
    assert (
        'aria-label="Set the password of desk-3"' in page
        and 'aria-label="Disable kiosk kiosk-2"' in page
    )
    res = desk_post(api.client, "/desk/accounts/staff/desk-3/disable")
    assert res.status_code == 400 and "Tick the box" in text_of(res)
    account = api.issuer.accounts.staff_account("desk-3")
    assert account is not None and account.active
    res = desk_post(api.client, "/desk/accounts/staff/desk-3/disable", {"confirm": "yes"})
    assert res.status_code == 303
    assert routes_accounts.SAVED["disabled"] in text_of(api.client.get("/desk/accounts"))
    account = api.issuer.accounts.staff_account("desk-3")
    assert account is not None and not account.active


# -- L7: answers Flask makes under the pages' paths get the pages' headers -----------------------


def test_flask_made_answers_under_the_pages_get_their_headers(api: Api) -> None:
    from flask import Response

    from api.issuer.page_errors import add_page_headers

    for path in ("/desk", "/lost", "/desk/login"):
        with api.app.test_request_context(path, method="OPTIONS"):
            response = add_page_headers(Response("", status=308))
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert response.headers["Content-Security-Policy"].startswith(
            "default-src 'none'; style-src"
        )
    with api.app.test_request_context("/api/v1/health", method="OPTIONS"):
        assert "Strict-Transport-Security" not in add_page_headers(Response("")).headers
