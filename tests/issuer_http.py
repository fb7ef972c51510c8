"""A tiny HTTP server with the city API's public paths, for terminal and phone-page tests.

It serves an `Issuer`'s published files, read afresh on every request (so `publish()` shows
at once), with the paths, media types and ETag / If-None-Match behaviour of the issuer API:

    GET /.well-known/citycard/trust-list    trust-list.cose
    GET /.well-known/citycard/root-key      root-key.pem
    GET /status/<id>                        status/<id>.cwt (application/statuslist+cwt)
    GET /verify/...                         the phone verification page (api/static/verify)

When the real issuer API (`api.issuer.server.create_app`) is available, tests may use that instead;
this server keeps the terminal's tests independent of it. It counts requests and 304s, and
`fail_with(503)` makes every list answer an error (the API "down" but reachable).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE

PAGE_DIR = Path(__file__).resolve().parent.parent / "api" / "phone" / "static"
_PAGE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
}


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


class IssuerHttp:
    """Serves `published` (an issuer's public/ directory) on 127.0.0.1 in a thread."""

    def __init__(self, published: Path, port: int = 0) -> None:
        self.published = Path(published)
        self.requests: list[tuple[str, int]] = []
        self.error_status: int | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

            def setup(self) -> None:
                super().setup()
                with outer._lock:
                    outer._open.add(self.connection)

            def finish(self) -> None:
                with outer._lock:
                    outer._open.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:
                status, headers, body = outer._answer(self.path, self.headers.get("If-None-Match"))
                with outer._lock:
                    outer.requests.append((self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_with(self, status: int | None) -> None:
        self.error_status = status

    def count(self, path: str, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for p, s in self.requests if p == path and (status is None or s == status))

    def _answer(self, path: str, if_none_match: str | None) -> tuple[int, dict[str, str], bytes]:
        path = path.split("?", 1)[0]
        if path.startswith("/verify/") or path == "/verify":
            return self._page(path)
        if self.error_status is not None:
            return self.error_status, {"Content-Type": "application/json"}, b'{"code":"down"}'
        if path == "/.well-known/citycard/trust-list":
            file, media = (
                self.published / TRUST_LIST_FILE,
                "application/vnd.citycard.trust-list+cwt",
            )
        elif path == "/.well-known/citycard/root-key":
            file, media = self.published / ROOT_KEY_FILE, "application/x-pem-file"
        elif path.startswith("/status/") and path.count("/") == 2 and ".." not in path:
            lid = path.rsplit("/", 1)[1]
            file, media = (
                self.published / STATUS_DIR / f"{lid}{STATUS_SUFFIX}",
                "application/statuslist+cwt",
            )
        else:
            return 404, {"Content-Type": "application/json"}, b'{"code":"not_found"}'
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return 404, {"Content-Type": "application/json"}, b'{"code":"not_found"}'
        etag = etag_of(data)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
            return 304, headers, b""
        headers["Content-Type"] = media
        return 200, headers, data

    def _page(self, path: str) -> tuple[int, dict[str, str], bytes]:
        name = "index.html" if path in ("/verify", "/verify/") else path[len("/verify/") :]
        file = PAGE_DIR / name
        if "/" in name or name.startswith(".") or not file.is_file():
            return HTTPStatus.NOT_FOUND, {"Content-Type": "text/plain"}, b"not found"
        media = _PAGE_TYPES.get(file.suffix, "application/octet-stream")
        data = file.read_bytes()
        return (
            200,
            {"Content-Type": media, "Cache-Control": "no-cache", "ETag": etag_of(data)},
            data,
        )

    def start(self) -> IssuerHttp:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the port: the API is down (connections are refused)."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server.server_close()
        with self._lock:  # kept-alive connections too: a browser must not reach us any more
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> IssuerHttp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
