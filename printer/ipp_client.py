"""A small IPP/1.1 client (RFC 8011 operations) over http.client.

Enough for card printers behind a CUPS queue or driverless IPP printers: Print-Job,
Get-Printer-Attributes, Get-Job-Attributes and Cancel-Job. Requests are IPP/1.1 over HTTP
POST with Content-Type application/ipp (`ipp://` is HTTP on port 631 by default, `ipps://`
is HTTPS). A printer answering server-error-busy (or HTTP 503) is asked again after a pause
that doubles each time, up to `retries` attempts.

Every failure is a typed `CardPrinterError` with a sentence: CardPrinterOfflineError (no answer,
or an answer that is not IPP), CardPrinterBusyError (busy through every retry) and
IppStatusError (any other IPP error status; `.status` holds the code).
"""

from __future__ import annotations

import http.client
import itertools
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from .card_printer import CardPrinterBusyError, CardPrinterError, CardPrinterOfflineError
from .ipp_codec import (
    DelimiterTag,
    IppAttribute,
    IppMessage,
    Operation,
    StatusCode,
    ValueTag,
    attr,
    decode_message,
    encode_message,
)

__all__ = ["RETRY_STATUSES", "IppClient", "IppStatusError", "describe_uri"]

log = logging.getLogger(__name__)

_MAX_MESSAGE = 16 * 1024 * 1024  # larger answers are refused, not read into memory

RETRY_STATUSES = frozenset({StatusCode.SERVER_ERROR_BUSY})
_OPERATION_NAMES: dict[int, str] = {
    Operation.PRINT_JOB: "Print-Job",
    Operation.VALIDATE_JOB: "Validate-Job",
    Operation.CANCEL_JOB: "Cancel-Job",
    Operation.GET_JOB_ATTRIBUTES: "Get-Job-Attributes",
    Operation.GET_PRINTER_ATTRIBUTES: "Get-Printer-Attributes",
}
_CREDENTIALS = "the printer wants credentials citycard does not have; allow the kiosk's user on the queue"
_STATUS_ADVICE: dict[int, str] = {
    StatusCode.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED: "the printer does not accept this document format",
    StatusCode.CLIENT_ERROR_NOT_FOUND: "check the printer URI",
    StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS: "the queue is not accepting jobs; enable it (cupsaccept) and try again",
    StatusCode.CLIENT_ERROR_NOT_AUTHORIZED: _CREDENTIALS,
    StatusCode.CLIENT_ERROR_NOT_AUTHENTICATED: _CREDENTIALS,
    StatusCode.CLIENT_ERROR_FORBIDDEN: _CREDENTIALS,
}


class IppStatusError(CardPrinterError):
    """The printer refused an operation; `.status` is the IPP status code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def describe_uri(uri: str) -> str:
    """The printer URI as scheme://host:port/path, for messages (no credentials, no query)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 631}{parts.path}"


class IppClient:
    """One printer (or CUPS queue) URI. Thread-compatible: one request at a time."""

    def __init__(
        self,
        uri: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        user: str = "citycard",
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(uri)
        if parts.scheme not in ("ipp", "ipps", "http", "https") or not parts.hostname:
            raise CardPrinterError(
                f"{uri!r} is not a printer URI; use ipp://host[:port]/path (for example "
                "ipp://localhost:631/printers/card)."
            )
        self.uri = uri if parts.scheme in ("ipp", "ipps") else uri.replace("http", "ipp", 1)
        self.host = parts.hostname
        self.port = parts.port or 631
        self.path = parts.path or "/"
        self.tls = parts.scheme in ("ipps", "https")
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.user = user
        self.sleep = sleep
        self.ssl_context = ssl_context
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"IppClient({describe_uri(self.uri)!r})"

    # -- transport --

    def _post(self, body: bytes) -> tuple[int, bytes]:
        conn: http.client.HTTPConnection
        if self.tls:
            context = self.ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(
                "POST",
                self.path,
                body=body,
                headers={"Content-Type": "application/ipp", "Accept": "application/ipp"},
            )
            response = conn.getresponse()
            payload = response.read(_MAX_MESSAGE + 1)
            if len(payload) > _MAX_MESSAGE:
                raise CardPrinterOfflineError(
                    f"The printer at {describe_uri(self.uri)} sent an answer larger than 16 MB; "
                    "check that the URI points at an IPP printer."
                )
            return response.status, payload
        except (OSError, http.client.HTTPException) as exc:
            reason = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else str(exc) or type(exc).__name__
            raise CardPrinterOfflineError(
                f"The card printer at {describe_uri(self.uri)} does not answer ({reason}); check "
                "that it is switched on and connected, then try again."
            ) from exc
        finally:
            conn.close()

    def request(
        self,
        operation: int,
        operation_attrs: Iterable[IppAttribute] = (),
        job_attrs: Iterable[IppAttribute] = (),
        data: bytes = b"",
    ) -> IppMessage:
        """Send one operation (retrying while busy) and return the successful response."""
        for attempt in range(1, self.retries + 1):
            request_id = next(self._ids)
            op_group = {
                a.name: a
                for a in (
                    attr("attributes-charset", ValueTag.CHARSET, "utf-8"),
                    attr("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en"),
                    attr("printer-uri", ValueTag.URI, self.uri),
                    attr("requesting-user-name", ValueTag.NAME, self.user),
                    *operation_attrs,
                )
            }
            groups: list[tuple[int, dict[str, IppAttribute]]] = [(DelimiterTag.OPERATION, op_group)]
            job_group = {a.name: a for a in job_attrs}
            if job_group:
                groups.append((DelimiterTag.JOB, job_group))
            body = encode_message(IppMessage(operation, request_id, groups, data=data))
            http_status, payload = self._post(body)
            if http_status == 503:
                busy = True
                response = None
            elif http_status != 200:
                raise CardPrinterOfflineError(
                    f"The printer at {describe_uri(self.uri)} answered HTTP {http_status} instead of "
                    "IPP; check the printer URI (for a CUPS queue: ipp://host:631/printers/NAME)."
                )
            else:
                response = decode_message(payload)
                if response.request_id != request_id:
                    raise CardPrinterOfflineError(
                        f"The printer at {describe_uri(self.uri)} answered another request; try again."
                    )
                busy = response.code in RETRY_STATUSES
            if not busy and response is not None:
                if response.code >= 0x0400:
                    raise self._status_error(operation, response)
                return response
            if attempt < self.retries:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                log.info("printer busy, retrying in %.1f s (attempt %d of %d)", delay, attempt, self.retries)
                self.sleep(delay)
        raise CardPrinterBusyError(
            f"The card printer at {describe_uri(self.uri)} stayed busy through {self.retries} "
            "attempts; wait until it has finished its current job, then try again."
        )

    def _status_error(self, operation: int, response: IppMessage) -> IppStatusError:
        op = _OPERATION_NAMES.get(operation, f"operation 0x{operation:04x}")
        detail = f" ({response.status_message})" if response.status_message else ""
        advice = _STATUS_ADVICE.get(response.code, "check the printer and try again")
        return IppStatusError(
            f"The card printer refused {op} with {response.status_name}{detail}; {advice}.",
            response.code,
        )

    # -- operations --

    def get_printer_attributes(self, requested: Sequence[str] = ("all",)) -> dict[str, IppAttribute]:
        response = self.request(
            Operation.GET_PRINTER_ATTRIBUTES,
            [attr("requested-attributes", ValueTag.KEYWORD, *requested)],
        )
        return response.group(DelimiterTag.PRINTER)

    def print_job(
        self,
        document: bytes,
        document_format: str,
        *,
        job_name: str = "citycard card",
        job_attrs: Iterable[IppAttribute] = (),
    ) -> dict[str, IppAttribute]:
        """Print-Job; returns the job attributes of the response (job-id, job-state, ...)."""
        response = self.request(
            Operation.PRINT_JOB,
            [
                attr("job-name", ValueTag.NAME, job_name),
                attr("document-format", ValueTag.MIME_MEDIA_TYPE, document_format),
            ],
            job_attrs,
            data=document,
        )
        return response.group(DelimiterTag.JOB)

    def get_job_attributes(
        self, job_id: int, requested: Sequence[str] = ("job-state", "job-state-reasons", "job-state-message")
    ) -> dict[str, IppAttribute]:
        response = self.request(
            Operation.GET_JOB_ATTRIBUTES,
            [
                attr("job-id", ValueTag.INTEGER, job_id),
                attr("requested-attributes", ValueTag.KEYWORD, *requested),
            ],
        )
        return response.group(DelimiterTag.JOB)

    def cancel_job(self, job_id: int) -> None:
        self.request(Operation.CANCEL_JOB, [attr("job-id", ValueTag.INTEGER, job_id)])

