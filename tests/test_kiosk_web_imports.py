"""The kiosk web UI's modules import each other without a cycle.

The graph is built from the source with `ast`, imports inside functions included, so an import
moved into a function to dodge a cycle is still seen. Importing a package's submodule is an edge
to that submodule only (not to the packages above it, which Python also runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import kiosk.web

PACKAGE = "kiosk.web"
ROOT = Path(kiosk.web.__file__).parent


def module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([PACKAGE, *parts])] = path
    return names


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of the package that `name` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # `from x import y` reaches the submodule x.y when there is one, else x itself
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for nxt in sorted(graph[node]):
            if (cycle := visit(nxt)) is not None:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if (cycle := visit(start)) is not None:
            return cycle
    return None


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def test_the_graph_sees_the_app_and_its_steps() -> None:
    graph = import_graph()
    assert "kiosk.web.flow" in graph["kiosk.web.app"]
    assert "kiosk.web.flow.pages" in graph["kiosk.web.flow.photo"]
    assert "kiosk.web.context" in graph["kiosk.web.flow.pages"]


def test_no_import_cycle_in_kiosk_web() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
