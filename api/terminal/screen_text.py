"""The staff screen's words in the language of the request (`flask.g.terminal_language`).

`install(app)` gives the templates `_()` (new-style: `_("at %(time)s", time=...)`) and
`pgettext()`; the helpers below turn the verdict's name and the lists' state into words.
Contexts: "verdict" (a cardio.verdict sentence), "warning" (a warning on a verdict), "field"
(a venue profile's claim label), "venue" (a shipped venue profile's entitlement label).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context

from cardio.verdict import Verdict

from . import i18n
from .i18n import N_

VERDICT_NAMES: dict[str, str] = {
    Verdict.VALID.name: N_("VALID"),
    Verdict.EXPIRED.name: N_("EXPIRED"),
    Verdict.NOT_YET_VALID.name: N_("NOT YET VALID"),
    Verdict.REVOKED.name: N_("REVOKED"),
    Verdict.SUSPENDED.name: N_("SUSPENDED"),
    Verdict.SUPERSEDED.name: N_("REPLACED BY A NEWER CARD"),
    # a key the trust list does not name: in practice a card of another city
    Verdict.UNKNOWN_KEY.name: N_("CARD OF ANOTHER CITY"),
    Verdict.KEY_REVOKED.name: N_("KIOSK KEY WITHDRAWN"),
    Verdict.KEY_EXPIRED.name: N_("KIOSK KEY EXPIRED"),
    Verdict.BAD_SIGNATURE.name: N_("FORGED"),
    Verdict.MALFORMED.name: N_("UNREADABLE"),
    Verdict.WRONG_ISSUER.name: N_("CARD OF ANOTHER CITY"),
    Verdict.STALE_STATUS.name: N_("LISTS TOO OLD"),
    Verdict.STATUS_UNAVAILABLE.name: N_("NO REVOCATION LIST"),
    Verdict.CLONE_SUSPECTED.name: N_("COPIED CHIP"),
}

FRESH_SECONDS = 60.0
"""Lists checked this recently are fresh: a revocation is seen within this time."""


def _translations() -> Any:
    code = getattr(g, "terminal_language", None) if has_request_context() else None
    return i18n.translations(code or i18n.SOURCE_LANGUAGE)


def gettext(message: str, **params: Any) -> str:
    text = str(_translations().gettext(message))
    return text % params if params else text


def pgettext(context: str, message: str, **params: Any) -> str:
    text = str(_translations().pgettext(context, message))
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = str(_translations().ngettext(singular, plural, n))
    return text % {"num": n, **params}


def install(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext
    )


def verdict_name(verdict: str) -> str:
    """The verdict's name as staff read it (e.g. "CARD OF ANOTHER CITY" for UNKNOWN_KEY)."""
    name = VERDICT_NAMES.get(verdict)
    return gettext(name) if name else verdict.replace("_", " ")


def ago(seconds: float) -> str:
    """How long ago, in the screen's language."""
    s = max(0, int(seconds))
    if s < 120:
        return gettext("%(n)s s ago", n=s)
    if s < 2 * 3600:
        return gettext("%(n)s min ago", n=s // 60)
    if s < 2 * 86400:
        return gettext("%(n)s h ago", n=s // 3600)
    return gettext("%(n)s days ago", n=s // 86400)


def lists_summary(sync: dict[str, Any], now: float) -> dict[str, Any]:
    """The lists' line of the staff screen: version, when last checked, and while the city API
    cannot be reached, how long ago the lists still in use were last confirmed current (or,
    never confirmed by this terminal, how old the oldest status list is)."""
    last = sync.get("last_success")
    ages = [entry["age"] for entry in sync.get("status_lists", {}).values()]
    unreachable = bool(sync.get("last_error")) and sync.get("api") is not None
    return {
        "version": sync.get("trust_version"),
        "api": sync.get("api"),
        "checked": ago(now - last) if last else None,
        "fresh": last is not None and now - last <= FRESH_SECONDS and not unreachable,
        "unreachable": unreachable,
        "confirmed": ago(now - last) if last else (ago(max(ages)) if ages else None),
    }
