"""The issuer's registry: cards, kiosks, staff, status lists and an audit trail, in SQL.

What it keeps, and what it never keeps
--------------------------------------
The registry knows a card only by its document number, where its status lives (status list id
and index), the key that signed it (kid), its issue and expiry times, its status and its
lifecycle state. It never holds a name, a birth date, a sex, a photo, an address, a
nationality, a residence status or a client's network address: there is no column for any of
them (tests/test_registry.py inspects the schema and fails if one appears). The one secret per
card, the receipt's one-time revocation code, is kept only as a salted scrypt hash.

Tables (schema)
    cards           one row per card (status slot); a renewed or replaced number has several
    status_lists    one row per Token Status List (size and bits per entry)
    kiosks          kiosk accounts: the kiosk's signing key (kid) and its API public key
    staff           staff accounts: a SHA-256 hash of each bearer token
    kiosk_nonces    nonces of signed kiosk requests seen recently (replay protection)
    counters        the document number sequence
    audit_events    what happened, when, and who did it (kiosk or staff id); no personal data
    published_files the signed public files every host serves (trust list, root key, status lists)
    publication_marks per status list: status changes counted, and how many are published
    wallet_pickups  sealed wallet packages waiting at most 15 minutes for a phone (wallet_schema)

Modules
    schema          the tables as SQLAlchemy models, and the status and state words
    database        which database (URL), its transactions, opening it (migrations run then)
    migrate         the Alembic migrations in api/issuer/migrations, run from the program
    queries         reads and writes of cards, status lists, counters and the audit trail
    account_queries reads and writes of kiosk and staff accounts and request nonces
    publication_queries  status-change marks, the revoked/suspended slots, the published files
    publisher_lock  the lock that lets one process at a time publish

All of the issuer's SQL is here; the issuer's parts (api.issuer.cards, api.issuer.accounts)
decide what may change and call these.
"""

from . import wallet_schema  # noqa: F401 - the wallet pickups' table joins the metadata
from .database import (
    DATABASE_ENV,
    LEGACY_JSON,
    SERVER_TOML,
    SQLITE_FILE,
    Registry,
    RegistryError,
    database_url,
)
from .schema import (
    ACTIVE,
    ALLOCATED,
    DOCUMENT_COUNTER,
    ISSUED,
    REVOKED,
    SUSPENDED,
    VALID,
    VOIDED,
    WITHDRAWN,
    AuditEvent,
    Base,
    CardRecord,
    Counter,
    KioskNonce,
    KioskRecord,
    StaffRecord,
    StatusListRow,
)

__all__ = [
    "ACTIVE",
    "ALLOCATED",
    "DATABASE_ENV",
    "DOCUMENT_COUNTER",
    "ISSUED",
    "LEGACY_JSON",
    "REVOKED",
    "SERVER_TOML",
    "SQLITE_FILE",
    "SUSPENDED",
    "VALID",
    "VOIDED",
    "WITHDRAWN",
    "AuditEvent",
    "Base",
    "CardRecord",
    "Counter",
    "KioskNonce",
    "KioskRecord",
    "Registry",
    "RegistryError",
    "StaffRecord",
    "StatusListRow",
    "database_url",
]
