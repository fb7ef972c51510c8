"""The service desk's table: how a staff account may log in to the desk, and its role.

A staff account (`staff`, api.issuer.registry.schema) always has its bearer token; a row here
adds a password an admin set (a salted scrypt digest, never the password) and the account's
role. Sessions issued before `sessions_after` (milliseconds since 1970) are refused: setting a password or disabling an
account ends its sessions at once. No personal data: the staff id is a role or badge id.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .schema import Base

STAFF_ROLE, ADMIN_ROLE = "staff", "admin"
"""Desk roles: staff look cards up and change them; admins also manage accounts."""


class DeskAccount(Base):
    """A staff account's desk login: its password digest (None: token only) and role."""

    __tablename__ = "desk_accounts"

    staff_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("staff.staff_id"), primary_key=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(160))
    role: Mapped[str] = mapped_column(String(16), default=STAFF_ROLE)
    sessions_after: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[int] = mapped_column(BigInteger)
