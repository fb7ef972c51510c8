"""The layering of docs/architecture.md, checked on every import the code makes.

Layers, bottom to top: `cardio` (imports no other package of ours) → `printer` (cardio) → the
deployables `kiosk`, `api.issuer`, `api.terminal`, `api.phone`, `firmware_tools` (cardio and
printer, never one another) → `hardware` (the simulators: anything). Only the modules that run
simulated hardware on purpose may import `hardware`; only `api.cli`, the command that hosts the
phone pages on the issuer, composes two deployables. Every import counts: at the top of a
module, inside a function, under `if TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cardio", "printer", "kiosk", "api", "firmware_tools", "hardware")
DEPLOYABLES = ("kiosk", "api.issuer", "api.terminal", "api.phone", "firmware_tools")

# What each layer may import (besides itself and the standard library / third parties).
ALLOWED: dict[str, set[str]] = {
    "cardio": set(),
    "printer": {"cardio"},
    **{d: {"cardio", "printer"} for d in DEPLOYABLES},
    "api": {"cardio", "printer"},  # api/__init__.py: nothing of its own
    "hardware": {"cardio", "printer", *DEPLOYABLES, "hardware"},
}
# Modules that run simulated hardware on purpose (demos, --simulate) and composition roots.
EXCEPTIONS: dict[str, set[str]] = {
    "kiosk.simulate": {"hardware"},
    "kiosk.demo": {"hardware"},
    "api.issuer.demo": {"hardware"},
    "api.cli": {"api.issuer", "api.phone"},
}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (None: not ours)."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if parts[0] == "api" and len(parts) > 1 and f"api.{parts[1]}" in DEPLOYABLES:
        return f"api.{parts[1]}"
    return parts[0]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in `source`, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            if target in PACKAGES:  # `from api import issuer` imports api.issuer
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every import in `source` (the code of `module`) that breaks the layering."""
    own = layer_of(module)
    assert own is not None, module
    allowed = ALLOWED[own] | {own} | EXCEPTIONS.get(module, set())
    found = []
    for line, target in imports_of(source, module, is_package):
        layer = layer_of(target)
        if layer is None or layer == own:
            continue
        if layer == "api" and target in ("api", "api.__init__"):
            continue  # the bare namespace: `from api import x` is checked as api.x
        if layer not in allowed and not any(
            target == e or target.startswith(e + ".") for e in EXCEPTIONS.get(module, ())
        ):
            found.append(f"{module}:{line} imports {target} ({own} may not import {layer})")
    return found


def our_modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_module_breaks_the_layering() -> None:
    problems = []
    for path in our_modules():
        module = module_name(path)
        problems += violations(path.read_text("utf-8"), module, path.name == "__init__.py")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("printer.receipt", "from api.issuer import codes\n"),  # up a layer
        ("kiosk.http_allocator", "from api.issuer.web import x\n"),  # sideways
        ("firmware_tools.reader_setup", "def f():\n    import api.terminal.cli\n"),  # in a function
        ("kiosk.job", "if TYPE_CHECKING:\n    from hardware.vpcd import VpcdCard\n"),  # simulator
        ("cardio.verify", "from printer import fonts\n"),  # the bottom imports nothing of ours
        ("api.issuer.routes_public", "from ..terminal import service\n"),  # relative, sideways
        ("api.terminal.cli", "from api import issuer\n"),
    ],
)
def test_the_check_catches_a_broken_import(module: str, source: str) -> None:
    assert violations(source, module), f"{module}: {source!r} should be refused"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("kiosk.job", "from cardio.chip import read_card\nfrom printer import fonts\n"),
        ("kiosk.simulate", "from hardware.kiosk_devices import CardFeeder\n"),
        ("api.cli", "from api.issuer.cli import main\nfrom api.phone import blueprint\n"),
        ("api.issuer.server", "from .service import Issuer\nfrom cardio import codes\n"),
        ("hardware.local_issuer", "from api.issuer import Issuer\nfrom kiosk.allocator import A\n"),
    ],
)
def test_the_check_allows_what_the_layering_allows(module: str, source: str) -> None:
    assert violations(source, module) == []


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("kiosk.job", ("api", "sqlalchemy", "hardware")),
        ("kiosk.cli", ("api", "sqlalchemy", "hardware")),
        ("kiosk.station", ("api", "sqlalchemy", "hardware")),
        ("api.terminal.cli", ("sqlalchemy", "api.issuer", "hardware", "kiosk")),
        ("firmware_tools.cli", ("api", "sqlalchemy", "hardware", "kiosk")),
        ("cardio.verify", ("api", "kiosk", "printer", "hardware", "flask", "sqlalchemy")),
    ],
)
def test_importing_a_deployable_loads_nothing_it_does_not_need(
    module: str, forbidden: tuple[str, ...]
) -> None:
    """What `python -c "import kiosk.job"` loads, in a fresh interpreter."""
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}"
        f" or any(m == f or m.startswith(f + '.') for f in {forbidden!r}))\n"
        "print('\\n'.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing {module} loaded:\n{out.stdout}"


# -- docs/architecture.md says the same ---------------------------------------------------------

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_the_documented_layers_are_the_checked_ones() -> None:
    text = ARCHITECTURE.read_text("utf-8")
    section = text.split("## Layers and what each may import", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            layer = cells[0].strip("`")
            documented[layer] = (
                {"*"} if cells[1] == "everything" else set(re.findall(r"`([a-z_.]+)`", cells[1]))
            )
    checked = {k: v for k, v in ALLOWED.items() if k != "api"}
    assert set(documented) == set(checked)
    for layer, allowed in checked.items():
        assert documented[layer] == ({"*"} if layer == "hardware" else allowed), layer
    for module in EXCEPTIONS:
        assert f"`{module}`" in text, f"docs/architecture.md does not name the exception {module}"


def test_every_module_the_architecture_names_exists() -> None:
    text = ARCHITECTURE.read_text("utf-8")
    for name in sorted(set(re.findall(r"`((?:cardio|kiosk|api|printer|hardware)\.[a-z_.]+)`", text))):
        path = ROOT / name.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), name


def test_no_file_sends_the_reader_outside_the_repository() -> None:
    """The repository explains itself: no path into a steering repository or a sibling tree."""
    tracked = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".toml", ".html", ".js", ".txt", ".cfg"}:
            continue
        text = path.read_text("utf-8", errors="replace")
        for bad in ("../shared/", "DESIGN.md", "steering repository"):
            if bad in text and path != Path(__file__):
                offenders.append(f"{name}: {bad}")
    assert not offenders, offenders
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text("utf-8")):
            assert (doc.parent / target).resolve().is_relative_to(ROOT), f"{doc.name}: {target}"
            assert (doc.parent / target).exists(), f"{doc.name} links to a missing {target}"
