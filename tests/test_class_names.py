"""A class name says what the class is, once: no two classes of the packages share a name.

Two `Localized`, two `Issuer` or two `ApiError` classes make a reader guess which one a module
means, and usually mean that one of them should not exist. Tests may define what they like.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cardio", "printer", "kiosk", "api", "firmware_tools", "hardware")


def test_no_class_name_is_defined_twice() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef):
                    where[node.name].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    twice = {name: places for name, places in where.items() if len(places) > 1}
    assert not twice, "\n".join(f"{n}: {', '.join(p)}" for n, p in sorted(twice.items()))
