"""The append-only provisioning log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from firmware_tools import provlog
from firmware_tools.cli import main
from firmware_tools.provlog import ProvisioningLogError


def test_append_only_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "state" / "provisioning.log"
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    provlog.append(log, "T-042", "firmware.flash", at=at, usb_id="1209:2001", version="2.1.0")
    first = log.read_bytes()
    provlog.append(log, "T-042", "reader.setup", venue="pool-north", fingerprint="AB" * 32)
    data = log.read_bytes()
    assert data.startswith(first)  # appended, never rewritten
    lines = data.decode().splitlines()
    assert json.loads(lines[0]) == {
        "at": "2026-03-01T09:30:00Z", "technician": "T-042", "action": "firmware.flash",
        "usb_id": "1209:2001", "version": "2.1.0",
    }  # fmt: skip
    assert [r["action"] for r in provlog.read(log)] == ["firmware.flash", "reader.setup"]
    r = CliRunner().invoke(main, ["log", "show", "--log", str(log)])
    assert r.exit_code == 0 and "T-042 reader.setup" in r.output and "venue=pool-north" in r.output


def test_refuses_personal_data_and_bad_ids(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    with pytest.raises(ProvisioningLogError, match="does not take name"):
        provlog.append(log, "T-1", "kiosk.self-test", name="Ada Lovelace")
    with pytest.raises(ProvisioningLogError, match="staff id"):
        provlog.append(log, "Ada Lovelace", "kiosk.self-test")
    with pytest.raises(ProvisioningLogError, match="short string"):
        provlog.append(log, "T-1", "kiosk.self-test", result={"nested": 1})
    assert not log.exists()


def test_refuses_to_extend_a_tampered_log(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    provlog.append(log, "T-1", "kiosk.enroll", kiosk_id="k1")
    with log.open("ab") as fh:
        fh.write(b'{"at": "x", "technician": "T-1"')  # torn or edited
    before = log.read_bytes()
    with pytest.raises(ProvisioningLogError, match="torn record"):
        provlog.append(log, "T-1", "kiosk.enroll", kiosk_id="k2")
    assert log.read_bytes() == before
    log.write_bytes(b"not json\n")
    with pytest.raises(ProvisioningLogError, match="is not a record"):
        provlog.read(log)
    r = CliRunner().invoke(main, ["log", "show", "--log", str(log)])
    assert r.exit_code == 2 and r.output.startswith("Error: Line 1")
