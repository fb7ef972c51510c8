"""Run the cardio tests against the lowest versions pyproject.toml says it supports.

A floor such as `cbor2>=6.1` is a promise that nothing newer is needed; only installing exactly
that version and running the tests keeps it. This script reads the floors from pyproject.toml,
makes a temporary virtual environment, installs `name==floor` of every core dependency and of
what the cardio tests import (test tools, and what tests/conftest.py uses), as wheels where
there are any so that little else is built, then installs this project
(building only cardio/_fastpath.c) with the build-system floors, and runs the cardio test
modules that need no hardware. The project is installed from a copy of the working tree, so
the tree itself is not touched. Needs the network to PyPI; takes a few minutes.

    python3 scripts/check_minimums.py [--python python3.11] [--keep] [TEST_MODULE ...]

A test failing here and not in the dev environment means a floor is too low: raise it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Beyond the core dependencies: what the cardio test modules import, by distribution name;
# each floor comes from wherever pyproject.toml declares it (an extra or dev). tests/conftest.py
# brings the issuer's registry (sqlalchemy, alembic), Pillow and pcscd's client (pyscard).
TEST_NEEDS = ("pytest", "pytest-timeout", "hypothesis", "sqlalchemy", "alembic", "Pillow", "pyscard")
# Everything is installed as a wheel except these, which have none for Linux (`make` installs
# what they build with: gcc, swig, libpcsclite-dev).
FROM_SOURCE = ("pyscard",)
TEST_MODULES = (
    "tests/test_base45.py",
    "tests/test_cose.py",
    "tests/test_fastpath.py",
    "tests/test_statuslist.py",
    "tests/test_verify.py",
)

_FLOOR = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)\s*")


def normalized(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def floor_pin(requirement: str) -> tuple[str, str]:
    """`name[extras]>=X` -> (normalized name, `name[extras]==X`)."""
    match = _FLOOR.fullmatch(requirement)
    if match is None:
        raise SystemExit(f"pyproject.toml: {requirement!r} does not declare a floor as name>=version")
    name, extras, version = match.groups()
    return normalized(name), f"{name}{extras or ''}=={version}"


def pins(pyproject: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(the pinned floors to install, the build-system's pinned floors)."""
    project = pyproject["project"]
    core = [floor_pin(r)[1] for r in project["dependencies"]]
    declared: dict[str, str] = {}
    for requirements in project["optional-dependencies"].values():
        for requirement in requirements:
            if normalized(requirement).startswith(normalized(project["name"]) + "["):
                continue  # the dev extra naming the other extras
            name, pin = floor_pin(requirement)
            declared[name] = pin
    missing = [n for n in TEST_NEEDS if normalized(n) not in declared]
    if missing:
        raise SystemExit(f"pyproject.toml declares no floor for {', '.join(missing)}")
    build = [floor_pin(r)[1] if ">=" in r else r for r in pyproject["build-system"]["requires"]]
    return core + [declared[normalized(n)] for n in TEST_NEEDS], build


def copy_tree(destination: Path) -> None:
    """The working tree's files (tracked or new, not ignored), without build products."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the tree is left out
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], cwd=cwd, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("tests", nargs="*", default=list(TEST_MODULES), help="test modules to run")
    args = parser.parse_args()

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    floors, build = pins(pyproject)
    print("floors:", " ".join(floors))
    print("build:", " ".join(build))

    work = Path(tempfile.mkdtemp(prefix="citycard-minimums-"))
    try:
        venv, tree = work / "venv", work / "tree"
        copy_tree(tree)
        run(args.python, "-m", "venv", venv)
        python = venv / "bin" / "python"
        pip = (python, "-m", "pip", "--disable-pip-version-check", "install", "-q")
        from_source = [f"--no-binary={name}" for name in FROM_SOURCE]
        run(*pip, "--only-binary=:all:", *from_source, *floors, *build)
        # Only the project's own extension is built, with the build-system floors just installed.
        run(*pip, "--no-deps", "--no-build-isolation", "-e", tree)
        run(python, "-m", "pip", "freeze", "--exclude-editable")
        env = {k: v for k, v in os.environ.items() if k != "CITYCARD_PURE_PYTHON"}
        run(python, "-c", "from cardio import fastpath; print('hot path:', fastpath.IMPLEMENTATION)", cwd=tree, env=env)
        result = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.tests], cwd=tree, env=env
        )
    except subprocess.CalledProcessError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print("kept:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("minimum versions:", "pass" if result.returncode == 0 else "FAIL")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
