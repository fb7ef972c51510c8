"""The rules engine's reasons in all the kiosk's languages.

`kiosk.i18n_rules.MESSAGES` maps each reason id to an English `str.format` template. The kiosk
catalogues carry each template as a msgid with the reason id as its context (`msgctxt`), so
every kiosk language has them. A reason is rendered from the kiosk catalogue when it has the
template, else by the rules engine itself (which knows fewer languages, then English).
Dates and fees are written the way the resident's language writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.dates import format_date
from babel.numbers import format_currency

from kiosk import rules
from kiosk.i18n_rules import MESSAGES
from kiosk.programs import Program

from .i18n import Catalogues

CONTEXT_PREFIX = "rules:"
_LABELLED = {"field": "field.", "reduction": "claim."}
_DATES = ("date", "oldest", "birth_date")
_MONEY = ("fee", "standard")


def rule_messages() -> Iterator[tuple[str, str]]:
    """(msgctxt, msgid) of every rules-engine text the catalogues must carry."""
    for message_id, template in MESSAGES.items():
        yield CONTEXT_PREFIX + message_id, template


def _date(value: str, lang: str) -> str:
    try:
        return format_date(date.fromisoformat(value), format="long", locale=lang)
    except Exception:
        return value


def _money(value: str, lang: str) -> str:
    amount, _, currency = value.partition(" ")
    try:
        return format_currency(Decimal(amount), currency, locale=lang)
    except (InvalidOperation, ValueError, Exception):
        return value


class RuleTexts:
    """Renders `kiosk.rules.Reason`s with the kiosk catalogues."""

    def __init__(self, catalogues: Catalogues) -> None:
        self.catalogues = catalogues

    def _text(self, lang: str, message_id: str) -> str | None:
        template = MESSAGES.get(message_id)
        if template is None:
            return None
        translated = self.catalogues.get(lang).pgettext(CONTEXT_PREFIX + message_id, template)
        if translated == template and lang != "en":
            return None  # not in this catalogue: let the engine try
        return translated

    def render(self, reason: rules.Reason, lang: str, program: Program) -> str:
        template = self._text(lang, reason.id)
        if template is None:
            return rules.reason_text(reason, lang, program)
        values: dict[str, str] = dict(reason.args)
        for name, prefix in _LABELLED.items():
            if name in values:
                values[name] = self._text(lang, prefix + values[name]) or values[name]
        if "document" in values:
            doc = program.document(values["document"])
            if doc is not None:
                values["document"] = doc.names.get(lang)
        for name in _DATES:
            if name in values:
                values[name] = _date(values[name], lang)
        for name in _MONEY:
            if name in values:
                values[name] = _money(values[name], lang)
        try:
            return template.format_map(_Strict(values))
        except (KeyError, IndexError, ValueError):
            return rules.reason_text(reason, lang, program)


class _Strict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)

