"""Helpers for the lost-card page and service desk tests: forms as a browser fills them in."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api_fixtures import Api

_CSRF = re.compile(r'name="csrf" value="([A-Za-z0-9_-]{43})"')
SAME_SITE = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def csrf_of(response: TestResponse) -> str:
    found = _CSRF.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    return found[1]


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def assert_page_headers(response: TestResponse) -> None:
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers)
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-"), csp
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp


def post_form(client: FlaskClient, path: str, page: str, data: dict[str, Any], **kw: Any) -> TestResponse:
    """GET `page` for its form token, then POST `data` with it to `path` from our own site."""
    token = csrf_of(client.get(page))
    headers = {**SAME_SITE, **kw.pop("headers", {})}
    return client.post(path, data={"csrf": token, **data}, headers=headers, **kw)


def login_with_token(api: Api, client: FlaskClient | None = None) -> FlaskClient:
    client = client or api.client
    res = post_form(
        client, "/desk/login", "/desk/login", {"method": "token", "token": api.staff_token}
    )
    assert res.status_code == 303 and res.headers["Location"] == "/desk/", text_of(res)
    return client


def desk_post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kw: Any) -> TestResponse:
    """POST a desk form with the session's token (read from the desk's home page)."""
    return post_form(client, path, "/desk/", data or {}, **kw)


def issued_card(api: Api) -> tuple[str, str]:
    """A card a kiosk made through the API: (document number, its receipt code)."""
    alloc = api.allocate()
    assert api.issued(alloc["document_number"]).status_code == 200
    return alloc["document_number"], alloc["revocation_code"]
