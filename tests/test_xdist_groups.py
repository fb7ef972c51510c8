"""The suite's own split over pytest-xdist workers (tests/xdist_groups.py)."""

from __future__ import annotations

import pytest

from tests import xdist_groups
from tests.xdist_groups import GROUP, _GroupOnlyLock, in_vpcd_group, vpcd_modules


class _CountingLock:
    def __init__(self) -> None:
        self.taken = 0

    def acquire(self, timeout: float) -> None:
        self.taken += 1

    def release(self) -> None:
        self.taken -= 1


def test_modules_that_ask_for_the_card_fixtures_or_say_vpcd_are_one_unit() -> None:
    modules = vpcd_modules()
    assert {"test_pcsc.py", "test_kiosk_browser.py", "test_programme_demos.py"} <= modules
    assert "test_cose.py" not in modules and "test_xdist_groups.py" not in modules
    assert in_vpcd_group("tests/test_pcsc.py::test_cards_in_two_slots")
    assert in_vpcd_group("tests/test_programme_demos.py::test_x[zurich]")
    assert not in_vpcd_group("tests/test_cose.py::test_structural_tampering_is_malformed[es384]")


def test_the_scheduler_gives_the_unit_to_one_worker_and_every_other_test_its_own() -> None:
    pytest.importorskip("xdist")
    sched = xdist_groups.pytest_xdist_make_scheduler(_Config("load"), None)
    assert sched._split_scope("tests/test_pcsc.py::a") == GROUP
    assert sched._split_scope("tests/test_evolis.py::b[x]") == GROUP
    assert sched._split_scope("tests/test_cose.py::c") == "tests/test_cose.py::c"
    assert xdist_groups.pytest_xdist_make_scheduler(_Config("each"), None) is None


def test_a_test_outside_the_unit_that_takes_the_slots_is_told_how_to_mark_it(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _CountingLock()
    guarded = _GroupOnlyLock(lock)  # type: ignore[arg-type]
    monkeypatch.setattr(xdist_groups, "_running", [request.node])
    with pytest.raises(AssertionError, match=r"test_xdist_groups\.py::.* takes the vpcd slots"):
        guarded.acquire(1.0)
    assert lock.taken == 0
    monkeypatch.setattr(xdist_groups, "_running", [])
    with pytest.raises(AssertionError, match=r"outside any test .*pytest\.mark\.vpcd"):
        guarded.acquire(1.0)


def test_a_test_of_the_unit_takes_the_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = _CountingLock()
    guarded = _GroupOnlyLock(lock)  # type: ignore[arg-type]
    monkeypatch.setattr(xdist_groups, "_running", [_Item("tests/test_pcsc.py::test_x")])
    guarded.acquire(1.0)
    assert lock.taken == 1
    guarded.release()
    assert lock.taken == 0


class _Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


class _Config:
    """What xdist's schedulers read of a config."""

    def __init__(self, dist: str) -> None:
        self.option = type("Option", (), {"loadscopereorder": True, "maxschedchunk": None})()
        self._dist = dist

    def getvalue(self, name: str) -> object:
        return {"dist": self._dist, "tx": ["2*popen"]}.get(name)
