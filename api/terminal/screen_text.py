"""The staff screen's words in the language of the request (`flask.g.terminal_language`).

`install(app)` gives the templates `_()` (new-style: `_("at %(time)s", time=...)`),
`pgettext()` and `sentence()`; the helpers below turn the verdict's name, the lists' state and
the dynamic texts (warnings, the reader's status) into words. A dynamic text made from a template
(`cardio.sentences.FilledSentence`: "The reader has no revocation list %(list)s; ...") is
translated as its template and filled in after; its lists (the items a phone wallet's holder did
not share) in the screen's words (`item_words`), joined by the screen's list separator.
Contexts: "verdict" (a cardio.verdict or wallet refusal sentence), "warning" (a warning on a
verdict), "field" (a claim's or wallet item's label), "venue" (a shipped venue profile's
entitlement label).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g, has_request_context

from cardio.sentences import FilledSentence
from cardio.venues import AGE_UNKNOWN, ITEM_LABELS, UNDER_AGE, VenueProfile
from cardio.verdict import Verdict
from cardio.wallet_claims import ENTITLEMENT_PREFIX, entitlement_item

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
    # a venue's own refusals (cardio.venues.REFUSALS): its holder is not over the venue's age,
    # or neither the card nor the wallet's answer says whether they are
    UNDER_AGE: N_("TOO YOUNG"),
    AGE_UNKNOWN: N_("AGE NOT KNOWN"),
}

AGE_WORDS = {True: N_("yes"), False: N_("no"), None: N_("cannot be known")}
"""How the screen says an age field (`cardio.venues.AGE_ITEMS`): over the age, not, unknown."""

# Translators: between the items of a list ("Photo, Pool entry"): a comma and a space (Arabic
# "، ", Chinese "、").
LIST_SEPARATOR = N_(", ")

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


def sentence(
    text: str, context: str | None = None, words: Callable[[str], str] | None = None
) -> str:
    """A dynamic text (a warning, the reader's status) in the screen's language. A
    FilledSentence: its template translated, then its parameters filled in (its ages said by
    `ago`, each item of its lists by `words`, joined by the screen's list separator); a plain
    text: looked up as it is; one the catalogue does not hold is shown as it is."""
    if isinstance(text, FilledSentence):
        template = str(
            _translations().pgettext(context, text.template)
            if context
            else _translations().gettext(text.template)
        )
        values: dict[str, object] = {**text.params, **{k: ago(v) for k, v in text.ages.items()}}
        if text.lists:
            word, separator = words or str, gettext(LIST_SEPARATOR)
            values.update({k: separator.join(map(word, v)) for k, v in text.lists.items()})
        try:
            return template % values if values else template
        except (KeyError, ValueError, TypeError):  # a damaged translation: the English
            return str(text)
    return str(
        _translations().pgettext(context, text) if context else _translations().gettext(text)
    )


def item_words(venue: VenueProfile) -> Callable[[str], str]:
    """How the screen names an item a venue asks a phone wallet for: an entitlement by the venue
    profile's label (msgctxt "venue"), a claim or derived item by its label (`ITEM_LABELS`,
    "field"); an entitlement the profile does not list by its code."""
    entitlements = {entitlement_item(c): e.label for e in venue.entitlements for c in e.codes}

    def word(item: str) -> str:
        if item in entitlements:
            return pgettext("venue", entitlements[item])
        if item in ITEM_LABELS:
            return pgettext("field", ITEM_LABELS[item])
        return item.removeprefix(ENTITLEMENT_PREFIX)

    return word


def install(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext
    )
    app.jinja_env.globals["sentence"] = sentence
    app.jinja_env.globals["field_value"] = field_value


def field_value(field: dict[str, Any]) -> str:
    """A field's value as staff read it: an age item's yes, no or "cannot be known" in the
    screen's language, any other claim as the card has it."""
    value = field["value"]
    if value is None or isinstance(value, bool):
        return gettext(AGE_WORDS[value])
    return str(value)


def verdict_name(verdict: str) -> str:
    """The verdict's name as staff read it (e.g. "CARD OF ANOTHER CITY" for UNKNOWN_KEY)."""
    name = VERDICT_NAMES.get(verdict)
    return gettext(name) if name else verdict.replace("_", " ")


def ago(seconds: float) -> str:
    """How long ago, in the screen's language (its English is `cardio.sentences.ago`'s)."""
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
    never confirmed by this terminal, how old the oldest status list is); without a city API
    (`no_api`) that they are never refreshed. A terminal whose clock
    is wrong (`clock`) says so instead: its "how long ago" would be wrong too, and the lists
    fail for that reason, not because the city API cannot be reached."""
    last = sync.get("last_success")
    ages = [entry["age"] for entry in sync.get("status_lists", {}).values()]
    clock = bool(sync.get("clock_wrong"))
    # without a city API the lists are never refreshed: said as the lists' own problem
    no_api = sync.get("api") is None and not clock
    unreachable = bool(sync.get("last_error")) and sync.get("api") is not None and not clock
    return {
        "version": sync.get("trust_version"),
        "api": sync.get("api"),
        "clock": clock,
        "checked": ago(now - last) if last and not clock else None,
        "fresh": last is not None and now - last <= FRESH_SECONDS and not unreachable and not clock,
        "unreachable": unreachable,
        "no_api": no_api,
        "confirmed": ago(now - last) if last else (ago(max(ages)) if ages else None),
    }
