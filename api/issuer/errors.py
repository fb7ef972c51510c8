"""What the issuer says when it cannot do something."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from cardio.errors import CitycardError


def this_user() -> str:
    """The name of the user this process runs as (for a sentence about file permissions)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (a container)
        return f"uid {os.geteuid()}"


def permission_fix(path: Path, what: str = "read") -> str:
    """The end of a sentence about a file this process may not use: whom to let do what."""
    return f"let the user {this_user()!r} {what} {path} (check its owner and mode)."


class IssuerError(CitycardError):
    """Something the issuer cannot do; the message says what to do instead."""


class UnknownCardError(IssuerError):
    """No card with that document number (for the caller asking)."""


class CardStateError(IssuerError):
    """The card's status or lifecycle does not allow the change asked for."""


class AccountError(IssuerError):
    """A kiosk or staff account change refused; `account_id` names the account, so that a
    page can say the same in its own language (api.issuer.desk.routes_accounts)."""

    def __init__(self, message: str, account_id: str) -> None:
        super().__init__(message)
        self.account_id = account_id


class AccountIdError(AccountError):
    """An id that breaks the account id rule."""


class AccountExistsError(AccountError):
    """An id already taken by an account (active or not)."""


class UnknownAccountError(AccountError):
    """No such account, or none that is active."""


class PasswordRuleError(AccountError):
    """A desk password too short or too long."""


class PasswordCharacterError(PasswordRuleError):
    """A desk password with a control character in it."""


class LastAdminError(AccountError):
    """The change would leave the service desk without an active admin."""
