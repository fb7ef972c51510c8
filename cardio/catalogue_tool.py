"""Keeping a deployable's gettext catalogues in step with its code (Babel): extract, update, check.

One tool, configured by each deployable that shows text (`kiosk.web.catalogues`,
`api.issuer.catalogues`, `api.terminal.catalogues`), which keep their command lines:

    python -m <module> extract           # the template (.pot) from the sources
    python -m <module> update [codes]    # merge it into every (or these) language's .po
    python -m <module> check             # what is missing, empty, fuzzy or stale (exit 1)

Babel is imported where it is used: it comes with the kiosk, issuer and terminal extras, not
with cardio, which every deployable imports.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

__all__ = ["COMMENT_TAGS", "CatalogueTool", "Key", "add_data", "add_from_file"]

COMMENT_TAGS = ("Translators:",)

Key = tuple[str, str | None]
"""A message's (msgid, msgctxt); the msgid of a plural message is its singular."""
Location = tuple[str, int]


def _key(msgid: object) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else str(msgid)


def _keys(catalog: Catalog) -> set[Key]:
    return {(_key(m.id), m.context) for m in catalog if m.id}


def add_from_file(catalog: Catalog, path: Path, where: str, keywords: Mapping[str, Any]) -> None:
    """Add the Python file `path`'s messages, their places named `where`:line."""
    from babel.messages.extract import extract_from_file

    for lineno, message, comments, context in extract_from_file(
        "python", path, keywords, comment_tags=COMMENT_TAGS
    ):
        catalog.add(message, locations=[(where, lineno)], auto_comments=comments, context=context)


def add_data(
    catalog: Catalog, entries: Iterable[tuple[str, str, str]], *, every_place: bool = False
) -> None:
    """Add texts no extractor sees, (context, message, where) each, a new message with the
    place `where`:0; `every_place`: a message already there gets that place too."""
    for context, message, where in entries:
        found = catalog.get(message, context=context)
        if found is None:
            catalog.add(message, locations=[(where, 0)], context=context)
        elif every_place and (where, 0) not in found.locations:
            found.locations.append((where, 0))


@dataclass(frozen=True)
class CatalogueTool:
    """The catalogues of one deployable: `<translations_dir>/<code>/LC_MESSAGES/<domain>.po`
    for each of `languages`, the template `<translations_dir>/<domain>.pot`."""

    project: str  # the catalogues' Project-Id-Version
    domain: str
    translations_dir: Path
    languages: Iterable[str]  # the codes `update` and `check` cover by default
    source_language: str  # its catalogue's msgstr is the msgid
    source_dir: Path  # extracted with method_map; its files' places start with location_prefix
    location_prefix: str
    method_map: Sequence[tuple[str, str]]
    options: Mapping[str, dict[str, Any]]
    keywords: Mapping[str, Any]
    # Adds what the extraction of source_dir does not find (other files, texts kept as data).
    more_messages: Callable[[Catalog], None] | None = None
    # Whether language `code` needs a message found at these places (None: every message).
    needs: Callable[[str, Sequence[Location]], bool] | None = None
    # Kept fuzzy headers are not reported nor cleared (the issuer's catalogues have them).
    fuzzy_header_allowed: bool = False

    @property
    def pot(self) -> Path:
        return self.translations_dir / f"{self.domain}.pot"

    def po_path(self, code: str, base: Path | None = None) -> Path:
        return (base or self.translations_dir) / code / "LC_MESSAGES" / f"{self.domain}.po"

    def template_catalog(self) -> Catalog:
        """Every message of the deployable, as a Babel catalogue (no translations)."""
        from babel.messages.catalog import Catalog
        from babel.messages.extract import extract_from_dir

        catalog = Catalog(project=self.project, domain=self.domain, fuzzy=False)
        for filename, lineno, message, comments, context in extract_from_dir(
            str(self.source_dir),
            self.method_map,
            self.options,
            self.keywords,
            comment_tags=COMMENT_TAGS,
        ):
            if filename.startswith("catalogues") or not message:
                continue
            location = (f"{self.location_prefix}{filename}", lineno)
            catalog.add(message, locations=[location], auto_comments=comments, context=context)
        if self.more_messages is not None:
            self.more_messages(catalog)
        return catalog

    def needed(self, code: str, template: Catalog | None = None) -> set[Key]:
        """The messages language `code` must translate."""
        template = template or self.template_catalog()
        return {
            (_key(m.id), m.context)
            for m in template
            if m.id and (self.needs is None or self.needs(code, m.locations))
        }

    def load_po(self, code: str, base: Path | None = None) -> Catalog:
        from babel.messages.pofile import read_po

        with self.po_path(code, base).open("rb") as fh:
            return read_po(fh, locale=code.replace("-", "_"), domain=self.domain)

    def problems(self, codes: Iterable[str] | None = None, base: Path | None = None) -> list[str]:
        """What is missing, empty, fuzzy or stale in the catalogues (empty: all complete)."""
        template = self.template_catalog()
        found: list[str] = []
        for code in codes if codes is not None else self.languages:
            path = self.po_path(code, base)
            if not path.is_file():
                found.append(f"{path}: missing")
                continue
            expected = self.needed(code, template)
            catalog = self.load_po(code, base)
            if catalog.fuzzy and not self.fuzzy_header_allowed:
                found.append(f"{path}: the header is fuzzy, so its Plural-Forms would be ignored")
            for msgid, context in sorted(expected - _keys(catalog), key=str):
                found.append(f"{path}: no entry for {context + ': ' if context else ''}{msgid!r}")
            for message in catalog:
                if not message.id:
                    continue
                label = f"{message.context + ': ' if message.context else ''}{_key(message.id)!r}"
                if message.fuzzy:
                    found.append(f"{path}: fuzzy {label}")
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if not all(isinstance(s, str) and s.strip() for s in strings):
                    found.append(f"{path}: not translated {label}")
                if (_key(message.id), message.context) not in expected:
                    found.append(f"{path}: obsolete {label} (run update)")
        return found

    def extract(self) -> Path:
        from babel.messages.pofile import write_po

        self.pot.parent.mkdir(parents=True, exist_ok=True)
        with self.pot.open("wb") as fh:
            write_po(fh, self.template_catalog(), width=100, omit_header=False, sort_output=False)
        return self.pot

    def update(self, codes: Iterable[str] | None = None) -> list[Path]:
        """Merge the template into the catalogues of `codes` (default: every language): each
        gets the messages it needs (new ones with an empty msgstr; the source language's:
        msgstr = msgid)."""
        from babel.messages.catalog import Catalog
        from babel.messages.pofile import write_po

        written = []
        for code in codes if codes is not None else self.languages:
            # A fresh template per language: Catalog.update adopts the template's Message objects,
            # so filling the English catalogue would otherwise fill every later one with English.
            template = self.template_catalog()
            if self.needs is not None:
                keep = self.needed(code, template)
                for message in list(template):
                    if message.id and (_key(message.id), message.context) not in keep:
                        template.delete(message.id, message.context)
            path = self.po_path(code)
            if path.is_file():
                catalog = self.load_po(code)
            else:
                catalog = Catalog(
                    locale=code.replace("-", "_"), domain=self.domain, project=self.project
                )
            catalog.update(template, no_fuzzy_matching=True)
            if not self.fuzzy_header_allowed:
                # A fuzzy header is left out when the catalogue is compiled, and its
                # Plural-Forms with it.
                catalog.fuzzy = False
            if code == self.source_language:
                for message in catalog:
                    # a plural's msgstr is a tuple of forms: English has the id's two
                    if message.id and not any(message.string or ()):
                        message.string = message.id
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, catalog, width=100, ignore_obsolete=True)
            written.append(path)
        return written

    def main(self, argv: list[str] | None = None, usage: str | None = None) -> int:
        """The command line (`usage`: printed for an unknown command)."""
        args = sys.argv[1:] if argv is None else argv
        command = args[0] if args else "check"
        if command == "extract":
            print(self.extract())
        elif command == "update":
            for path in self.update(args[1:] or None):
                print(path)
        elif command == "check":
            found = self.problems()
            for line in found:
                print(line)
            print("catalogues complete" if not found else f"{len(found)} problems")
            return 1 if found else 0
        else:
            print(usage)
            return 2
        return 0
