"""`citycard-provision doctor` against the fake USB backend, the real pcscd + vpcd and the PN532 pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from click.testing import CliRunner

from firmware_tools.cli import main
from firmware_tools.doctor import acr122_firmware, identify
from hardware.dfu_sim import FakeUsbBackend
from hardware.pcscd import PcscdService
from hardware.pn532_pty import Pn532Pty
from hardware.virtual_t4t import VirtualType4Card
from tests.pcsc_fixtures import (  # noqa: F401 - fixtures
    UidEchoCard,
    VpcdCards,
    fixture_pcscd_service,
    fixture_vpcd_cards,
    requires_pcscd,
)

REPO = Path(__file__).resolve().parent.parent
ACR122U, SCL3711, EPSON, STAR, UNKNOWN = (0x072F, 0x2200), (0x04E6, 0x5591), (0x04B8, 0x0E15), (0x0519, 0x0003), (0x1234, 0x5678)


def _doctor(obj: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(main, ["doctor", "--json", *args], obj=obj, catch_exceptions=False)
    return r.exit_code, json.loads(r.output)


def _devfs(tmp_path: Path, backend: FakeUsbBackend) -> Path:
    import usb.core

    root = tmp_path / "bus-usb"
    for dev in usb.core.find(find_all=True, backend=backend):
        node = root / f"{dev.bus:03d}" / f"{dev.address:03d}"
        node.parent.mkdir(parents=True, exist_ok=True)
        node.touch()
    return root


def test_known_ids_table() -> None:
    assert identify(*ACR122U) is not None and not identify(*ACR122U).assumed  # type: ignore[union-attr]
    star = identify(*STAR)
    assert star is not None and star.assumed and star.kind == "receipt-printer"
    assert identify(*UNKNOWN) is None


@requires_pcscd
def test_usb_inventory_and_problems(tmp_path: Path, pcscd_service: PcscdService) -> None:
    backend = FakeUsbBackend([], others=[ACR122U, SCL3711, EPSON, STAR, UNKNOWN])
    devfs = _devfs(tmp_path, backend)
    epson_node = str(devfs / "002" / "022")  # third plain device: address 22 on bus 2
    obj = {
        "usb_backend": backend,
        "devfs": devfs,
        "access": lambda path, mode: path != epson_node,
        "ccid_driver": tmp_path / "ifd-ccid.bundle",  # missing
        "serial_ports": lambda: [SimpleNamespace(device="/dev/ttyUSB0", description="CP2102", vid=0x10C4, pid=0xEA60)],
    }
    code, rep = _doctor(obj)
    assert code == 1 and rep["ok"] is False
    assert rep["pcsc"]["running"] is True
    assert any(r["name"].startswith("Virtual PCD") for r in rep["pcsc"]["readers"])
    by_id = {u["usb_id"]: u for u in rep["usb"]}
    assert by_id["072f:2200"]["name"] == "ACS ACR122U" and by_id["072f:2200"]["assumed_id"] is False
    assert by_id["0519:0003"]["assumed_id"] is True
    assert by_id["1234:5678"]["name"] is None
    assert by_id["04e6:5591"]["nfc_path"] == "usb:002:021"
    problems = {p["what"]: p["next_step"] for p in rep["problems"]}
    assert any("CCID driver is missing" in w and "libccid" in s for w, s in problems.items())
    assert any("Epson" in w and "no read/write access" in w and "udev" in s for w, s in problems.items())
    assert rep["serial"][0]["nfc_path"] == "tty:ttyUSB0:pn532"

    (tmp_path / "ifd-ccid.bundle").mkdir()
    code, rep = _doctor({**obj, "access": lambda p, m: True})
    (only,) = rep["problems"]
    assert "pcscd does not list it" in only["what"] and "pn533_usb" in only["next_step"]

    r = CliRunner().invoke(main, ["doctor"], obj={**obj, "access": lambda p, m: True})
    assert "072f:2200 ACS ACR122U" in r.output and "(id assumed)" in r.output
    assert "1 problem(s):" in r.output


def test_pcscd_not_running_is_reported(tmp_path: Path) -> None:
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    out = subprocess.run(
        [sys.executable, "-m", "firmware_tools.cli", "doctor", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    rep = json.loads(out.stdout)
    assert rep["pcsc"]["running"] is False
    assert rep["problems"][0]["what"] == "pcscd is not reachable"
    assert "systemctl start pcscd" in rep["problems"][0]["next_step"]


def test_pn532_firmware_version_through_nfcpy() -> None:
    backend = FakeUsbBackend([])
    with Pn532Pty(VirtualType4Card(uid=bytes.fromhex("04A1B2C3D4E5F6")), firmware=(1, 4)) as chip:
        code, rep = _doctor({"usb_backend": backend, "serial_ports": list}, "--nfc", chip.nfc_path, "--nfc", "tty:pts/999999:pn532")
    assert code == 1
    ok, missing = rep["nfc"]
    assert ok["path"] == chip.nfc_path and ok["chipset"] == "PN532v1.4"
    assert "does not exist" in missing["error"]
    assert any(p["what"] == "no NFC reader answers at tty:pts/999999:pn532" for p in rep["problems"])


class Acr122Firmware(UidEchoCard):
    """A card slot whose 'reader' answers the ACR122U firmware pseudo-APDU, as the ACR122U does."""

    def process(self, apdu: bytes) -> bytes:
        if apdu == bytes.fromhex("FF00480000"):
            return b"ACR122U215"
        return super().process(apdu)


@requires_pcscd
def test_acr122_firmware_query(pcscd_service: PcscdService, vpcd_cards: VpcdCards) -> None:
    vpcd_cards.attach(0, Acr122Firmware())
    fw, note = acr122_firmware(pcscd_service.vpcd_reader(0))
    assert fw == "ACR122U215" and note is None
    fw, note = acr122_firmware(pcscd_service.vpcd_reader(1))  # no card, no escape: a next step
    assert fw is None and note is not None and "ifdDriverOptions" in note
