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
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cardio.files import write_atomic

from .errors import IssuerError

CONFIG_FILE = "issuer.json"
LOCK_FILE = ".lock"
PEPPER_FILE = "receipt-pepper.key"
PEPPER_BYTES = 32  # 256 bits, the key of the receipt-code digests and of the slot order


def initial_config(
    issuer_id: str, base_url: str, program: str, doc_prefix: str, pkcs11: dict[str, str] | None
) -> dict[str, Any]:
    """A new issuer's configuration: no keys yet, one status list."""
    return {
        "issuer": issuer_id,
        "base_url": base_url.rstrip("/"),
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
        except (ValueError, OSError) as exc:
            raise IssuerError(f"{path} cannot be read ({exc}); restore it from backup.") from exc
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
            else:  # written whole before anyone reads it: the reader below retries a short file
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(PEPPER_BYTES))
            for _ in range(100):
                pepper = path.read_bytes()
                if len(pepper) == PEPPER_BYTES:
                    self._pepper = pepper
                    break
                time.sleep(0.01)
            else:
                raise IssuerError(f"{path} is not a {PEPPER_BYTES}-byte pepper; restore it from backup.")
        return self._pepper

    def status_uri(self, list_id: str) -> str:
        return f"{self.data['base_url']}/status/{list_id}"


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")
