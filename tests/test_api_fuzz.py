"""Schemathesis against /openapi.json on the WSGI app: no 5xx, and answers match the document.

Requests go through a small WSGI layer that signs kiosk requests with a real kiosk credential
and adds a real staff token when the generated request has no Authorization header, so the
fuzzing reaches past authentication into the handlers. Bounded: a few examples per operation.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.issuer.server import create_app, load_config
from tests.api_fixtures import ALLOCATE, make_api

MAX_EXAMPLES = 25

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class SigningLayer:
    """Signs kiosk requests and authenticates staff requests that carry no credentials."""

    def __init__(
        self, app: WsgiApp, sign: Callable[[str, str, bytes], dict[str, str]], token: str
    ) -> None:
        self.app, self.sign, self.token = app, sign, token

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if "HTTP_AUTHORIZATION" not in environ:
            if path.startswith("/api/v1/kiosk/"):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
                query = environ.get("QUERY_STRING", "")
                signed = path + ("?" + query if query else "")
                environ["HTTP_AUTHORIZATION"] = self.sign(environ["REQUEST_METHOD"], signed, body)[
                    "Authorization"
                ]
            elif path.startswith("/api/v1/staff/"):
                environ["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    directory = tmp_path_factory.mktemp("fuzz") / "issuer"
    env = make_api(directory, None, number_burst=1000, address_burst=1000)
    # Some cards to find: allocated, issued, suspended.
    for _ in range(3):
        card = env.allocate()
        env.issued(card["document_number"])
    env.staff("suspend", "DEV00000026")
    app = create_app(load_config(directory))
    kiosk = env.kiosk
    app.wsgi_app = SigningLayer(  # type: ignore[method-assign]
        app.wsgi_app, lambda m, p, b: kiosk.headers(m, p, b), env.staff_token
    )
    assert env.kiosk_call("POST", ALLOCATE, {"request_id": "fuzz-seed-0001"}).status_code == 201
    yield schemathesis.openapi.from_wsgi("/openapi.json", app)
    app.extensions["citycard"].issuer.close()
    env.issuer.close()


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.x reads `node._nodeid`, which pytest 9 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_as_documented(case: Any) -> None:
    case.call_and_validate(
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
            checks.response_headers_conformance,
        ]
    )


def test_fuzzing_reaches_the_handlers(tmp_path: Path) -> None:
    """The signing layer works: a signed allocation through it succeeds, so fuzzing is not all 401."""
    env = make_api(tmp_path / "issuer", None)
    kiosk = env.kiosk
    env.app.wsgi_app = SigningLayer(  # type: ignore[method-assign]
        env.app.wsgi_app, lambda m, p, b: kiosk.headers(m, p, b), env.staff_token
    )
    res = env.client.post(ALLOCATE, json={"request_id": "layer-test-01"})
    assert res.status_code == 201, res.json
    res = env.client.get(f"/api/v1/staff/cards/{res.json['document_number']}")  # type: ignore[index]
    assert res.status_code == 200
    env.issuer.close()
