"""The phone pages, from an exploratory pass: one language rule on every page, a code that is
not one to check gets a notice (the holder's wallet card included), QR images and noscript
sentences in the page's language, a wallet 404 page and manifest in the holder's language,
right-to-left boxes mirrored, and no request shown where its answer cannot be checked.

The JavaScript is checked cheaply: the shared presentation.js runs in node's vm (no browser),
the page scripts are read as text."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.phone import PAGE_DIR, catalogue
from api.phone.wallet import WALLET_DIR, files

from .test_phone_compression import fixture_client  # noqa: F401  (the pages' test client)

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
WALLET_JS = (WALLET_DIR / "wallet.js").read_text("utf-8")
VERIFY_JS = (PAGE_DIR / "verify.js").read_text("utf-8")
VENUE_JS = (PAGE_DIR / "venue.js").read_text("utf-8")
PRESENTATION_JS = (PAGE_DIR / "presentation.js").read_text("utf-8")
LANGUAGE_CODES = sorted(json.loads((WALLET_DIR / "texts.json").read_text("utf-8"))["languages"])
# The shape of the holder's card as the wallet keeps it (compact SD-JWT with disclosures);
# made-up bytes, no resident's data.
SD_JWT = (
    "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJkZW1vIn0.c2lnbmF0dXJl~WyJzYWx0IiwieCIsMV0~WyJzIiwieSIsMl0~"
)


def presentation(expression: str) -> Any:
    """`expression` evaluated in node with presentation.js loaded (P is its export)."""
    assert NODE is not None
    script = (
        "const vm = require('vm'), fs = require('fs');"
        "const ctx = {window: {}, TextEncoder, TextDecoder};"
        "vm.createContext(ctx);"
        f"vm.runInContext(fs.readFileSync({json.dumps(str(PAGE_DIR / 'presentation.js'))}, 'utf8'), ctx);"
        "const P = ctx.window.citycardPresentation;"
        f"process.stdout.write(JSON.stringify({expression}));"
    )
    done = subprocess.run(
        [NODE, "-e", script], capture_output=True, text=True, timeout=20, check=True
    )
    return json.loads(done.stdout)


# -- 1. one language rule ------------------------------------------------------------------------


@needs_node
def test_the_shared_matcher_keeps_traditional_chinese_traditional() -> None:
    codes = json.dumps(LANGUAGE_CODES)
    got = presentation(
        "["
        + ",".join(
            f"P.matchLanguage({json.dumps(tag)}, {codes})"
            for tag in (
                "zh-TW",
                "zh-HK",
                "zh-MO",
                "zh-Hant-TW",
                "zh_TW",
                "zh-CN",
                "zh-Hans-HK",
                "zh",
                "de-CH",
                "gsw",
                "pt-BR",
                "",
            )
        )
        + f", P.pickLanguage(['gsw', 'de'], {codes}), P.pickLanguage(['xx'], {codes})]"
    )
    assert got == [
        "zh-Hant",
        "zh-Hant",
        "zh-Hant",
        "zh-Hant",
        "zh-Hant",
        "zh",
        "zh",
        "zh",
        "de",
        None,
        "pt",
        None,
        "de",
        "en",
    ]


def test_both_pages_use_the_shared_matcher_and_every_browser_language() -> None:
    assert "function matchLanguage" not in VERIFY_JS and "function matchLanguage" not in WALLET_JS
    assert 'split("-")[0]' not in WALLET_JS  # the old base-subtag-only rule
    assert "P.pickLanguage(" in WALLET_JS and "navigator.languages" in WALLET_JS
    assert "window.citycardPresentation.pickLanguage(" in VERIFY_JS
    # the card check page loads the shared file before its own script
    index = (PAGE_DIR / "index.html").read_text("utf-8")
    assert index.index('src="presentation.js"') < index.index('src="verify.js"')
    venue = (PAGE_DIR / "venue.html").read_text("utf-8")
    assert venue.index('src="presentation.js"') < venue.index('src="verify.js"')


# -- 2. a throttled or failing pickup says so -----------------------------------------------------


def test_a_throttled_or_failing_pickup_is_not_blamed_on_the_network() -> None:
    pickup = WALLET_JS.split("async function pickup(", 1)[1].split("\n  }\n", 1)[0]
    assert re.search(r"status === 429\)\s*throw new Shown\((\w+)\)", pickup)
    assert re.search(r"status >= 500\)\s*throw new Shown\((\w+)\)", pickup)
    busy = re.search(r"status === 429\)\s*throw new Shown\((\w+)\)", pickup)
    failing = re.search(r"status >= 500\)\s*throw new Shown\((\w+)\)", pickup)
    assert busy and failing and {busy[1], failing[1]}.isdisjoint({"NO_NETWORK"})
    for name in (busy[1], failing[1]):
        msgid = re.search(name + r' = N_\("([^"]+)"\)', WALLET_JS)
        assert msgid, name
        for code, _rtl in files.LANGUAGES:
            assert msgid[1] in files.read_po(files.po_path(code)), (code, name)


# -- 3. the wallet's 404 page -----------------------------------------------------------------


def test_a_mistyped_wallet_address_gets_a_page_in_the_holders_language(client: FlaskClient) -> None:
    for url in ("/wallet/nope", "/wallet/a/b", "/wallet/.hidden"):
        res = client.get(url, headers={"Accept": "text/html", "Accept-Language": "fa"})
        assert res.status_code == 404 and res.mimetype == "text/html", url
        html = res.get_data(as_text=True)
        assert '<html lang="fa" dir="rtl">' in html
        fa = files.read_po(files.po_path("fa"))
        assert fa["There is no page at this address."] in html
        assert 'href="/wallet/"' in html and fa["City card"] in html
        assert res.headers["Content-Security-Policy"].startswith("default-src 'none'")
    script = client.get("/wallet/nope", headers={"Accept": "application/json"})
    assert script.status_code == 404 and 'lang="fa"' not in script.get_data(as_text=True)
    assert client.get("/wallet/wallet.js").status_code == 200


# -- 4. QR images' alt text -----------------------------------------------------------------------


def test_no_english_literal_is_put_in_an_attribute_a_person_reads() -> None:
    for path in [*PAGE_DIR.glob("*.js"), WALLET_DIR / "wallet.js"]:
        if path.name in ("jsQR.js", "qrcode.js"):
            continue
        text = path.read_text("utf-8")
        assert not re.search(r"\.(alt|title|placeholder)\s*=\s*\"", text), path.name
    assert "function drawQr(text, cell, alt)" in PRESENTATION_JS
    assert re.search(r"P\.drawQr\([^;]*, alt\)", WALLET_JS)
    assert 't("Answer code {i} of {n}"' in WALLET_JS and 't("Your answer\'s code")' in WALLET_JS
    assert re.search(r"P\.drawQr\([^;]*, t\(", VENUE_JS)
    assert catalogue.problems(catalogue.extract()) == []


# -- 5. the manifest in the holder's language -------------------------------------------------


def test_the_wallet_manifest_speaks_the_holders_language(client: FlaskClient) -> None:
    ar = files.read_po(files.po_path("ar"))
    res = client.get("/wallet/manifest.webmanifest?lang=ar")
    assert res.status_code == 200 and res.headers["Content-Type"] == "application/manifest+json"
    manifest = json.loads(res.data)
    assert manifest["name"] == manifest["short_name"] == ar["City card"]
    assert manifest["lang"] == "ar" and manifest["dir"] == "rtl"
    assert (
        manifest["description"]
        != json.loads((WALLET_DIR / "manifest.webmanifest").read_text())["description"]
    )
    assert manifest["start_url"] == "./" and manifest["icons"]
    by_header = json.loads(
        client.get("/wallet/manifest.webmanifest", headers={"Accept-Language": "zh-TW"}).data
    )
    assert by_header["lang"] == "zh-Hant"
    assert "Accept-Language" in client.get("/wallet/manifest.webmanifest").headers["Vary"]
    english = json.loads(client.get("/wallet/manifest.webmanifest?lang=nope").data)
    assert english["name"] == "City card" and english["lang"] == "en" and english["dir"] == "ltr"
    # the page asks for its manifest in the card's language
    assert "manifest.webmanifest?lang=" in WALLET_JS


# -- 6 and 10. a code that is not one to check ------------------------------------------------


@needs_node
def test_kinds_of_code_include_the_holders_wallet_card() -> None:
    texts = [
        "hello world",
        "CC1:6BF",
        "cc1:6bf",
        SD_JWT,
        "  " + SD_JWT + "\n",
        "CCQ1:x",
        "CCS1:x",
        "",
    ]
    got = presentation("[" + ",".join(f"P.codeKind({json.dumps(t)})" for t in texts) + "]")
    assert got == [
        "other",
        "card",
        "card",
        "wallet_card",
        "wallet_card",
        "request",
        "answer",
        "empty",
    ]


def test_the_card_check_page_gives_notices_for_other_codes_and_a_sentence_for_its_own() -> None:
    malformed = VERIFY_JS.split("MALFORMED:", 1)[1].split("),", 1)[0]
    assert "printed QR" not in malformed and "scan it again" in malformed
    notices = re.search(r"const NOTICES = new Set\(\[([^\]]*)\]\)", VERIFY_JS)
    assert notices and {"other", "wallet_card", "answer", "request", "empty"} <= set(
        re.findall(r'"(\w+)"', notices[1])
    )
    venue = re.search(r"const NOTICES = new Set\(\[([^\]]*)\]\)", VENUE_JS)
    assert venue and {"wallet_card", "card", "request", "empty"} <= set(
        re.findall(r'"(\w+)"', venue[1])
    )
    words = VERIFY_JS.split("const KIND_WORDS = {", 1)[1].split("\n  };", 1)[0]
    assert re.search(r'wallet_card: \{\s*msgid: N_\("[^"]+"\),\s*href: "venue\.html"', words)


# -- 7. right to left ---------------------------------------------------------------------------


def test_the_pages_css_mirrors_in_right_to_left_languages() -> None:
    index = (PAGE_DIR / "index.html").read_text("utf-8")
    sheets = {
        "index.html": re.search(r"<style>(.*?)</style>", index, re.S)[1],  # type: ignore[index]
        "venue.css": (PAGE_DIR / "venue.css").read_text("utf-8"),
        "wallet.css": (WALLET_DIR / "wallet.css").read_text("utf-8"),
    }
    sided = re.compile(r"\b(?:border|padding|margin)-(?:left|right)\b|[;{]\s*(?:left|right)\s*:")
    value = r"([^\s;}]+)"
    four = re.compile(r"\b(?:padding|margin):\s*" + r"\s+".join([value] * 4) + r"\s*[;}]")
    for name, css in sheets.items():
        assert not sided.search(css), name
        for values in four.findall(css):
            assert values[1] == values[3], (name, values)


# -- 8. noscript -----------------------------------------------------------------------------


def test_noscript_sentences_are_translated_and_served_in_the_browsers_language(
    client: FlaskClient,
) -> None:
    pages = {
        PAGE_DIR / "index.html": "phone",
        PAGE_DIR / "venue.html": "phone",
        WALLET_DIR / "index.html": "wallet",
    }
    for path, domain in pages.items():
        for body in re.findall(r"<noscript>(.*?)</noscript>", path.read_text("utf-8"), re.S):
            msgid = re.search(r'data-t="([^"]+)"', body)
            assert msgid and msgid[1] in body.split(">", 2)[-1], path.name
            for code, _rtl in files.LANGUAGES:
                assert msgid[1] in catalogue.read_po(catalogue.po_path(code, domain)), (
                    code,
                    path.name,
                )
    uk = catalogue.read_po(catalogue.po_path("uk", "phone"))
    page = client.get("/verify/", headers={"Accept-Language": "uk"})
    assert uk["This page needs JavaScript to check a card."] in page.get_data(as_text=True)
    assert "Accept-Language" in page.headers["Vary"] and page.headers["Content-Language"] == "uk"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # the page made for a language revalidates and compresses as the files do
    asked = {"Accept-Language": "uk", "Accept-Encoding": "gzip"}
    packed = client.get("/verify/", headers=asked)
    assert (
        packed.headers["Content-Encoding"] == "gzip" and gzip.decompress(packed.data) == page.data
    )
    etag = packed.headers["ETag"]
    assert client.get("/verify/", headers={**asked, "If-None-Match": etag}).status_code == 304
    assert client.get("/verify/").data == (PAGE_DIR / "index.html").read_bytes()  # English
    venue = client.get("/verify/venue.html?lang=ar").get_data(as_text=True)
    assert (
        catalogue.read_po(catalogue.po_path("ar", "phone"))["This page needs JavaScript."] in venue
    )
    wallet = client.get("/wallet/", headers={"Accept-Language": "ti"}).get_data(as_text=True)
    assert files.read_po(files.po_path("ti"))["This page needs JavaScript."] in wallet


# -- 9. no request over plain http ----------------------------------------------------------


def test_the_venue_page_makes_no_request_it_could_not_check() -> None:
    body = VENUE_JS.split("function newRequest() {", 1)[1].split("\n  }\n", 1)[0]
    guard = body.index("isSecureContext")
    assert guard < body.index("P.newRequest(") and "V.INSECURE_PAGE" in body
    assert re.search(r"\bINSECURE_PAGE\b", VERIFY_JS.split("window.citycard = {", 1)[1])


def test_generated_files_and_workers_follow_the_pages() -> None:
    for path, text in files.render().items():
        assert path.read_text("utf-8") == text, (
            f"run python -m api.phone.wallet.files ({path.name})"
        )
    assert catalogue.problems(catalogue.extract()) == []
    assert Path(PAGE_DIR / "sw.js").read_text("utf-8").count('"./presentation.js"') == 1


# -- review of the venue pages: the manifest's ETag, one language lookup, venue page words ----


def test_a_new_translation_of_the_manifest_gets_a_new_etag(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.phone.wallet as wallet_page

    first = client.get("/wallet/manifest.webmanifest?lang=de")
    # a deploy that changes only wallet.po: the static file (and its mtime) stays the same
    real = wallet_page.words

    def retranslated(code: str, domain: str = "phone") -> dict[str, str]:
        return {**real(code, domain), "City card": "Neue Stadtkarte"}

    monkeypatch.setattr(wallet_page, "words", retranslated)
    etag = first.headers["ETag"]
    second = client.get("/wallet/manifest.webmanifest?lang=de", headers={"If-None-Match": etag})
    assert second.status_code == 200 and json.loads(second.data)["name"] == "Neue Stadtkarte"
    assert second.headers["ETag"] != etag
    same = client.get("/wallet/manifest.webmanifest?lang=de", headers={"If-None-Match": second.headers["ETag"]})
    assert same.status_code == 304


def test_direction_uses_the_shared_language_table() -> None:
    from api.phone import direction

    assert direction("he") == "rtl" and direction("zh-Hant") == "ltr"
    assert direction("xx") == "ltr"  # not one of the languages: no StopIteration


def test_the_venue_page_names_each_entitlement_line_once() -> None:
    # a venue asks for every code of a line, all under the line's label: said once, and a line
    # the card shared by another code is not "not shared"
    assert "V.list(unique(type.items.map(" in VENUE_JS
    assert "unique(res.missing.map(label)).filter((w) => !held.has(w))" in VENUE_JS


@needs_node
def test_the_wallet_lists_each_entitlement_line_once() -> None:
    # consentItems, from wallet.js as text, with the holder's card holding culture-discount only
    body = re.search(r"\n  function consentItems\(.*?\n  }\n", WALLET_JS, re.S)
    assert body is not None
    library = next(v for v in json.loads((PAGE_DIR / "venues.json").read_text()) if v["name"] == "library")
    items = [i["item"] for i in library["items"]]
    script = (
        "const P = {ENTITLEMENT: 'entitlement:'};"
        "const held = (i) => i === 'entitlement:culture-discount' || !i.startsWith('entitlement:');"
        + body[0]
        + f"process.stdout.write(JSON.stringify([consentItems({json.dumps(items)}, {json.dumps(library)}),"
        f" consentItems({json.dumps(items)}, undefined)]));"
    )
    assert NODE is not None
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=20, check=True)
    listed, unknown = json.loads(done.stdout)
    assert listed == [
        "photo", "given_name", "family_name", "document_number", "entitlement:library",
        "entitlement:culture-discount",
    ]  # fmt: skip
    assert unknown == items  # a venue the page does not know: every item as it asks
