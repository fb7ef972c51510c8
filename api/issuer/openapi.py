"""/openapi.json: written by APIFairy from the routes' decorators and schemas (OpenAPI 3.1).

APIFairy documents JSON bodies and answers, bearer and API-key security and each route's
other answers. What it has no decorator for is added here, from the notes the decorators in
api.issuer.web leave on each view (`_spec`), in APIFairy's `process_apispec` hook:

- the public files' binary answers (`file_response`): media type, ETag, Cache-Control,
  If-None-Match and 304;
- the path parameters' schemas (`path_arguments`), in place of APIFairy's plain strings;
- bodies that may be left out (`json_body(optional=True)`);
- the headers of 401 (WWW-Authenticate), 429 and 503 (Retry-After) answers;
- 503 `unavailable` on every operation that needs the registry (all but `_NO_REGISTRY`),
  which api.issuer.server answers for any of them while the database is away;
- no 204: APIFairy documents one for a view without @response (the OpenID4VCI views), and
  none of them answers it;
- the security schemes' names, the document's description, and a relative server URL.

tests/test_api.py checks that the document names every route of the app with its methods;
tests/test_api_fuzz.py runs schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from apifairy import APIFairy  # type: ignore[import-untyped]
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask import Flask, current_app

VERSION = "1.0.0"
OPENAPI_VERSION = "3.1.0"
PATH = "/openapi.json"
TITLE = "citycard issuer API"
DESCRIPTION = (
    "Publishes the trust list, status lists and root key that readers verify against "
    "offline; allocates document numbers and status indices to kiosks; revokes cards. Every "
    "error is JSON {code, message}. No endpoint accepts or returns personal data. See "
    "docs/api.md."
)
# APIFairy's names for the schemes -> ours (the kiosk's signature is its only API key).
SCHEME_NAMES = {"api_key": "kioskSignature", "token_auth": "staffToken"}

_STRING = {"type": "string"}
_CACHE_HEADERS = {
    "ETag": {"description": "Strong entity tag of the bytes.", "schema": _STRING},
    "Cache-Control": {"schema": _STRING},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags the client holds; a match answers 304 without a body.",
    "schema": _STRING,
}
_ERROR_HEADERS = {
    "401": {"WWW-Authenticate": {"description": "The scheme to use.", "schema": _STRING}},
    "429": {"Retry-After": {"description": "Seconds to wait.", "schema": _STRING}},
    "503": {"Retry-After": {"description": "Seconds to wait.", "schema": _STRING}},
}
# Operations answered without the registry: from issuer.json, or from memory.
_NO_REGISTRY = {
    ("get", "/.well-known/openid-credential-issuer"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("post", "/oid4vci/nonce"),
}
_UNAVAILABLE = {
    "description": "The registry database is unavailable (unavailable); try again after "
    "Retry-After seconds.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def init_app(app: Flask) -> APIFairy:
    """APIFairy on `app`, serving the document at /openapi.json (and no documentation UI: it
    loads scripts from a CDN, which the API's Content-Security-Policy forbids)."""
    app.config.update(
        APIFAIRY_TITLE=TITLE,
        APIFAIRY_VERSION=VERSION,
        APIFAIRY_APISPEC_PATH=PATH,
        APIFAIRY_APISPEC_VERSION=OPENAPI_VERSION,
        APIFAIRY_UI_PATH=None,
    )
    fairy = APIFairy()
    fairy.init_app(app)
    fairy.process_apispec(complete)
    return fairy


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """What APIFairy leaves out, from the views' notes (see the module's docstring)."""
    doc["info"]["description"] = DESCRIPTION
    # APIFairy keeps the document made for the first request, with that request's Host in
    # `servers`: a relative URL cannot be poisoned by whoever asks first.
    doc["servers"] = [{"url": "/"}]
    converter = OpenAPIConverter(OPENAPI_VERSION, lambda _schema: None, None)  # type: ignore[arg-type]
    for rule in current_app.url_map.iter_rules():
        notes = getattr(current_app.view_functions[rule.endpoint], "_spec", None)
        if notes is None:
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method, operation in doc["paths"].get(path, {}).items():
            if method.upper() in (rule.methods or ()):
                _complete_operation(operation, notes, converter)
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for old, new in SCHEME_NAMES.items():
        if old in schemes:
            schemes[new] = schemes.pop(old)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "204" in responses and any(s[0] == "2" and s != "204" for s in map(str, responses)):
                del responses["204"]  # APIFairy's guess for a view that answers 200 itself
            if (method, path) not in _NO_REGISTRY and "503" not in map(str, responses):
                responses["503"] = dict(_UNAVAILABLE)
            for requirement in operation.get("security", []):
                for old, new in SCHEME_NAMES.items():
                    if old in requirement:
                        requirement[new] = requirement.pop(old)
            for status, headers in _ERROR_HEADERS.items():
                if status in operation["responses"]:
                    operation["responses"][status]["headers"] = headers
    return doc


def _complete_operation(
    operation: dict[str, Any], notes: dict[str, Any], converter: OpenAPIConverter
) -> None:
    operation["responses"] = {str(k): v for k, v in operation["responses"].items()}
    path_schema = notes.get("path_schema")
    if path_schema is not None:
        declared = {
            p["name"]: p for p in converter.schema2parameters(path_schema, location="path")
        }
        operation["parameters"] = [
            declared.get(p["name"], p) if p["in"] == "path" else p
            for p in operation.get("parameters", [])
        ]
    if notes.get("body_optional") and "requestBody" in operation:
        operation["requestBody"]["required"] = False
    file_response = notes.get("file_response")
    if file_response is not None:
        media_type, description = file_response
        operation["responses"].pop("204", None)  # APIFairy's guess for a view without @response
        operation["responses"]["200"] = {
            "description": description,
            "headers": _CACHE_HEADERS,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
        operation["responses"]["304"] = {
            "description": "The client's copy is current (no body).",
            "headers": _CACHE_HEADERS,
        }
        operation["parameters"] = [*operation.get("parameters", []), _IF_NONE_MATCH]
