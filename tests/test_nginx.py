"""deploy/nginx/citycard.conf, rendered by deploy/nginx/render.py, in front of a real issuer.

Debian's nginx runs in the foreground on a loopback port with everything under a temporary
prefix (render.py --standalone); the issuer API runs as `citycard-api serve` behind it. Each
public file must come back as the API gives it (media type, Cache-Control, CORS and security
headers), with the published bytes, a strong ETag and 304 on If-None-Match; the phone page
with its own policy; everything else from the API. A reader's trust sync must work through it.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api.issuer.desk import routes_login
from api.issuer.page_errors import TOO_LARGE
from api.issuer.page_i18n import translations
from api.issuer.pages import PAGE_HEADERS
from api.issuer.routes_lost import THROTTLED
from api.issuer.routes_public import COMMON_HEADERS
from api.issuer.service import Issuer
from api.phone import PAGE_DIR, content_security_policy
from cardio.credential import Holder, to_qr
from cardio.keys import fingerprint, load_public_pem
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, TRUST_LIST_FILE
from cardio.trust_sync import TrustSync, pinned_root_key
from cardio.verdict import Verdict
from tests.serve_helpers import (
    NGINX,
    RENDER,
    Answer,
    Nginx,
    Nginxes,
    free_port,
    get,
    stop,
    wait_for,
)

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


# -- nginx's own answers: rate limits, too large bodies, logs, TLS ------------------------------

JSON_ERROR_HEADERS = (*COMMON_HEADERS, ("Cache-Control", "no-store"))


def send(url: str, method: str = "POST", body: bytes = b"", **headers: str) -> Answer:
    """`url` with `method` and `body` (urllib, every header kept; HTTP errors are answers)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return Answer(res.status, res.headers, res.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


def assert_api_json_error(answer: Answer, status: int, code: str) -> None:
    """The API's error shape (docs/api.md, "Errors"), never nginx's English HTML page."""
    assert answer.status == status, answer.body[:300]
    assert answer.headers["Content-Type"] == "application/json", answer.body[:300]
    data = json.loads(answer.body)
    assert set(data) == {"code", "message"} and data["code"] == code
    assert data["message"].endswith("."), "a sentence"
    for name, value in JSON_ERROR_HEADERS:
        assert answer.headers.get_all(name) == [value], name


def assert_not_nginx_page(answer: Answer) -> None:
    assert b"<center>nginx</center>" not in answer.body, answer.body[:300]


def exhaust_form_zone(site: Site) -> list[int]:
    """Quick posts to a desk address (each answered at once by the app) until nginx's flood
    guard for form posts refuses them; its statuses."""
    seen = [send(f"{site.nginx.url}/desk/nothing-here").status for _ in range(60)]
    assert 429 in seen, seen
    return seen


def said(answer: Answer, lang: str, message: str) -> bool:
    """True when the page `answer` says `message` in `lang` as its message."""
    html = answer.body.decode("utf-8")
    text = translations(lang).gettext(message)
    return f'lang="{lang}"' in html and re.search(r'class="message[^"]*"[^>]*>' + re.escape(text), html) is not None


def test_page_loads_are_not_rate_limited(site: Site) -> None:
    """Only form posts count: behind one office or mobile-carrier address, loading /lost or the
    desk many times is no attack (it was refused in English after 21 quick loads)."""
    for path in ("/lost?lang=de", "/desk/login"):
        statuses = {
            get(site.nginx.url + path, **{"Accept-Language": "de"}).status for _ in range(45)
        }
        assert statuses == {200}, (path, statuses)


def test_the_flood_guard_answers_in_the_pages_and_the_apis_own_ways(site: Site) -> None:
    exhaust_form_zone(site)
    # a form post refused by nginx: the page again, in its language, from the app (no post)
    lost = send(site.nginx.url + "/lost?lang=de", body=b"doc=DEV00000018&code=x")
    # the header says the sentence's wait ("in a minute"), once (it said 1 second)
    assert lost.status == 429 and lost.headers.get_all("Retry-After") == ["60"]
    assert_not_nginx_page(lost)
    assert lost.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'lang="de"' in lost.body.decode("utf-8")
    assert lost.headers.get_all("Content-Security-Policy") == get(
        site.api + "/lost?lang=de"
    ).headers.get_all("Content-Security-Policy"), "the page's own headers, once"
    # ... saying why, in the page's language (an empty form lost what was typed, silently)
    assert said(lost, "de", THROTTLED[0]), lost.body.decode("utf-8")
    desk = send(site.nginx.url + "/desk/login", body=b"staff_id=x&password=y")
    assert desk.status == 429 and desk.headers.get_all("Retry-After") == ["60"]
    assert_not_nginx_page(desk)
    assert said(desk, "en", routes_login.THROTTLED[0]), desk.body.decode("utf-8")
    # a desk action (POST only): the sentence, not "cannot be used that way", and never the
    # new-code page's "the code was shown once" (no code was made)
    for action in ("suspend", "code"):
        exhaust_form_zone(site)
        refused = send(f"{site.nginx.url}/desk/cards/DEV00000018/{action}", body=b"csrf=x",
                       **{"Accept-Language": "de"})  # fmt: skip
        assert refused.status == 429, (action, refused.status)
        assert said(refused, "de", routes_login.THROTTLED[0]), refused.body.decode("utf-8")
        assert "DEV00000018" not in refused.body.decode("utf-8"), "no card page, no look-up"
    # the JSON twin of the lost page: the API's JSON error
    refused = send(
        site.nginx.url + "/api/v1/self-revocation",
        body=b'{"document_number": "DEV00000018", "code": "AAAAA-AAAAA"}',
        **{"Content-Type": "application/json"},
    )
    assert_api_json_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_body_over_nginxs_limit_gets_the_apis_json_error(site: Site) -> None:
    big = b"{" + b" " * 70_000 + b"}"
    for method, path in (("POST", "/api/v1/self-revocation"), ("POST", "/api/v1/kiosk/allocations"),
                         ("PUT", "/wallet/pickups"), ("GET", STATUS)):  # fmt: skip
        answer = send(site.nginx.url + path, method, big, **{"Content-Type": "application/json"})
        if path == "/wallet/pickups":  # its limit is the upload's: the API answers
            assert answer.status == 405 and json.loads(answer.body)["code"] == "method_not_allowed"
            continue
        assert_api_json_error(answer, 413, "too_large")
    # the pages' limit is larger than the app's: the app answers in the page's language
    page = send(site.nginx.url + "/lost?lang=fr", body=b"doc=" + b"1" * 100_000)
    assert page.status == 413 and 'lang="fr"' in page.body.decode("utf-8")
    assert_not_nginx_page(page)
    # over the pages' own limit nginx refuses it: the page says so, in its language
    huge = b"doc=" + b"1" * 300_000
    page = send(site.nginx.url + "/lost?lang=fr", body=huge)
    assert page.status == 413 and said(page, "fr", TOO_LARGE), page.body.decode("utf-8")
    assert "Retry-After" not in page.headers  # waiting does not make it smaller
    desk = send(site.nginx.url + "/desk/cards/DEV00000018/revoke", body=huge,
                **{"Accept-Language": "nl"})  # fmt: skip
    assert desk.status == 413 and said(desk, "nl", TOO_LARGE), desk.body.decode("utf-8")


def test_a_forged_refusal_header_only_gets_an_error_page(site: Site) -> None:
    """The header nginx sets for its refusals is a display hint: sent by a client to the app,
    it shows the same error page and nothing else (no form, no card, no code)."""
    for path in ("/lost?lang=de&doc=DEV00000018", "/desk/cards/DEV00000018/code"):
        answer = get(site.api + path, **{"X-Citycard-Refused": "429"})
        assert answer.status == 429 and "DEV00000018" not in answer.body.decode("utf-8"), path
    assert get(site.api + "/lost", **{"X-Citycard-Refused": "200"}).status == 200


def test_desk_without_its_slash_is_the_apps_redirect_with_the_page_headers(site: Site) -> None:
    conn = http.client.HTTPConnection(site.nginx.url.removeprefix("http://"), timeout=10)
    conn.request("GET", "/desk?lang=de")
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    assert answer.status == 308 and answer.getheader("Location", "").endswith("/desk/?lang=de")
    assert b"nginx" not in body
    for name, value in PAGE_HEADERS:
        assert answer.getheader(name) == value, name


def test_health_is_not_public(site: Site) -> None:
    """/health is for load balancers on each API host's own port, not for the world."""
    assert get(site.api + "/health").status == 200
    assert_api_json_error(get(site.nginx.url + "/health"), 404, "not_found")


def test_the_access_log_holds_no_address_and_no_query(site: Site) -> None:
    secret = "proof-" + "7" * 20
    for path in ("/verify/", "/lost?doc=DEV00000018", f"/wallet/pickups/abc?proof={secret}",
                 "/desk/card?number=DEV00000018", STATUS + "?doc=DEV00000026"):  # fmt: skip
        get(site.nginx.url + path)
    # refusals by nginx itself are answered in named locations: not logged either
    exhaust_form_zone(site)
    send(site.nginx.url + "/desk/cards/DEV00000034/suspend", body=b"csrf=x")
    send(site.nginx.url + "/lost?doc=DEV00000042", body=b"doc=" + b"1" * 300_000)
    send(f"{site.nginx.url}/wallet/pickups/DEV00000059?proof={secret}", "PUT", b" " * 300_000)
    get(site.nginx.url + "/status/nosuch")  # a list not published: the API answers
    log = site.nginx.prefix / "access.log"
    # buffered per worker process: each flushes within its flush time (5 s)
    deadline, text = time.monotonic() + 15, ""
    while time.monotonic() < deadline and not (
        "GET /verify/ " in text and f"GET {STATUS} " in text
    ):
        time.sleep(0.2)
        text = log.read_text("utf-8") if log.exists() else ""
    assert "GET /verify/ " in text and f"GET {STATUS} " in text, text
    for forbidden in ("127.0.0.1", "DEV000000", secret, "doc=", "proof=", "?", "/desk",
                      "/lost", "/wallet/pickups/"):  # fmt: skip
        assert forbidden not in text, (forbidden, text)
    # the error log: no line for a public file that is not there (the API answers it)
    errors = (site.nginx.prefix / "error.log").read_text("utf-8")
    assert "nosuch" not in errors, errors
    rendered = render_site(site.issuer.dir)
    assert "log_format citycard" in rendered
    assert "access_log /var/log/nginx/citycard-access.log citycard" in rendered
    for variable in ("$remote_addr", "$request ", "$request_uri", "$args", "$query_string",
                     "$http_x_forwarded_for", "$binary_remote_addr\"", '$request"'):  # fmt: skip
        fmt = rendered[rendered.index("log_format citycard") :]
        assert variable not in fmt[: fmt.index(";")], variable


def render_site(issuer_dir: Path, *options: str) -> str:
    done = subprocess.run(
        [sys.executable, str(RENDER), "--dir", str(issuer_dir), *options],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_tls_is_rendered_and_plain_http_is_sent_to_it(
    site: Site, tmp_path: Path, nginxes: Nginxes
) -> None:
    """The certificate lines come from render.py (a re-render keeps them), and plain HTTP is
    redirected: the desk's and the lost page's cookies are __Host-/Secure."""
    cert, key = self_signed(tmp_path)
    prefix = tmp_path / "tls"
    https_port, http_port = free_port(), free_port()
    options = ["--dir", str(site.issuer.dir), "--upstream", site.api.removeprefix("http://"),
               "--server-name", "localhost", "--listen", f"127.0.0.1:{https_port}",
               "--http-listen", f"127.0.0.1:{http_port}", "--tls-cert", str(cert),
               "--tls-key", str(key), "--standalone", str(prefix),
               "--out", str(prefix / "nginx.conf")]  # fmt: skip
    subprocess.run([sys.executable, str(RENDER), *options], check=True)
    nginxes.run(prefix, https_port, http_port)

    context = ssl.create_default_context(cafile=str(cert))
    req = urllib.request.Request(f"https://localhost:{https_port}{TRUST}")
    with urllib.request.urlopen(req, context=context, timeout=10) as res:
        assert res.status == 200 and res.read() == (site.public / TRUST_LIST_FILE).read_bytes()
    with urllib.request.urlopen(
        f"https://localhost:{https_port}/desk/login", context=context, timeout=10
    ) as res:
        assert res.status == 200, "behind TLS the desk works (its cookies are Secure)"

    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    conn.request("GET", "/lost?lang=de", headers={"Host": "localhost"})
    moved = conn.getresponse()
    assert moved.status == 301
    assert moved.getheader("Location") == f"https://localhost:{https_port}/lost?lang=de"
    conn.close()

    plain = render_site(site.issuer.dir, "--tls-cert", str(cert), "--tls-key", str(key))
    assert "listen 443 ssl;" in plain and f"ssl_certificate {cert.resolve()};" in plain
    assert "listen 80;" in plain and "return 301 https://$host$request_uri;" in plain
    assert "listen 80;" in render_site(site.issuer.dir) and "ssl" not in render_site(
        site.issuer.dir
    ).replace("ssl_", "")


def test_render_refuses_half_a_tls_setting(tmp_path: Path) -> None:
    cert, _key = self_signed(tmp_path)
    done = subprocess.run(
        [sys.executable, str(RENDER), "--dir", str(tmp_path), "--tls-cert", str(cert)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "--tls-key" in done.stderr
