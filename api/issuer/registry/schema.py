"""The registry's tables, as SQLAlchemy models. No personal data: see the package docstring.

A change here needs a migration in api/issuer/migrations/versions (tests/test_migrations.py
fails while the migrated schema and these models differ).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DOCUMENT_COUNTER = "document"

# Card status: what the status list says about the card (cardio.statuslist.Status).
VALID, REVOKED, SUSPENDED = "valid", "revoked", "suspended"
# A card a newer card of the same document number replaced (renewal): status list value 3.
SUPERSEDED = "superseded"
# Card lifecycle: allocated to a kiosk, reported issued, or voided (never completed).
ALLOCATED, ISSUED, VOIDED = "allocated", "issued", "voided"
# Kiosk and staff account states.
ACTIVE = "active"
WITHDRAWN = "revoked"


class Base(DeclarativeBase):
    pass


class CardRecord(Base):
    """One card: a status slot, and the document number it was made for. No personal data:
    see the package docstring.

    A document number has one card per `generation`: 0 the first card, then one more for each
    renewal or replacement (same number, a new slot); see api.issuer.cards for which of them is
    the number's current card."""

    __tablename__ = "cards"

    status_list: Mapped[str] = mapped_column(
        String(32), ForeignKey("status_lists.list_id"), primary_key=True
    )
    status_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_number: Mapped[str] = mapped_column(String(24))
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kid: Mapped[str] = mapped_column(String(16))  # hex of the signing key's 8-byte kid
    iat: Mapped[int | None] = mapped_column(BigInteger)  # None until the kiosk reports issued
    exp: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=VALID)
    state: Mapped[str] = mapped_column(String(16), default=ALLOCATED)
    kiosk_id: Mapped[str | None] = mapped_column(String(64))  # None: signed by the issuer CLI
    request_id: Mapped[str | None] = mapped_column(String(64))  # the kiosk's idempotency key
    revocation_code_hash: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("document_number", "generation", name="uq_cards_document_generation"),
        UniqueConstraint("kiosk_id", "request_id", name="uq_cards_kiosk_request"),
        Index("ix_cards_list_status", "status_list", "status"),
    )


class StatusListRow(Base):
    """One Token Status List: its id (the last part of its URI), size and bits per entry."""

    __tablename__ = "status_lists"

    list_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class KioskRecord(Base):
    """A kiosk account: its signing key in the trust list and the public key of its API key."""

    __tablename__ = "kiosks"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_label: Mapped[str] = mapped_column(String(64))  # its signing key's label in the trust list
    kid: Mapped[str] = mapped_column(String(16))
    auth_public_key: Mapped[str] = mapped_column(String(256))  # PEM SubjectPublicKeyInfo, P-256
    auth_key_fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class StaffRecord(Base):
    """A staff account (a role or badge id, not a person's name) and its bearer token's hash."""

    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class KioskNonce(Base):
    """A signed kiosk request's nonce, kept for the clock-skew window to refuse exact replays."""

    __tablename__ = "kiosk_nonces"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(BigInteger, index=True)


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class AuditEvent(Base):
    """What happened (action), when (at), who (actor type and kiosk or staff id), to which card."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # cli / kiosk / staff / holder / server
    actor_id: Mapped[str | None] = mapped_column(String(64))  # kiosk or staff id; None otherwise
    action: Mapped[str] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(String(64))  # a fixed word (new status, key label)


class PublishedFile(Base):
    """A published file's signed bytes, as the one publisher made them: every host serves
    these, so the bytes and their ETag are the same whichever host answers."""

    __tablename__ = "published_files"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "status/1.cwt"
    body: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(BigInteger)  # one more on every store
    published_at: Mapped[int] = mapped_column(BigInteger)


class PublicationMark(Base):
    """How many status changes a status list has had, and how many its published token shows.

    `changed` is raised in the same transaction as every status change (a database trigger on
    cards, see migration 0002), so a change can never be committed without its mark;
    `published` is what the publisher read before it signed. A list with changed > published
    is owed a publish."""

    __tablename__ = "publication_marks"

    list_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    changed: Mapped[int] = mapped_column(BigInteger, default=0)
    published: Mapped[int] = mapped_column(BigInteger, default=0)
