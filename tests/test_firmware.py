"""Signed firmware packages and USB DFU 1.1 flashing against the fake pyusb backend."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cardio import cbor
from cardio.cose import sign1
from cardio.keys import FileKeyStore, SoftwareSigner, public_pem
from firmware_tools import provlog
from firmware_tools.cli import main
from firmware_tools.dfu import (
    DfuDisconnected,
    DfuError,
    DfuSession,
    open_device,
    parse_functional,
)
from firmware_tools.dfu_protocol import DfuAttributes, DfuRequest, DfuState, DfuStatusCode
from firmware_tools.package import (
    FirmwareError,
    build_manifest,
    check_target,
    load_trusted_keys,
    pack,
    read_package,
)
from hardware import dfu_sim
from hardware.dfu_sim import DfuFaults, FakeDfuDevice, FakeUsbBackend

VID, PID = 0x1209, 0x2001
IMAGE = bytes((i * 7 + 3) & 0xFF for i in range(5000))


@pytest.fixture()
def vendor(tmp_path: Path) -> dict[str, Any]:
    store = FileKeyStore(tmp_path / "keys")
    signer = store.create("vendor")
    keys = tmp_path / "firmware-keys.pem"
    keys.write_text("# Example Vendor\n" + public_pem(signer.public_key))
    return {"store": tmp_path / "keys", "signer": signer, "keys": keys, "tmp": tmp_path}


def _package(
    vendor: dict[str, Any], version: str = "2.1.0", image: bytes = IMAGE, vid: int = VID, pid: int = PID, min_bootloader: str | None = None
) -> Path:
    path = vendor["tmp"] / f"fw-{version}-{vid:04x}{pid:04x}.ccfw"
    path.write_bytes(pack(image, build_manifest(image, vid, pid, version, min_bootloader), vendor["signer"]))
    return path


def _flash(vendor: dict[str, Any], backend: FakeUsbBackend, pkg: Path, *extra: str) -> Any:
    obj = {"usb_backend": backend, "sleep": lambda s: None, "reenumerate_s": 0.5}
    args = ["firmware", "flash", str(pkg), "--keys", str(vendor["keys"]), "--technician", "T-042",
            "--log", str(vendor["tmp"] / "prov.log"), *extra]  # fmt: skip
    return CliRunner().invoke(main, args, obj=obj, catch_exceptions=False)


def _one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, result.output
    assert lines[0].rstrip().endswith("."), lines[0]
    return lines[0]


# -- package --------------------------------------------------------------------------------


def test_pack_and_verify_cli(vendor: dict[str, Any]) -> None:
    image = vendor["tmp"] / "fw.bin"
    image.write_bytes(IMAGE)
    out = vendor["tmp"] / "fw.ccfw"
    r = CliRunner().invoke(main, ["firmware", "pack", str(image), "--device", "1209:2001", "--version", "2.1.0",
                                  "--key-dir", str(vendor["store"]), "--label", "vendor", "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["firmware", "verify", str(out), "--keys", str(vendor["keys"]), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["device"] == "1209:2001" and info["version"] == "2.1.0"
    assert info["sha256"] == hashlib.sha256(IMAGE).hexdigest() and info["signed_by"] == "Example Vendor"


def _verify_error(vendor: dict[str, Any], data: bytes) -> str:
    path = vendor["tmp"] / "bad.ccfw"
    path.write_bytes(data)
    r = CliRunner().invoke(main, ["firmware", "verify", str(path), "--keys", str(vendor["keys"])])
    return _one_line_error(r)


def test_unsigned_package_refused(vendor: dict[str, Any]) -> None:
    m = build_manifest(IMAGE, VID, PID, "2.1.0")
    data = cbor.dumps({"format": "citycard-firmware/1", "manifest": m.to_cbor(), "image": IMAGE})
    assert "not signed" in _verify_error(vendor, data)
    data = cbor.dumps({"format": "citycard-firmware/1", "image": IMAGE})
    assert "not signed" in _verify_error(vendor, data)


def test_untrusted_key_refused(vendor: dict[str, Any]) -> None:
    other = SoftwareSigner.generate()
    data = pack(IMAGE, build_manifest(IMAGE, VID, PID, "2.1.0"), other)
    assert "not in the trusted firmware-keys file" in _verify_error(vendor, data)


def test_bad_signature_refused(vendor: dict[str, Any]) -> None:
    data = bytearray(pack(IMAGE, build_manifest(IMAGE, VID, PID, "2.1.0"), vendor["signer"]))
    obj = cbor.loads_strict(bytes(data), max_size=1 << 20)
    signed = bytearray(obj["manifest"])
    signed[-1] ^= 1
    obj["manifest"] = bytes(signed)
    assert "does not verify" in _verify_error(vendor, cbor.dumps(obj))


def test_image_hash_mismatch_refused(vendor: dict[str, Any]) -> None:
    data = pack(IMAGE, build_manifest(IMAGE, VID, PID, "2.1.0"), vendor["signer"])
    obj = cbor.loads_strict(data, max_size=1 << 20)
    obj["image"] = IMAGE[:-1] + b"\x00"
    assert "does not match its signed hash" in _verify_error(vendor, cbor.dumps(obj))


def test_wrong_typ_and_garbage_refused(vendor: dict[str, Any]) -> None:
    m = build_manifest(IMAGE, VID, PID, "2.1.0")
    signed = sign1(vendor["signer"], m.to_cbor(), typ="something-else")
    data = cbor.dumps({"format": "citycard-firmware/1", "manifest": signed, "image": IMAGE})
    assert "not a firmware manifest" in _verify_error(vendor, data)
    assert "not a citycard firmware package" in _verify_error(vendor, b"\x00\x01garbage")
    assert "not a citycard firmware package" in _verify_error(vendor, cbor.dumps({"format": "x"}))


def test_bad_version_and_missing_keys(vendor: dict[str, Any]) -> None:
    with pytest.raises(FirmwareError, match=r"MAJOR\.MINOR\.PATCH"):
        build_manifest(IMAGE, VID, PID, "v2")
    with pytest.raises(FirmwareError, match="does not exist"):
        load_trusted_keys(vendor["tmp"] / "nope.pem")
    empty = vendor["tmp"] / "empty.pem"
    empty.write_text("nothing\n")
    with pytest.raises(FirmwareError, match="holds no PEM"):
        load_trusted_keys(empty)


def test_downgrade_and_mismatch_rules(vendor: dict[str, Any]) -> None:
    pkg = read_package(_package(vendor, "2.1.0").read_bytes(), load_trusted_keys(vendor["keys"]))
    assert check_target(pkg, VID, PID, 0x0200, force=False) is None  # 2.0 -> 2.1.0
    assert check_target(pkg, VID, PID, 0x0201, force=False) is None  # same 2.1: not a downgrade
    with pytest.raises(FirmwareError, match=r"older than the device's 2\.10"):
        check_target(pkg, VID, PID, 0x0210, force=False)  # BCD 0x0210 is 2.10, newer than 2.1
    with pytest.raises(FirmwareError, match=r"older than the device's 2\.2"):
        check_target(pkg, VID, PID, 0x0202, force=False)
    assert "Downgrading" in (check_target(pkg, VID, PID, 0x0202, force=True) or "")
    with pytest.raises(FirmwareError, match="not 1209:2002"):
        check_target(pkg, VID, 0x2002, 0x0100, force=True)


# -- DFU ------------------------------------------------------------------------------------


def test_functional_descriptor_parse() -> None:
    fd = parse_functional(bytes([5, 0x24, 0, 0, 0]) + dfu_sim.functional_descriptor(0x0B, 255, 2048))
    assert fd is not None and fd.transfer_size == 2048 and fd.detach_timeout_ms == 255
    assert fd.will_detach and not fd.manifestation_tolerant and fd.bcd_dfu == 0x0110
    assert parse_functional(b"") is None


@pytest.mark.parametrize("tolerant", [True, False])
@pytest.mark.parametrize("will_detach", [True, False])
def test_good_flash_leaves_exactly_the_image(vendor: dict[str, Any], tolerant: bool, will_detach: bool) -> None:
    attrs = DfuAttributes.CAN_DNLOAD | (DfuAttributes.MANIFESTATION_TOLERANT if tolerant else 0) | (DfuAttributes.WILL_DETACH if will_detach else 0)
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200, transfer_size=512, attributes=attrs, dfu_pid=0xDF11, next_bcd_device=0x0201)
    backend = FakeUsbBackend([dev], others=[(0x072F, 0x2200)])
    r = _flash(vendor, backend, _package(vendor, "2.1.0"))
    assert r.exit_code == 0, r.output
    assert dev.firmware == IMAGE
    assert not dev.dfu_mode and dev.state == DfuState.APP_IDLE
    assert dev.counts["DFU_DNLOAD"] == 10 + 1  # ceil(5000 / 512) blocks + the zero-length one
    assert dev.counts["DFU_DETACH"] == 1
    assert "Flashed 1209:2001 with 2.1.0: 10 blocks of 512 bytes" in r.output
    rec = provlog.read(vendor["tmp"] / "prov.log")[-1]
    assert rec["action"] == "firmware.flash" and rec["technician"] == "T-042"
    assert rec["version"] == "2.1.0" and rec["from_version"] == "2.0" and rec["result"] == "ok"


def test_flash_honours_poll_timeout_with_real_sleep() -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=256, busy_polls=1, poll_timeout_ms=3, manifest_ms=3)
    backend = FakeUsbBackend([dev])
    session = DfuSession(open_device(backend, VID, PID), backend)
    report = session.flash(IMAGE[:1000])
    assert dev.firmware == IMAGE[:1000]
    assert report.busy_polls == 4 and report.download["DFU_GETSTATUS"] == 4 * 2 + 2


def test_host_that_ignores_poll_timeout_is_stalled() -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=256, busy_polls=1, poll_timeout_ms=200)
    backend = FakeUsbBackend([dev])
    session = DfuSession(open_device(backend, VID, PID), backend, sleep=lambda s: None)
    with pytest.raises(DfuError, match="stalled DFU_GETSTATUS at block 0") as err:
        session.flash(IMAGE[:600], retries=0)
    assert err.value.state == DfuState.DFU_ERROR and err.value.status == DfuStatusCode.ERR_STALLEDPKT


def test_downgrade_refused_unless_forced(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0300)
    backend = FakeUsbBackend([dev])
    pkg = _package(vendor, "2.1.0")
    line = _one_line_error(_flash(vendor, backend, pkg))
    assert "older than the device's 3.0" in line and "--force" in line
    assert dev.counts.total() == 0 and dev.firmware == b""
    r = _flash(vendor, backend, pkg, "--force")
    assert r.exit_code == 0, r.output
    assert dev.firmware == IMAGE and "Downgrading from 3.0 to 2.1.0" in r.output
    assert provlog.read(vendor["tmp"] / "prov.log")[-1]["forced"] is True


def test_mismatched_device_refused(vendor: dict[str, Any]) -> None:
    backend = FakeUsbBackend([FakeDfuDevice(vid=VID, pid=PID)])
    line = _one_line_error(_flash(vendor, backend, _package(vendor, pid=0x2002)))
    assert "No DFU-capable USB device 1209:2002" in line
    line = _one_line_error(_flash(vendor, backend, _package(vendor), "--device", "1209:2002"))
    assert "is for USB device 1209:2001, not 1209:2002" in line
    line = _one_line_error(_flash(vendor, backend, _package(vendor), "--device", "zz"))
    assert "VID:PID" in line


def test_no_device_two_devices_no_technician(vendor: dict[str, Any]) -> None:
    pkg = _package(vendor)
    line = _one_line_error(_flash(vendor, FakeUsbBackend([], others=[(0x072F, 0x2200)]), pkg))
    assert "plug it in" in line
    two = FakeUsbBackend([FakeDfuDevice(vid=VID, pid=PID), FakeDfuDevice(vid=VID, pid=PID, port=4)])
    assert "unplug all but the one" in _one_line_error(_flash(vendor, two, pkg))
    r = CliRunner().invoke(main, ["firmware", "flash", str(pkg), "--keys", str(vendor["keys"])], obj={"usb_backend": two})
    assert "--technician" in _one_line_error(r)


@pytest.mark.parametrize("status,text", [(DfuStatusCode.ERR_WRITE, "errWRITE"), (DfuStatusCode.ERR_VERIFY, "errVERIFY")])
def test_error_status_at_block_fails_with_sentence(vendor: dict[str, Any], status: int, text: str) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=1024, faults=DfuFaults(error_at_block=3, error_status=status, error_once=False))
    line = _one_line_error(_flash(vendor, FakeUsbBackend([dev]), _package(vendor), "--retries", "1"))
    assert "error at block 3" in line and text in line and "run flash again" in line
    assert dev.firmware == b"" and dev.dfu_mode
    assert dev.counts["DFU_CLRSTATUS"] >= 1  # cleared before the retry
    assert provlog.read(vendor["tmp"] / "prov.log")[-1]["result"] == "failed"  # the device is left without firmware


def test_transient_error_is_recovered(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=1024, faults=DfuFaults(error_at_block=2, error_status=DfuStatusCode.ERR_WRITE))
    r = _flash(vendor, FakeUsbBackend([dev]), _package(vendor))
    assert r.exit_code == 0, r.output
    assert dev.firmware == IMAGE and dev.counts["DFU_CLRSTATUS"] == 1
    assert "after 1 recovered error(s)" in r.output


def test_recovery_from_leftover_error_and_download(vendor: dict[str, Any]) -> None:
    for start, request in ((DfuState.DFU_ERROR, "DFU_CLRSTATUS"), (DfuState.DNLOAD_IDLE, "DFU_ABORT")):
        dev = FakeDfuDevice(vid=VID, pid=0xDF11, start_in_dfu=True, start_state=start)
        r = _flash(vendor, FakeUsbBackend([dev]), _package(vendor))
        assert r.exit_code == 0, r.output
        assert "already in DFU mode" in r.output
        assert dev.counts[request] == 1 and dev.firmware == IMAGE


@pytest.mark.parametrize(
    "faults,expect",
    [
        (DfuFaults(stall_request=DfuRequest.DETACH), "refused DFU_DETACH"),
        (DfuFaults(stall_request=DfuRequest.DNLOAD, stall_occurrence=4, stall_always=False), "stalled DFU_DNLOAD at block 3"),
        (DfuFaults(stall_request=DfuRequest.GETSTATUS, stall_always=True), "stalled DFU_GETSTATUS"),
        (DfuFaults(manifest_status=DfuStatusCode.ERR_FIRMWARE), "during manifestation"),
    ],
)
def test_stalls_and_manifest_errors(vendor: dict[str, Any], faults: DfuFaults, expect: str) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=1024, faults=faults)
    line = _one_line_error(_flash(vendor, FakeUsbBackend([dev]), _package(vendor), "--retries", "0"))
    assert expect in line, line


def test_single_stall_is_recovered(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=1024, faults=DfuFaults(stall_request=DfuRequest.DNLOAD, stall_occurrence=3))
    r = _flash(vendor, FakeUsbBackend([dev]), _package(vendor))
    assert r.exit_code == 0, r.output
    assert dev.firmware == IMAGE and dev.counts["DFU_CLRSTATUS"] == 1


def test_disconnect_mid_flash(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=1024, faults=DfuFaults(disconnect_at_block=2))
    line = _one_line_error(_flash(vendor, FakeUsbBackend([dev]), _package(vendor)))
    assert "disconnected during DFU_DNLOAD" in line and "reconnect it" in line
    backend = FakeUsbBackend([FakeDfuDevice(vid=VID, pid=PID, faults=DfuFaults(disconnect_at_block=0))])
    session = DfuSession(open_device(backend, VID, PID), backend, sleep=lambda s: None)
    with pytest.raises(DfuDisconnected):
        session.flash(IMAGE)


def test_device_that_never_reenumerates(vendor: dict[str, Any]) -> None:
    class Stuck(FakeDfuDevice):
        def reset(self) -> None:
            self.connected = False

    dev = Stuck(vid=VID, pid=PID)
    line = _one_line_error(_flash(vendor, FakeUsbBackend([dev]), _package(vendor)))
    assert "did not come back in DFU mode" in line


def test_not_a_dfu_device_and_zero_transfer_size() -> None:
    backend = FakeUsbBackend([FakeDfuDevice(vid=VID, pid=PID, transfer_size=0)])
    session = DfuSession(open_device(backend, VID, PID), backend, sleep=lambda s: None)
    with pytest.raises(DfuError, match="wTransferSize 0"):
        session.flash(IMAGE)
    with pytest.raises(DfuError, match="image is empty"):
        session.flash(b"")


def test_min_bootloader_and_new_version_read_back(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200, bootloader_bcd=0x0103, next_bcd_device=0x0201)
    backend = FakeUsbBackend([dev])
    line = _one_line_error(_flash(vendor, backend, _package(vendor, min_bootloader="1.4.0")))
    assert "bootloader is 1.3 but the package needs 1.4.0" in line
    assert dev.counts["DFU_DNLOAD"] == 0 and dev.dfu_mode  # refused before block 0
    dev.bootloader_bcd = 0x0104
    r = _flash(vendor, backend, _package(vendor, min_bootloader="1.4.0"))
    assert r.exit_code == 0, r.output
    assert dev.firmware == IMAGE and "the device now reports 2.1" in r.output
