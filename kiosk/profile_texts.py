"""A programme profile's own texts in every kiosk language.

A profile (`programs/<id>.toml`) writes its document names, document examples, entitlement
names and disclaimer in English and in the languages its city prints (Zurich: de, en, fr). A
resident may read any of the kiosk's languages, so those texts are also in the gettext
catalogues: the English wording is the msgid, under one msgctxt per kind (`CONTEXTS`), shared by
every programme that uses the same words ("Passport" is translated once).

`complete()` gives a profile text with every kiosk language: the profile's own wording where it
has one (a city's words win), the catalogue's translation of the English wording elsewhere. A
text a city adds without a catalogue entry keeps the fallback rule of `kiosk.languages`
(the profile's languages, then English) until it is translated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .i18n import BY_CODE, SOURCE_LANGUAGE, Catalogues, shared_catalogues
from .languages import Localized
from .programs import Program, load_all

DOCUMENT = "document"
DOCUMENT_EXAMPLE = "document example"
ENTITLEMENT = "entitlement"
DISCLAIMER = "disclaimer"
VALIDITY_END = "validity end"  # what a card valid "until a date" is valid until
CONTEXTS = (DOCUMENT, DOCUMENT_EXAMPLE, ENTITLEMENT, DISCLAIMER, VALIDITY_END)


def complete(
    text: Localized[str], context: str, catalogues: Catalogues | None = None
) -> Localized[str]:
    """`text` in every kiosk language (see the module documentation)."""
    catalogues = catalogues or shared_catalogues()
    have = {code.lower() for code in text.languages}
    english = _english(text)
    if english is None:
        return text
    items = list(text.items)
    for code in BY_CODE:
        if code.lower() in have or code == SOURCE_LANGUAGE:
            continue
        translated = catalogues.get(code).pgettext(context, english)
        if translated != english:
            items.append((code, translated))
    return Localized(tuple(items))


def complete_list(
    text: Localized[tuple[str, ...]], context: str, catalogues: Catalogues | None = None
) -> Localized[tuple[str, ...]]:
    """A list per language (document examples), each item as `complete` does it."""
    catalogues = catalogues or shared_catalogues()
    by_code = text.as_dict()
    english = by_code.get(SOURCE_LANGUAGE)
    if english is None:
        return text
    have = {code.lower() for code in by_code}
    items = list(text.items)
    for code in BY_CODE:
        if code.lower() in have or code == SOURCE_LANGUAGE:
            continue
        catalogue = catalogues.get(code)
        translated = tuple(catalogue.pgettext(context, item) for item in english)
        if translated != english:
            items.append((code, translated))
    return Localized(tuple(items))


def _english(text: Localized[str]) -> str | None:
    return text.as_dict().get(SOURCE_LANGUAGE)


def messages(programs: Iterable[Program]) -> Iterator[tuple[str, str, str]]:
    """(msgctxt, msgid, where) of every profile text the catalogues translate."""
    for program in programs:
        where = f"programs/{program.id}.toml"
        for doc in program.documents:
            if (name := _english(doc.names)) is not None:
                yield DOCUMENT, name, where
            for example in doc.examples.as_dict().get(SOURCE_LANGUAGE, ()):
                yield DOCUMENT_EXAMPLE, example, where
        for entitlement in program.entitlements:
            if (name := _english(entitlement.names)) is not None:
                yield ENTITLEMENT, name, where
        if (disclaimer := _english(program.card.design.disclaimer)) is not None:
            yield DISCLAIMER, disclaimer, where
        if program.validity.until is not None and (end := _english(program.validity.until)):
            yield VALIDITY_END, end, where


def seed_messages(directory: Path | None = None) -> list[tuple[str, str, str]]:
    """The texts of the seed profiles under programs/, for the catalogue template."""
    return list(messages(load_all(directory).values()))
