"""What counts as the address of a citycard service (the issuer API a kiosk or a reader talks to,
the base URL an issuer writes into its status list URIs)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def http_url(url: str) -> SplitResult | None:
    """`url` split, when it is an http(s) address with a host and, if it names a port, a
    number for it; None otherwise (urlsplit itself raises ValueError for "http://[::1", and
    `.port` for a port that is not a number: urllib would fail later with a bare ValueError).
    An address with whitespace or a control character anywhere is refused too: urlsplit keeps
    them (a path "a b", a newline pasted with the address) and http.client then refuses the
    request with InvalidURL or an "Invalid header value" of its own."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts if parts.scheme in ("http", "https") and parts.hostname else None
