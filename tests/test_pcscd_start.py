"""`hardware.pcscd` starting pcscd while the vpcd port is still held by the last one.

Right after a pcscd stops, TCP 35963 can stay held for up to a minute; a pcscd started then
runs without the vpcd reader and logs "Address already in use". The start must retry until the
port is free instead of failing every PC/SC test of the session. The daemon here is a small
stand-in script on PATH (the condition cannot be produced on demand with the real pcscd while a
test session shares it); the retry logic under test is ours and runs unchanged.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from cardio.errors import CardConnectionError
from hardware import pcscd

FAKE_PCSCD = """#!/bin/sh
case "$1" in
  --version) echo "pcsc-lite stand-in ipcdir={ipc}"; exit 0 ;;
  --help) exit 0 ;;
esac
n=$(cat {count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {count}
if [ $n -le {busy} ]; then echo "vpcd: bind(): Address already in use"; fi
exec sleep 60
"""


def _install_fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy: int) -> Path:
    bin_dir, ipc = tmp_path / "bin", tmp_path / "ipc"
    bin_dir.mkdir()
    ipc.mkdir()
    count = tmp_path / "starts"
    script = bin_dir / "pcscd"
    script.write_text(FAKE_PCSCD.format(ipc=ipc, count=count, busy=busy))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(pcscd, "_vpcd_configured", lambda: True)
    return count


def _starts(count: Path) -> int:
    return int(count.read_text()) if count.exists() else 0


def test_a_start_that_finds_the_port_busy_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = _install_fake(tmp_path, monkeypatch, busy=2)

    def readers() -> list[str]:  # the third daemon got the port: its reader shows
        return [f"{pcscd.VPCD_READER} 00 00"] if _starts(count) >= 3 else []

    service = pcscd._start(
        pcscd.VPCD_READER, time.monotonic() + 5, locked=False, readers=readers, pause=0.1
    )
    try:
        assert _starts(count) == 3
        assert service.started and service.running
    finally:
        service.stop()
    assert not service.running


def test_a_port_that_stays_busy_ends_in_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = _install_fake(tmp_path, monkeypatch, busy=1000)
    with pytest.raises(CardConnectionError, match="still holds TCP 35963; stop it"):
        pcscd._start(
            pcscd.VPCD_READER, time.monotonic() + 1, locked=False, readers=list,
            port_busy_wait=1.0, pause=0.1,
        )
    assert _starts(count) >= 2  # it did try again
