"""What the issuer says when it cannot do something."""

from __future__ import annotations

from cardio.errors import CitycardError


class IssuerError(CitycardError):
    """Something the issuer cannot do; the message says what to do instead."""


class UnknownCardError(IssuerError):
    """No card with that document number (for the caller asking)."""


class CardStateError(IssuerError):
    """The card's status or lifecycle does not allow the change asked for."""
