"""What readers fetch, signed and written into DIR/public: the city root key, the trust list
(a new version only when its content changed) and the status list tokens (cardio.published)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cardio.files import write_atomic
from cardio.keys import kid_for, public_pem
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE
from cardio.statuslist import StatusList, sign_token
from cardio.trustlist import KeyPurpose, KeyState, TrustedKey, TrustList, sign_trust_list

from .config import IssuerConfig
from .keys import IssuerKeys

PUBLIC_DIR = "public"


class Publisher:
    """Signs and writes the published files; status lists come from `status_list` (the card
    registry's view of one list)."""

    def __init__(
        self,
        config: IssuerConfig,
        keys: IssuerKeys,
        status_list: Callable[[str], StatusList],
    ) -> None:
        self.config = config
        self.keys = keys
        self.status_list = status_list

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
        """Write root key, trust list (a new version only when its content changed) and status lists."""
        pub = self.public_dir
        with self.config.locked():
            data = self.config.data
            body = self.trust_list_body(now)
            content = replace(body, version=0, issued_at=0).to_payload().hex()
            trust_path = pub / TRUST_LIST_FILE
            if content != data.get("published_trust_payload") or not trust_path.exists():
                data["trust_list_version"] += 1
                data["published_trust_payload"] = content
                self.config.save()
                tl = replace(body, version=data["trust_list_version"])
                write_atomic(trust_path, sign_trust_list(self.keys.root_signer(), tl))
            write_atomic(pub / ROOT_KEY_FILE, public_pem(self.keys.root_signer().public_key).encode())
            self._publish_status(data["status_lists"], now)
        return pub

    def publish_status(self, list_ids: list[str] | None, now: int) -> None:
        """Sign and write status list tokens again (all lists, or those named)."""
        with self.config.locked():
            self._publish_status(list_ids or self.config.data["status_lists"], now)

    def _publish_status(self, list_ids: list[str], now: int) -> None:
        status_signer = self.keys.active_signer(KeyPurpose.STATUS)
        for list_id in list_ids:
            token = sign_token(
                status_signer,
                self.status_list(list_id),
                uri=self.config.status_uri(list_id),
                iat=now,
                ttl=self.config.data["status_ttl"],
                exp=None,
            )
            write_atomic(self.public_dir / STATUS_DIR / f"{list_id}{STATUS_SUFFIX}", token)
