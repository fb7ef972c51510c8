"""hardware.pcscd's machine lock: any user on the machine can take it, whoever made the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TAKE = """
import sys
from pathlib import Path
import hardware.pcscd as h
h.LOCK_PATH = Path(sys.argv[1])
lock = h._MachineLock()
lock.acquire(2)
lock.release()
print("taken")
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_another_users_lock_file_can_be_taken() -> None:
    """The file is made with the creator's umask (0644 for root): another user's open for
    writing failed with "Permission denied (/tmp/citycard-vpcd.lock)", a path they never gave."""
    readable = subprocess.run([*NOBODY, "test", "-r", str(ROOT / "hardware" / "pcscd.py")])
    if readable.returncode != 0:  # e.g. a clone in a directory of mktemp -d (0700)
        pytest.skip(f"another user cannot read this checkout ({ROOT}), so cannot run its code")
    with tempfile.TemporaryDirectory() as where:  # pytest's tmp_path is root's alone (0700)
        _take_as_nobody(Path(where))


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _take_as_nobody(where: Path) -> None:
    where.chmod(0o755)
    lock = where / "citycard-vpcd.lock"
    lock.touch(mode=0o644)
    lock.chmod(0o644)
    done = subprocess.run(
        [*NOBODY, sys.executable, "-c", TAKE, str(lock)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "taken"


def test_a_new_lock_file_is_open_to_every_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hardware.pcscd as pcscd

    monkeypatch.setattr(pcscd, "LOCK_PATH", tmp_path / "citycard-vpcd.lock")
    lock = pcscd._MachineLock()
    lock.acquire(2)
    lock.release()
    assert (tmp_path / "citycard-vpcd.lock").stat().st_mode & 0o777 == 0o666
