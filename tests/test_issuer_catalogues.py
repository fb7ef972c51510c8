"""The issuer pages' catalogues: the lost-card page complete in every kiosk language, the desk
in its languages, placeholders kept, the template up to date, and the issuer's language list
the kiosk's."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.pofile import read_po

from api.issuer import catalogues
from api.issuer.page_i18n import BY_CODE, TRANSLATIONS_DIR, po_path


def test_every_catalogue_is_complete() -> None:
    assert catalogues.problems() == []


def test_the_template_is_up_to_date() -> None:
    with catalogues.POT.open("rb") as fh:
        stored = {m.id for m in read_po(fh) if m.id}
    assert stored == {m.id for m in catalogues.template_catalog() if m.id}, "run extract"


def test_placeholders_are_kept() -> None:
    for code in BY_CODE:
        with po_path(code).open("rb") as fh:
            for message in read_po(fh):
                for name in ("%(number)s", "%(id)s"):
                    if message.id and name in message.id:
                        assert name in str(message.string), (code, message.id)


def test_a_missing_or_empty_translation_is_found(tmp_path: Path) -> None:
    base = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, base)
    lost_fr = po_path("fr", base)
    text = lost_fr.read_text("utf-8")
    assert 'msgstr "Envoyer"' in text
    lost_fr.write_text(text.replace('msgstr "Envoyer"', 'msgstr ""'), "utf-8")
    po_path("am", base).unlink()
    found = catalogues.problems(base=base)
    assert any("fr/" in line and "not translated 'Send'" in line for line in found), found
    assert any("am/" in line and line.endswith("missing") for line in found), found
    # A desk message is needed in a desk language only.
    desk_de = po_path("de", base)
    desk_de.write_text(desk_de.read_text("utf-8").replace('msgstr "Abmelden"', 'msgstr ""'), "utf-8")
    assert any("de/" in line and "'Log out'" in line for line in catalogues.problems(["de"], base))
    assert catalogues.problems(["ar"], base) == []
