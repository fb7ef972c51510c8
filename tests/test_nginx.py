"""deploy/nginx/citycard.conf, rendered by deploy/nginx/render.py, in front of a real issuer.

Debian's nginx runs in the foreground on a loopback port with everything under a temporary
prefix (render.py --standalone); the issuer API runs as `citycard-api serve` behind it. Each
public file must come back as the API gives it (media type, Cache-Control, CORS and security
headers), with the published bytes, a strong ETag and 304 on If-None-Match; the phone page
with its own policy; everything else from the API. A reader's trust sync must work through it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import Message
from pathlib import Path

import pytest

from api.issuer.routes_public import COMMON_HEADERS
from api.issuer.service import Issuer
from api.phone import PAGE_DIR, content_security_policy
from cardio.credential import Holder, to_qr
from cardio.keys import fingerprint, load_public_pem
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, TRUST_LIST_FILE
from cardio.trust_sync import TrustSync, pinned_root_key
from cardio.verdict import Verdict
from tests.serve_helpers import NGINX, RENDER, Nginx, Nginxes, free_port, get, stop, wait_for

pytestmark = pytest.mark.skipif(
    not NGINX.is_file(), reason="nginx is not installed (apt-get install nginx; make deps does)"
)
TRUST = "/.well-known/citycard/trust-list"
ROOT_KEY = "/.well-known/citycard/root-key"
STATUS = "/status/1"
# path -> (file under public/, media type, Cache-Control max-age of the default server.toml)
PUBLIC = {
    TRUST: (TRUST_LIST_FILE, "application/vnd.citycard.trust-list+cwt", 300),
    ROOT_KEY: (ROOT_KEY_FILE, "application/x-pem-file", 86400),
    STATUS: (f"{STATUS_DIR}/1.cwt", "application/statuslist+cwt", 60),
}
HOLDER = Holder("demo", "Nginx", "Fictional", date(1990, 1, 1), "X")


@pytest.fixture(name="nginxes")
def fixture_nginxes(tmp_path: Path) -> Iterator[Nginxes]:
    nginxes = Nginxes(tmp_path)
    yield nginxes
    for proc in nginxes.procs:
        stop(proc)


@dataclass
class Site:
    issuer: Issuer
    api: str
    nginx: Nginx

    @property
    def public(self) -> Path:
        return self.issuer.dir / "public"


@pytest.fixture(name="site")
def fixture_site(tmp_path: Path, nginxes: Nginxes) -> Iterator[Site]:
    """A published issuer, `citycard-api serve` for it, and nginx in front."""
    issuer = Issuer.init(tmp_path / "issuer")
    issuer.issue(HOLDER)
    issuer.publish()
    port = free_port()
    log = tmp_path / "api.log"
    exe = Path(sys.executable).with_name("citycard-api")
    with log.open("wb") as out:
        api = subprocess.Popen(
            [str(exe), "serve", "--dir", str(issuer.dir), "--port", str(port), "--threads", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(port, api, "citycard-api serve", log)
        nginx = nginxes.start(issuer.dir, port)
        yield Site(issuer, f"http://127.0.0.1:{port}", nginx)
    finally:
        stop(api)
        issuer.close()


def assert_public_headers(headers: Message, max_age: int) -> None:
    assert headers["Cache-Control"] == f"public, max-age={max_age}, must-revalidate"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Expose-Headers"] == "ETag"
    for name, value in COMMON_HEADERS:
        assert headers.get_all(name) == [value], name


def test_public_files_answer_as_the_api_does(site: Site) -> None:
    for path, (relative, media_type, max_age) in PUBLIC.items():
        ours = get(site.nginx.url + path)
        assert ours.status == 200, path
        assert ours.headers["Server"] == "nginx", "served by nginx itself, not proxied"
        assert ours.headers["Content-Type"] == media_type
        assert ours.body == (site.public / relative).read_bytes()
        assert int(ours.headers["Content-Length"]) == len(ours.body)
        assert_public_headers(ours.headers, max_age)
        # the same answer as the API's own, header for header (the ETags differ by design)
        api = get(site.api + path)
        assert api.body == ours.body
        for name in ("Content-Type", "Cache-Control", "Access-Control-Allow-Origin",
                     "Access-Control-Expose-Headers", *(n for n, _v in COMMON_HEADERS)):  # fmt: skip
            assert ours.headers[name] == api.headers[name], (path, name)

        etag = ours.headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"'), f"a strong ETag: {etag}"
        for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            cached = get(site.nginx.url + path, **{"If-None-Match": header})
            assert cached.status == 304, (path, header)
            assert cached.body == b""
            assert cached.headers["ETag"] == etag
            assert_public_headers(cached.headers, max_age)
        assert get(site.nginx.url + path, **{"If-None-Match": '"other"'}).status == 200

        head = get(site.nginx.url + path, method="HEAD")
        assert head.status == 200 and head.body == b"" and head.headers["ETag"] == etag


def test_phone_page_with_its_own_policy(site: Site) -> None:
    policy = content_security_policy()
    for path, name, media_type in (
        ("/verify/", "index.html", "text/html; charset=utf-8"),
        ("/verify/verify.js", "verify.js", "text/javascript; charset=utf-8"),
        ("/verify/sw.js", "sw.js", "text/javascript; charset=utf-8"),
    ):
        ours = get(site.nginx.url + path)
        assert ours.status == 200, path
        assert ours.headers["Server"] == "nginx"
        assert ours.headers["Content-Type"] == media_type
        assert ours.body == (PAGE_DIR / name).read_bytes()
        assert ours.headers["Content-Security-Policy"] == policy
        assert ours.headers["X-Content-Type-Options"] == "nosniff"
        assert ours.headers["X-Frame-Options"] == "DENY"
        assert ours.headers["Referrer-Policy"] == "no-referrer"
        api = get(site.api + path)
        assert api.body == ours.body
        for header in ("Content-Type", "Cache-Control", "Content-Security-Policy"):
            assert ours.headers[header] == api.headers[header], (path, header)
        etag = ours.headers["ETag"]
        assert get(site.nginx.url + path, **{"If-None-Match": etag}).status == 304


def test_phone_page_text_goes_gzipped_to_a_browser_that_accepts_it(site: Site) -> None:
    """A phone's first visit fetched ~1 MB of uncompressed text (every language's words, the QR
    decoder); nginx and the API now both gzip it for a browser that asks, and only then."""
    for name in ("texts.json", "jsQR.js", "verify.js", "names.json"):
        original = (PAGE_DIR / name).read_bytes()
        for base in (site.nginx.url, site.api):
            packed = get(f"{base}/verify/{name}", **{"Accept-Encoding": "gzip, deflate, br"})
            assert packed.status == 200, (base, name)
            assert packed.headers["Content-Encoding"] == "gzip", (base, name)
            assert gzip.decompress(packed.body) == original
            assert len(packed.body) < len(original) // 2
            assert "Accept-Encoding" in packed.headers["Vary"]
            assert packed.headers["Content-Security-Policy"] == content_security_policy()
            plain = get(f"{base}/verify/{name}")
            assert "Content-Encoding" not in plain.headers and plain.body == original
            assert plain.headers["Content-Type"] == packed.headers["Content-Type"]


def test_everything_else_goes_to_the_api(site: Site) -> None:
    ours, api = get(site.nginx.url + "/openapi.json"), get(site.api + "/openapi.json")
    assert ours.status == 200 and ours.body == api.body
    assert ours.headers["Content-Type"] == "application/json"
    assert ours.headers.get_all("X-Content-Type-Options") == ["nosniff"], "not doubled"
    # unknown list ids, names that are no list id, other pages: the API's JSON 404
    for path in ("/status/2", "/status/.hidden", "/status/1.cwt", "/trust-list.cose",
                 "/verify/missing.js", "/verify/.well-known"):  # fmt: skip
        answer = get(site.nginx.url + path)
        assert answer.status == 404, path
        assert answer.headers["Content-Type"] == "application/json", path
    # a kiosk call without credentials reaches the API and is refused there
    refused = get(site.nginx.url + "/api/v1/kiosk/allocations", method="POST")
    assert refused.status in (400, 401, 415) and refused.headers["Content-Type"] == (
        "application/json"
    )
    # a file missing from the directory (not published yet): the API answers for it
    os.rename(site.public / TRUST_LIST_FILE, site.public / "moved")
    try:
        missing, api = get(site.nginx.url + TRUST), get(site.api + TRUST)
        assert missing.status == api.status and missing.body == api.body
        assert missing.headers["Content-Type"] == api.headers["Content-Type"]
        assert missing.headers["ETag"] == api.headers["ETag"], "the API's answer, not a file"
    finally:
        os.rename(site.public / "moved", site.public / TRUST_LIST_FILE)


def test_a_publish_shows_at_once(site: Site) -> None:
    before = get(site.nginx.url + STATUS)
    site.issuer.set_status(site.issuer.issue(HOLDER).status_index, "revoked")
    site.issuer.publish()
    after = get(site.nginx.url + STATUS, **{"If-None-Match": before.headers["ETag"]})
    assert after.status == 200
    assert after.body == (site.public / STATUS_DIR / "1.cwt").read_bytes() != before.body
    assert after.headers["ETag"] != before.headers["ETag"]


def test_copies_with_their_mtimes_give_the_same_etags(
    site: Site, tmp_path: Path, nginxes: Nginxes
) -> None:
    # two hosts, each with its own copy made as rsync -a / cp -p would (mtimes preserved)
    hosts = []
    for name in ("host-a", "host-b"):
        copy = tmp_path / name
        shutil.copytree(site.public, copy)  # copy2: bytes and mtimes
        hosts.append(nginxes.start(site.issuer.dir, 9, copy))
    for path in PUBLIC:
        a, b = (get(host.url + path) for host in hosts)
        assert a.body == b.body == get(site.nginx.url + path).body
        assert a.headers["ETag"] == b.headers["ETag"] == get(site.nginx.url + path).headers["ETag"]
        # one host's ETag is good on the other: a reader moved between them gets its 304
        assert get(hosts[1].url + path, **{"If-None-Match": a.headers["ETag"]}).status == 304
    # a copy that lost its mtimes has other ETags (hence: deploy with mtimes preserved)
    touched = tmp_path / "host-b" / TRUST_LIST_FILE
    stamp = touched.stat().st_mtime + 7
    os.utime(touched, (stamp, stamp))
    assert get(hosts[1].url + TRUST).headers["ETag"] != get(hosts[0].url + TRUST).headers["ETag"]


def test_trust_sync_through_nginx(site: Site, tmp_path: Path) -> None:
    issued = site.issuer.issue(HOLDER, now=int(time.time()) - 60)
    site.issuer.publish()
    store = tmp_path / "terminal"
    store.mkdir()
    published_root = load_public_pem((site.public / ROOT_KEY_FILE).read_bytes())
    # a reader set up with the fingerprint fetches the root key once, through nginx
    root = pinned_root_key(store, fingerprint(published_root), site.nginx.url)
    assert fingerprint(root) == fingerprint(published_root)

    sync = TrustSync(store, root, site.nginx.url)
    first = sync.sync_once()
    assert first.ok and first.trust_updated and first.updated_lists == ("1",), first.problems
    assert (store / TRUST_LIST_FILE).read_bytes() == (site.public / TRUST_LIST_FILE).read_bytes()
    second = sync.sync_once()
    assert second.ok and second.not_modified == (TRUST, STATUS)
    assert sync.verifier is not None
    assert sync.verifier.verify_qr(to_qr(issued.print_cose)).verdict is Verdict.VALID

    # a restarted reader sends its saved ETags (nginx's) at once
    assert TrustSync(store, root, site.nginx.url).sync_once().not_modified == (TRUST, STATUS)
    # a revocation reaches the reader through nginx
    site.issuer.set_status(issued.status_index, "revoked")
    site.issuer.publish()
    third = sync.sync_once()
    assert third.ok and third.updated_lists == ("1",) and third.not_modified == (TRUST,)
    assert sync.verifier.verify_qr(to_qr(issued.print_cose)).verdict is Verdict.REVOKED


def test_every_published_version_has_its_own_etag(site: Site) -> None:
    # nginx's ETag is mtime (seconds) and size; status lists re-signed within one second often
    # keep their length, so the writer moves each new version's mtime past the old one's
    # (cardio.files.write_atomic) and a reader never gets 304 for bytes it does not hold.
    cards = [site.issuer.issue(HOLDER) for _ in range(30)]
    site.issuer.publish()
    seen: dict[str, bytes] = {}
    for card in cards:
        site.issuer.set_status(card.status_index, "revoked")
        site.issuer.publish()
        answer = get(site.nginx.url + STATUS)
        assert seen.setdefault(answer.headers["ETag"], answer.body) == answer.body
    assert len(seen) == len(cards)


def test_render_refuses_what_nginx_would_misread(tmp_path: Path) -> None:
    for option, value in (("--server-name", "cc.example; include /etc/passwd"),
                          ("--listen", "80 { }"), ("--public-dir", "/srv/$host"),
                          ("--upstream", "127.0.0.1:8080; server evil:80")):  # fmt: skip
        done = subprocess.run(
            [sys.executable, str(RENDER), "--dir", str(tmp_path), option, value],
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0 and done.stdout == "", (option, value)
        assert "render.py:" in done.stderr, done.stderr
