"""A programme profile's own texts in every kiosk language (`kiosk.profile_texts`)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from kiosk.i18n import Catalogues, po_path
from kiosk.languages import Localized
from kiosk.profile_texts import (
    DISCLAIMER,
    DOCUMENT,
    DOCUMENT_EXAMPLE,
    complete,
    complete_list,
    seed_messages,
)
from kiosk.web.catalogues import template_catalog


def _catalogues(tmp_path: Path) -> Catalogues:
    arabic = Catalog(locale="ar", domain="messages")
    arabic.add("Passport", "جواز السفر", context=DOCUMENT)
    arabic.add("passport (any country)", "جواز سفر (من أي بلد)", context=DOCUMENT_EXAMPLE)
    arabic.add("Not a residence permit", "ليست تصريح إقامة", context=DISCLAIMER)
    path = po_path("ar", tmp_path)
    path.parent.mkdir(parents=True)
    with path.open("wb") as fh:
        write_po(fh, arabic)
    return Catalogues(["en", "ar"], base=tmp_path)


def test_a_language_the_profile_lacks_comes_from_the_catalogue(tmp_path: Path) -> None:
    catalogues = _catalogues(tmp_path)
    names = Localized((("de", "Reisepass"), ("en", "Passport")))
    done = complete(names, DOCUMENT, catalogues)
    assert done.get("ar") == "جواز السفر"
    assert done.get("de") == "Reisepass"  # the city's own words win
    examples = Localized((("en", ("passport (any country)",)),))
    assert complete_list(examples, DOCUMENT_EXAMPLE, catalogues).get("ar") == ("جواز سفر (من أي بلد)",)


def test_an_untranslated_text_keeps_the_fallback_rule(tmp_path: Path) -> None:
    catalogues = _catalogues(tmp_path)
    names = Localized((("de", "Mietvertrag"), ("en", "Lease")))
    assert complete(names, DOCUMENT, catalogues).get("ar", ["de"]) == "Mietvertrag"
    # The same words under another kind are another message.
    assert complete(Localized((("en", "Passport"),)), DISCLAIMER, catalogues).get("ar") == "Passport"


def test_every_seed_profile_text_is_in_the_catalogue_template() -> None:
    template = template_catalog()
    texts = seed_messages()
    assert len(texts) > 150  # fourteen programmes' documents, examples, entitlements, disclaimers
    for context, message, _ in texts:
        assert template.get(message, context=context) is not None, (context, message)
