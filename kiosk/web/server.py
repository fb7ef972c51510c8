"""Serving the kiosk app with waitress, configured so that nothing the resident sends touches disk.

waitress buffers a request body larger than `inbuf_overflow` (and a response larger than
`outbuf_overflow`) in a temporary *file*; a photo upload would then be written to disk. The
adjustments below keep every request the kiosk accepts in memory, and refuse larger ones.

waitress refuses a body over `max_request_body_size` before the app sees it, with a bare English
page and no way back. `KioskChannel` hands that refusal to the app instead (without the body and
marked with `BODY_TOO_LARGE`), so the resident gets the kiosk's own translated page. It reads
and drops the rest of that body rather than closing the connection under the browser, which
would then show a "connection reset" error instead of the page.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import Task, WSGITask
from waitress.utilities import RequestEntityTooLarge

from cardio.serving import BackgroundServer, JsonErrorChannel, JsonErrorTask

from .app import BODY_TOO_LARGE
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


class KioskRequestParser(HTTPRequestParser):
    """A request parser that, on a body over the limit (known from Content-Length), takes the
    rest of the data it was given as that body and says how much of the body is still to come,
    so the channel drops it instead of parsing it as further requests."""

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.still_to_drop = 0

    def received(self, data: bytes) -> int:
        consumed = int(super().received(data))
        if isinstance(self.error, RequestEntityTooLarge) and not self.chunked and consumed < len(data):
            self.still_to_drop = max(0, self.content_length - (len(data) - consumed))
            return len(data)
        if isinstance(self.error, RequestEntityTooLarge) and not self.chunked:
            self.still_to_drop = self.content_length
        return consumed


class TooLargeTask(WSGITask):
    """waitress's refusal of a body over its limit, answered by the app: the request without
    its body, marked, and the connection closed after the answer (the body was not read)."""

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        environ.update({BODY_TOO_LARGE: True, "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO()})
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return environ

    def execute(self) -> None:
        if getattr(self.request, "chunked", False):  # its end is unknown: no dropping the rest, close after
            self.set_close_on_finish()
        super().execute()


def _error_task(channel: HTTPChannel, request: Any) -> Task:
    if isinstance(request.error, RequestEntityTooLarge):
        return TooLargeTask(channel, request)
    return JsonErrorTask(channel, request)  # only a raw client sends what waitress cannot read


class KioskChannel(JsonErrorChannel):
    error_task_class = staticmethod(_error_task)  # type: ignore[assignment]  # a factory
    parser_class = KioskRequestParser
    dropping = 0  # bytes of a refused body still to read and drop

    def received(self, data: bytes) -> bool:
        if self.dropping:
            dropped = min(len(data), self.dropping)
            self.dropping -= dropped
            data = data[dropped:]
            if not data:
                return True
        result = bool(super().received(data))
        for request in (*self.requests, self.request):
            if isinstance(request, KioskRequestParser) and request.still_to_drop:
                self.dropping += request.still_to_drop
                request.still_to_drop = 0
        return result


class KioskServer(BackgroundServer):
    """A waitress server for the kiosk app on host:port (port 0 picks a free one), with the
    adjustments and the channel above."""

    def __init__(self, app: Any, config: KioskConfig, host: str, port: int) -> None:
        super().__init__(app, host, port, KioskChannel, **waitress_adjustments(config))
