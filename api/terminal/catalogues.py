"""Keeping the staff screen's catalogues in step with the code (Babel), as the kiosk does.

    python -m api.terminal.catalogues extract   # api/terminal/translations/terminal.pot
    python -m api.terminal.catalogues update    # merge it into every language's .po
    python -m api.terminal.catalogues check     # every message translated, nothing fuzzy

Extracted: `_()`/`pgettext()` in the templates and `N_()` in the terminal's Python modules.
Added as data, because no extractor sees them: the verdict sentences of `cardio.verdict` and
of a refused phone wallet answer (`cardio.presentation_errors`) and of a venue's own refusal
(`cardio.venues.REFUSALS`, templates; msgctxt "verdict"), the labels
of the claims and wallet items of `cardio.venues.ITEM_LABELS` ("field"), the entitlement labels
and titles of the shipped venue profiles ("venue") and the warnings a chip or wallet verdict can
carry ("warning"; the trust sync's and the wallet's "did not share" as templates with their
placeholders). The work is `cardio.catalogue_tool`'s; docs/reader-terminal.md ("Languages")
describes the workflow.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cardio import presentation
from cardio.catalogue_tool import CatalogueTool, add_data
from cardio.presentation_errors import PresentationReason
from cardio.trust_sync import WARNING_TEMPLATES
from cardio.venues import ITEM_LABELS, REFUSALS, VENUES_DIR
from cardio.verdict import Verdict
from cardio.verify import CHIP_NOT_CHECKED, COMPARE_PRINTED_CARD, REFRESH_DUE

from .i18n import BY_CODE, DOMAIN, SOURCE_LANGUAGE, TRANSLATIONS_DIR

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

TERMINAL_DIR = Path(__file__).resolve().parent
METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "N_": None, "pgettext": ((1, "c"), 2)}
# The trust sync's warnings are templates ("The reader has no revocation list %(list)s; ..."),
# translated as such and filled in after (`screen_text.sentence`).
WARNINGS = (COMPARE_PRINTED_CARD, CHIP_NOT_CHECKED, REFRESH_DUE, *WARNING_TEMPLATES)


def data_messages() -> Iterator[tuple[str, str, str]]:
    """(context, message, where) for the texts that are data, not marked code."""
    for verdict in Verdict:
        yield "verdict", verdict.sentence, "cardio/verdict.py"
    for reason in PresentationReason:
        yield "verdict", reason.sentence, "cardio/presentation_errors.py"
    for refusal in REFUSALS.values():  # a venue's own refusal (its `require`), a template
        yield "verdict", refusal, "cardio/venues.py"
    for label in ITEM_LABELS.values():
        yield "field", label, "cardio/venues.py"
    for warning in WARNINGS:
        yield "warning", warning, "cardio/verify.py"
    for warning in presentation.WARNINGS:
        yield "warning", warning, "cardio/presentation.py"
    for path in sorted(VENUES_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        yield "venue", data["title"], f"venues/{path.name}"
        for entry in data.get("entitlements", []):
            yield "venue", entry["label"], f"venues/{path.name}"


def _more_messages(catalog: Catalog) -> None:
    add_data(catalog, data_messages())


TOOL = CatalogueTool(
    project="citycard-terminal",
    domain=DOMAIN,
    translations_dir=TRANSLATIONS_DIR,
    languages=BY_CODE,
    source_language=SOURCE_LANGUAGE,
    source_dir=TERMINAL_DIR,
    location_prefix="api/terminal/",
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
