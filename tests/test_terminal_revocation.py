"""Venues learn of a revocation within 60 s: a real issuer API (`citycard-api serve`) and a real
terminal (`citycard-reader serve --no-reader`), each its own process (bench/revocation.py's
rig, with a short poll interval), and the staff API call a service-desk click makes.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from api.terminal.screen_text import FRESH_SECONDS

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_revocation", ROOT / "bench" / "revocation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _bench()


def _get(url: str, etag: str | None = None) -> tuple[int, str | None]:
    req = urllib.request.Request(url)
    if etag:
        req.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("ETag")


def _wait(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.1)


@pytest.mark.timeout(240)
def test_running_terminal_shows_a_staff_revocation_within_60_s_polling_with_304() -> None:
    with bench.RevocationRig(cards=2, sync_interval=1.0) as rig:
        first, second = rig.issued
        # between changes every poll is a conditional GET the issuer answers 304
        _wait(lambda: len(rig.health()["sync"]["not_modified"]) == 2, 10)
        assert rig.health()["sync"]["not_modified"] == [
            "/.well-known/citycard/trust-list",
            "/status/1",
        ]
        for path in ("/.well-known/citycard/trust-list", "/status/1"):
            status, etag = _get(rig.issuer_url + path)
            assert status == 200 and etag
            assert _get(rig.issuer_url + path, etag)[0] == 304

        took = rig.time_to_revoked(first)
        assert took < 60.0
        assert took < 10.0  # a 1 s poll and a prompt publisher: seconds, not minutes
        assert rig.verdict(second) == "VALID"  # only that card


@pytest.mark.timeout(240)
def test_issuer_down_the_terminal_keeps_its_last_lists_and_says_how_old() -> None:
    with bench.RevocationRig(cards=2, sync_interval=1.0) as rig:
        revoked, other = rig.issued
        rig.time_to_revoked(revoked)
        rig.stop_issuer()
        _wait(lambda: rig.health()["sync"]["last_error"] is not None, 20)
        assert rig.verdict(revoked) == "REVOKED"
        assert rig.verdict(other) == "VALID"
        with urllib.request.urlopen(rig.terminal_url + "/", timeout=10) as res:
            page = res.read().decode()
        assert 'id="lists-problem"' in page and 'data-fresh="no"' in page
        assert "cannot be reached" in page and "last confirmed" in page
        assert FRESH_SECONDS <= 60
