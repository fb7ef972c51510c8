"""The Makefile's promises that the README repeats: `make bench` runs all benchmarks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _recipe(target: str) -> str:
    """The recipe lines of `target` in the Makefile (up to the next blank line)."""
    makefile = (ROOT / "Makefile").read_text("utf-8")
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.MULTILINE)
    assert match, f"the Makefile has no target {target!r}"
    return match.group(1)


def test_make_bench_runs_every_benchmark() -> None:
    """README: "`make bench` (all benchmarks; tables in docs/benchmarks.md)"."""
    ran = set(re.findall(r"\bbench/([a-z_]+\.py)\b", _recipe("bench")))
    shipped = {p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")}
    assert shipped, "no benchmarks found under bench/"
    assert shipped - ran == set(), "benchmarks that make bench leaves out"
    assert ran - shipped == set(), "make bench names benchmarks that do not exist"
