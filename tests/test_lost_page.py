"""The holder's lost-card page (/lost): the form in every language, suspend and revoke with the
receipt code, the same answer and timing for a wrong code and an unknown number, limits, and
forms from other sites refused."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from api.issuer.page_i18n import LANGUAGES
from api.issuer.routes_lost import MIN_SECONDS
from tests.api_fixtures import BACKENDS, Api, fixture_api, fixture_database_url, make_api  # noqa: F401
from tests.desk_helpers import (
    SAME_SITE,
    assert_page_headers,
    csrf_of,
    issued_card,
    post_form,
    text_of,
)

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
WRONG_CODE = "AAAAA-AAAAA"


def report(api: Api, number: str, code: str, action: str = "revoke", address: str = "192.0.2.7", **kw: object):  # type: ignore[no-untyped-def]
    return post_form(
        api.client,
        "/lost",
        "/lost",
        {"doc": number, "code": code, "action": action, **kw},
        environ_base={"REMOTE_ADDR": address},
    )


def _body_without_token(html: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", html)


def test_the_form_fills_in_the_number_from_the_receipt_qr(api: Api) -> None:
    res = api.client.get("/lost?doc=DEV00000018")
    assert res.status_code == 200
    assert_page_headers(res)
    html = text_of(res)
    assert 'value="DEV00000018"' in html and "<script" not in html
    cookie = res.headers["Set-Cookie"]
    assert cookie.startswith("__Host-citycard-lost=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # Something that is not a document number is not echoed into the page.
    assert '"><b>' not in text_of(api.client.get('/lost?doc="><b>x'))


def test_the_form_is_in_every_kiosk_language(api: Api) -> None:
    english = text_of(api.client.get("/lost?lang=en"))
    for language in LANGUAGES:
        res = api.client.get(f"/lost?lang={language.code}")
        html = text_of(res)
        assert f'<html lang="{language.code}" dir="{language.dir}">' in html
        if language.code != "en":
            assert "Report a lost or stolen card" not in html, language.code
            assert "Code from your receipt" not in html, language.code
    assert "Report a lost or stolen card" in english
    # The browser's language when no ?lang= is given; Traditional Chinese for zh-TW.
    res = api.client.get("/lost", headers={"Accept-Language": "zh-TW,zh;q=0.8"})
    assert '<html lang="zh-Hant"' in text_of(res)
    res = api.client.get("/lost", headers={"Accept-Language": "pt-BR,en;q=0.5"})
    assert '<html lang="pt"' in text_of(res)


@BOTH
def test_a_right_code_revokes_and_the_page_says_what_next(api: Api) -> None:
    number, code = issued_card(api)
    res = report(api, number, code.lower().replace("-", " "))  # typed loosely
    assert res.status_code == 303, text_of(res)
    res = api.client.get(res.headers["Location"])  # the result page (a reload posts nothing)
    assert_page_headers(res)
    html = text_of(res)
    assert f"Card {number} is revoked." in html
    assert "any enrolment kiosk" in html and "same document number" in html
    assert api.issuer.card(number).status == "revoked"
    # The code worked once: now it is a code like any wrong one.
    assert report(api, number, code).status_code == 403


@BOTH
def test_suspend_keeps_the_code_for_a_later_revocation(api: Api) -> None:
    number, code = issued_card(api)
    res = report(api, number, code, action="suspend", lang="de")
    assert res.status_code == 303
    res = api.client.get(res.headers["Location"])
    assert f"{number}" in text_of(res) and 'lang="de"' in text_of(res)
    assert api.issuer.card(number).status == "suspended"
    res = report(api, number, code, action="revoke")
    assert res.status_code == 303
    assert api.issuer.card(number).status == "revoked"


def test_wrong_code_and_unknown_number_get_the_same_page(api: Api) -> None:
    number, _code = issued_card(api)
    unknown = "DEV99999997"
    wrong = report(api, number, WRONG_CODE)
    missing = report(api, unknown, WRONG_CODE)
    malformed = report(api, "NOT A NUMBER!", WRONG_CODE)
    assert wrong.status_code == missing.status_code == 403
    assert_page_headers(wrong)
    same = _body_without_token(text_of(wrong)).replace(number, "N")
    assert same == _body_without_token(text_of(missing)).replace(unknown, "N")
    assert malformed.status_code == 403
    assert "do not match" in text_of(wrong)
    assert api.issuer.card(number).status == "valid"


def test_wrong_code_and_unknown_number_take_the_same_time(tmp_path: Path) -> None:
    api = make_api(tmp_path / "issuer", None, number_burst=100, address_burst=100)
    try:
        number, _code = issued_card(api)
        timings: dict[str, list[float]] = {"wrong": [], "unknown": []}
        for i in range(6):
            for kind, doc in (("wrong", number), ("unknown", f"DEV9999{i:04d}")):
                started = time.monotonic()
                res = report(api, doc, WRONG_CODE, address=f"198.51.100.{i}")
                timings[kind].append(time.monotonic() - started)
                assert res.status_code == 403
        wrong, unknown = statistics.median(timings["wrong"]), statistics.median(timings["unknown"])
        assert min(timings["wrong"] + timings["unknown"]) >= MIN_SECONDS
        assert abs(wrong - unknown) < 0.1, timings
    finally:
        api.app.extensions["citycard"].issuer.close()
        api.issuer.close()


def test_attempts_are_limited_per_number_and_per_client(api: Api) -> None:
    number, code = issued_card(api)
    for _ in range(5):  # number_burst
        assert report(api, number, WRONG_CODE, address="203.0.113.1").status_code == 403
    res = report(api, number, code, address="203.0.113.2")  # the right code, from elsewhere
    assert res.status_code == 429
    assert int(res.headers["Retry-After"]) >= 1
    assert "Too many attempts" in text_of(res)
    assert api.issuer.card(number).status == "valid"


def test_a_post_from_another_site_or_without_the_token_is_refused(api: Api) -> None:
    number, code = issued_card(api)
    token = csrf_of(api.client.get("/lost"))
    data = {"doc": number, "code": code, "action": "revoke"}
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert api.client.post("/lost", data={"csrf": token, **data}, headers=evil).status_code == 403
    no_token = api.client.post("/lost", data=data, headers=SAME_SITE)
    assert no_token.status_code == 403 and "expired" in text_of(no_token)
    other = api.client.post("/lost", data={"csrf": "x" * 43, **data}, headers=SAME_SITE)
    assert other.status_code == 403
    null_origin = {"Origin": "null"}
    assert api.client.post("/lost", data={"csrf": token, **data}, headers=null_origin).status_code == 403
    assert api.issuer.card(number).status == "valid"


def test_missing_fields_get_a_sentence(api: Api) -> None:
    res = report(api, "", "")
    assert res.status_code == 400 and "Enter both" in text_of(res)
    number, code = issued_card(api)
    res = report(api, number, code, action="")
    assert res.status_code == 400 and "suspend or to revoke" in text_of(res)


@pytest.mark.parametrize("origin", ["http://[::1", "http://[", "https://[zz]:x", "http://]"])
def test_an_origin_no_browser_sends_is_refused_as_cross_site(api: Api, origin: str) -> None:
    """urlsplit raises on an unclosed IPv6 bracket: that was a 500, on /lost and /desk/login."""
    number, code = issued_card(api)
    token = csrf_of(api.client.get("/lost"))
    data = {"csrf": token, "doc": number, "code": code, "action": "revoke"}
    res = api.client.post("/lost", data=data, headers={"Origin": origin})
    assert res.status_code == 403, res.status_code
    login = api.client.post("/desk/login", data={"method": "password"}, headers={"Origin": origin})
    assert login.status_code == 403, login.status_code
    assert api.issuer.card(number).status == "valid"


def test_the_result_is_shown_briefly_and_goes_with_the_form(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a shared device the next person must not read "card N is revoked": the result cookie
    is a session cookie, good for about 2 minutes, deleted when the form is shown and by
    every post."""
    from api.issuer.routes_lost import DONE_COOKIE, DONE_MAX_AGE

    assert DONE_MAX_AGE <= 180
    number, code = issued_card(api)
    res = report(api, number, code, action="suspend")
    header = next(h for h in res.headers.getlist("Set-Cookie") if h.startswith(DONE_COOKIE))
    assert "max-age" not in header.lower() and "expires" not in header.lower(), header
    done = res.headers["Location"]
    assert number in text_of(api.client.get(done))
    # the form shown again: the result goes
    form = api.client.get("/lost")
    assert any(h.startswith(DONE_COOKIE + "=;") for h in form.headers.getlist("Set-Cookie"))
    assert api.client.get_cookie(DONE_COOKIE) is None
    assert number not in text_of(api.client.get(done))
    # a post (whatever its outcome) takes it away too
    res = report(api, number, code, action="revoke")
    assert number in text_of(api.client.get(done))
    cookie = api.client.get_cookie(DONE_COOKIE)
    assert cookie is not None
    token = csrf_of(api.client.get("/lost"))  # (the form: the cookie goes; set again below)
    api.client.set_cookie(cookie.key, cookie.value, domain="localhost")
    api.client.post("/lost", data={"csrf": token, "doc": number}, headers=SAME_SITE)
    assert api.client.get_cookie(DONE_COOKIE) is None
    # and a result older than DONE_MAX_AGE is not shown
    api.client.set_cookie(cookie.key, cookie.value, domain="localhost")
    later = time.time() + DONE_MAX_AGE + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert number not in text_of(api.client.get(done))
