"""The error every citycard HTTP service answers with: JSON `{code, message}` and a status.

The issuer API, the reader terminal and the kiosk are separate Flask apps; they raise this one
type and turn it into a response the same way. Kept free of Flask so that the bottom layer
does not depend on a web framework.
"""

from __future__ import annotations

import json
from typing import Any


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


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object a request body holds; None for anything else: not UTF-8, not JSON, NaN
    or Infinity, another JSON type, or nesting deeper than the parser goes. (Flask's
    `get_json(silent=True)` lets that last one through as a RecursionError, a 500.)"""
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return body if isinstance(body, dict) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
