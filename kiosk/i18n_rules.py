"""The rules engine's reasons as sentences: message ids here, the sentences in the catalogues.

Every reason has a message id (`outcome.eligible`, `age.too_young`, ...). `MESSAGES` maps it to
its English source string, which is the gettext msgid; the kiosk catalogues
(`kiosk/translations`, docs/i18n.md) carry each with the message id as its context (`msgctxt`)
and translate it into every kiosk language. `R_` marks them for extraction. Templates use
`str.format` placeholders named after the reason's parameters. Labels are messages too:
`field.<code>` for every field of `kiosk.programs.FIELDS` (the English labels live there and are
added to the catalogues by `python -m kiosk.web.catalogues extract`) and `claim.<code>` for fee
reductions; document names come from the programme profile itself (`documents.<code>.names`).

The catalogue for a language is chosen by the kiosk's one fallback rule
(`kiosk.languages.best_available`: the tag, its base language, the programme's first language,
English).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .i18n import BY_CODE, shared_catalogues
from .profile_texts import DOCUMENT, complete
from .programs import FIELDS

if TYPE_CHECKING:
    from .programs import Program

__all__ = ["LANGUAGES", "MESSAGES", "R_", "fill", "render", "template", "templates"]


def R_(message_id: str, message: str) -> tuple[str, str]:
    """Mark a rules text for extraction: (message id, English msgid); the id is its msgctxt."""
    return message_id, message


MESSAGES: dict[str, str] = dict(
    (
        R_("outcome.eligible", "You can get this card."),
        R_("outcome.needs_attendant", "An attendant will look at your application before your card is made."),
        R_("outcome.refused", "This card cannot be made with this application."),
        R_("birth_date.invalid", "The birth date {birth_date} is not possible. Please check it."),
        R_("age.too_young", "You must be at least {age} years old to get this card."),
        R_("age.too_young_with_guardian", "You must be at least {age} years old to get this card, even with a parent or guardian."),
        R_("age.needs_guardian", "If you are under {age}, please come with a parent or guardian."),
        R_("age.with_guardian", "You are under {age}: your parent or guardian applies with you."),
        R_("age.guardian_attendant", "You are under {age}: an attendant will check the documents of your parent or guardian."),
        R_("residence.too_short", "You must have lived in the city for at least {days} days. You can apply from {date}."),
        R_("residence.unknown", "You must have lived in the city for at least {days} days. An attendant will ask you since when you have lived here."),
        R_("field.forbidden", "Please leave this out: {field}. This card must not show it."),
        R_("field.not_collected", "Please leave this out: {field}. This card does not ask for it."),
        R_("documents.identity_points", "Points from your identity documents: {points}; {required} are needed."),
        R_("documents.residence_points", "Points from your proof of address: {points}; {required} are needed."),
        R_("documents.total_points", "Points from all your documents: {points}; {required} are needed."),
        R_("documents.no_photo", "One of your identity documents must show your photo."),
        R_("documents.no_birth_date", "One of your identity documents must show your birth date."),
        R_("documents.primary_or_secondary", "Please show one main identity document (such as a passport), or other identity documents: {count} are needed."),
        R_("documents.identity_count", "Identity documents needed: {required}. Shown: {count}."),
        R_("documents.residence_count", "Proofs of address needed: {required}. Shown: {count}."),
        R_("documents.eligibility_count", "Documents needed to join this programme: {required}. Shown: {count}."),
        R_("documents.too_old", "“{document}” is dated {date}; proof of address must be dated {oldest} or later."),
        R_("documents.bad_date", "“{document}” has a date in the future ({date}). Please check it."),
        R_("documents.unknown", "“{document}” is not on this programme's list of documents; an attendant can tell you whether it is accepted."),
        R_("documents.attendant", "An attendant can look at other proof, such as a letter from a shelter or an association."),
        R_("documents.refused", "The documents shown are not enough for this card."),
        R_("check.document_date", "The attendant checks that “{document}” is dated {oldest} or later."),
        R_("check.document", "The attendant checks “{document}”."),
        R_("check.low_income", "The attendant checks your proof of low income for the reduced fee."),
        R_("fee.free", "This card is free."),
        R_("fee.standard", "The fee is {fee}."),
        R_("fee.reduced", "The fee is {fee} instead of {standard} ({reduction})."),
        R_("fee.claim_not_applicable", "The reduced fee ({reduction}) does not apply to this card."),
        R_("validity.expires", "The card will be valid until {date}."),
        R_("validity.under_age", "Cards for people under {age} are valid for a shorter time."),
        R_("claim.child", "children"),
        R_("claim.senior", "seniors"),
        R_("claim.low_income", "low income"),
        *((f"field.{code}", label) for code, label in FIELDS.items()),
    )
)
LANGUAGES = tuple(BY_CODE)  # every kiosk catalogue translates every message

# Parameters whose values are codes, rendered through a label.
_LABELLED = {"field": "field.", "reduction": "claim."}


def template(translations: gettext.NullTranslations, message_id: str) -> str:
    """The template of `message_id` in one catalogue (the id itself when it is unknown)."""
    source = MESSAGES.get(message_id)
    if source is None:
        return message_id
    return translations.pgettext(message_id, source) or source


def templates(language: str) -> dict[str, str]:
    """Every message id with its template in `language` (under the fallback rule)."""
    translations = shared_catalogues().get(language)
    return {message_id: template(translations, message_id) for message_id in MESSAGES}


def _label(translations: gettext.NullTranslations, key: str, code: str) -> str:
    if key in MESSAGES:
        return template(translations, key)
    return code.replace("_", " ")


def fill(
    translations: gettext.NullTranslations,
    message_id: str,
    params: Mapping[str, str],
    language: str,
    program: Program | None = None,
    value: Callable[[str, str], str] | None = None,
) -> str:
    """The sentence for `message_id` from `translations`, params filled in.

    Field and claim codes become their labels, document codes the programme's name for the
    document; `value(name, text)` may rewrite any other parameter (the kiosk UI writes dates and
    fees the way the language does). A template that does not fit its parameters gives the
    English template, unfilled, rather than an exception."""
    values = dict(params)
    for name, prefix in _LABELLED.items():
        if name in values:
            values[name] = _label(translations, prefix + values[name], values[name])
    if "document" in values and program is not None:
        doc = program.document(values["document"])
        if doc is not None:
            values["document"] = complete(doc.names, DOCUMENT).get(language, program.languages)
    if value is not None:
        for name in values.keys() - {"document", *_LABELLED}:
            values[name] = value(name, values[name])
    try:
        return template(translations, message_id).format_map(_Strict(values))
    except (KeyError, IndexError, ValueError):
        return MESSAGES.get(message_id, message_id)


def render(
    message_id: str, params: Mapping[str, str], language: str, program: Program | None = None
) -> str:
    """The sentence for `message_id` in `language` (the kiosk catalogues under the fallback rule;
    the programme's languages take part when `program` is given), params filled in."""
    programme_languages = program.languages if program is not None else ()
    translations = shared_catalogues().get(language, programme_languages)
    return fill(translations, message_id, params, language, program)


class _Strict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)
