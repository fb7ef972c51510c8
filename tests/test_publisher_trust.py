"""The trust list when hosts of one issuer take turns publishing (api.issuer.publisher): a
host whose issuer.json is older never replaces the trust list another host signed, versions
never go back, and a status list opened on any host gets named."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from api.issuer.registry import SQLITE_FILE, queries
from api.issuer.service import Issuer
from cardio.keys import load_public_pem
from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE
from cardio.trustlist import TrustList, parse_trust_list


def _copy_host(first: Path, second: Path) -> Path:
    """A second host: a copy of the issuer directory on the same (SQLite) registry."""
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("public", "registry.sqlite*"))
    url = f"sqlite:///{(first / SQLITE_FILE).resolve()}"
    (second / "server.toml").write_text(f"[database]\nurl = {json.dumps(url)}\n", encoding="utf-8")
    return second


def _stored(issuer: Issuer) -> TrustList:
    pub = issuer.dir / "public"
    root = load_public_pem((pub / ROOT_KEY_FILE).read_bytes())
    return parse_trust_list((pub / TRUST_LIST_FILE).read_bytes(), root)


def test_an_older_issuer_json_does_not_replace_a_newer_trust_list(tmp_path: Path) -> None:
    one = Issuer.init(tmp_path / "one")
    two = Issuer(_copy_host(one.dir, tmp_path / "two"))
    now = int(time.time())
    assert two.publisher.publish_owed(now, 3600) == []  # nothing owed, nothing signed
    two.publisher.copy_to_public_dir()
    before = _stored(two)

    one.add_kiosk("kiosk-7")  # on host one: its issuer.json gains the kiosk's signing key
    newer = _stored(one)
    assert newer.version == before.version + 1 and len(newer.keys) == len(before.keys) + 1
    # Host two, not yet given the new issuer.json, publishes: the kiosk's key stays published.
    two.publisher.publish_owed(now, 3600)
    assert _stored(two) == newer

    # A status list opened by host one's allocations is named by host two's publisher, in a
    # version past the stored one (host two's own issuer.json is a version behind).
    with one.registry.write() as s:
        queries.open_status_list(s, "2", 1 << 17, 2, now)
    assert "2" in two.publisher.publish_owed(now, 3600)
    named = _stored(two)
    assert named.version == newer.version + 1
    assert named.status_lists == (one.status_uri("1"), one.status_uri("2"))
    assert len(named.keys) == len(before.keys)  # two's issuer.json lacks kiosk-7 (logged)
    # Given the new issuer.json and keys/ (copied), host two publishes the kiosk's key again.
    shutil.copytree(one.dir / "keys", two.dir / "keys", dirs_exist_ok=True)
    shutil.copy2(one.dir / "issuer.json", two.dir / "issuer.json")
    two.publisher.publish_owed(now, 3600)
    latest = _stored(two)
    assert latest.version > named.version and len(latest.keys) == len(newer.keys)
    assert latest.status_lists == named.status_lists
    one.close()
    two.close()
