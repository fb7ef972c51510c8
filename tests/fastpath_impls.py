"""The two implementations of cardio's hot path, for tests that hold them equal: the compiled
module (cardio/_fastpath.c, None where no compiler built it) and its pure-Python twin."""

from __future__ import annotations

import pytest

from cardio import _fastpath_py

try:
    from cardio import _fastpath as compiled
except ImportError:  # built without a compiler: only the Python implementation is there
    compiled = None  # type: ignore[assignment]

needs_compiled = pytest.mark.skipif(compiled is None, reason="C extension not built")
over_implementations = pytest.mark.parametrize(
    "impl", [pytest.param(compiled, id="c", marks=needs_compiled), pytest.param(_fastpath_py, id="python")]
)
"""Runs a test once per implementation, as `impl` (the C one skipped when it was not built)."""
