"""The service desk: city staff look cards up and suspend, reinstate or revoke them, issue a
new receipt code, and (admins) manage staff and kiosk accounts. Server-rendered pages on the
issuer at /desk/ (docs/service-desk.md).

    routes_login     /desk/login, /desk/logout (staff id + password, or the staff token)
    routes_cards     /desk/, /desk/card, /desk/cards/<number>/<action>
    routes_accounts  /desk/accounts..., /desk/audit
    sessions         the signed session cookie and login limits
    history          a number's audit events as lines a person reads
    common           the login check, refusals, audit, page language
"""

from __future__ import annotations

from . import routes_accounts, routes_cards, routes_login  # noqa: F401 - they add the routes
from .blueprint import bp

__all__ = ["bp"]
