"""`citycard-provision` checks what it needs to record its work before it does the work, and
says what state a device is in when a flash is interrupted.

Defects from exploratory testing:
- a bad --technician or a log that cannot take the record was reported only after the kiosk
  keys were made or the device flashed: nothing recorded, and a re-run refused ("already holds
  a kiosk credential");
- `firmware verify` and `flash` read the package whole: /dev/zero filled the memory, a FIFO hung;
- Ctrl-C during a flash printed click's "Aborted!" (exit 1), left the device half-written in DFU
  mode without a word and without a log record;
- `pack` and `verify` named the signing key differently; `doctor` ended lines with "..".
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cardio.keys import FileKeyStore, public_pem
from firmware_tools import provlog
from firmware_tools.cli import main
from firmware_tools.dfu_protocol import DfuRequest
from firmware_tools.doctor import Problem, Report, render
from firmware_tools.package import build_manifest, pack
from hardware.dfu_sim import FakeDfuDevice, FakeUsbBackend
from tests.test_cli import error_sentence

ROOT = Path(__file__).resolve().parent.parent
VID, PID = 0x1209, 0x2001
IMAGE = bytes((i * 7 + 3) & 0xFF for i in range(50_000))  # 49 blocks of 1024 bytes
TORN = b'{"at": "2026-03-01T09:30:00Z", "technician": "T-1", "action": "kiosk.enroll"}\n{"at": "x'


def invoke(args: Sequence[object], obj: dict[str, Any] | None = None, input: str | None = None) -> Result:
    """Run citycard-provision; an exception other than a deliberate exit fails the test."""
    result = CliRunner().invoke(main, [str(a) for a in args], obj=obj, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} raised instead of printing a sentence:\n{result.output}") from result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def vendor(tmp_path: Path) -> dict[str, Any]:
    store = FileKeyStore(tmp_path / "vendor-keys")
    signer = store.create("vendor")
    keys = tmp_path / "firmware-keys.pem"
    keys.write_text("# Example Vendor\n" + public_pem(signer.public_key))
    package = tmp_path / "fw.ccfw"
    package.write_bytes(pack(IMAGE, build_manifest(IMAGE, VID, PID, "2.1.0"), signer))
    return {"signer": signer, "store": tmp_path / "vendor-keys", "keys": keys, "package": package, "tmp": tmp_path}


def flash(vendor: dict[str, Any], dev: FakeDfuDevice, *extra: object, technician: str = "T-042", log: Path | None = None) -> Result:
    obj = {"usb_backend": FakeUsbBackend([dev]), "sleep": lambda s: None, "reenumerate_s": 0.5}
    log = log or vendor["tmp"] / "prov.log"
    return invoke(["firmware", "flash", vendor["package"], "--keys", vendor["keys"], "--technician", technician,
                   "--log", log, *extra], obj=obj)  # fmt: skip


def untouched(dev: FakeDfuDevice) -> bool:
    return dev.counts.total() == 0 and dev.firmware == b"" and not dev.dfu_mode


# -- defect 1: the technician id and the log are checked before any work ----------------------


def test_flash_with_a_bad_technician_id_leaves_the_device_alone(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200)
    line = error_sentence(flash(vendor, dev, technician="Jane Doe"))
    assert "staff id, not your name" in line
    assert untouched(dev)
    assert not (vendor["tmp"] / "prov.log").exists()


def test_flash_with_a_torn_log_leaves_the_device_and_the_log_alone(vendor: dict[str, Any]) -> None:
    log = vendor["tmp"] / "torn.log"
    log.write_bytes(TORN)
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200, next_bcd_device=0x0201)
    line = error_sentence(flash(vendor, dev, log=log))
    assert line == (
        f"Error: The provisioning log {log} ends with a torn record; keep the file as evidence and start a "
        "new log (give --log a new file name)."
    )
    assert untouched(dev) and log.read_bytes() == TORN
    new_log = vendor["tmp"] / "new.log"
    assert flash(vendor, dev, log=new_log).exit_code == 0  # with a new log it goes through
    assert dev.firmware == IMAGE and provlog.read(new_log)[-1]["result"] == "ok"


def test_flash_with_a_log_that_cannot_be_created_leaves_the_device_alone(vendor: dict[str, Any]) -> None:
    blocker = vendor["tmp"] / "a-file"
    blocker.write_text("not a directory\n")
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200)
    line = error_sentence(flash(vendor, dev, log=blocker / "prov.log"))
    assert line.startswith(f"Error: The provisioning log {blocker / 'prov.log'} cannot be written (")
    assert untouched(dev)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_log_path_that_cannot_be_created_is_refused_even_for_root(tmp_path: Path) -> None:
    with pytest.raises(provlog.ProvisioningLogError, match=r"cannot be written"):
        provlog.check_ready(Path("/proc/citycard/prov.log"), "T-1")
    assert not Path("/proc/citycard").exists()


def test_check_ready_leaves_nothing_behind(tmp_path: Path) -> None:
    log = tmp_path / "new" / "dirs" / "prov.log"
    provlog.check_ready(log, "T-1")
    assert not (tmp_path / "new").exists()  # no empty log, no directory
    provlog.append(log, "T-1", "kiosk.enroll", kiosk_id="k1")
    provlog.check_ready(log, "T-1")
    assert len(provlog.read(log)) == 1
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)
    with pytest.raises(provlog.ProvisioningLogError, match="not a regular file"):
        provlog.check_ready(fifo, "T-1")  # refused at once, not waited on
    with pytest.raises(provlog.ProvisioningLogError, match="is a directory"):
        provlog.check_ready(tmp_path, "T-1")


def _enroll(tmp_path: Path, technician: str, log: Path) -> Result:
    return invoke(["kiosk", "enroll", "kiosk-9", "--state", tmp_path / "ks1", "--key-dir", tmp_path / "ks1keys",
                   "--technician", technician, "--log", log])  # fmt: skip


@pytest.mark.parametrize("problem", ["bad technician", "torn log", "log in a file"])
def test_kiosk_enroll_changes_nothing_when_it_could_not_record_it(tmp_path: Path, problem: str) -> None:
    log = tmp_path / "ks1.log"
    technician = "T-042"
    if problem == "bad technician":
        technician = "Jane Doe"
    elif problem == "torn log":
        log.write_bytes(TORN)
    else:
        (tmp_path / "a-file").write_text("x\n")
        log = tmp_path / "a-file" / "ks1.log"
    error_sentence(_enroll(tmp_path, technician, log))
    assert not (tmp_path / "ks1").exists()  # no kiosk-credential.json, no enroll-request.cose
    assert not (tmp_path / "ks1keys").exists() or not any((tmp_path / "ks1keys").iterdir())  # no key
    good = tmp_path / "good.log"
    result = _enroll(tmp_path, "T-042", good)  # the re-run is not refused
    assert result.exit_code == 0, result.output
    assert [r["action"] for r in provlog.read(good)] == ["kiosk.enroll"]


# -- defect 2: packages and key files are read bounded, regular files only ---------------------


def _provision_process(*args: object, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    def limit_memory() -> None:  # a regression must not eat the machine's memory again
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run(
        [sys.executable, "-m", "firmware_tools.cli", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, preexec_fn=limit_memory,
    )  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", ["verify", "flash"])
def test_a_fifo_as_the_package_is_refused_without_waiting(vendor: dict[str, Any], command: str) -> None:
    fifo = vendor["tmp"] / "fw.ccfw.fifo"
    os.mkfifo(fifo)
    extra = ["--technician", "T-1", "--log", vendor["tmp"] / "p.log"] if command == "flash" else []
    proc = _provision_process("firmware", command, fifo, "--keys", vendor["keys"], *extra, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        f"Error: The package {fifo} is not a regular file; give the firmware package file (.ccfw, at most 16 MiB).\n"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_as_the_package_or_the_keys_is_refused_at_once(vendor: dict[str, Any]) -> None:
    proc = _provision_process("firmware", "verify", "/dev/zero", "--keys", vendor["keys"])
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Error: The package /dev/zero is not a regular file;")
    proc = _provision_process("firmware", "verify", vendor["package"], "--keys", "/dev/zero")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Error: The trusted firmware-keys file /dev/zero is not a regular file;")


def test_an_oversized_package_is_refused_with_a_sentence(vendor: dict[str, Any]) -> None:
    big = vendor["tmp"] / "big.ccfw"
    with big.open("wb") as fh:
        fh.truncate(16 * 1024 * 1024 + 1)  # sparse: no disk is used
    line = error_sentence(invoke(["firmware", "verify", big, "--keys", vendor["keys"]]))
    assert line == f"Error: The package {big} is larger than 16 MiB; give the firmware package file (.ccfw, at most 16 MiB)."
    line = error_sentence(invoke(["firmware", "verify", vendor["tmp"], "--keys", vendor["keys"]]))
    assert "is a directory" in line


# -- defect 3: an interrupted flash says what state the device is in, and is recorded ----------


@dataclass
class InterruptedDevice(FakeDfuDevice):
    """A device whose technician presses Ctrl-C at the `at`-th (from 0) request `interrupt_on`
    (for DFU_DNLOAD: while that block is being sent)."""

    interrupt_on: int = DfuRequest.DNLOAD
    at: int = 10
    seen: int = 0

    def control(self, request_type: int, request: int, value: int, index: int, data: Any) -> int:
        if request == self.interrupt_on and (request != DfuRequest.DNLOAD or len(data)):
            if self.seen == self.at:
                self.at = -1  # once
                raise KeyboardInterrupt
            self.seen += 1
        return super().control(request_type, request, value, index, data)


def test_ctrl_c_during_a_flash_says_how_to_recover_and_is_recorded(vendor: dict[str, Any]) -> None:
    dev = InterruptedDevice(vid=VID, pid=PID, bcd_device=0x0200, transfer_size=1024, next_bcd_device=0x0201)
    result = flash(vendor, dev)
    line = error_sentence(result)  # exit 2, not click's "Aborted!" with 1
    assert "Aborted" not in result.output
    assert line == (
        "Error: Flashing was interrupted after 10 of 49 blocks; the device is left in DFU mode (its bootloader "
        "stays) with an incomplete image: run flash again with the same package to recover it (unplugged "
        "meanwhile, it comes back in DFU mode and can still be flashed)."
    )
    assert dev.dfu_mode and dev.firmware == b""
    record = provlog.read(vendor["tmp"] / "prov.log")[-1]
    assert (record["action"], record["result"], record["blocks"], record["from_version"]) == (
        "firmware.flash", "interrupted", 10, "2.0",
    )  # fmt: skip
    again = flash(vendor, dev)  # what the sentence says to do
    assert again.exit_code == 0, again.output
    assert "already in DFU mode" in again.output and dev.firmware == IMAGE and not dev.dfu_mode
    assert [r["result"] for r in provlog.read(vendor["tmp"] / "prov.log")] == ["interrupted", "ok"]


def test_ctrl_c_before_any_block_says_the_old_firmware_is_there(vendor: dict[str, Any]) -> None:
    dev = InterruptedDevice(vid=VID, pid=PID, bcd_device=0x0200, interrupt_on=DfuRequest.DETACH, at=0)
    line = error_sentence(flash(vendor, dev))
    assert "interrupted before any block was written" in line and "old firmware" in line
    assert provlog.read(vendor["tmp"] / "prov.log")[-1]["blocks"] == 0


# -- the same key name from pack and verify; doctor's lines -----------------------------------


def test_pack_and_verify_name_the_signing_key_the_same_way(vendor: dict[str, Any]) -> None:
    image = vendor["tmp"] / "fw.bin"
    image.write_bytes(IMAGE)
    out = vendor["tmp"] / "packed.ccfw"
    packed = invoke(["firmware", "pack", image, "--device", "1209:2001", "--version", "2.1.0",
                     "--key-dir", vendor["store"], "--label", "vendor", "-o", out])  # fmt: skip
    kid = vendor["signer"].kid.hex()
    assert packed.exit_code == 0 and f"signed by key {kid}." in packed.output
    named = invoke(["firmware", "verify", out, "--keys", vendor["keys"]])
    assert named.exit_code == 0 and f"signed by Example Vendor (key {kid})." in named.output
    unnamed_keys = vendor["tmp"] / "unnamed.pem"
    unnamed_keys.write_text(public_pem(vendor["signer"].public_key))
    unnamed = invoke(["firmware", "verify", out, "--keys", unnamed_keys])
    assert unnamed.exit_code == 0 and f"signed by key {kid}." in unnamed.output


def test_doctor_lines_end_with_one_full_stop_and_do_not_send_you_to_doctor() -> None:
    report = Report(
        problems=[
            Problem("pcscd is not reachable", "The PC/SC service (pcscd) is not running; start it, then try again."),
            Problem(
                "no NFC reader answers at tty:USB0:pn532",
                "No NFC reader at tty:USB0:pn532 (/dev/ttyUSB0 does not exist); check the cable and the path, "
                "or run 'citycard-provision doctor'.",
            ),
        ]
    )
    text = render(report)
    assert ".." not in text and "citycard-provision doctor" not in text
    assert "  - no NFC reader answers at tty:USB0:pn532: No NFC reader at tty:USB0:pn532 (/dev/ttyUSB0 does not exist); check the cable and the path." in text


def test_a_log_that_fails_after_the_work_says_the_work_is_done(
    vendor: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up between the check and the record: the flash is done, and the sentence
    says so and what to note by hand, rather than that something went wrong before it."""

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(provlog, "append", full)
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200, transfer_size=1024)
    line = error_sentence(flash(vendor, dev))
    assert line == (
        "Error: Flashed 1209:2001 with 2.1.0: 49 blocks of 1024 bytes, but it could not be recorded in the "
        "provisioning log (No space left on device); note it by hand: firmware.flash by T-042."
    )
    assert dev.firmware == IMAGE
