"""Running the suite on every core (pytest-xdist) while the vpcd slots stay one machine's.

`make test` runs `pytest -n auto`. The vpcd slots (TCP 35963 + slot) and the pcscd behind them
belong to the whole machine, and `hardware.pcscd` guards them with a machine-wide lock that a
session holds from its first card to its end. So every test module that presents cards is one
unit of work, `vpcd`, given whole to one worker and run there one test after another as before
(it is the largest unit, so it starts first); every other test is a unit of its own.

A module is in the unit when it asks for `pcscd_service`, `vpcd_cards` or `card_processes`, or
says `pytestmark = pytest.mark.vpcd` (or a list holding it): modules that enrol on the kiosk's
simulated writer, which starts pcscd itself, in this process or in a `citycard-kiosk` they run.
On a worker, a test of any other module that takes the lock in its own process (a module
fixture included) fails at once with a sentence saying so, instead of waiting 90 s for the
other worker.

Not xdist's own `--dist loadgroup`: with pytest 9.2 its workers' group suffix on test ids has no
effect (pytest keeps the id elsewhere), and the marked tests were spread over every worker.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hardware import pcscd

GROUP = "vpcd"
_TESTS = Path(__file__).resolve().parent
_PRESENTS_CARDS = re.compile(
    r"^pytestmark = .*\bpytest\.mark\.vpcd\b|\b(pcscd_service|vpcd_cards|card_processes)\b", re.M
)

_running: list[pytest.Item] = []  # the test item this worker runs now


@cache
def vpcd_modules() -> frozenset[str]:
    """The test modules (file names) that present cards."""
    return frozenset(
        p.name for p in _TESTS.glob("test_*.py") if _PRESENTS_CARDS.search(p.read_text("utf-8"))
    )


def in_vpcd_group(nodeid: str) -> bool:
    return nodeid.split("::", 1)[0].rpartition("/")[2] in vpcd_modules()


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # another mode asked for by name: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class VpcdScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return GROUP if in_vpcd_group(nodeid) else nodeid

    return VpcdScheduling(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    _running.append(item)
    try:
        yield
    finally:
        _running.remove(item)


class _GroupOnlyLock:
    """The machine lock, taken on an xdist worker only by the `vpcd` unit's tests."""

    def __init__(self, lock: pcscd._MachineLock) -> None:
        self._lock = lock

    def acquire(self, timeout: float) -> None:
        if not _running or not in_vpcd_group(_running[-1].nodeid):
            where = _running[-1].nodeid if _running else "Something outside any test"
            raise AssertionError(
                f"{where} takes the vpcd slots, but its module is not in the 'vpcd' unit of "
                "work: add `pytestmark = pytest.mark.vpcd` to it (tests/xdist_groups.py), so "
                "that it runs on the one worker that presents cards."
            )
        self._lock.acquire(timeout)

    def release(self) -> None:
        self._lock.release()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker (set before its plugins configure)
        pcscd._machine_lock = _GroupOnlyLock(pcscd._machine_lock)  # type: ignore[assignment]
