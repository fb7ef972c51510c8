"""The append-only provisioning log of a terminal or kiosk.

One JSON object per line: `{"at": ISO-8601 UTC, "technician": id, "action": name, ...details}`.
Only provisioning facts go in (device ids, versions, fingerprints, file names): the details are
checked against an allow-list of keys and value types, so a resident's data cannot end up here
(design principle 2). The file is opened with O_APPEND and every record is fsynced (and the
directory once, when the file is created). It is never rewritten: `append` refuses a log whose
existing content is not a sequence of complete records exactly as `append` writes them (the
fixed keys, the allow-listed details, well-formed ids, action names, times and values, the same
serialisation), and the module offers no way to edit or truncate it. The log is not signed: an
edit that keeps every line such a record (another result, another technician id) cannot be
told from the file alone.

`check_ready` runs before a command does its work (flashing, enrolling, pinning): a bad
technician id, a log that cannot be created or appended to, or a log that is torn or holds a
line `append` would not have written (its last line cut short by a full disk, a hand edit) is
refused while nothing has been changed yet, so no work is ever left unrecorded. Such a log is
not repaired: it is kept as evidence and the technician starts a new log (`--log` with a new
file name); `read_all` still gives `log show` its whole records.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
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


def check_technician(technician: str) -> None:
    if not _TECHNICIAN.fullmatch(technician):
        raise ProvisioningLogError(
            "The technician id must be 1-64 letters, digits, '.', '_' or '-' (your staff id, not your name); pass --technician."
        )


def _record(technician: str, action: str, details: dict[str, Any], at: datetime | None) -> bytes:
    check_technician(technician)
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


_NEW_LOG = "keep the file as evidence and start a new log (give --log a new file name)"


def _read_bytes(path: Path) -> bytes:
    """The log's bytes; opened non-blocking and refused unless a regular file (a FIFO or a
    device given as --log must not hang the command)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ProvisioningLogError(f"The provisioning log {path} is not a regular file; give --log a file name.")
        return fh.read()


_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _parse_line(line: bytes) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """(the record, None) when `line` is a record as `append` writes it, else (None, why).

    A record is checked the way `_record` builds it: the three fixed keys, the allow-listed
    details with short scalar values, the id and action patterns, the UTC time to the second,
    and the exact serialisation (sorted keys, one space after ':' and ','). So a personal-data
    key, a reformatted line or a malformed value is found; a careful edit that keeps all of
    this (another result, another technician id) is not: the log is not signed."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None, "not JSON"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    why = _record_problem(obj, line)
    return (obj, None) if why is None else (None, why)


def _record_problem(obj: dict[str, Any], line: bytes) -> str | None:
    missing = [k for k in ("at", "technician", "action") if k not in obj]
    if missing:
        return f"no {', '.join(missing)}"
    unknown = set(obj) - ALLOWED_DETAILS - {"at", "technician", "action"}
    if unknown:
        return f"a key the log does not take: {', '.join(sorted(unknown))}"
    if not isinstance(obj["technician"], str) or not _TECHNICIAN.fullmatch(obj["technician"]):
        return "a malformed technician id"
    if not isinstance(obj["action"], str) or not _ACTION.fullmatch(obj["action"]):
        return "a malformed action name"
    at = obj["at"]
    if not (isinstance(at, str) and _AT.fullmatch(at)):
        return "a malformed time"
    try:
        datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ")  # the pattern lets 2026-13-45 through
    except ValueError:
        return "a malformed time"
    for key, value in obj.items():
        if key not in ("at", "technician", "action") and (
            not isinstance(value, str | int | bool) or (isinstance(value, str) and len(value) > 200)
        ):
            return f"a malformed value for {key}"
    if (json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8") != line + b"\n":
        return "not written by citycard-provision (its layout was changed)"
    return None


def read_all(path: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Every whole record of the log, and (line number, why) for each line that is not one (a
    torn last line, a line `append` would not have written). For `log show`, which prints what
    it can of a damaged log; everything that writes uses `read`, which refuses such a log."""
    try:
        data = _read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        return [], []  # not there (yet): nothing recorded; `check_ready` says whether it can be made
    except IsADirectoryError as exc:
        raise ProvisioningLogError(f"The provisioning log {path} is a directory; give --log a file name.") from exc
    except OSError as exc:
        raise ProvisioningLogError(
            f"The provisioning log {path} cannot be read ({exc.strerror or exc}); fix its permissions or give --log another file."
        ) from exc
    lines = data.split(b"\n")
    # a torn last line first: the likelier damage (a full disk), and what `read` names
    bad = [(len(lines), _TORN)] if lines[-1] else []
    out = []
    for n, line in enumerate(lines[:-1], 1):
        record, why = _parse_line(line)
        if why is not None:
            bad.append((n, why))
        elif record is not None:
            out.append(record)
    return out, bad


_TORN = "torn"


def damage(path: Path, bad: list[tuple[int, str]]) -> str:
    """The sentence for the lines `read_all` found bad: the first names what to do for all."""
    n, why = bad[0]
    if why == _TORN:
        return f"The provisioning log {path} ends with a torn record; {_NEW_LOG}."
    return f"Line {n} of the provisioning log {path} is not a record ({why}); {_NEW_LOG}."


def read(path: Path) -> list[dict[str, Any]]:
    """All records; ProvisioningLogError when a line is torn or is not a record as `append`
    writes it."""
    records, bad = read_all(path)
    if bad:
        raise ProvisioningLogError(damage(path, bad))
    return records


def _cannot_write(path: Path, exc: OSError) -> ProvisioningLogError:
    why = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ProvisioningLogError(
            f"The provisioning log {path} cannot be written ({why}); fix its permissions or give --log a file you can write to."
        )
    return ProvisioningLogError(f"The provisioning log {path} cannot be written ({why}); give --log a file in a directory you can write to.")


def check_ready(path: Path, technician: str) -> None:
    """Refuse now what `append` would refuse after the work: a bad technician id, a log that
    is torn, edited or not a file, a log that cannot be appended to or created.

    An existing log is opened for appending and closed again (nothing is written). A new one
    is created and removed again, with the directories it needs, so the check leaves nothing
    behind: no empty log, no directory."""
    check_technician(technician)
    read(path)
    try:
        if path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            return
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    made: list[Path] = []
    try:
        for parent in reversed(path.parents):
            if not parent.exists():
                parent.mkdir()
                made.append(parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        path.unlink()
    except FileExistsError:
        pass  # made meanwhile by another command: appending to it is what we do anyway
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    finally:
        for parent in reversed(made):
            with contextlib.suppress(OSError):
                parent.rmdir()


def append(path: Path, technician: str, action: str, at: datetime | None = None, **details: Any) -> dict[str, Any]:
    """Append one record, durably. Returns the record."""
    line = _record(technician, action, details, at)
    read(path)  # refuse to extend a log that was edited into something else
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        os.write(fd, line)
        os.fsync(fd)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
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
