"""What the issuer API's blueprints share: the app state, JSON errors and body parsing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, request

from cardio.web_errors import ApiError

if TYPE_CHECKING:
    from .published_cache import PublishedFiles
    from .ratelimit import TokenBuckets
    from .server import ServerConfig
    from .service import Issuer

EXTENSION = "citycard"
DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9-]{4,24}$")


@dataclass
class ApiState:
    """Everything a request handler needs, kept in `app.extensions["citycard"]`."""

    config: ServerConfig
    issuer: Issuer
    published: PublishedFiles
    per_number: TokenBuckets
    per_address: TokenBuckets
    extra: dict[str, Any] = field(default_factory=dict)


def state() -> ApiState:
    st: ApiState = current_app.extensions[EXTENSION]
    return st


def json_body(allowed: set[str], required: set[str], empty_ok: bool = False) -> dict[str, Any]:
    """The request body as a JSON object with only `allowed` keys and all `required` ones."""
    raw = request.get_data(cache=True)
    if not raw.strip() and empty_ok:
        return {}
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the request body as application/json.")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "The request body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "bad_request", f"Unknown field {unknown[0]!r}; remove it.")
    missing = sorted(required - set(body))
    if missing:
        raise ApiError(400, "bad_request", f"The field {missing[0]!r} is missing.")
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def int_field(body: dict[str, Any], name: str, low: int = 0, high: int = 2**40 - 1) -> int:
    value = body.get(name)
    if type(value) is not int or not low <= value <= high:
        raise ApiError(400, "bad_request", f"{name!r} must be a whole number from {low} to {high}.")
    return value


def str_field(body: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not pattern.match(value):
        raise ApiError(400, "bad_request", f"{name!r} must be {what}.")
    return value


def document_number(value: str) -> str:
    if not DOCUMENT_NUMBER.match(value):
        raise ApiError(
            400,
            "bad_request",
            "A document number is 4 to 24 capital letters, digits or '-'; check it.",
        )
    return value
