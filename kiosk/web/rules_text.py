"""The rules engine's reasons as the kiosk UI shows them.

The sentences are the kiosk catalogues' (`kiosk.i18n_rules`: message id as msgctxt, English
template as msgid); this adds what a page needs on top: dates and fees written the way the
resident's language writes them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from babel.dates import format_date
from babel.numbers import format_currency

from kiosk import rules
from kiosk.i18n import Catalogues
from kiosk.i18n_rules import fill
from kiosk.programs import Program

_DATES = ("date", "oldest", "birth_date")
_MONEY = ("fee", "standard")


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

    def render(self, reason: rules.Reason, lang: str, program: Program) -> str:
        def value(name: str, text: str) -> str:
            if name in _DATES:
                return _date(text, lang)
            if name in _MONEY:
                return _money(text, lang)
            return text

        translations = self.catalogues.get(lang, program.languages)
        return fill(translations, reason.id, reason.args, lang, program, value)
