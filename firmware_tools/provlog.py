"""The append-only provisioning log of a terminal or kiosk.

One JSON object per line: `{"at": ISO-8601 UTC, "technician": id, "action": name, ...details}`.
Only provisioning facts go in (device ids, versions, fingerprints, file names): the details are
checked against an allow-list of keys and value types, so a resident's data cannot end up here
(design principle 2). The file is opened with O_APPEND and every record is fsynced (and the
directory once, when the file is created). It is never rewritten: `append` refuses a log whose
existing content is not a sequence of complete records, and the module offers no way to edit
or truncate it.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError

ALLOWED_DETAILS = frozenset(
    {
        "device", "usb_id", "version", "from_version", "package", "sha256", "signed_by",
        "forced", "fingerprint", "kid", "kiosk_id", "venue", "api_url", "reader", "result",
        "config", "store", "blocks", "trust_list_version",
    }
)  # fmt: skip
_TECHNICIAN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ACTION = re.compile(r"[a-z][a-z0-9.-]{0,63}")


class ProvisioningLogError(CitycardError):
    """A record that may not be written, or a log that was tampered with."""


def _record(technician: str, action: str, details: dict[str, Any], at: datetime | None) -> bytes:
    if not _TECHNICIAN.fullmatch(technician):
        raise ProvisioningLogError(
            "The technician id must be 1-64 letters, digits, '.', '_' or '-' (your staff id, not your name); pass --technician."
        )
    if not _ACTION.fullmatch(action):
        raise ProvisioningLogError(f"'{action}' is not a provisioning action name.")
    unknown = set(details) - ALLOWED_DETAILS
    if unknown:
        raise ProvisioningLogError(
            f"The provisioning log does not take {', '.join(sorted(unknown))}; it records only device and key facts."
        )
    for key, value in details.items():
        if not isinstance(value, str | int | bool) or (isinstance(value, str) and len(value) > 200):
            raise ProvisioningLogError(f"The provisioning log value for {key} must be a short string, number or flag.")
    when = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    obj = {"at": when, "technician": technician, "action": action, **details}
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def read(path: Path) -> list[dict[str, Any]]:
    """All records; ProvisioningLogError when the file is not whole JSON lines."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    if data and not data.endswith(b"\n"):
        raise ProvisioningLogError(
            f"The provisioning log {path} ends with a torn record; keep the file as evidence and start a new log."
        )
    out = []
    for n, line in enumerate(data.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ProvisioningLogError(
                f"Line {n} of the provisioning log {path} is not a record; keep the file as evidence and start a new log."
            ) from exc
        if not isinstance(obj, dict):
            raise ProvisioningLogError(f"Line {n} of the provisioning log {path} is not a record.")
        out.append(obj)
    return out


def append(path: Path, technician: str, action: str, at: datetime | None = None, **details: Any) -> dict[str, Any]:
    """Append one record, durably. Returns the record."""
    line = _record(technician, action, details, at)
    read(path)  # refuse to extend a log that was edited into something else
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    result: dict[str, Any] = json.loads(line)
    return result
