"""cardio.serving: what a client meets when waitress itself cannot read its request."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from cardio.serving import BackgroundServer, ListenError


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"reached the app"]


def _server(kind: str) -> BackgroundServer:
    if kind == "plain":
        return BackgroundServer(_app, "127.0.0.1", 0)
    from kiosk.web.server import KioskServer
    from tests.test_kiosk_web import make_app, state_of

    app = make_app()
    return KioskServer(app, state_of(app).config, "127.0.0.1", 0)


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \x01\r\n\r\n", 400, "bad_request"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "bad_request"),
        (b'GET / HTTP/1.1\r\nHost: x\r\nMalformed "<b>Erika</b>"\r\n\r\n', 400, "bad_request"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
    ],
)
@pytest.mark.parametrize("server_kind", ["plain", "kiosk"])
def test_a_request_waitress_cannot_read_gets_our_json_error(
    request_bytes: bytes, status: int, code: str, server_kind: str
) -> None:
    """waitress answered these in plain text without the security headers every other answer
    carries, and echoed parts of the request (a malformed header line) into the body. The
    kiosk's own channel (which answers a too large body with the kiosk's page) too."""
    with _server(server_kind) as server:
        got, headers, body = _exchange(server.port, request_bytes)
        assert got == status
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        answer = json.loads(body)
        assert set(answer) == {"code", "message"} and answer["code"] == code
        assert answer["message"].endswith(".") and "Erika" not in answer["message"]
        # a readable request on the same server still reaches the app
        ok, _, reached = _exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert ok == 200 and (server_kind != "plain" or reached == b"reached the app")


@pytest.mark.parametrize("host", ["999.1.1.1", "not a host", "1.2.3"])
def test_a_host_that_is_no_address_is_a_listen_error(host: str) -> None:
    """waitress raises ValueError("Invalid host/port specified."): it was a traceback for
    `--host` of citycard-kiosk serve and citycard-reader serve."""
    with pytest.raises(ListenError, match="--host"):
        BackgroundServer(_app, host, 0)
