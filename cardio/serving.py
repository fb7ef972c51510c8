"""An HTTP service's waitress server in a background thread, stopped in order.

The kiosk, the issuer API and the reader terminal serve this way so that their main thread is
free to wait for Ctrl-C and SIGTERM (`cli_support.stop_signals`) instead of catching a
KeyboardInterrupt inside waitress's loop, where Python can lose it. For the deployables that
serve HTTP (waitress is in their extras, not in cardio's own dependencies).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from .errors import CitycardError


class ListenError(CitycardError):
    """The address could not be listened on (taken, or not this machine's)."""


_TRANSPORT_ERRORS = {
    400: ("bad_request", "The HTTP request is malformed; send a well-formed request."),
    413: ("too_large", "The request is too large; send a smaller one."),
    431: ("headers_too_large", "The request's headers are too large; send fewer or shorter ones."),
    501: ("not_implemented", "The request's transfer encoding is not supported; send it plain."),
    500: ("internal_error", "The request failed unexpectedly; try again."),
}
_TRANSPORT_HEADERS = (
    ("Content-Type", "application/json"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)


class JsonErrorTask(ErrorTask):
    """A request waitress itself cannot read (a malformed header, a bad Content-Length) never
    reaches the app: answer it as the app answers errors, JSON `{code, message}` with the
    security headers, instead of waitress's plain text. The message is ours, never an echo
    of the request."""

    def execute(self) -> None:
        request: Any = self.request  # waitress's stubs do not know its `error`
        error = request.error
        status = int(error.code)
        code, message = _TRANSPORT_ERRORS.get(status, _TRANSPORT_ERRORS[400 if status < 500 else 500])
        body = json.dumps({"code": code, "message": message}).encode("ascii")
        self.status = f"{status} {error.reason}"
        headers: Any = self.response_headers  # a list; the stubs say Sequence
        headers.extend(_TRANSPORT_HEADERS)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """waitress's channel with `JsonErrorTask` for the requests it cannot read."""

    error_task_class = JsonErrorTask


def proxy_adjustments(proxy_hops: int) -> dict[str, Any]:
    """waitress's settings for an app behind `proxy_hops` reverse proxies.

    waitress 3 deletes X-Forwarded-For/-Proto/... from every request unless told to trust a
    proxy, so the app's own ProxyFix (which takes the client's address `proxy_hops` entries
    from the right of X-Forwarded-For, and the scheme likewise) never saw them: behind nginx
    every client shared nginx's address (one rate-limit bucket for the whole city) and
    redirects went to http://. Leaving the headers in place, rather than letting waitress
    rewrite REMOTE_ADDR itself (trusted_proxy, trusted_proxy_count), keeps one place that
    counts hops: ProxyFix, as the app is also used under other WSGI servers and in tests.
    Without proxies (0) waitress's default stays: the headers are dropped, as a client can
    write them."""
    if proxy_hops <= 0:
        return {}
    return {"clear_untrusted_proxy_headers": False}


class BackgroundServer:
    """waitress serving `app` on host:port (port 0 picks a free one) through `channel_class`;
    `adjustments` are waitress's. Listening starts here (ListenError when it cannot), serving at `start()`.
    With `proxy_hops` > 0 the app itself reads X-Forwarded-* (see proxy_adjustments)."""

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        channel_class: type[HTTPChannel] = JsonErrorChannel,
        proxy_hops: int = 0,
        **adjustments: Any,
    ) -> None:
        adjustments = {**proxy_adjustments(proxy_hops), **adjustments}
        try:
            self._server: Any = create_server(app, host=host, port=port, **adjustments)
            # one listening server, or several (a host name with more than one address)
            for server in (self._server, *getattr(self._server, "map", {}).values()):
                if getattr(server, "channel_class", None) is HTTPChannel:
                    server.channel_class = channel_class
        except OSError as exc:
            raise ListenError(
                f"Cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "pick another --port or --host."
            ) from exc
        except ValueError as exc:  # waitress: a host that is no address ("999.1.1.1")
            raise ListenError(
                f"Cannot listen on {host}:{port}: that is not an address of this machine; "
                "pick another --host."
            ) from exc
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.failure: OSError | None = None
        """What ended the serving thread, when it was not `stop()`."""

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> BackgroundServer:
        self._thread = threading.Thread(target=self._serve, name="http-server", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self._server.run()
        except OSError as exc:  # handed to whoever waits on `running`, not printed as a traceback
            if not self._stopping:
                self.failure = exc

    def stop(self) -> None:
        self._stopping = True
        server = self._server
        # Close the listening socket and every open channel, then the worker threads. A
        # channel closes through handle_close (its own clean-up); the listening socket and the
        # wake-up trigger have none, and their default one logs "unhandled close event".
        while server._map:
            for dispatcher in list(server._map.values()):
                if isinstance(dispatcher, HTTPChannel):
                    dispatcher.handle_close()
                else:
                    dispatcher.close()
        server.maintenance(0)
        server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(10)

    def serve_until(self, stopped: Callable[[float], bool]) -> None:
        """Serve until `stopped(timeout)` (from `stop_signals`) says so, then stop in order;
        raises the OSError that ended serving early, if one did."""
        self.start()
        try:
            while self.running and not stopped(0.5):
                pass
        finally:
            self.stop()
        if self.failure is not None:
            raise self.failure

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
