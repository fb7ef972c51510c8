"""The issuer API's request and response bodies, declared once as marshmallow schemas.

The routes name them in their APIFairy decorators (api.issuer.web): the same schema validates a
request (`@json_body`, `@path_arguments`), shapes the answer (`@response`) and becomes a
component of /openapi.json. A field's error message is written to follow its name ("'x' must
be ..."): api.issuer.web.validation_message makes the sentence the client reads.
"""

from __future__ import annotations

import re
from typing import Any

from flask_marshmallow import Schema
from marshmallow import ValidationError, fields, validate, validates_schema

from cardio import codes

DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9-]{4,24}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
LIST_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PICKUP_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
PICKUP_PROOF = re.compile(r"^[A-Za-z0-9_-]{43}$")
# What codes.parse_digest accepts, as a pattern for the document (parse_digest still decides).
CODE_DIGEST = re.compile(
    rf"^scrypt\${codes.LOG_N}\${codes.R}\${codes.P}\$[A-Za-z0-9_-]{{22,43}}\$[A-Za-z0-9_-]{{43}}$"
)
# The patterns are written for /openapi.json (ECMA: '$' is the end). Python validates with
# fullmatch (FullRegexp), because its '$' also matches before a trailing newline.
LATEST_TIME = 2**40 - 1  # seconds since 1970; far beyond any card, small enough for any client

PROOF_RULE = "must be 43 base64url characters (32 bytes)."
DOCUMENT_NUMBER_RULE = "must be 4 to 24 capital letters, digits or '-'."


class FullRegexp(validate.Regexp):
    """marshmallow's Regexp, matching the whole value (a trailing newline does not fit)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _text(pattern: re.Pattern[str], rule: str, description: str) -> fields.String:
    """A required string matching `pattern`; `rule` says so after the field's name."""
    return fields.String(
        required=True,
        validate=FullRegexp(pattern, error=rule),
        error_messages={"invalid": rule, "null": rule},
        metadata={"description": description},
    )


class WholeNumber(fields.Integer):
    """An integer written as one in JSON: not true/false, not 5.0 (marshmallow's strict
    Integer takes booleans, which are ints in Python)."""

    def __init__(self, **kwargs: Any) -> None:
        rule = f"must be a whole number from 0 to {LATEST_TIME}."
        super().__init__(
            strict=True,
            validate=validate.Range(0, LATEST_TIME, error=rule),
            error_messages={"invalid": rule, "null": rule},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class CodeDigest(fields.String):
    """The digest of a revocation code a kiosk made itself (printer.receipt.RevocationCode)."""

    RULE = (
        f"must be 'scrypt${codes.LOG_N}${codes.R}${codes.P}$<salt>$<hash>' "
        "(printer.receipt.RevocationCode.digest)."
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=self._check,
            error_messages={"invalid": self.RULE, "null": self.RULE},
            metadata={
                "pattern": CODE_DIGEST.pattern,
                "description": "Digest of a revocation code the kiosk made itself; replaces the one from the allocation.",
            },
            **kwargs,
        )

    def _check(self, value: str) -> None:
        if codes.parse_digest(value) is None:
            raise ValidationError(self.RULE)


def typed_document_number(text: str) -> str:
    """A document number as a holder types it, in the form it is kept: spaces and invisible
    characters dropped, lower case raised, any script's digits and any dash read as ASCII
    (cardio.codes.fold_typed)."""
    return codes.fold_typed(text[:64]).upper()


class TypedDocumentNumber(fields.String):
    """A document number as a holder types it (`typed_document_number`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return typed_document_number(super()._deserialize(value, attr, data, **kwargs))


CODE_RULE = (
    "must be the receipt's code: 10 letters and digits such as 7KQ2M-XR4PD "
    "(case, spaces and dashes do not matter)."
)


class TypedCode(fields.String):
    """A receipt code as a holder types it; text that cannot be a code at all is refused
    before any attempt is counted (cardio.codes.normalise_code decides)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if codes.normalise_code(text) is None:
            raise ValidationError(CODE_RULE)
        return text


class ErrorSchema(Schema):
    """Every answer that is not a success."""

    code = fields.String(required=True, metadata={"description": "A stable machine code."})
    message = fields.String(required=True, metadata={"description": "A sentence for people."})


# -- path parameters ----------------------------------------------------------------------------


class DocumentNumberPathSchema(Schema):
    number = _text(DOCUMENT_NUMBER, DOCUMENT_NUMBER_RULE, "Document number.")


class PickupPathSchema(Schema):
    # Documented, not validated: an id that is not a pickup is 404 pickup_gone, like a taken one.
    pickup_id = fields.String(
        required=True,
        metadata={"description": "The pickup id from the wallet QR.", "pattern": PICKUP_ID.pattern},
    )


class PickupProofQuerySchema(Schema):
    # Documented, not validated: a proof that does not fit is 403 pickup_link_damaged.
    proof = fields.String(
        load_default=None,
        metadata={
            "description": "pickup_proof(K): base64url HMAC-SHA256(K, 'citycard wallet pickup "
            "proof 1') from the wallet QR's key (docs/wallet.md).",
            "pattern": PICKUP_PROOF.pattern,
        },
    )


class ListIdPathSchema(Schema):
    # Documented, not validated: an id that is not a list is 404, like any unknown address.
    list_id = fields.String(
        required=True, metadata={"description": "Status list id.", "pattern": LIST_ID.pattern}
    )


# -- request bodies -----------------------------------------------------------------------------


class EmptyBodySchema(Schema):
    """No body, or an empty JSON object."""


class AllocationRequestSchema(Schema):
    request_id = _text(
        REQUEST_ID,
        "must be 8 to 64 letters, digits, '.', '_', ':' or '-'.",
        "The kiosk's idempotency key (e.g. a UUID from its job journal).",
    )
    kind = fields.String(
        load_default="first",
        validate=validate.OneOf(
            ["first", "renewal", "replacement"], error="must be first, renewal or replacement."
        ),
        metadata={"description": "A first card (a new number), or a new card for a number."},
    )
    document_number = fields.String(
        validate=FullRegexp(DOCUMENT_NUMBER, error=DOCUMENT_NUMBER_RULE),
        error_messages={"invalid": DOCUMENT_NUMBER_RULE, "null": DOCUMENT_NUMBER_RULE},
        metadata={"description": "For a renewal or replacement: the number the card keeps."},
    )

    @validates_schema
    def _number_with_kind(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if (data.get("kind", "first") == "first") != ("document_number" not in data):
            raise ValidationError(
                "'document_number' must be given for a renewal or replacement, and only then."
            )


class PickupUploadSchema(Schema):
    pickup_id = _text(
        PICKUP_ID, "must be 22 base64url characters (16 random bytes).", "Drawn by the kiosk."
    )
    ciphertext = _text(
        BASE64URL,
        "must be base64url text without padding.",
        "nonce || AES-256-GCM ciphertext || tag of the wallet package (docs/wallet.md).",
    )
    proof = fields.String(
        load_default=None,
        validate=FullRegexp(PICKUP_PROOF, error=PROOF_RULE),
        error_messages={"invalid": PROOF_RULE},
        metadata={
            "description": "pickup_proof(K), which the wallet page must show to take the pickup; "
            "without it the page takes the pickup with no proof (docs/wallet.md)."
        },
    )


class IssuedReportSchema(Schema):
    issued_at = WholeNumber(required=True, metadata={"description": "Seconds since 1970."})
    expires_at = WholeNumber(required=True, metadata={"description": "Seconds since 1970."})
    revocation_code_hash = CodeDigest()

    @validates_schema
    def _expires_after_issue(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["expires_at"] <= data["issued_at"]:
            raise ValidationError("'expires_at' must be after 'issued_at'.")


class CodeReportSchema(Schema):
    revocation_code_hash = CodeDigest(required=True)


class SelfRevocationRequestSchema(Schema):
    document_number = TypedDocumentNumber(
        required=True,
        validate=FullRegexp(DOCUMENT_NUMBER, error=DOCUMENT_NUMBER_RULE),
        error_messages={"invalid": "must be text.", "null": "must be text."},
        metadata={
            "description": "As printed on the card; spaces, case, dashes and the script of "
            "its digits do not matter."
        },
    )
    code = TypedCode(
        required=True,
        validate=validate.Length(max=codes.MAX_TYPED, error=CODE_RULE),
        error_messages={"invalid": "must be text.", "null": "must be text."},
        metadata={
            "description": "The one-time code printed on the enrolment receipt; case, spaces, "
            "dashes and the script of its digits do not matter."
        },
    )


# -- responses ----------------------------------------------------------------------------------


def _out(kind: type[fields.Field[Any]] = fields.String, **kwargs: Any) -> fields.Field[Any]:
    return kind(required=True, **kwargs)


class KioskSelfSchema(Schema):
    kiosk_id = _out()
    kid = _out()
    state = _out()
    issuer = _out()
    trust_list_version = _out(fields.Integer)


class AllocationSchema(Schema):
    document_number = _out(validate=FullRegexp(DOCUMENT_NUMBER))
    status_list = _out()
    status_uri = _out()
    status_index = _out(fields.Integer, validate=validate.Range(min=0))
    kid = _out(validate=FullRegexp(r"^[0-9a-f]{16}$"))
    request_id = _out()
    revocation_code = _out(
        validate=FullRegexp(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$"),
        metadata={"description": "Print it on the receipt; the server keeps only a hash."},
    )


class CardSchema(Schema):
    """What the registry knows about a card (no personal data)."""

    document_number = _out(validate=FullRegexp(DOCUMENT_NUMBER))
    status_list = _out()
    status_index = _out(fields.Integer, validate=validate.Range(min=0))
    kid = _out()
    issued_at = _out(fields.Integer, allow_none=True)
    expires_at = _out(fields.Integer, allow_none=True)
    status = _out(validate=validate.OneOf(["valid", "revoked", "suspended"]))
    state = _out(validate=validate.OneOf(["allocated", "issued", "voided"]))


class PickupSchema(Schema):
    pickup_id = _out()
    expires_at = _out(fields.Integer, metadata={"description": "Seconds since 1970."})
    issuer_url = _out(
        metadata={"description": "The issuer's public base URL: the phone's QR codes name it."}
    )


class PickupCiphertextSchema(Schema):
    ciphertext = _out(metadata={"description": "base64url; only the QR's key opens it."})
    expires_at = _out(fields.Integer, metadata={"description": "Seconds since 1970."})


class StaffCardResultSchema(CardSchema):
    changed = _out(fields.Boolean, metadata={"description": "False when it had that status."})


class SelfRevocationResultSchema(Schema):
    document_number = _out()
    status = _out(validate=validate.OneOf(["revoked"]))
    message = _out()


class SchemaRevisionSchema(Schema):
    current = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The registry's migration (null: it could not be read)."},
    )
    expected = _out(metadata={"description": "The migration this version of citycard needs."})


class HealthSchema(Schema):
    """GET /health: can this host serve and issue? No personal data, no database address."""

    status = _out(
        validate=validate.OneOf(["ok", "degraded", "unavailable"]),
        metadata={
            "description": "ok; degraded (serves and issues, but see warnings: lists getting "
            "old, not published); unavailable (503)."
        },
    )
    database = _out(validate=validate.OneOf(["ok", "unavailable"]))
    schema = fields.Nested(SchemaRevisionSchema, required=True)
    publisher = _out(
        fields.Boolean, metadata={"description": "This host holds the publisher lock."}
    )
    last_published_age_seconds = _out(
        fields.Integer,
        allow_none=True,
        metadata={"description": "Since any host last published a file (null: none, or unknown)."},
    )
    oldest_status_list_age_seconds = _out(
        fields.Integer,
        allow_none=True,
        metadata={"description": "Since the least recently signed status list was signed."},
    )
    warnings = fields.List(
        fields.String(), required=True, metadata={"description": "Sentences for the operator."}
    )
    code = fields.String(metadata={"description": "With 503: unavailable or schema_not_current."})
    message = fields.String(metadata={"description": "With 503: what to do, one sentence."})
