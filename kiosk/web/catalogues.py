"""Keeping the kiosk catalogues in step with the code (Babel).

    python -m kiosk.web.catalogues extract   # kiosk/translations/messages.pot from the sources
    python -m kiosk.web.catalogues update    # merge the template into every language's .po
    python -m kiosk.web.catalogues update de fr  # ... into these languages' only
    python -m kiosk.web.catalogues check     # every message translated, nothing fuzzy (exit 1)

The template holds every text the kiosk shows or prints, extracted with Babel's extractors
(the configuration is `METHOD_MAP`, `OPTIONS`, `KIOSK_FILES` and `KEYWORDS` below): the UI's messages (`_()`
in templates, `N_()`/`_()` in kiosk/web), the rules engine's reasons (`R_()` in
kiosk/i18n_rules.py: the message id is the msgctxt) and the printed receipt and paper card
(`pgettext()` in kiosk/printing.py). Two parts no extractor sees are added as data: the field
labels of the rules texts (`kiosk.programs.FIELDS` through `kiosk.i18n_rules.MESSAGES`) and the
seed profiles' own texts (`kiosk.profile_texts.seed_messages`).
The work is `cardio.catalogue_tool`'s; docs/i18n.md describes the whole workflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cardio.catalogue_tool import CatalogueTool, add_data, add_from_file
from kiosk.i18n import BY_CODE, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR
from kiosk.i18n_rules import MESSAGES
from kiosk.profile_texts import seed_messages

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

KIOSK_DIR = TRANSLATIONS_DIR.parent
WEB_DIR = Path(__file__).resolve().parent
# kiosk/web, paths relative to it; files that match no pattern are not read.
METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
# The kiosk's other modules with texts (Python).
KIOSK_FILES = ("i18n_rules.py", "printing.py")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "pgettext": ((1, "c"), 2),
    "R_": ((1, "c"), 2),
}


def _more_messages(catalog: Catalog) -> None:
    for name in KIOSK_FILES:
        add_from_file(catalog, KIOSK_DIR / name, f"kiosk/{name}", KEYWORDS)
        if name == "i18n_rules.py":  # and kiosk.programs.FIELDS, which it lists
            add_data(catalog, ((i, message, f"kiosk/{name}") for i, message in MESSAGES.items()))
    # The profiles' document names, examples, entitlements and disclaimers: data no extractor
    # sees (kiosk.profile_texts).
    add_data(catalog, seed_messages(), every_place=True)


TOOL = CatalogueTool(
    project="citycard-kiosk",
    domain=DOMAIN,
    translations_dir=TRANSLATIONS_DIR,
    languages=BY_CODE,
    source_language=SOURCE_LANGUAGE,
    source_dir=WEB_DIR,
    location_prefix="kiosk/web/",
    method_map=METHOD_MAP,
    options=OPTIONS,
    keywords=KEYWORDS,
    more_messages=_more_messages,
)
POT = TOOL.pot
template_catalog = TOOL.template_catalog
load_po = TOOL.load_po
problems = TOOL.problems
extract = TOOL.extract
update = TOOL.update


def main(argv: list[str] | None = None) -> int:
    return TOOL.main(argv, usage=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
