"""The trust list: the city's root-signed, versioned list of the keys a reader may trust.

Payload (deterministic CBOR map, see docs/credential.md):
  1: version (uint, strictly increasing), 2: issuer id, 3: issued at (epoch s),
  4: [ key entry ], 5: [ status list URI ]
Key entry: 1: kid, 2: COSE_Key, 3: purpose ("issue" | "status"), 4: not before,
  5: not after, 6: state ("active" | "retired" | "revoked"), 7: label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, cose
from .errors import MalformedError, TrustListError, TrustListRollbackError
from .files import write_atomic
from .keys import Signer, cose_key, from_cose_key, kid_for

MEDIA_TYPE = "application/vnd.citycard.trust-list+cwt"
MAX_TRUST_LIST = 256 * 1024


class KeyPurpose(Enum):
    ISSUE = "issue"  # a kiosk key: signs credentials
    STATUS = "status"  # signs status lists


class KeyState(Enum):
    ACTIVE = "active"  # may sign now
    RETIRED = "retired"  # signs nothing new; what it signed inside its window stays valid
    REVOKED = "revoked"  # compromised: nothing it signed is trusted


@dataclass(frozen=True)
class TrustedKey:
    kid: bytes
    public_key: ec.EllipticCurvePublicKey = field(compare=False)
    purpose: KeyPurpose
    label: str
    not_before: int
    not_after: int
    state: KeyState = KeyState.ACTIVE

    def covers(self, when: int) -> bool:
        return self.not_before <= when <= self.not_after

    def to_cbor(self) -> dict[int, Any]:
        return {
            1: self.kid,
            2: cose_key(self.public_key),
            3: self.purpose.value,
            4: self.not_before,
            5: self.not_after,
            6: self.state.value,
            7: self.label,
        }

    @classmethod
    def from_cbor(cls, obj: object) -> TrustedKey:
        if not isinstance(obj, dict) or set(obj) != {1, 2, 3, 4, 5, 6, 7}:
            raise MalformedError("A trust list key entry has missing or unexpected fields.")
        key = from_cose_key(obj[2])
        kid, nb, na, label = obj[1], obj[4], obj[5], obj[7]
        if kid != kid_for(key):
            raise MalformedError("A trust list key entry's kid does not match its key.")
        if not (_is_time(nb) and _is_time(na) and nb <= na):
            raise MalformedError("A trust list key entry has an impossible validity window.")
        if not isinstance(label, str) or len(label) > 64:
            raise MalformedError("A trust list key entry has a bad label.")
        try:
            return cls(kid, key, KeyPurpose(obj[3]), label, nb, na, KeyState(obj[6]))
        except ValueError as exc:
            raise MalformedError("A trust list key entry has an unknown purpose or state.") from exc


def _is_time(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**40


@dataclass(frozen=True)
class TrustList:
    version: int
    issuer: str
    issued_at: int
    keys: tuple[TrustedKey, ...]
    status_lists: tuple[str, ...] = ()
    by_kid: dict[bytes, TrustedKey] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_kid = {k.kid: k for k in self.keys}
        if len(by_kid) != len(self.keys):
            raise MalformedError("The trust list names the same key twice.")
        object.__setattr__(self, "by_kid", by_kid)

    def to_payload(self) -> bytes:
        return cbor.dumps(
            {
                1: self.version,
                2: self.issuer,
                3: self.issued_at,
                4: [k.to_cbor() for k in self.keys],
                5: list(self.status_lists),
            }
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> TrustList:
        obj = cbor.loads_strict(payload, "trust list", MAX_TRUST_LIST)
        if not isinstance(obj, dict) or set(obj) != {1, 2, 3, 4, 5}:
            raise MalformedError("The trust list has missing or unexpected fields.")
        version, issuer, issued_at, keys, uris = obj[1], obj[2], obj[3], obj[4], obj[5]
        if not (isinstance(version, int) and not isinstance(version, bool) and 0 < version < 2**63):
            raise MalformedError("The trust list version is not a positive number.")
        if not isinstance(issuer, str) or not _is_time(issued_at):
            raise MalformedError("The trust list issuer or date is malformed.")
        if not isinstance(keys, list) or not isinstance(uris, list):
            raise MalformedError("The trust list keys or status lists are not lists.")
        if not all(isinstance(u, str) for u in uris):
            raise MalformedError("A trust list status list URI is not text.")
        return cls(
            version, issuer, issued_at, tuple(TrustedKey.from_cbor(k) for k in keys), tuple(uris)
        )


def sign_trust_list(root: Signer, trust_list: TrustList) -> bytes:
    return cose.sign1(root, trust_list.to_payload(), typ=MEDIA_TYPE)


def parse_trust_list(data: bytes, root_key: ec.EllipticCurvePublicKey) -> TrustList:
    """Verify `data` against the pinned root key and decode it; TrustListError otherwise."""
    try:
        msg = cose.parse_sign1(data, "trust list", MAX_TRUST_LIST)
        if msg.typ != MEDIA_TYPE:
            raise MalformedError("The file is not a citycard trust list.")
        if msg.kid != kid_for(root_key) or not msg.verify(root_key):
            raise TrustListError(
                "The trust list is not signed by the pinned city root key; do not use it and "
                "check the reader's API address and root key pin."
            )
        return TrustList.from_payload(msg.payload)
    except MalformedError as exc:
        raise TrustListError(f"The trust list cannot be read: {exc}") from exc


class TrustCache:
    """The last good trust list, optionally persisted; refuses anything older than it.

    A new list is accepted only when it verifies under the pinned root and its version is
    not lower than the cached one (an equal version must be byte-identical).
    """

    FILE = "trust-list.cose"

    def __init__(self, root_key: ec.EllipticCurvePublicKey, directory: Path | None = None) -> None:
        self.root_key = root_key
        self.directory = directory
        self.current: TrustList | None = None
        self._raw: bytes | None = None
        if directory is not None and (directory / self.FILE).is_file():
            raw = (directory / self.FILE).read_bytes()
            self.current, self._raw = parse_trust_list(raw, root_key), raw

    def accept(self, data: bytes) -> TrustList:
        new = parse_trust_list(data, self.root_key)
        cur = self.current
        if cur is not None:
            if new.version < cur.version:
                raise TrustListRollbackError(
                    f"The trust list offered (version {new.version}) is older than the one this "
                    f"reader has (version {cur.version}); it was refused, keep using the reader."
                )
            if new.version == cur.version and data != self._raw:
                raise TrustListRollbackError(
                    f"Two different trust lists claim version {new.version}; the new one was "
                    "refused. Tell the city IT team."
                )
        if self.directory is not None and data != self._raw:
            write_atomic(self.directory / self.FILE, data)
        self.current, self._raw = new, data
        return new


def active_keys(keys: Iterable[TrustedKey], purpose: KeyPurpose) -> list[TrustedKey]:
    return [k for k in keys if k.purpose is purpose and k.state is KeyState.ACTIVE]
