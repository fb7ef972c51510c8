"""DIR/issuer.json: the issuer's configuration and key inventory (no personal data).

Changes to it (and to the published files) happen under an exclusive lock on DIR/.lock, after
re-reading the file, so that the CLI and a running server never undo each other's changes.

DIR/receipt-pepper.key holds the issuer's secret pepper (256 random bits, made on first use):
the key of the receipt codes' digests and of the status slots' order (api.issuer.slots). It is
never stored in the registry, and every host of one issuer needs the same file (like keys/).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cardio.files import write_atomic
from cardio.statuslist import ALLOWED_BITS
from cardio.trustlist import KeyPurpose, KeyState
from cardio.urls import http_url

from .errors import IssuerError, permission_fix

CONFIG_FILE = "issuer.json"
LOCK_FILE = ".lock"
PEPPER_FILE = "receipt-pepper.key"
PEPPER_BYTES = 32  # 256 bits, the key of the receipt-code digests and of the slot order

# The rules a new issuer's settings must meet so that its cards can be made later: the same
# limits cardio.credential puts on a credential's issuer (1 to 64 characters), programme id
# (a short lower-case code), document number (4 to 24 of A-Z, 0-9, '-') and status list URI
# (at most 200 characters: the base URL, "/status/" and a list id).
ISSUER_ID_RULE = "The issuer id (--issuer) must be 1 to 64 printable characters, not only spaces."
BASE_URL_RULE = (
    "The base URL (--base-url) must be an http:// or https:// address of at most 180 "
    "characters with a host name and no query, such as https://cards.example.org."
)
PROGRAM_RULE = (
    "The programme id (--program) must be 1 to 32 lower-case letters, digits or '-', "
    "starting with a letter or digit, such as 'zurich'."
)
DOC_PREFIX_RULE = (
    "The document number prefix (--doc-prefix) must be 1 to 15 capital letters, digits or "
    "'-', at least one of them a letter, such as 'ZUR'."
)
_MAX_BASE_URL = 180  # leaves 20 characters of a status list URI for "/status/<list id>"
_PROGRAM = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")
# 15, not 16: the number after it grows from 8 to 9 characters past ten million cards. A
# letter: a number of digits only reads as a status index where either may be typed.
_DOC_PREFIX = re.compile(r"(?=.*[A-Z])[A-Z0-9-]{1,15}\Z")


def settings_problem(issuer_id: str, base_url: str, program: str, doc_prefix: str) -> str | None:
    """Why a new issuer with these settings could not make cards (one sentence), or None."""
    if not (0 < len(issuer_id) <= 64 and issuer_id.isprintable() and issuer_id.strip()):
        return ISSUER_ID_RULE
    if not _is_base_url(base_url):
        return BASE_URL_RULE
    if not _PROGRAM.match(program):
        return PROGRAM_RULE
    if not _DOC_PREFIX.match(doc_prefix):
        return DOC_PREFIX_RULE
    return None


def _is_base_url(url: str) -> bool:
    if not 0 < len(url) <= _MAX_BASE_URL or not url.isprintable() or " " in url:
        return False
    parts = http_url(url)
    return parts is not None and not parts.query and not parts.fragment


def initial_config(
    issuer_id: str, base_url: str, program: str, doc_prefix: str, pkcs11: dict[str, str] | None
) -> dict[str, Any]:
    """A new issuer's configuration: no keys yet, one status list. IssuerError when a setting
    would make the issuer unable to issue (`settings_problem`)."""
    base_url = base_url.rstrip("/")
    problem = settings_problem(issuer_id, base_url, program, doc_prefix)
    if problem is not None:
        raise IssuerError(problem)
    return {
        "issuer": issuer_id,
        "base_url": base_url,
        "program": program,
        "doc_prefix": doc_prefix,
        "keystore": {"type": "pkcs11", **pkcs11} if pkcs11 else {"type": "file"},
        "status_list_size": 1 << 17,
        "status_bits": 2,
        "status_ttl": 3600,
        "default_validity_days": 730,
        "trust_list_version": 0,
        "published_trust_payload": None,
        "keys": [],
        "status_lists": ["1"],
    }


def _whole(low: int, high: int) -> Callable[[Any], bool]:
    # bool is an int in Python, but true is no number of days
    return lambda v: type(v) is int and low <= v <= high


def _text(v: Any) -> bool:
    return isinstance(v, str)


_LIST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z")  # a file name under public/status/
_PURPOSES = {"root", *(p.value for p in KeyPurpose)}
_STATES = {s.value for s in KeyState}

# What the code reads from issuer.json without a default, and what it must be. The checks stop
# a hand-edited or half-restored file at the door instead of as a TypeError deep inside.
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "issuer": (lambda v: isinstance(v, str) and v != "", "a non-empty text"),
    "base_url": (
        lambda v: isinstance(v, str) and _is_base_url(v),
        f"an http:// or https:// address with a host name, no query and at most "
        f"{_MAX_BASE_URL} characters",
    ),
    "program": (_text, "a text"),
    "doc_prefix": (_text, "a text"),
    "status_list_size": (_whole(1, 2**32), "a positive whole number"),
    "status_bits": (lambda v: type(v) is int and v in ALLOWED_BITS, "1, 2, 4 or 8"),
    "status_ttl": (_whole(1, 2**31), "a positive whole number of seconds"),
    "default_validity_days": (_whole(1, 36_500), "a whole number of days from 1 to 36500"),
    "trust_list_version": (_whole(0, 2**63), "a whole number"),
    "keys": (lambda v: isinstance(v, list), "a list"),
    "status_lists": (
        lambda v: isinstance(v, list)
        and v != []
        and all(isinstance(i, str) and _LIST_ID.match(i) for i in v),
        "a non-empty list of status list ids",
    ),
}
_OPTIONAL: dict[str, tuple[Callable[[Any], bool], str]] = {
    "published_trust_payload": (lambda v: v is None or isinstance(v, str), "a text or null"),
    "keystore": (
        lambda v: isinstance(v, dict)
        and (
            v.get("type") == "file"
            or (v.get("type") == "pkcs11" and _text(v.get("module")) and _text(v.get("token")))
        ),
        'an object with "type" "file", or "pkcs11" with a "module" and a "token"',
    ),
}
_KEY_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "label": (lambda v: isinstance(v, str) and v != "", "a non-empty text"),
    "purpose": (lambda v: v in _PURPOSES, "root, issue or status"),
    "not_before": (_whole(0, 2**63), "a time"),
    "not_after": (_whole(0, 2**63), "a time"),
    "state": (lambda v: v in _STATES, "active, retired or revoked"),
}


def shape_problem(data: Any) -> str | None:
    """What makes `data` (parsed issuer.json) unusable, as a short phrase, or None."""
    if not isinstance(data, dict):
        return "it does not hold a JSON object"
    fields = [(k, c, True) for k, c in _FIELDS.items()]
    fields += [(k, c, False) for k, c in _OPTIONAL.items()]
    for key, (check, what), required in fields:
        if key not in data:
            if required:
                return f"{key!r} is missing"
            continue
        if not check(data[key]):
            return f"{key!r} is not {what}"
    for n, entry in enumerate(data["keys"], 1):
        if not isinstance(entry, dict):
            return f"key entry {n} is not an object"
        for key, (check, what) in _KEY_FIELDS.items():
            if key not in entry:
                return f"key entry {n} has no {key!r}"
            if not check(entry[key]):
                return f"the {key!r} of key entry {n} is not {what}"
        if "public_key" in entry and not isinstance(entry["public_key"], str):
            return f"the 'public_key' of key entry {n} is not a text"
    return None


class IssuerConfig:
    """issuer.json of one issuer directory, as a dict kept fresh against other processes."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.data: dict[str, Any] = self._read()
        self._stamp_seen = self._stamp()
        self._pepper: bytes | None = None

    @classmethod
    def create(cls, directory: Path, data: dict[str, Any]) -> None:
        """Write the first issuer.json of a new issuer directory."""
        if (directory / CONFIG_FILE).exists():
            raise IssuerError(f"{directory} already holds an issuer; pick an empty directory.")
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / CONFIG_FILE, _json(data), 0o600)

    def remove(self) -> None:
        """Undo `create` (an issuer whose key store or registry could not be opened)."""
        (self.dir / CONFIG_FILE).unlink()

    def _read(self) -> dict[str, Any]:
        path = self.dir / CONFIG_FILE
        try:
            config: dict[str, Any] = json.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise IssuerError(
                f"{self.dir} is not an issuer directory; create one with 'citycard-api init --dir {self.dir}'."
            ) from exc
        except PermissionError as exc:  # not damage: the file is fine, the process may not read it
            raise IssuerError(
                f"{path} cannot be read ({exc.strerror}); {permission_fix(path, 'read and write')}"
            ) from exc
        except (ValueError, OSError) as exc:
            raise IssuerError(f"{path} cannot be read ({exc}); restore it from backup.") from exc
        problem = shape_problem(config)
        if problem is not None:
            raise IssuerError(f"{path} is damaged ({problem}); restore it from backup.")
        return config

    def _stamp(self) -> tuple[int, int, int]:
        try:
            st = (self.dir / CONFIG_FILE).stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh(self) -> None:
        """Re-read issuer.json if another process (the CLI, a server) replaced it."""
        stamp = self._stamp()
        if stamp != self._stamp_seen:
            self.data = self._read()
            self._stamp_seen = stamp

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive use of the configuration and published files, with a fresh configuration."""
        with open(self.dir / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.refresh()
            yield

    def save(self) -> None:
        write_atomic(self.dir / CONFIG_FILE, _json(self.data), 0o600)
        self._stamp_seen = self._stamp()

    def add_status_list(self, list_id: str) -> bool:
        """Name a newly opened status list in issuer.json (last, so it is the one allocations
        use); False when another process already did."""
        with self.locked():
            if list_id in self.data["status_lists"]:
                return False
            self.data["status_lists"].append(list_id)
            self.save()
            return True

    def pepper(self) -> bytes:
        """The issuer's secret pepper, made (once, by whichever process comes first) on first use."""
        if self._pepper is None:
            path = self.dir / PEPPER_FILE
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            except PermissionError as exc:  # a directory this process may not write to
                raise IssuerError(
                    f"{path} cannot be made ({exc.strerror}); "
                    f"{permission_fix(self.dir, 'write to')}"
                ) from exc
            else:  # written whole before anyone reads it: the reader below retries a short file
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(PEPPER_BYTES))
            for _ in range(100):
                pepper = self._read_pepper(path)
                if len(pepper) == PEPPER_BYTES:
                    self._pepper = pepper
                    break
                time.sleep(0.01)
            else:
                raise IssuerError(f"{path} is not a {PEPPER_BYTES}-byte pepper; restore it from backup.")
        return self._pepper

    @staticmethod
    def _read_pepper(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except PermissionError as exc:
            raise IssuerError(
                f"{path} cannot be read ({exc.strerror}); {permission_fix(path)} Never make "
                "a new one: the printed receipt codes would stop working."
            ) from exc
        except OSError as exc:
            raise IssuerError(
                f"{path} cannot be read ({exc.strerror or exc}); restore it from backup."
            ) from exc

    def check_files(self) -> None:
        """Refuse now (IssuerError) what a server would otherwise fail on at every request
        that needs it: the pepper and the lock file, each unreadable or missing."""
        self.pepper()
        path = self.dir / LOCK_FILE
        try:
            with open(path, "a+b"):
                pass
        except PermissionError as exc:
            raise IssuerError(
                f"{path} cannot be opened ({exc.strerror}); {permission_fix(path, 'read and write')}"
            ) from exc

    def status_uri(self, list_id: str) -> str:
        return f"{self.data['base_url']}/status/{list_id}"


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")
