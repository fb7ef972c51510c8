"""Reading a profile's TOML tables with typed getters that report what is wrong.

`ProfileReader` collects `ProfileProblem`s instead of raising, so that one run reports every
problem of a file. Each getter reports a missing or ill-typed value (naming the dotted key and
a fix with an example in TOML syntax) and returns a usable default, so the section checkers
(`kiosk.programs.check_*`) can carry on and find the next problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..languages import Localized
from .problems import ProfileProblem
from .schema import AMOUNT_RE, CODE_RE, COLOUR_RE, LANGUAGE_RE, MAX_TEXT, is_forbidden_name

Table = dict[str, object]


def toml_value(value: object) -> str:
    """`value` as it is written in TOML (for examples in fixes)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def join_key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class ProfileReader:
    """The problems found so far in one profile file, and getters that add to them."""

    def __init__(self, file: str, path: Path) -> None:
        self.file = file  # as shown in problems
        self.path = path
        self.problems: list[ProfileProblem] = []

    # -- reporting

    def add(self, key: str, problem: str, fix: str) -> None:
        self.problems.append(ProfileProblem(self.file, key, problem, fix))

    def keys(self, table: Table, path: str, allowed: Iterable[str]) -> None:
        """Report unknown keys, with a suggestion. Missing keys are reported by the getters;
        forbidden names (nationality ...) by scan_forbidden."""
        spec = sorted(set(allowed))
        for key in table:
            if key in spec or is_forbidden_name(key):
                continue
            full = join_key(path, key)
            close = difflib.get_close_matches(key, spec, n=1)
            hint = (
                f"did you mean {join_key(path, close[0])}?"
                if close
                else ("remove it (known keys: " + ", ".join(spec) + ")")
            )
            self.add(full, "is not a key of a programme profile", hint)

    def forbidden(self, key: str) -> None:
        self.add(
            key,
            "names residence status, nationality or birthplace, which citycard never asks, "
            "prints or stores (docs/principles.md, principle 1)",
            "remove it",
        )

    def scan_forbidden(self, value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if is_forbidden_name(key):
                    self.forbidden(join_key(path, key))
                else:
                    self.scan_forbidden(sub, join_key(path, key))
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                self.scan_forbidden(sub, f"{path}[{i}]")

    # -- typed getters (each returns a usable default after reporting a problem)

    def table(self, parent: Table, path: str, key: str, required: bool = True) -> Table | None:
        full = join_key(path, key)
        if key not in parent:
            if required:
                self.add(full, "is missing", f"add a [{full}] table (see docs/programs.md)")
            return None
        value = parent[key]
        if not isinstance(value, dict):
            self.add(full, "must be a table", f"write it as [{full}] followed by its keys")
            return None
        return value

    def integer(
        self,
        table: Table,
        path: str,
        key: str,
        lo: int,
        hi: int,
        example: int,
        *,
        unit: str = "",
        default: int | None = None,
    ) -> int | None:
        full = join_key(path, key)
        if key not in table:
            if default is None:
                self.add(full, "is missing", f"add it, e.g. {full} = {example}")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            what = f"whole number of {unit}" if unit else "whole number"
            self.add(full, f"must be a {what} between {lo} and {hi}", f"e.g. {full} = {example}")
            return default
        return value

    def boolean(self, table: Table, path: str, key: str, default: bool) -> bool:
        full = join_key(path, key)
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.add(full, "must be true or false", f"e.g. {full} = {toml_value(default)}")
            return default
        return value

    def text(
        self,
        table: Table,
        path: str,
        key: str,
        example: str,
        *,
        required: bool = True,
        max_len: int = MAX_TEXT,
    ) -> str | None:
        full = join_key(path, key)
        if key not in table:
            if required:
                self.add(full, "is missing", f"add it, e.g. {full} = {toml_value(example)}")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            self.add(
                full,
                f"must be a non-empty text of at most {max_len} characters",
                f"e.g. {full} = {toml_value(example)}",
            )
            return None
        return value

    def choice(
        self, table: Table, path: str, key: str, options: Iterable[str], *, required: bool = True
    ) -> str | None:
        full = join_key(path, key)
        opts = list(options)
        if key not in table:
            if required:
                self.add(full, "is missing", f"add it, e.g. {full} = {toml_value(opts[0])}")
            return None
        value = table[key]
        if not isinstance(value, str) or value not in opts:
            self.add(
                full,
                "must be one of " + ", ".join(toml_value(o) for o in opts),
                f"e.g. {full} = {toml_value(opts[0])}",
            )
            return None
        return value

    def str_list(
        self, table: Table, path: str, key: str, example: list[str], *, required: bool = True
    ) -> list[str] | None:
        full = join_key(path, key)
        if key not in table:
            if required:
                self.add(full, "is missing", f"add it, e.g. {full} = {toml_value(example)}")
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(full, "must be a list of texts", f"e.g. {full} = {toml_value(example)}")
            return None
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            self.add(full, f"lists {', '.join(dupes)} more than once", "list each only once")
        return [v for v in value if isinstance(v, str)]

    def language(self, value: object, full: str) -> bool:
        if isinstance(value, str) and LANGUAGE_RE.match(value):
            return True
        self.add(
            full,
            f"{toml_value(value) if isinstance(value, str) else 'this'} is not a BCP 47 language tag in canonical case",
            'use e.g. "en", "de", "pt-BR", "zh-Hant" or "ase"',
        )
        return False

    def languages(self, table: Table, path: str, key: str, example: list[str]) -> tuple[str, ...]:
        values = self.str_list(table, path, key, example)
        if values is None:
            return ()
        full = join_key(path, key)
        if not values:
            self.add(
                full, "must list at least one language", f"e.g. {full} = {toml_value(example)}"
            )
        return tuple(v for i, v in enumerate(values) if self.language(v, f"{full}[{i}]"))

    def localized(
        self,
        table: Table,
        path: str,
        key: str,
        example: str,
        *,
        required: bool = True,
        need: Iterable[str] = (),
        max_len: int = MAX_TEXT,
    ) -> Localized[str] | None:
        full = join_key(path, key)
        if key not in table:
            if required:
                self.add(
                    full, "is missing", f"add it, e.g. {full} = {{ en = {toml_value(example)} }}"
                )
            return None
        value = table[key]
        if not isinstance(value, dict) or not value:
            self.add(
                full,
                "must be a table of texts per language",
                f"e.g. {full} = {{ en = {toml_value(example)} }}",
            )
            return None
        items: list[tuple[str, str]] = []
        for lang, text in value.items():
            if not self.language(lang, f"{full}.{lang}"):
                continue
            if not isinstance(text, str) or not text.strip() or len(text) > max_len:
                self.add(
                    f"{full}.{lang}",
                    f"must be a non-empty text of at most {max_len} characters",
                    f"e.g. {full}.{lang} = {toml_value(example)}",
                )
                continue
            items.append((lang, text))
        self._need(full, value, ["en", *need], example)
        items.sort(key=lambda kv: kv[0] != "en")  # English first: the fallback
        return Localized(tuple(items)) if items else None

    def _need(
        self, full: str, value: Mapping[str, object], need: Iterable[str], example: str
    ) -> None:
        for lang in dict.fromkeys(need):
            if lang not in value:
                reason = (
                    "English is the fallback"
                    if lang == "en"
                    else f"{lang!r} is printed on the card"
                )
                self.add(
                    f"{full}.{lang}",
                    f"is missing ({reason})",
                    f"add it, e.g. {full}.{lang} = {toml_value(example)}",
                )

    def localized_lists(
        self, table: Table, path: str, key: str, example: str
    ) -> Localized[tuple[str, ...]] | None:
        full = join_key(path, key)
        fix = f"e.g. {full} = {{ en = [{toml_value(example)}] }}"
        if key not in table:
            self.add(full, "is missing (every document category needs examples)", fix)
            return None
        value = table[key]
        if not isinstance(value, dict) or not value:
            self.add(full, "must be a table of example lists per language", fix)
            return None
        items: list[tuple[str, tuple[str, ...]]] = []
        for lang, texts in value.items():
            if not self.language(lang, f"{full}.{lang}"):
                continue
            if (
                not isinstance(texts, list)
                or not texts
                or not all(isinstance(t, str) and t.strip() and len(t) <= MAX_TEXT for t in texts)
            ):
                self.add(f"{full}.{lang}", "must be a non-empty list of short texts", fix)
                continue
            items.append((lang, tuple(str(t) for t in texts)))
        if "en" not in value:
            self.add(f"{full}.en", "is missing (English is the fallback)", fix)
        items.sort(key=lambda kv: kv[0] != "en")
        return Localized(tuple(items)) if items else None

    def amount(
        self, table: Table, path: str, key: str, *, default: Decimal | None = None
    ) -> Decimal | None:
        full = join_key(path, key)
        if key not in table:
            if default is None:
                self.add(full, "is missing", f'add it, e.g. {full} = "15.00"')
            return default
        value = table[key]
        if isinstance(value, (bool, float)):
            self.add(
                full,
                "must be written as a text or a whole number (floating point loses cents)",
                f'e.g. {full} = "{value:.2f}"'
                if isinstance(value, float) and value >= 0
                else f'e.g. {full} = "15.00"',
            )
            return default
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str) and value.startswith("-"):
            self.add(full, "must not be negative", f'use 0 for free, e.g. {full} = "0.00"')
            return default
        if not isinstance(value, str) or not AMOUNT_RE.match(value):
            self.add(full, 'must be an amount such as "15" or "15.00"', f'e.g. {full} = "15.00"')
            return default
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            self.add(full, "must be an amount", f'e.g. {full} = "15.00"')
            return default

    def colour(self, table: Table, path: str, key: str, example: str) -> str:
        full = join_key(path, key)
        value = table.get(key)
        if not isinstance(value, str) or not COLOUR_RE.match(value):
            problem = "is missing" if value is None else "must be a colour written #RRGGBB"
            self.add(full, problem, f'e.g. {full} = "{example}"')
            return example
        return value.upper()

    # -- repeated tables

    def table_list(self, parent: Table, path: str, key: str, fix: str) -> list[Table]:
        """The `[[path.key]]` tables (none when absent); anything else is reported."""
        raw = parent.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            self.add(join_key(path, key), "must be a list of tables", fix)
            return []
        return raw

    def coded_tables(
        self, data: Table, section: str, what: str, example: str, shape: str
    ) -> Iterator[tuple[str, str, Table]]:
        """(code, dotted path, table) for each well-formed `[section.code]` table; the others
        are reported (a bad code, or a value that is not a table) and skipped."""
        t = self.table(data, "", section, required=False)
        for code, entry in (t or {}).items():
            p = f"{section}.{code}"
            if not CODE_RE.match(code):
                self.add(
                    p,
                    f"is not {what}",
                    f"use lower-case letters, digits and hyphens, e.g. [{section}.{example}]",
                )
            elif not isinstance(entry, dict):
                self.add(p, "must be a table", f"write it as [{p}] with {shape}")
            else:
                yield code, p, entry

