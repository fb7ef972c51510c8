"""What the issuer API's blueprints share: the app state, and APIFairy's decorators, typed.

A route declares its contract with these decorators, once (api.issuer.schemas holds the
schemas); APIFairy validates the request with them, shapes the answer and writes /openapi.json
(api.issuer.openapi):

    @bp.post("/cards/<number>/issued")
    @authenticate(kiosk_auth)                  # runs first: nothing is parsed for a stranger
    @path_arguments(DocumentNumberPathSchema)  # 400 for a malformed number
    @json_body(IssuedReportSchema)             # 415 / bad_json, then the schema: 400
    @response(CardSchema, 200, "The card.")
    @other_responses({404: (ErrorSchema, "No such card.")})
    def issued(body, number): ...

`json_body` checks what webargs does not tell apart (a body that is not application/json:
415; not JSON, NaN, not an object, or starting with a byte order mark: 400 `bad_json`) before the schema sees it.
`path_arguments` validates Flask's view arguments with a schema (APIFairy's `@arguments(...,
location="path")` would document each parameter twice); `query_arguments` is APIFairy's own
for the query string. `file_response` documents a route
that answers bytes. Validation errors become `{code, message}` in api.issuer.server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

import apifairy  # type: ignore[import-untyped]
from apifairy.exceptions import ValidationError as RequestInvalid  # type: ignore[import-untyped]
from flask import current_app, request
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from cardio.web_errors import ApiError, json_object

if TYPE_CHECKING:
    from .published_cache import PublishedFiles
    from .ratelimit import TokenBuckets
    from .server import ServerConfig
    from .service import Issuer

EXTENSION = "citycard"
F = TypeVar("F", bound=Callable[..., Any])


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


def _annotate(f: Callable[..., Any], **spec: Any) -> None:
    """Notes for api.issuer.openapi, in the `_spec` dict APIFairy keeps on a view."""
    if not hasattr(f, "_spec"):
        f._spec = {}  # type: ignore[attr-defined]
    f._spec.update(spec)  # type: ignore[attr-defined]


def authenticate(auth: Any) -> Callable[[F], F]:
    """APIFairy's @authenticate: `auth` (a flask_httpauth object) runs before the view."""
    return cast(Callable[[F], F], apifairy.authenticate(auth))


def response(schema: type[Schema], status: int = 200, description: str | None = None) -> Callable[[F], F]:
    """APIFairy's @response: the view returns data; `schema` dumps it as the JSON answer."""
    return cast(Callable[[F], F], apifairy.response(schema, status, description))


def other_responses(responses: Mapping[int, Any]) -> Callable[[F], F]:
    """APIFairy's @other_responses: {status: description or (schema, description)}."""
    return cast(Callable[[F], F], apifairy.other_responses(dict(responses)))


def json_body(schema: type[Schema], optional: bool = False) -> Callable[[F], F]:
    """APIFairy's @body for a JSON object, after the transport checks; `optional`: an empty
    body counts as {} (documented as not required)."""

    def decorator(f: F) -> F:
        validated = apifairy.body(schema)(f)

        @wraps(validated)
        def checked(*args: Any, **kwargs: Any) -> Any:
            _check_json_object(optional)
            return validated(*args, **kwargs)

        if optional:
            _annotate(checked, body_optional=True)
        return cast(F, checked)

    return decorator


def _check_json_object(optional: bool) -> None:
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the request body as application/json.")
    if raw.startswith(b"\xef\xbb\xbf"):  # JSON text has no byte order mark (RFC 8259)
        raise ApiError(
            400,
            "bad_json",
            "The request body starts with a byte order mark; send the JSON as UTF-8 without it.",
        )
    if json_object(raw) is None:
        raise ApiError(400, "bad_json", "The request body is not a valid JSON object.")


def path_arguments(schema: type[Schema]) -> Callable[[F], F]:
    """Validate the URL's variables with `schema` (400 when they do not fit) and pass the
    loaded values on; api.issuer.openapi documents the parameters from the same schema."""
    instance = schema()

    def decorator(f: F) -> F:
        @wraps(f)
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                loaded = instance.load(kwargs)
            except SchemaError as exc:
                raise RequestInvalid(400, {"path": exc.messages}) from exc
            return f(*args, **{**kwargs, **loaded})

        _annotate(checked, path_schema=instance)
        return cast(F, checked)

    return decorator


def query_arguments(schema: type[Schema]) -> Callable[[F], F]:
    """APIFairy's @arguments for the query string: the loaded values come first, positionally."""
    return cast(Callable[[F], F], apifairy.arguments(schema()))


def file_response(media_type: str, description: str) -> Callable[[F], F]:
    """Document a route that answers bytes of `media_type` with an ETag (and 304)."""

    def decorator(f: F) -> F:
        _annotate(f, file_response=(media_type, description))
        return f

    return decorator


def validation_message(messages: Any) -> str:
    """One sentence for the client from marshmallow's {location: {field: [messages]}}."""
    while isinstance(messages, dict) and len(messages) == 1 and "_schema" not in messages:
        ((name, inner),) = messages.items()
        if not isinstance(inner, dict) or name not in ("json", "path"):
            break
        messages = inner
    if isinstance(messages, dict) and messages:
        name = sorted(messages, key=lambda k: (k != "_schema", str(k)))[0]
        text = _first(messages[name])
        if name == "_schema":
            return text
        if text == "Missing data for required field.":
            return f"The field {name!r} is missing."
        if text == "Unknown field.":
            return f"Unknown field {name!r}; remove it."
        return f"{name!r} {text}" if text[:1].islower() else f"{name!r}: {text}"
    return "The request does not fit the API's schema; see /openapi.json."


def _first(messages: Any) -> str:
    while isinstance(messages, list | dict) and messages:
        messages = messages[0] if isinstance(messages, list) else next(iter(messages.values()))
    text = str(messages) if messages else "The value is not allowed."
    return text if text.endswith((".", ";", ")")) else text + "."
