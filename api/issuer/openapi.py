"""The OpenAPI 3.1 document of the issuer API, served at /openapi.json.

tests/test_api.py checks that it names every route of the app with its methods, and
tests/test_api_fuzz.py runs schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from cardio.kiosk_auth import SCHEME
from cardio.statuslist import MEDIA_TYPE as STATUS_MEDIA_TYPE
from cardio.trustlist import MEDIA_TYPE as TRUST_MEDIA_TYPE

VERSION = "1.0.0"

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _err(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": _json(_ERROR)}
    if headers:
        out["headers"] = headers
    return out


_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}
_CACHE_HEADERS = {
    "ETag": {"description": "Strong entity tag of the bytes.", "schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags the client holds; a match answers 304 without a body.",
    "schema": {"type": "string"},
}
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "Document number.",
    "schema": {"$ref": "#/components/schemas/DocumentNumber"},
}
_NOT_MODIFIED = {"description": "The client's copy is current.", "headers": _CACHE_HEADERS}
_UNPUBLISHED = _err("Nothing has been published yet.")
_KIOSK_ERRORS = {
    "400": _err("Malformed request or body."),
    "401": _err(
        "Missing, malformed or invalid kiosk signature, a clock too far off, or a replay.",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "403": _err("The kiosk or its signing key has been revoked."),
    "413": _err("The body is too large."),
    "415": _err("The body is not application/json."),
}
_STAFF_ERRORS = {
    "400": _err("Malformed document number or body."),
    "401": _err(
        "Missing or invalid staff token.", {"WWW-Authenticate": {"schema": {"type": "string"}}}
    ),
    "404": _err("No card with that number."),
    "413": _err("The body is too large."),
    "415": _err("The body is not application/json."),
}
_EMPTY_BODY = {
    "required": False,
    "content": _json({"type": "object", "additionalProperties": False, "maxProperties": 0}),
}


def _staff_action(summary: str, description: str) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["staff"],
            "summary": summary,
            "description": description,
            "security": [{"staffToken": []}],
            "parameters": [_NUMBER],
            "requestBody": _EMPTY_BODY,
            "responses": {
                "200": {
                    "description": "The card's status now (published to readers at once).",
                    "content": _json({"$ref": "#/components/schemas/StaffCardResult"}),
                },
                **_STAFF_ERRORS,
                "409": _err("The change is not allowed (a revoked card stays revoked)."),
            },
        }
    }


def document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI document; `server_url` is where this server answers."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "citycard issuer API",
            "version": VERSION,
            "description": (
                "Publishes the trust list, status lists and root key that readers verify "
                "against offline; allocates document numbers and status indices to kiosks; "
                "revokes cards. Every error is JSON {code, message}. No endpoint accepts or "
                "returns personal data. See docs/api.md."
            ),
        },
        "paths": {
            "/.well-known/citycard/trust-list": {
                "get": {
                    "tags": ["public"],
                    "summary": "The root-signed trust list (COSE_Sign1).",
                    "parameters": [_IF_NONE_MATCH],
                    "responses": {
                        "200": {
                            "description": "The trust list.",
                            "headers": _CACHE_HEADERS,
                            "content": {TRUST_MEDIA_TYPE: {"schema": _BINARY}},
                        },
                        "304": _NOT_MODIFIED,
                        "503": _UNPUBLISHED,
                    },
                }
            },
            "/.well-known/citycard/root-key": {
                "get": {
                    "tags": ["public"],
                    "summary": "The city root public key (PEM), to pin by fingerprint.",
                    "description": "For provisioning: compare its SHA-256 fingerprint with the one the city announced; never trust it blindly.",
                    "parameters": [_IF_NONE_MATCH],
                    "responses": {
                        "200": {
                            "description": "PEM SubjectPublicKeyInfo.",
                            "headers": _CACHE_HEADERS,
                            "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
                        },
                        "304": _NOT_MODIFIED,
                        "503": _UNPUBLISHED,
                    },
                }
            },
            "/status/{list_id}": {
                "get": {
                    "tags": ["public"],
                    "summary": "A Token Status List (CWT).",
                    "parameters": [
                        {
                            "name": "list_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _IF_NONE_MATCH,
                    ],
                    "responses": {
                        "200": {
                            "description": "The status list token.",
                            "headers": _CACHE_HEADERS,
                            "content": {STATUS_MEDIA_TYPE: {"schema": _BINARY}},
                        },
                        "304": _NOT_MODIFIED,
                        "404": _err("No status list with that id."),
                        "503": _UNPUBLISHED,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "tags": ["public"],
                    "summary": "This document.",
                    "responses": {
                        "200": {"description": "OpenAPI 3.1.", "content": _json({"type": "object"})}
                    },
                }
            },
            "/api/v1/kiosk/self": {
                "get": {
                    "tags": ["kiosk"],
                    "summary": "Who the server takes the signing kiosk to be (a self-test).",
                    "security": [{"kioskSignature": []}],
                    "responses": {
                        "200": {
                            "description": "The kiosk account.",
                            "content": _json({"$ref": "#/components/schemas/KioskSelf"}),
                        },
                        **_KIOSK_ERRORS,
                    },
                }
            },
            "/api/v1/kiosk/allocations": {
                "post": {
                    "tags": ["kiosk"],
                    "summary": "Allocate a document number, a status slot and a revocation code.",
                    "description": (
                        "Idempotent per request id: the same kiosk repeating a request id gets "
                        "the same number and slot (200 instead of 201) and a fresh revocation "
                        "code that replaces the previous one (only a hash is kept)."
                    ),
                    "security": [{"kioskSignature": []}],
                    "requestBody": {
                        "required": True,
                        "content": _json({"$ref": "#/components/schemas/AllocationRequest"}),
                    },
                    "responses": {
                        "201": {
                            "description": "A new allocation.",
                            "content": _json({"$ref": "#/components/schemas/Allocation"}),
                        },
                        "200": {
                            "description": "The allocation made before for this request id.",
                            "content": _json({"$ref": "#/components/schemas/Allocation"}),
                        },
                        **_KIOSK_ERRORS,
                        "409": _err("The request id belongs to a card already issued or voided."),
                    },
                }
            },
            "/api/v1/kiosk/cards/{number}/issued": {
                "post": {
                    "tags": ["kiosk"],
                    "summary": "Report a card signed and delivered (idempotent).",
                    "security": [{"kioskSignature": []}],
                    "parameters": [_NUMBER],
                    "requestBody": {
                        "required": True,
                        "content": _json({"$ref": "#/components/schemas/IssuedReport"}),
                    },
                    "responses": {
                        "200": {
                            "description": "The card as the registry now knows it.",
                            "content": _json({"$ref": "#/components/schemas/Card"}),
                        },
                        **_KIOSK_ERRORS,
                        "404": _err("This kiosk allocated no card with that number."),
                        "409": _err("The card was voided or reported with other times."),
                    },
                }
            },
            "/api/v1/kiosk/cards/{number}/void": {
                "post": {
                    "tags": ["kiosk"],
                    "summary": "Void a card the kiosk could not finish (status INVALID, for good).",
                    "security": [{"kioskSignature": []}],
                    "parameters": [_NUMBER],
                    "requestBody": _EMPTY_BODY,
                    "responses": {
                        "200": {
                            "description": "The voided card.",
                            "content": _json({"$ref": "#/components/schemas/Card"}),
                        },
                        **_KIOSK_ERRORS,
                        "404": _err("This kiosk allocated no card with that number."),
                    },
                }
            },
            "/api/v1/kiosk/cards/{number}/revocation-code": {
                "post": {
                    "tags": ["kiosk"],
                    "summary": "Replace the card's revocation code digest (a receipt printed again).",
                    "security": [{"kioskSignature": []}],
                    "parameters": [_NUMBER],
                    "requestBody": {
                        "required": True,
                        "content": _json({"$ref": "#/components/schemas/CodeReport"}),
                    },
                    "responses": {
                        "200": {
                            "description": "The card.",
                            "content": _json({"$ref": "#/components/schemas/Card"}),
                        },
                        **_KIOSK_ERRORS,
                        "404": _err("This kiosk allocated no card with that number."),
                        "409": _err("The card is voided or revoked."),
                    },
                }
            },
            "/api/v1/staff/cards/{number}": {
                "get": {
                    "tags": ["staff"],
                    "summary": "What the registry knows about a card.",
                    "security": [{"staffToken": []}],
                    "parameters": [_NUMBER],
                    "responses": {
                        "200": {
                            "description": "The card.",
                            "content": _json({"$ref": "#/components/schemas/Card"}),
                        },
                        **_STAFF_ERRORS,
                    },
                }
            },
            "/api/v1/staff/cards/{number}/revoke": _staff_action(
                "Revoke a card (permanent).", "Sets the status to INVALID and publishes."
            ),
            "/api/v1/staff/cards/{number}/suspend": _staff_action(
                "Suspend a card.", "Sets the status to SUSPENDED and publishes."
            ),
            "/api/v1/staff/cards/{number}/reinstate": _staff_action(
                "Reinstate a suspended card.", "Sets the status back to VALID and publishes."
            ),
            "/api/v1/self-revocation": {
                "post": {
                    "tags": ["holder"],
                    "summary": "Revoke one's own card with the receipt's one-time code.",
                    "description": (
                        "A wrong code, an unknown number or a used code all get the same 403 "
                        "answer. Limited per document number and per client network (429)."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": _json({"$ref": "#/components/schemas/SelfRevocationRequest"}),
                    },
                    "responses": {
                        "200": {
                            "description": "The card is revoked.",
                            "content": _json({"$ref": "#/components/schemas/SelfRevocationResult"}),
                        },
                        "400": _err("Malformed request."),
                        "403": _err("The number and code do not match a card that can be revoked."),
                        "413": _err("The body is too large."),
                        "415": _err("The body is not application/json."),
                        "429": _err(
                            "Too many attempts.",
                            {"Retry-After": {"schema": {"type": "string"}}},
                        ),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "kioskSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": (
                        f'`{SCHEME} id="…", ts="…", nonce="…", sig="…"`: ES256 by the kiosk\'s '
                        "API key over method, path, time, nonce and body digest (docs/api.md)."
                    ),
                },
                "staffToken": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "A stable machine code."},
                        "message": {"type": "string", "description": "A sentence for people."},
                    },
                },
                "DocumentNumber": {"type": "string", "pattern": "^[A-Z0-9-]{4,24}$"},
                "AllocationRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["request_id"],
                    "properties": {
                        "request_id": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9._:-]{8,64}$",
                            "description": "The kiosk's idempotency key (e.g. a UUID from its job journal).",
                        }
                    },
                },
                "Allocation": {
                    "type": "object",
                    "required": [
                        "document_number",
                        "status_list",
                        "status_uri",
                        "status_index",
                        "kid",
                        "request_id",
                        "revocation_code",
                    ],
                    "properties": {
                        "document_number": {"$ref": "#/components/schemas/DocumentNumber"},
                        "status_list": {"type": "string"},
                        "status_uri": {"type": "string"},
                        "status_index": {"type": "integer", "minimum": 0},
                        "kid": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                        "request_id": {"type": "string"},
                        "revocation_code": {
                            "type": "string",
                            "pattern": "^[0-9A-Z]{5}-[0-9A-Z]{5}$",
                            "description": "Print it on the receipt; the server keeps only a hash.",
                        },
                    },
                },
                "IssuedReport": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["issued_at", "expires_at"],
                    "properties": {
                        "issued_at": {"type": "integer", "minimum": 0, "maximum": 1099511627775},
                        "expires_at": {"type": "integer", "minimum": 0, "maximum": 1099511627775},
                        "revocation_code_hash": {"$ref": "#/components/schemas/CodeDigest"},
                    },
                },
                "CodeDigest": {
                    "type": "string",
                    "pattern": r"^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22,43}\$[A-Za-z0-9_-]{43}$",
                    "description": "Digest of a revocation code the kiosk made itself (printer.receipt.RevocationCode.digest); replaces the one from the allocation.",
                },
                "CodeReport": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["revocation_code_hash"],
                    "properties": {
                        "revocation_code_hash": {"$ref": "#/components/schemas/CodeDigest"}
                    },
                },
                "Card": {
                    "type": "object",
                    "required": [
                        "document_number",
                        "status_list",
                        "status_index",
                        "kid",
                        "issued_at",
                        "expires_at",
                        "status",
                        "state",
                    ],
                    "properties": {
                        "document_number": {"$ref": "#/components/schemas/DocumentNumber"},
                        "status_list": {"type": "string"},
                        "status_index": {"type": "integer", "minimum": 0},
                        "kid": {"type": "string"},
                        "issued_at": {"type": ["integer", "null"]},
                        "expires_at": {"type": ["integer", "null"]},
                        "status": {"enum": ["valid", "revoked", "suspended"]},
                        "state": {"enum": ["allocated", "issued", "voided"]},
                    },
                },
                "StaffCardResult": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Card"},
                        {
                            "type": "object",
                            "required": ["changed"],
                            "properties": {"changed": {"type": "boolean"}},
                        },
                    ]
                },
                "KioskSelf": {
                    "type": "object",
                    "required": ["kiosk_id", "kid", "state", "issuer", "trust_list_version"],
                    "properties": {
                        "kiosk_id": {"type": "string"},
                        "kid": {"type": "string"},
                        "state": {"type": "string"},
                        "issuer": {"type": "string"},
                        "trust_list_version": {"type": "integer"},
                    },
                },
                "SelfRevocationRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["document_number", "code"],
                    "properties": {
                        "document_number": {"type": "string", "maxLength": 40},
                        "code": {"type": "string", "maxLength": 64},
                    },
                },
                "SelfRevocationResult": {
                    "type": "object",
                    "required": ["document_number", "status", "message"],
                    "properties": {
                        "document_number": {"type": "string"},
                        "status": {"const": "revoked"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
