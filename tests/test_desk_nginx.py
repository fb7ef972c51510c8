"""The lost-card page and the service desk through deploy/nginx/citycard.conf: nginx passes
them to the issuer API with the pages' own headers, once, and a form post with them."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

from tests.serve_helpers import get
from tests.test_nginx import (  # noqa: F401 - the fixtures
    Site,
    fixture_nginxes,
    fixture_site,
    pytestmark,
)


def test_the_lost_page_and_the_desk_pass_through_nginx(site: Site) -> None:
    ours, api = get(site.nginx.url + "/lost?lang=fr"), get(site.api + "/lost?lang=fr")
    assert ours.status == api.status == 200
    assert ours.headers["Content-Type"] == "text/html; charset=utf-8"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                 "Referrer-Policy", "Cache-Control"):  # fmt: skip
        assert ours.headers.get_all(name) == api.headers.get_all(name), name
        assert len(ours.headers.get_all(name) or []) == 1, name
    assert 'lang="fr"' in ours.body.decode("utf-8")
    # urllib follows the desk's redirect of an anonymous user to its login page.
    desk = get(site.nginx.url + "/desk/")
    assert desk.status == 200 and "Log in to the service desk" in desk.body.decode("utf-8")


def test_a_form_post_goes_through_nginx(site: Site) -> None:
    """A browser-like post: the form's token and cookie, our own Origin (nginx passes the
    Host the browser used, which the page compares it with)."""
    page = urllib.request.urlopen(site.nginx.url + "/lost")
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf" value="([^"]+)"', page.read().decode("utf-8"))
    assert token
    body = urllib.parse.urlencode(
        {"csrf": token[1], "doc": "DEV99999997", "code": "AAAAA-AAAAA", "action": "revoke"}
    ).encode()
    request = urllib.request.Request(
        site.nginx.url + "/lost",
        data=body,
        headers={"Cookie": cookie, "Origin": site.nginx.url, "Sec-Fetch-Site": "same-origin"},
    )
    try:
        urllib.request.urlopen(request)
        raise AssertionError("an unknown number was accepted")
    except urllib.error.HTTPError as exc:
        answer = exc.read().decode("utf-8")
        assert exc.code == 403, answer
        assert "do not match" in answer  # the page's answer, not a refused form


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode("utf-8", "replace")


def test_a_form_too_large_gets_the_page_in_its_language_not_nginxs(site: Site) -> None:
    """nginx refused bodies over the API's limit with its own English 413 page; the lost-card
    page answers that itself, in the holder's language."""
    body = urllib.parse.urlencode({"doc": "D" * 100_000}).encode()
    headers = {"Origin": site.nginx.url, "Sec-Fetch-Site": "same-origin",
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    status, kind, page = _post(site.nginx.url + "/lost?lang=de", body, headers)
    assert status == 413 and kind.startswith("text/html"), (status, kind, page[:200])
    assert 'lang="de"' in page and "nginx" not in page


def test_a_pickup_upload_larger_than_other_requests_reaches_the_api(site: Site) -> None:
    """The API takes a pickup up to its own limit; nginx's general limit refused it first."""
    status, kind, answer = _post(
        site.nginx.url + "/wallet/pickups", b"{" + b" " * 200_000 + b"}",
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 401 and kind == "application/json", (status, answer[:200])  # no kiosk signature
