"""The phone pages' text files go gzip-compressed to a browser that accepts gzip (the issuer's
Flask blueprints; nginx: tests/test_nginx.py). A venue's phone downloaded ~1.1 MB uncompressed
(texts.json alone is ~600 KB) on its first visit."""

from __future__ import annotations

import gzip
import os

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.phone import PAGE_DIR, blueprint
from api.phone.compressed import MIN_SIZE
from api.phone.wallet import WALLET_DIR
from api.phone.wallet import blueprint as wallet_blueprint

GZIP = {"Accept-Encoding": "gzip, deflate, br"}  # as Chromium and Firefox ask


@pytest.fixture(name="client")
def fixture_client() -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(blueprint())
    app.register_blueprint(wallet_blueprint())
    return app.test_client()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/verify/texts.json", PAGE_DIR / "texts.json"),
        ("/verify/jsQR.js", PAGE_DIR / "jsQR.js"),
        ("/verify/", PAGE_DIR / "index.html"),
        ("/wallet/texts.json", WALLET_DIR / "texts.json"),
        ("/wallet/jsQR.js", PAGE_DIR / "jsQR.js"),
    ],
)
def test_text_files_go_compressed_to_a_browser_that_accepts_gzip(
    client: FlaskClient, url: str, path: os.PathLike[str]
) -> None:
    plain = client.get(url)
    with open(path, "rb") as fh:
        original = fh.read()
    assert plain.status_code == 200 and plain.data == original
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]

    packed = client.get(url, headers=GZIP)
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == original
    assert len(packed.data) < len(original) // 2  # what the phone saves
    assert int(packed.headers["Content-Length"]) == len(packed.data)
    assert "Accept-Encoding" in packed.headers["Vary"]
    # the same answer otherwise: type, caching, the page's security policy
    for header in ("Content-Type", "Cache-Control", "Content-Security-Policy", "X-Frame-Options"):
        assert packed.headers[header] == plain.headers[header], header
    # each form has its own strong ETag, and a revalidation gets 304 for either
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert not packed.headers["ETag"].startswith("W/")
    again = client.get(url, headers={**GZIP, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_small_files_images_and_refusals_go_as_they_are(client: FlaskClient) -> None:
    small = min((p for p in WALLET_DIR.iterdir() if p.suffix == ".svg"), key=lambda p: p.stat().st_size)
    assert small.stat().st_size < MIN_SIZE
    res = client.get(f"/wallet/{small.name}", headers=GZIP)
    assert res.status_code == 200 and res.data == small.read_bytes()
    assert "Content-Encoding" not in res.headers
    # a browser that refuses gzip, or asks for something else only
    for refusal in ("gzip;q=0", "identity", "br"):
        res = client.get("/verify/texts.json", headers={"Accept-Encoding": refusal})
        assert "Content-Encoding" not in res.headers, refusal
        assert res.data == (PAGE_DIR / "texts.json").read_bytes()
    # unknown files stay unknown
    assert client.get("/verify/missing.json", headers=GZIP).status_code == 404
    assert client.get("/wallet/.hidden", headers=GZIP).status_code == 404


def test_a_new_version_of_a_file_is_compressed_anew(tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    from api.phone.compressed import send_page

    directory = Path(tmp_path)
    page = directory / "words.json"
    page.write_text('{"a": "' + "x" * 4000 + '"}', "utf-8")
    app = Flask(__name__)
    app.add_url_rule("/<name>", view_func=lambda name: send_page(directory, name, 60))
    client = app.test_client()
    first = client.get("/words.json", headers=GZIP)
    page.write_text('{"b": "' + "y" * 5000 + '"}', "utf-8")
    os.utime(page, ns=(page.stat().st_atime_ns, page.stat().st_mtime_ns + 10**9))
    second = client.get("/words.json", headers=GZIP)
    assert gzip.decompress(second.data) == page.read_bytes()
    assert second.headers["ETag"] != first.headers["ETag"]
