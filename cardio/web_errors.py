"""The error every citycard HTTP service answers with: JSON `{code, message}` and a status.

The issuer API, the reader terminal and the kiosk are separate Flask apps; they raise this one
type and turn it into a response the same way. Kept free of Flask so that the bottom layer
does not depend on a web framework.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as JSON `{code, message}` with an HTTP status (and extra headers)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
