"""Checking the profile's top-level notes: `assumed` (which values are assumptions), `notes`,
`out_of_scope` and `sources`."""

from __future__ import annotations

import re

from .reader import ProfileReader, Table, toml_value
from .schema import MAX_NOTES, MAX_OUT_OF_SCOPE

_PATH_PART = re.compile(r"([^.\[\]]+)((?:\[[0-9]+\])*)")


def check_meta(
    r: ProfileReader, data: Table
) -> tuple[tuple[str, ...], str, tuple[str, ...], str]:
    """(assumed key paths, notes on one line, sources, out_of_scope on one line)."""
    assumed = r.str_list(data, "", "assumed", ["fees.first_card"], required=False) or []
    for i, path in enumerate(assumed):
        if not _has_path(data, path):
            r.add(
                f"assumed[{i}]",
                f"names {toml_value(path)}, which is not a key of this profile",
                'write the dotted path of an existing key, e.g. "fees.first_card"',
            )
    notes = r.text(
        data,
        "",
        "notes",
        "Fees are assumed: the city has not decided.",
        required=False,
        max_len=MAX_NOTES,
    )
    if assumed and notes is None and "notes" not in data:
        r.add(
            "notes",
            "is missing while values are marked as assumed",
            'add a short note on why, e.g. notes = "Fee under study; assumed free."',
        )
    sources = r.str_list(data, "", "sources", ["ANVITA 2021, annex"], required=False) or []
    out_of_scope = r.text(
        data,
        "",
        "out_of_scope",
        "The per-person budget is kept by the city's own system.",
        required=False,
        max_len=MAX_OUT_OF_SCOPE,
    )
    return (
        tuple(assumed),
        " ".join((notes or "").split()),
        tuple(sources),
        " ".join((out_of_scope or "").split()),
    )


def _has_path(data: object, path: str) -> bool:
    """True when the dotted path (with [i] indices) names a value of `data`."""
    node = data
    for part in path.split("."):
        m = _PATH_PART.fullmatch(part)
        if m is None or not isinstance(node, dict) or m.group(1) not in node:
            return False
        node = node[m.group(1)]
        for index in re.findall(r"\[([0-9]+)\]", m.group(2)):
            if not isinstance(node, list) or int(index) >= len(node):
                return False
            node = node[int(index)]
    return True
