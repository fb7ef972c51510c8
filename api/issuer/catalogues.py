"""Keeping the issuer pages' catalogues in step with the code (Babel).

    python -m api.issuer.catalogues extract   # api/issuer/translations/messages.pot
    python -m api.issuer.catalogues update    # merge it into every language's .po
    python -m api.issuer.catalogues check     # complete, nothing fuzzy or stale (exit 1)

Extraction (`METHOD_MAP`, `KEYWORDS`): `_()` in the templates, `N_()` in the lost-card page's
module, the pages' error pages and the desk's modules. Two parts with two promises
(api.issuer.page_i18n): the lost-card page's messages (templates/lost, templates/base.html,
routes_lost.py, page_errors.py: the error pages of both) are needed in every kiosk
language; the desk's (templates/desk, desk/) in `DESK_LANGUAGES`. A language's catalogue holds
exactly the messages it needs; English has msgstr = msgid. The work is
`cardio.catalogue_tool`'s; docs/i18n.md has the workflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cardio.catalogue_tool import CatalogueTool, Key

from .page_i18n import BY_CODE, DESK_LANGUAGES, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR

__all__ = ["POT", "TOOL", "Key", "is_lost_message", "needed", "problems", "template_catalog"]

ISSUER_DIR = Path(__file__).resolve().parent
METHOD_MAP = [
    ("routes_lost.py", "python"),
    ("page_errors.py", "python"),
    ("desk/**.py", "python"),
    ("templates/**.html", "jinja2"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "N_": None}
_LOST_PLACES = ("routes_lost.py", "page_errors.py", "templates/lost/", "templates/base.html")


def is_lost_message(locations: Iterable[tuple[str, int | None]]) -> bool:
    """True for a message the lost-card page shows (needed in every language)."""
    return any(path.removeprefix("api/issuer/").startswith(_LOST_PLACES) for path, _ in locations)


def _needs(code: str, locations: Iterable[tuple[str, int]]) -> bool:
    return code in DESK_LANGUAGES or is_lost_message(locations)


TOOL = CatalogueTool(
    project="citycard-issuer",
    domain=DOMAIN,
    translations_dir=TRANSLATIONS_DIR,
    languages=BY_CODE,
    source_language=SOURCE_LANGUAGE,
    source_dir=ISSUER_DIR,
    location_prefix="api/issuer/",
    method_map=METHOD_MAP,
    options=OPTIONS,
    keywords=KEYWORDS,
    needs=_needs,
)
POT = TOOL.pot
template_catalog = TOOL.template_catalog
needed = TOOL.needed
load_po = TOOL.load_po
problems = TOOL.problems
extract = TOOL.extract
update = TOOL.update


def main(argv: list[str] | None = None) -> int:
    return TOOL.main(argv, usage=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
