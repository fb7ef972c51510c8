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
    ("renewal", None): N_("Renewal started at a kiosk"),
    ("replacement", None): N_("Replacement started at a kiosk"),
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
}
_WHO = {
    "kiosk": N_("kiosk %(id)s"),
    "staff": N_("staff %(id)s"),
    "holder": N_("the holder (lost-card page)"),
    "cli": N_("issuer command line"),
    "server": N_("the issuer"),
}


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


def history_lines(events: list[AuditEvent], every: bool = False) -> list[HistoryLine]:
    """The events as lines, in their order; repeated kiosk requests are left out unless
    `every`."""
    lines = []
    for event in events:
        if event.action.endswith("-repeat") and not every:
            continue
        what = _WHAT.get((event.action, event.detail)) or _WHAT.get((event.action, None))
        who = _WHO.get(event.actor_type, event.actor_type)
        lines.append(HistoryLine(when(event.at), what or event.action, who, event.actor_id or ""))
    return lines
