"""Technician tools: what the exploratory test of `citycard-provision` found (API addresses,
flash results and their log records, the provisioning log's checks, key files, doctor's text
output, damaged firmware packages, option checks)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from cardio.keys import FileKeyStore, public_pem
from cardio.urls import http_url
from firmware_tools import doctor, provlog, reader_setup
from firmware_tools.cli import main
from firmware_tools.dfu_protocol import DfuState
from firmware_tools.package import (
    FirmwareError,
    build_manifest,
    load_trusted_keys,
    pack,
    read_package,
)
from firmware_tools.provlog import ProvisioningLogError
from hardware.dfu_sim import DfuFaults, FakeDfuDevice, FakeUsbBackend

VID, PID = 0x1209, 0x2001
IMAGE = bytes((i * 5 + 1) & 0xFF for i in range(3000))
GOOD = b'{"action": "kiosk.enroll", "at": "2026-03-01T09:30:00Z", "kiosk_id": "kiosk-7", "technician": "T-1"}\n'


@pytest.fixture()
def vendor(tmp_path: Path) -> dict[str, Any]:
    signer = FileKeyStore(tmp_path / "keys").create("vendor")
    keys = tmp_path / "firmware-keys.pem"
    keys.write_text("# Example Vendor\n" + public_pem(signer.public_key))
    pkg = tmp_path / "fw.ccfw"
    pkg.write_bytes(pack(IMAGE, build_manifest(IMAGE, VID, PID, "2.1.0"), signer))
    return {"keys": keys, "pkg": pkg, "log": tmp_path / "prov.log", "tmp": tmp_path}


def _flash(vendor: dict[str, Any], dev: FakeDfuDevice, *extra: str) -> Any:
    obj = {"usb_backend": FakeUsbBackend([dev]), "sleep": lambda s: None, "reenumerate_s": 0.2}
    args = ["firmware", "flash", str(vendor["pkg"]), "--keys", str(vendor["keys"]), "--technician", "T-042",
            "--log", str(vendor["log"]), *extra]  # fmt: skip
    return CliRunner().invoke(main, args, obj=obj, catch_exceptions=False)


def _error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert line.rstrip().endswith("."), line
    return line


# -- 3: an API address with spaces or control characters ------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/path with space", "http://127.0.0.1:1\n", "https://x.example/\tx", "http://x.example/\x7f"])
def test_http_url_refuses_spaces_and_control_characters(url: str) -> None:
    assert http_url(url) is None
    assert http_url("https://cards.city.example/api") is not None


def test_reader_setup_with_a_space_in_the_api_address_is_one_sentence(tmp_path: Path) -> None:
    args = ["reader", "setup", "--venue", "pool", "--no-reader", "--technician", "T-042", "--log", str(tmp_path / "r.log"),
            "--api", "http://127.0.0.1:1/path with space", "--config", str(tmp_path / "t.toml"), "--trust", str(tmp_path / "trust")]  # fmt: skip
    line = _error(CliRunner().invoke(main, args))
    assert "spaces or control characters" in line and "https://cards.city.example" in line
    assert not (tmp_path / "trust").exists()


def test_an_http_protocol_error_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: Any, **k: Any) -> Any:
        raise http.client.BadStatusLine("SSH-2.0-OpenSSH")

    monkeypatch.setattr(reader_setup.urllib.request, "urlopen", fail)
    with pytest.raises(reader_setup.SetupError, match="cannot be reached"):
        reader_setup.fetch_root_fingerprint("http://127.0.0.1:22")


# -- 4 and 5: what a flash leaves on the device is what the command says and records --------


class StaysInDfu(FakeDfuDevice):
    """A bootloader that rejects the new image at the reset and stays in DFU mode."""

    def reset(self) -> None:
        if self.dfu_mode and self._manifested:
            self._manifested = False
            self.state = DfuState.DFU_IDLE
            self.resets += 1
            return
        super().reset()


def test_a_device_left_in_its_bootloader_is_not_a_success(vendor: dict[str, Any]) -> None:
    line = _error(_flash(vendor, StaysInDfu(vid=VID, pid=PID, bcd_device=0x0200)))
    assert "did not start the new firmware" in line and "bootloader" in line and "run flash again" in line
    rec = provlog.read(vendor["log"])[-1]
    assert rec["result"] == "failed" and rec["blocks"] == 3


def test_a_device_reporting_another_version_is_unconfirmed(vendor: dict[str, Any]) -> None:
    r = _flash(vendor, FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0100))  # keeps reporting 1.0
    assert r.exit_code == 0, r.output  # written and accepted; the version is what is in doubt
    assert "the device now reports 1.0, not 2.1.0" in r.output and "recorded as unconfirmed" in r.output
    assert provlog.read(vendor["log"])[-1]["result"] == "unconfirmed"


def test_a_device_reporting_the_new_version_is_ok(vendor: dict[str, Any]) -> None:
    r = _flash(vendor, FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0200, next_bcd_device=0x0201))
    assert r.exit_code == 0, r.output
    assert "the device now reports 2.1" in r.output
    assert provlog.read(vendor["log"])[-1]["result"] == "ok"


@pytest.mark.parametrize(
    "faults,blocks",
    [
        (DfuFaults(error_at_block=2, error_once=False), 2),
        (DfuFaults(disconnect_at_block=1), 1),
    ],
)
def test_a_failed_flash_is_recorded(vendor: dict[str, Any], faults: DfuFaults, blocks: int) -> None:
    line = _error(_flash(vendor, FakeDfuDevice(vid=VID, pid=PID, faults=faults), "--retries", "0"))
    assert "run flash again" in line or "reconnect" in line
    rec = provlog.read(vendor["log"])[-1]
    assert rec["action"] == "firmware.flash" and rec["result"] == "failed" and rec["blocks"] == blocks


def test_a_flash_refused_before_the_device_is_touched_is_not_recorded(vendor: dict[str, Any]) -> None:
    dev = FakeDfuDevice(vid=VID, pid=PID, bcd_device=0x0300)  # a downgrade
    _error(_flash(vendor, dev))
    assert dev.counts.total() == 0 and not vendor["log"].exists()


# -- 6 and 7: the provisioning log holds only records as the tool writes them ----------------


@pytest.mark.parametrize(
    "line,why",
    [
        (b'{"action": "x", "at": "2026-03-01T09:30:00Z", "name": "Erika Beispiel", "technician": "x"}\n', "name"),
        (b'{"action": "kiosk.enroll", "at": "2026", "technician": "T-1"}\n', "time"),
        (b'{"action": "kiosk.enroll", "at": "2026-13-01T09:30:00Z", "technician": "T-1"}\n', "time"),
        (b'{"action": "kiosk.enroll", "at": "2026-03-01T09:30:00Z", "technician": "Erika Beispiel"}\n', "technician"),
        (b'{"action": "Kiosk Enroll", "at": "2026-03-01T09:30:00Z", "technician": "T-1"}\n', "action"),
        (b'{"action": "kiosk.enroll", "at": "2026-03-01T09:30:00Z", "blocks": 1.5, "technician": "T-1"}\n', "blocks"),
        (b'{"at": "2026-03-01T09:30:00Z", "action": "kiosk.enroll", "technician": "T-1"}\n', "not written"),
        (b'{"action": "kiosk.enroll", "at": "2026-03-01T09:30:00Z"}\n', "technician"),
    ],
)
def test_a_record_the_tool_would_not_write_is_refused(tmp_path: Path, line: bytes, why: str) -> None:
    log = tmp_path / "p.log"
    log.write_bytes(GOOD + line)
    with pytest.raises(ProvisioningLogError, match="Line 2") as err:
        provlog.read(log)
    assert why in str(err.value) and "keep the file as evidence" in str(err.value)
    with pytest.raises(ProvisioningLogError):
        provlog.check_ready(log, "T-042")


def test_records_the_tool_wrote_are_read_back(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    log.write_bytes(GOOD)
    provlog.append(log, "T-042", "firmware.flash", usb_id="1209:2001", forced=False, blocks=3, result="ok")
    assert [r["action"] for r in provlog.read(log)] == ["kiosk.enroll", "firmware.flash"]


def test_log_show_prints_the_whole_records_of_a_torn_log(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    provlog.append(log, "T-042", "kiosk.enroll", kiosk_id="kiosk-7")
    provlog.append(log, "T-042", "kiosk.install", kiosk_id="kiosk-7")
    with log.open("ab") as fh:
        fh.write(b'{"at"')
    r = CliRunner().invoke(main, ["log", "show", "--log", str(log)])
    assert r.exit_code == 2
    assert "T-042 kiosk.enroll" in r.output and "T-042 kiosk.install" in r.output
    assert r.output.index("kiosk.install") < r.output.index("Error:")
    assert "torn record" in r.output and "keep the file as evidence" in r.output


def test_log_show_skips_a_bad_line_but_shows_the_others(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    log.write_bytes(GOOD + b'{"name": "Erika Beispiel"}\n' + GOOD.replace(b"kiosk-7", b"kiosk-8"))
    r = CliRunner().invoke(main, ["log", "show", "--log", str(log)])
    assert r.exit_code == 2
    assert "kiosk_id=kiosk-7" in r.output and "kiosk_id=kiosk-8" in r.output
    assert "Erika" not in r.output  # what a bad line holds is not repeated
    assert "Line 2" in r.output and "keep the file as evidence" in r.output


# -- 8: a key that is not a key names its source and the remedy -------------------------------


def test_a_damaged_firmware_keys_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "badkeys.pem"
    bad.write_text("# Example Vendor\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(FirmwareError) as err:
        load_trusted_keys(bad)
    assert str(bad) in str(err.value) and "Example Vendor" in str(err.value)
    assert "install the city's file again" in str(err.value)


def test_an_api_answer_that_is_not_a_root_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *a: object) -> None:
            pass

        def read(self, n: int) -> bytes:
            return b"<html>login</html>"

    monkeypatch.setattr(reader_setup.urllib.request, "urlopen", lambda *a, **k: Answer())
    with pytest.raises(reader_setup.SetupError) as err:
        reader_setup.fetch_root_fingerprint("http://127.0.0.1:18579")
    assert "http://127.0.0.1:18579 did not send a root key" in str(err.value) and "check the address" in str(err.value)


def test_a_damaged_pinned_root_key_is_named(tmp_path: Path) -> None:
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "root-key.pem").write_text("damaged\n")
    with pytest.raises(reader_setup.SetupError) as err:
        reader_setup.pin_and_sync(trust, "http://127.0.0.1:1", "AB" * 32)
    assert str(trust / "root-key.pem") in str(err.value) and "fresh trust directory" in str(err.value)


def test_kiosk_install_with_a_root_key_file_that_is_not_a_key(tmp_path: Path) -> None:
    state, log = tmp_path / "kst", tmp_path / "k.log"
    r = CliRunner().invoke(main, ["kiosk", "enroll", "kiosk-7", "--state", str(state), "--key-dir", str(tmp_path / "kkeys"),
                                  "--technician", "T-042", "--log", str(log)])  # fmt: skip
    assert r.exit_code == 0, r.output
    notakey, tl = tmp_path / "img.bin", tmp_path / "trust-list.cose"
    notakey.write_bytes(b"\x00\x01 not a key")
    tl.write_bytes(b"\xd2")
    r = CliRunner().invoke(main, ["kiosk", "install", "--state", str(state), "--root-key", str(notakey), "--trust-list", str(tl),
                                  "--technician", "T-042", "--log", str(log)])  # fmt: skip
    line = _error(r)
    assert str(notakey) in line and "root-key.pem" in line


# -- 11: doctor's text output carries the --nfc paths ------------------------------------------


def test_doctor_text_shows_the_nfc_paths(tmp_path: Path) -> None:
    port = SimpleNamespace(device="/dev/ttyUSB3", description="CP2102", vid=0x10C4, pid=0xEA60)
    backend = FakeUsbBackend([], others=[(0x04E6, 0x5591), (0x10C4, 0xEA60)])
    obj = {"usb_backend": backend, "serial_ports": lambda: [port], "devfs": tmp_path}
    r = CliRunner().invoke(main, ["doctor"], obj=obj, catch_exceptions=False)
    rep = json.loads(CliRunner().invoke(main, ["doctor", "--json"], obj=obj, catch_exceptions=False).output)
    usb_path = next(u["nfc_path"] for u in rep["usb"] if u["usb_id"] == "04e6:5591")
    assert f"--nfc {usb_path}" in r.output
    assert "--nfc tty:ttyUSB3:pn532" in r.output
    assert "ttyUSB0" not in r.output and "ttyUSB0" not in json.dumps(rep)


def test_render_of_a_report() -> None:
    report = doctor.Report()
    report.usb.append({"usb_id": "04e6:5591", "bus": 2, "address": 20, "name": "SCM SCL3711", "kind": "nfcpy-reader",
                       "assumed_id": False, "version": "1.00", "nfc_path": "usb:002:020"})  # fmt: skip
    report.serial.append({"device": "/dev/ttyUSB3", "description": "CP2102", "usb_id": "10c4:ea60", "name": "CP210x", "nfc_path": "tty:ttyUSB3:pn532"})
    text = doctor.render(report)
    assert "usb:002:020" in text and "tty:ttyUSB3:pn532" in text


# -- 12: a cut-short package, and bytes after the package --------------------------------------


def test_a_truncated_package_is_called_incomplete(vendor: dict[str, Any]) -> None:
    data, keys = vendor["pkg"].read_bytes(), load_trusted_keys(vendor["keys"])
    for cut in (data[:-1], data[: len(data) // 2], data[:3]):
        with pytest.raises(FirmwareError, match="incomplete") as err:
            read_package(cut, keys)
        assert "download it again" in str(err.value)
    with pytest.raises(FirmwareError, match="not CBOR"):
        read_package(b"\xff" + IMAGE, keys)
    with pytest.raises(FirmwareError, match="empty"):
        read_package(b"", keys)


def test_bytes_after_the_package_are_refused(vendor: dict[str, Any]) -> None:
    data, keys = vendor["pkg"].read_bytes(), load_trusted_keys(vendor["keys"])
    with pytest.raises(FirmwareError, match="after the package") as err:
        read_package(data + b"\0", keys)
    assert "download it again" in str(err.value)
    assert read_package(data, keys).manifest.version == "2.1.0"


# -- minor: option checks and --help ------------------------------------------------------------


def test_negative_timeouts_are_refused(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["kiosk", "self-test", "--state", str(tmp_path), "--timeout", "-1", "--technician", "T-1"])
    assert r.exit_code == 2 and "--timeout" in r.output
    r = CliRunner().invoke(main, ["reader", "setup", "--config", "t.toml", "--trust", "t", "--venue", "pool", "--api", "http://x",
                                  "--timeout", "-1", "--technician", "T-1"])  # fmt: skip
    assert r.exit_code == 2 and "--timeout" in r.output


def test_help_names_the_environment_variables() -> None:
    out = CliRunner().invoke(main, ["firmware", "flash", "--help"], terminal_width=200).output
    assert "CITYCARD_TECHNICIAN" in out and "CITYCARD_FIRMWARE_KEYS" in out and "CITYCARD_PROVLOG" in out
