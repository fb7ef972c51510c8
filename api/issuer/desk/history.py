"""A document number's history for the desk: the audit events about it, as lines a person
reads (when, what, by whom). Only ids and fixed words: the registry holds nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..page_i18n import N_
from ..registry import AuditEvent

# (action, detail) -> what happened; detail None matches any detail.
_WHAT: dict[tuple[str, str | None], str] = {
    ("issue", None): N_("Card made (issuer command line)"),
    ("allocate", None): N_("Number given to a kiosk for a new card"),
    # CardRegistry writes f"{kind}-allocate" (api.issuer.cards) for a renewal or replacement.
    ("renewal-allocate", None): N_("Renewal started at a kiosk"),
    ("replacement-allocate", None): N_("Replacement started at a kiosk"),
    ("allocate-repeat", None): N_("A kiosk asked again for the same number (repeated request)"),
    ("renewal-repeat", None): N_("A kiosk asked again for the same renewal (repeated request)"),
    ("replacement-repeat", None): N_(
        "A kiosk asked again for the same replacement (repeated request)"
    ),
    ("issued", None): N_("Card made"),
    ("superseded", None): N_("Earlier card superseded by a renewal"),
    ("replace-revoke", None): N_("Earlier card revoked for a replacement"),
    ("void", None): N_("Card not finished (voided)"),
    ("status", "valid"): N_("Reinstated"),
    ("status", "suspended"): N_("Suspended"),
    ("status", "revoked"): N_("Revoked"),
    ("self-revoke", None): N_("Revoked by the holder with the receipt code"),
    ("new-code", None): N_("New receipt code"),
    ("desk-new-code", None): N_("New receipt code"),
    ("desk-lookup", None): N_("Looked up at the desk"),
    # The account events (api.issuer.accounts and the desk's login), for the audit log.
    ("desk-login", None): N_("Logged in to the desk"),
    ("desk-login-refused", None): N_("Desk login refused"),
    ("desk-logout", None): N_("Logged out of the desk"),
    ("staff-add", None): N_("Staff account added"),
    ("staff-revoke", None): N_("Staff account disabled"),
    ("password-set", None): N_("Desk password set"),
    ("role-admin", None): N_("Made a desk admin"),
    ("role-staff", None): N_("Made plain desk staff"),
    ("kiosk-add", None): N_("Kiosk added"),
    ("kiosk-revoke", None): N_("Kiosk disabled (its cards stop verifying)"),
    ("kiosk-retire", None): N_("Kiosk retired (its cards stay valid)"),
    ("import-registry-json", None): N_("Registry imported (number of cards in detail)"),
}
# The fixed words an event's detail can hold; any other detail is an id (shown as it is).
DETAIL_WORDS = {
    "valid": N_("valid"),
    "suspended": N_("suspended"),
    "revoked": N_("revoked"),
    "password": N_("password"),
    "token": N_("staff token"),
}
_WHO = {
    "kiosk": N_("kiosk %(id)s"),
    "staff": N_("staff %(id)s"),
    "holder": N_("the holder (lost-card page)"),
    "cli": N_("issuer command line"),
    "server": N_("the issuer"),
}
NOBODY = N_("someone not logged in")
"""Who a refused login was: nobody is logged in, and a typed id is kept only when it names an
existing account (then it is the detail)."""


@dataclass(frozen=True)
class HistoryLine:
    at: str  # UTC, "2026-12-04 18:31"
    what: str  # an English message id (translated on the page) or the raw action word
    who: str  # an English message id with %(id)s
    who_id: str


def when(at: int | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(at: int | None) -> str:
    """The UTC day of `at`, as a reader shows a card's dates ("2031-12-07")."""
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def detail_word(detail: str | None) -> tuple[str, bool]:
    """An event's detail to show: (text, True) when it is a fixed word to translate, else the
    id as it is (False)."""
    if detail is None:
        return "", False
    word = DETAIL_WORDS.get(detail)
    return (word, True) if word else (detail, False)


def history_lines(events: list[AuditEvent], every: bool = False) -> list[HistoryLine]:
    """The events as lines, in their order; repeated kiosk requests are left out unless
    `every`."""
    lines = []
    for event in events:
        if event.action.endswith("-repeat") and not every:
            continue
        what = _WHAT.get((event.action, event.detail)) or _WHAT.get((event.action, None))
        who = _WHO.get(event.actor_type, event.actor_type)
        if event.actor_type == "staff" and not event.actor_id:
            who = NOBODY
        lines.append(HistoryLine(when(event.at), what or event.action, who, event.actor_id or ""))
    return lines
