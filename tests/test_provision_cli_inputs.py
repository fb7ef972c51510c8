"""`citycard-provision` and what it is given: output paths, version strings, log paths and
enrolment request files. Every failure is one "Error: ..." sentence that names the path the
person gave and says what to do (exit status 2); a package is refused when it is made, not at
every later step."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cardio.errors import CitycardError
from cardio.files import write_atomic
from cardio.keys import FileKeyStore, public_pem
from firmware_tools.cli import DEFAULT_LOG, main
from tests.test_cli import error_sentence, run

ROOT = Path(__file__).resolve().parent.parent
IMAGE = bytes((i * 7 + 3) & 0xFF for i in range(3000))


def cli(*args: object, env: dict[str, str | None] | None = None) -> Result:
    return run(main, args, env)


@pytest.fixture
def vendor(tmp_path: Path) -> dict[str, Any]:
    store = tmp_path / "keys"
    signer = FileKeyStore(store).create("vendor")
    keys = tmp_path / "firmware-keys.pem"
    keys.write_text("# Example Vendor\n" + public_pem(signer.public_key))
    image = tmp_path / "fw.bin"
    image.write_bytes(IMAGE)
    return {"store": store, "keys": keys, "image": image, "tmp": tmp_path}


def pack_args(vendor: dict[str, Any], out: object, *extra: object) -> list[object]:
    return ["firmware", "pack", vendor["image"], "--device", "1209:2001", "--version", "1.2.3",
            "--key-dir", vendor["store"], "--label", "vendor", "-o", out, *extra]  # fmt: skip


# -- defect 1: write_atomic names the user's path, never its temporary file --------------------


def test_write_atomic_error_names_the_target_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "x.pkg"

    def refuse(src: str, dst: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", src, None, str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError) as caught:
        write_atomic(target, b"data")
    exc = caught.value
    assert str(exc) == (
        f"Cannot write {target} (Permission denied); fix its permissions or choose a directory "
        "you can write to."
    )
    # typed for the command lines, and still the OSError it was for callers that catch that
    assert isinstance(exc, CitycardError) and isinstance(exc, OSError)
    assert (exc.errno, exc.strerror, exc.filename) == (errno.EACCES, "Permission denied", str(target))
    assert list(target.parent.iterdir()) == []  # the temporary file is gone


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_pack_to_a_path_that_cannot_be_written(vendor: dict[str, Any]) -> None:
    """Was: `Error: No such file or directory (/proc/.x.pkg.tuu8mpaj); check the path ...`."""
    line = error_sentence(cli(*pack_args(vendor, "/proc/x.pkg")))
    assert line == (
        "Error: Cannot write /proc/x.pkg (No such file or directory); choose a directory you "
        "can write to."
    )


def test_request_check_to_an_out_dir_that_cannot_be_written(tmp_path: Path) -> None:
    request = _enrolment_request(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    line = error_sentence(cli("kiosk", "request-check", request, "--out-dir", blocker / "keys"))
    assert line.startswith(f"Error: Cannot write {blocker / 'keys' / 'signing-key.pem'} (")
    assert line.endswith("; choose a directory you can write to.")


# -- defect 6: pack refuses a minimum bootloader version that verify and flash would refuse ----


def test_pack_refuses_a_bad_min_bootloader(vendor: dict[str, Any]) -> None:
    out = vendor["tmp"] / "mb.pkg"
    line = error_sentence(cli(*pack_args(vendor, out, "--min-bootloader", "x")))
    assert line == (
        "Error: The minimum bootloader version 'x' is not MAJOR.MINOR.PATCH; give it as three "
        "numbers, e.g. 1.2.0."
    )
    assert not out.exists()  # no package that every later step refuses


def test_pack_with_a_good_min_bootloader_verifies(vendor: dict[str, Any]) -> None:
    out = vendor["tmp"] / "ok.pkg"
    assert cli(*pack_args(vendor, out, "--min-bootloader", "1.0.0")).exit_code == 0
    result = cli("firmware", "verify", out, "--keys", vendor["keys"])
    assert result.exit_code == 0 and result.stdout.startswith("OK: firmware 1.2.3"), result.output


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_pack_refuses_an_image_that_is_not_a_regular_file(vendor: dict[str, Any]) -> None:
    """An endless device as the image is refused at once (it was read until memory ran out)."""
    args = [str(a) for a in pack_args(vendor, vendor["tmp"] / "z.pkg")]
    args[2] = "/dev/zero"
    proc = subprocess.run(
        [sys.executable, "-m", "firmware_tools.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "Error: The image /dev/zero is not a regular file; give the firmware image file "
        "(at most 16 MiB).\n"
    )


# -- defect 7: a log path that does not exist is not an empty log ------------------------------


def test_log_show_of_a_mistyped_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist.log"
    expected = f"Error: There is no provisioning log at {missing}; check the path."
    assert error_sentence(cli("log", "show", "--log", missing)) == expected
    assert error_sentence(cli("log", "show", env={"CITYCARD_PROVLOG": str(missing)})) == expected


@pytest.mark.skipif(DEFAULT_LOG.exists(), reason="this machine has a provisioning log")
def test_log_show_of_the_default_log_before_any_record() -> None:
    result = cli("log", "show", env={"CITYCARD_PROVLOG": None})
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.startswith("The provisioning log is empty")


def test_log_show_of_an_empty_log_says_so(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    log.write_bytes(b"")
    result = cli("log", "show", "--log", log)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"The provisioning log {log} is empty.\n"


# -- defect 8: a request file that is not one says what to do ---------------------------------


def _enrolment_request(tmp_path: Path) -> Path:
    state = tmp_path / "kiosk-state"
    result = cli("kiosk", "enroll", "k1", "--state", state, "--key-dir", tmp_path / "kiosk-keys",
                 "--technician", "T-1", "--log", tmp_path / "prov.log")  # fmt: skip
    assert result.exit_code == 0, result.output
    return state / "enroll-request.cose"


ASK_AGAIN = "ask the kiosk's technician for a new copy of its enroll-request.cose."


def test_request_check_of_a_file_that_is_not_a_request(tmp_path: Path) -> None:
    garbage = tmp_path / "g.cose"
    garbage.write_bytes(b"garbage\n")
    line = error_sentence(cli("kiosk", "request-check", garbage, "--out-dir", tmp_path / "o"))
    assert line == f"Error: The enrolment request is not a tagged COSE_Sign1; {ASK_AGAIN}"


def test_request_check_of_a_truncated_request(tmp_path: Path) -> None:
    request = _enrolment_request(tmp_path)
    cut = tmp_path / "cut.cose"
    cut.write_bytes(request.read_bytes()[:50])
    line = error_sentence(cli("kiosk", "request-check", cut, "--out-dir", tmp_path / "o"))
    assert line == f"Error: The enrolment request is truncated; {ASK_AGAIN}"
    assert not (tmp_path / "o").exists()
    # the whole file still goes through
    assert cli("kiosk", "request-check", request, "--out-dir", tmp_path / "o").exit_code == 0
