"""What readers fetch, signed once and kept in two places: the registry's published files (what
every host of the API serves, so the bytes and ETags are the same on all of them) and DIR/public
(for static hosting). The city root key, the trust list (a new version only when this host's
issuer.json changed it, or a newly opened status list must be named) and the status list
tokens (cardio.published).

Every status change raises its list's mark in the registry in its own transaction (a trigger,
migration 0002). `publish_owed` signs each list whose mark is ahead of what was published, and
only then records the mark it read as published: a process killed at any moment leaves the
mark ahead, and the next run publishes the list. Only the process holding the publisher lock
calls it (api.issuer.publishing); request handlers never sign.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cardio import cose
from cardio.files import write_atomic
from cardio.keys import kid_for, public_pem
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE
from cardio.statuslist import SUPERSEDED as SUPERSEDED_VALUE
from cardio.statuslist import Status, StatusList, sign_token
from cardio.trustlist import (
    MAX_TRUST_LIST,
    KeyPurpose,
    KeyState,
    TrustedKey,
    TrustList,
    sign_trust_list,
)

from .config import IssuerConfig
from .errors import IssuerError
from .keys import IssuerKeys
from .published_cache import etag_of
from .registry import REVOKED, SUSPENDED, Registry, publication_queries, queries
from .registry.schema import SUPERSEDED

log = logging.getLogger("citycard.api.publisher")
PUBLIC_DIR = "public"
# Tests only (tests/test_publish_kill.py): the name of a step at which the process kills
# itself with SIGKILL, to prove that no step loses a committed status change.
CRASH_ENV = "CITYCARD_TEST_CRASH_AT"
_STATUS_OF = {
    REVOKED: Status.INVALID,
    SUSPENDED: Status.SUSPENDED,
    SUPERSEDED: SUPERSEDED_VALUE,  # a renewed card (docs/credential.md)
}


def crash_point(step: str) -> None:
    """Die here, as abruptly as a power cut, when CITYCARD_TEST_CRASH_AT names this step."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def status_file(list_id: str) -> str:
    """A status list's name among the published files (and its path under DIR/public)."""
    return f"{STATUS_DIR}/{list_id}{STATUS_SUFFIX}"


class Publisher:
    """Signs and keeps the published files; status lists come from the registry `registry()`."""

    def __init__(
        self, config: IssuerConfig, keys: IssuerKeys, registry: Callable[[], Registry]
    ) -> None:
        self.config = config
        self.keys = keys
        self.registry = registry
        self._trust_checked: tuple[str, int] | None = None

    @property
    def public_dir(self) -> Path:
        return self.config.dir / PUBLIC_DIR

    def trust_list_body(self, now: int) -> TrustList:
        """The trust list as it should be published now (version not yet assigned)."""
        data = self.config.data
        keys = []
        for entry in data["keys"]:
            if entry["purpose"] == "root":
                continue
            public = self.keys.public_key(entry)
            keys.append(
                TrustedKey(
                    kid=kid_for(public),
                    public_key=public,
                    purpose=KeyPurpose(entry["purpose"]),
                    label=entry["label"],
                    not_before=entry["not_before"],
                    not_after=entry["not_after"],
                    state=KeyState(entry["state"]),
                )
            )
        uris = tuple(self.config.status_uri(i) for i in data["status_lists"])
        return TrustList(data["trust_list_version"], data["issuer"], now, tuple(keys), uris)

    def publish(self, now: int) -> Path:
        """Root key, trust list (a new version only when its content changed), every status list."""
        pub = self.public_dir
        with self.config.locked():
            self._publish_trust(now)
            self._keep(ROOT_KEY_FILE, public_pem(self.keys.root_signer().public_key).encode(), now)
            for list_id in self.config.data["status_lists"]:
                self._publish_status(list_id, now)
        return pub

    def _publish_trust(self, now: int) -> bool:
        """Sign a new trust list version when this host's issuer.json changed since it last
        published (a key added, rotated or retired here), or names a status list the stored
        trust list lacks (an allocation opened it); True when it did. The version follows the
        higher of this host's issuer.json and the stored list, so hosts taking turns never go
        back. A trust list another host published from a newer issuer.json is left as it is."""
        data = self.config.data
        body = self.trust_list_body(now)
        content = _content(body)
        trust_path = self.public_dir / TRUST_LIST_FILE
        stored = self._stored_trust()
        if stored is None and content == data.get("published_trust_payload") and trust_path.exists():
            # Published before the registry kept the files: the same bytes, no new version.
            self._keep(TRUST_LIST_FILE, trust_path.read_bytes(), now)
            return False
        if stored is not None:
            changed_here = content != data.get("published_trust_payload")
            new_lists = set(body.status_lists) - set(stored[0].status_lists)
            if _content(stored[0]) == content or not (changed_here or new_lists):
                if not trust_path.is_file() or trust_path.read_bytes() != stored[1]:
                    write_atomic(trust_path, stored[1])
                return False
            dropped = {k.kid for k in stored[0].keys} - {k.kid for k in body.keys}
            if dropped and not changed_here:
                log.warning(
                    "the published trust list has %d key(s) this host's issuer.json lacks; "
                    "copy issuer.json from the host where keys or kiosks were added",
                    len(dropped),
                )
        data["trust_list_version"] = 1 + max(
            data["trust_list_version"], 0 if stored is None else stored[0].version
        )
        data["published_trust_payload"] = content
        self.config.save()
        tl = replace(body, version=data["trust_list_version"])
        self._keep(TRUST_LIST_FILE, sign_trust_list(self.keys.root_signer(), tl), now)
        return True

    def _stored_trust(self) -> tuple[TrustList, bytes] | None:
        """The trust list the registry holds, decoded (this issuer signed it: not verified
        again), and its bytes."""
        with self.registry().read() as s:
            row = publication_queries.stored_file(s, TRUST_LIST_FILE)
            if row is None:
                return None
            body = bytes(row.body)
        msg = cose.parse_sign1(body, "trust list", MAX_TRUST_LIST)
        return TrustList.from_payload(msg.payload), body

    def publish_status(self, list_ids: list[str] | None, now: int) -> None:
        """Sign and keep status list tokens again (all lists, or those named); the trust list
        first when a list was opened since (a process without a publisher thread)."""
        with self.config.locked():
            self._publish_trust(now)
            for list_id in list_ids or self.config.data["status_lists"]:
                self._publish_status(list_id, now)

    def publish_owed(self, now: int, refresh: int) -> list[str]:
        """Publish what is owed: the trust list when it must change (a status list an
        allocation opened, a key rotated here), each status list with changes its token does not
        show yet, never published, or signed `refresh` seconds ago or more; the trust list and
        root key when the registry has none. Returns the status lists published.

        Allocations only open a list (and name it in their host's issuer.json); signing the
        trust list that names it, and its first empty token, is done here, off the request
        path. The lists come from the registry, so a list another host opened is named here too.
        """
        self.config.refresh()
        with self.registry().read() as s:
            marks = publication_queries.marks(s)
            stored = publication_queries.file_versions(s)
            opened = publication_queries.status_list_ids(s)
        for list_id in opened:
            if list_id not in self.config.data["status_lists"]:
                self.config.add_status_list(list_id)
        if TRUST_LIST_FILE not in stored or ROOT_KEY_FILE not in stored:
            self.publish(now)
            return list(self.config.data["status_lists"])
        with self.config.locked():
            # What the trust list is made of, and the stored version: unchanged since the last
            # look, there is nothing to compare (no key store lookups every second).
            inputs = (_trust_inputs(self.config.data), stored[TRUST_LIST_FILE][0])
            if inputs != self._trust_checked:
                self._trust_checked = None if self._publish_trust(now) else inputs
        owed = []
        for list_id in self.config.data["status_lists"]:
            changed, published = marks.get(list_id, (0, 0))
            signed = stored.get(status_file(list_id))
            if changed > published or signed is None or now - signed[1] >= refresh:
                owed.append(list_id)
        if owed:
            self.publish_status(owed, now)
        return owed

    def copy_to_public_dir(self) -> None:
        """Make DIR/public hold what the registry holds (a host that just became the
        publisher may have an older copy, or none), for static hosting."""
        names = [TRUST_LIST_FILE, ROOT_KEY_FILE]
        names += [status_file(list_id) for list_id in self.config.data["status_lists"]]
        for name in names:
            with self.registry().read() as s:
                row = publication_queries.stored_file(s, name)
                body = None if row is None else bytes(row.body)
            path = self.public_dir / name
            if body is not None and (not path.is_file() or path.read_bytes() != body):
                write_atomic(path, body)

    def owed(self, list_id: str) -> bool:
        """True while the list has committed changes its published token does not show."""
        with self.registry().read() as s:
            changed, published = publication_queries.mark(s, list_id)
        return changed > published

    def _status_list(self, list_id: str) -> tuple[StatusList, int]:
        """The list as the registry has it, and the mark read before it (so that a change
        committed while it is read is counted as not yet published)."""
        with self.registry().read() as s:
            changed, _published = publication_queries.mark(s, list_id)
            row = queries.status_list_row(s, list_id)
            if row is None:
                raise IssuerError(f"There is no status list {list_id!r}.")
            lst = StatusList(row.size, row.bits)
            for idx, status in publication_queries.marked_slots(s, list_id):
                lst.set(idx, _STATUS_OF[status])
        return lst, changed

    def _publish_status(self, list_id: str, now: int) -> None:
        lst, changed = self._status_list(list_id)
        token = sign_token(
            self.keys.active_signer(KeyPurpose.STATUS),
            lst,
            uri=self.config.status_uri(list_id),
            iat=now,
            ttl=self.config.data["status_ttl"],
            exp=None,
        )
        crash_point("status-signed")
        self._keep(status_file(list_id), token, now, list_id=list_id, changed=changed)
        crash_point("status-published")

    def _stored(self, name: str) -> bool:
        with self.registry().read() as s:
            return publication_queries.file_version(s, name) is not None

    def _keep(
        self, name: str, body: bytes, now: int, list_id: str | None = None, changed: int = 0
    ) -> None:
        """Write DIR/public/`name` (atomically), then keep the bytes in the registry and, for a
        status list, record the mark it shows, in one transaction. A process killed between
        the two leaves the mark behind: the list is published again, both places anew."""
        write_atomic(self.public_dir / name, body)
        crash_point("status-written" if list_id else "file-written")
        with self.registry().write() as s:
            publication_queries.store_file(s, name, body, etag_of(body), now)
            if list_id is not None:
                publication_queries.mark_published(s, list_id, changed)


def _trust_inputs(data: dict[str, Any]) -> str:
    """The parts of issuer.json a trust list is made of."""
    return json.dumps([data[k] for k in ("issuer", "base_url", "keys", "status_lists")])


def _content(trust_list: TrustList) -> str:
    """What a trust list says, without its version and signing time."""
    return replace(trust_list, version=0, issued_at=0).to_payload().hex()
