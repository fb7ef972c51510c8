"""Serving the kiosk app with waitress, configured so that nothing the resident sends touches disk.

waitress buffers a request body larger than `inbuf_overflow` (and a response larger than
`outbuf_overflow`) in a temporary *file*; a photo upload would then be written to disk. The
adjustments below keep every request the kiosk accepts in memory, and refuse larger ones.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress.server import create_server

from .config import KioskConfig

log = logging.getLogger(__name__)


def waitress_adjustments(config: KioskConfig) -> dict[str, Any]:
    body_limit = config.max_upload_bytes * 2 + 1024 * 1024  # the app answers 413 itself below
    return {
        "threads": 8,  # one per open progress stream and a few for pages
        "max_request_body_size": body_limit,
        "inbuf_overflow": body_limit + 1,  # never spill a request body to a temp file
        "outbuf_overflow": 64 * 1024 * 1024,  # nor a response
        "channel_timeout": 300,
        "ident": "citycard-kiosk",
        "expose_tracebacks": False,
        "clear_untrusted_proxy_headers": True,
    }


class KioskServer:
    """A waitress server for the kiosk app on host:port (port 0 picks a free one)."""

    def __init__(self, app: Any, config: KioskConfig, host: str, port: int) -> None:
        self._server: Any = create_server(
            app, host=host, port=port, **waitress_adjustments(config)
        )
        self._thread: threading.Thread | None = None
        self._stopping = False

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

    def serve_forever(self) -> None:
        try:
            self._server.run()
        except OSError:
            if not self._stopping:
                raise

    def start(self) -> KioskServer:
        """Serve in a background thread (tests, the demo)."""
        self._thread = threading.Thread(target=self.serve_forever, name="kiosk-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        server = self._server
        # Close the listening socket and every open channel, then the worker threads.
        while server._map:
            for channel in list(server._map.values()):
                channel.handle_close()
        server.maintenance(0)
        server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> KioskServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
