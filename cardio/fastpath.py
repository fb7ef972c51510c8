"""The verifier's hot path: the compiled `cardio._fastpath` when it was built, else Python.

Both implementations have the same functions, values, exceptions and limits
(cardio/_fastpath.pyi; tests/test_fastpath.py holds them equal). The C one is what keeps a full
verify above 0.8 of a raw ES256 verify (docs/benchmarks.md); the Python one,
`cardio._fastpath_py`, lets the project install and run where no compiler is. Set
CITYCARD_PURE_PYTHON=1 to use the Python one even when the C one is there (tests, debugging).
`IMPLEMENTATION` says which is active: "c" or "python".
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Final, Literal

from . import _fastpath_py

PURE_PYTHON_ENV: Final = "CITYCARD_PURE_PYTHON"

Implementation = Literal["c", "python"]


def _choose() -> tuple[ModuleType, Implementation]:
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return _fastpath_py, "python"
    try:
        from . import _fastpath
    except ImportError:  # not built: setup.py makes the extension optional
        return _fastpath_py, "python"
    return _fastpath, "c"


_module, IMPLEMENTATION = _choose()

if TYPE_CHECKING:
    # One interface for both; the Python module is the typed statement of it.
    from ._fastpath_py import (
        ENTITLEMENT_CODES,
        Claims,
        b64encode,
        b64u_decode,
        claims,
        der_signature,
        device_response,
        disclosures,
        iso_day,
        json,
        jws,
        mso,
        name_ok,
        sd_presentation,
        sign1,
        unfold,
    )
else:
    ENTITLEMENT_CODES = _module.ENTITLEMENT_CODES
    Claims = _module.Claims
    b64encode = _module.b64encode
    b64u_decode = _module.b64u_decode
    der_signature = _module.der_signature
    device_response = _module.device_response
    disclosures = _module.disclosures
    claims = _module.claims
    iso_day = _module.iso_day
    json = _module.json
    jws = _module.jws
    mso = _module.mso
    name_ok = _module.name_ok
    sd_presentation = _module.sd_presentation
    sign1 = _module.sign1
    unfold = _module.unfold

__all__ = [
    "ENTITLEMENT_CODES",
    "IMPLEMENTATION",
    "PURE_PYTHON_ENV",
    "Claims",
    "b64encode",
    "b64u_decode",
    "claims",
    "der_signature",
    "device_response",
    "disclosures",
    "iso_day",
    "json",
    "jws",
    "mso",
    "name_ok",
    "sd_presentation",
    "sign1",
    "unfold",
]
