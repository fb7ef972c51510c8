"""A `.po` catalogue as gettext translations, compiled in memory: no `.mo` files, no compile step.

Babel reads the `.po`, writes the `.mo` into a buffer, gettext loads it; fuzzy entries are left
out. The kiosk, the issuer's pages and the staff screen compile their catalogues this way.
Babel is imported where used: it comes with their extras, not with cardio.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

__all__ = ["compile_po"]


def compile_po(path: Path, domain: str) -> gettext.GNUTranslations:
    """The catalogue at `path` (`<code>/LC_MESSAGES/<domain>.po`), compiled once and again
    only when the file changes."""
    resolved = path.resolve()
    return _compiled(resolved, resolved.stat().st_mtime_ns, domain)


# Three deployables' catalogues in every language fit (cardio.languages.LANGUAGES).
@functools.lru_cache(maxsize=192)
def _compiled(path: Path, _mtime_ns: int, domain: str) -> gettext.GNUTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh, locale=path.parent.parent.name.replace("-", "_"), domain=domain)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
