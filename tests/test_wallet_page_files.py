"""The wallet page's and the venue page's files: catalogues complete in every kiosk language,
generated files up to date, the vendored QR encoder the npm release it names, and the pages
served with a policy that runs no inline code."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from flask import Flask

from api.phone import PAGE_DIR, blueprint, venue_requests
from api.phone.wallet import SERVER_MSGIDS, WALLET_DIR, files
from api.phone.wallet import blueprint as wallet_blueprint
from cardio.venues import VenueError, VenueProfile
from cardio.wallet_claims import ITEMS
from kiosk.i18n import LANGUAGES as KIOSK_LANGUAGES

PLACEHOLDER = re.compile(r"\{\w+\}")


def page_msgids() -> set[str]:
    """The msgids the wallet page uses: t("..."), N_("..."), say("..."), done("..."),
    Shown("..."), the item words, data-t="..." in the HTML, and the server's own words (the
    404 page, the manifest: api.phone.wallet.SERVER_MSGIDS)."""
    js = (WALLET_DIR / "wallet.js").read_text("utf-8")
    html = (WALLET_DIR / "index.html").read_text("utf-8")
    ids = set(re.findall(r'\b(?:t|N_|say|Shown|done)\(\s*"((?:[^"\\]|\\.)*)"', js))
    ids |= set(re.findall(r'"(Your [a-z ]+|Whether you are over \d+)"', js))
    ids |= set(re.findall(r'data-t="([^"]*)"', html))
    ids |= set(SERVER_MSGIDS)
    return ids


def test_every_item_a_request_can_name_has_words_on_the_wallet_page() -> None:
    js = (WALLET_DIR / "wallet.js").read_text("utf-8")
    table = js.split("const ITEM_WORDS = {", 1)[1].split("};", 1)[0]
    words = dict(re.findall(r'(\w+): N_\("([^"]+)"\)', table))
    assert set(words) == set(ITEMS)  # cardio.wallet_claims: every item but entitlements
    assert set(words.values()) <= page_msgids()
    # and presentation.js accepts exactly those items in a request
    shared = (PAGE_DIR / "presentation.js").read_text("utf-8")
    personal = shared.split("const PERSONAL = [", 1)[1].split(";", 1)[0]
    derived = shared.split("const ITEMS = PERSONAL.concat([", 1)[1].split(";", 1)[0]
    assert set(re.findall(r'"([a-z_0-9]+)"', personal + derived)) == set(ITEMS)


def test_the_wallet_names_entitlements_as_the_venue_pages_do() -> None:
    """programmes.json holds names.json's names (the venue and verification pages'), per
    programme: every language has every entitlement's name, its own or English."""
    from api.phone.names import names

    by_language = names()["languages"]
    assert isinstance(by_language, dict)
    programmes = json.loads(files.PROGRAMMES_FILE.read_text("utf-8"))
    for code, _rtl in files.LANGUAGES:
        entry = by_language.get(code, {})
        for programme, codes in by_language["en"]["entitlements"].items():
            for ent, english in codes.items():
                shown = programmes[programme]["entitlements"][ent]
                own = entry.get("entitlements", {}).get(programme, {}).get(ent)
                assert shown.get(code, shown["en"]) == (own or english), (code, programme, ent)
    assert programmes["zurich"]["entitlements"]["pool"]["ar"] == "مسابح المدينة"
    assert programmes["zurich"]["entitlements"]["pool"]["de"] == "Badi-Eintritt"


def test_the_languages_are_the_kiosks() -> None:
    assert tuple((lang.code, lang.rtl) for lang in KIOSK_LANGUAGES) == files.LANGUAGES


def test_the_english_catalogue_holds_every_text_of_the_page() -> None:
    english = files.read_po(files.po_path("en"))
    assert set(english) == page_msgids()
    assert all(english[k] == k for k in english)


@pytest.mark.parametrize("language", [code for code, _rtl in files.LANGUAGES if code != "en"])
def test_every_language_translates_every_text(language: str) -> None:
    path = files.po_path(language)
    catalogue = files.read_po(path)
    missing = page_msgids() - set(catalogue)
    assert not missing, f"{path} lacks translations of {sorted(missing)}"
    for msgid, text in catalogue.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(msgid)), (language, msgid)
        assert text != msgid or msgid == "City card" or len(msgid) < 6, (language, msgid)
    entries = path.read_text("utf-8").count("\nmsgid ") - 1  # the header's msgid ""
    assert path.read_text("utf-8").count("# needs native review\nmsgid ") == entries


def test_a_fuzzy_or_empty_translation_counts_as_missing(tmp_path: Path) -> None:
    po = tmp_path / "wallet.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: xx\\n"\n\n#, fuzzy\nmsgid "Next"\nmsgstr "Weiter"\n\n'
        'msgid "Done"\nmsgstr ""\n\nmsgid "Share"\nmsgstr "Tei"\n"len"\n',
        "utf-8",
    )
    assert files.read_po(po) == {"Share": "Teilen"}


def test_generated_files_are_up_to_date() -> None:
    for path, text in files.render().items():
        assert path.read_text("utf-8") == text, f"run python -m api.phone.wallet.files ({path.name})"
    assert venue_requests.VENUES_FILE.read_text("utf-8") == venue_requests.render()
    texts = json.loads(files.TEXTS_FILE.read_text("utf-8"))["languages"]
    assert texts["ar"]["dir"] == "rtl" and texts["de"]["dir"] == "ltr"


def test_venue_types_ask_for_what_their_profiles_say() -> None:
    kinds = {v["name"]: [i["item"] for i in v["items"]] for v in json.loads(venue_requests.render())}
    assert kinds["pool"] == ["photo", "entitlement:pool"]
    assert kinds["event"] == ["age_over_18", "photo"]
    assert "entitlement:library" in kinds["library"]
    with pytest.raises(VenueError, match="'request'"):
        VenueProfile.from_dict({"name": "x", "request": ["nationality"]})


def test_vendored_qr_encoder_is_the_npm_release_it_names() -> None:
    # scripts/check_vendored_js.py compares the manifest with the npm tarball itself
    meta = json.loads((PAGE_DIR.parent / "qrcode.vendor.json").read_text())
    copy = PAGE_DIR.parent / meta["copy"]
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == meta["sha256"]
    assert meta["package"] == "qrcode-generator" and meta["license"] == "MIT"
    assert "Kazuhiko Arase" in (PAGE_DIR.parent / "qrcode.LICENSE").read_text()


def test_pages_run_no_inline_code_and_are_served_with_a_strict_policy() -> None:
    for page in (WALLET_DIR / "index.html", PAGE_DIR / "venue.html"):
        html = page.read_text("utf-8")
        assert "<style" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        assert re.search(r"\son[a-z]+=", html) is None
    app = Flask(__name__)
    app.register_blueprint(blueprint())
    app.register_blueprint(wallet_blueprint())
    client = app.test_client()
    res = client.get("/wallet/")
    assert res.status_code == 200
    policy = res.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert res.headers["Referrer-Policy"] == "no-referrer"  # the fragment's key stays here
    manifest = client.get("/wallet/manifest.webmanifest")
    assert manifest.headers["Content-Type"] == "application/manifest+json"
    assert json.loads(manifest.data)["start_url"] == "./"
    for shared in ("presentation.js", "qrcode.js", "jsQR.js", "venues.json"):
        assert client.get(f"/wallet/{shared}").data == (PAGE_DIR / shared).read_bytes()
    assert client.get("/wallet/verify.js").status_code == 404  # only what the wallet uses
    assert client.get("/wallet/.hidden").status_code == 404
    worker = (WALLET_DIR / "sw.js").read_text("utf-8")
    for name in re.findall(r'"\./([^"]+)"', worker):
        assert client.get(f"/wallet/{name}").status_code == 200, name
    venue = client.get("/verify/venue.html")
    assert venue.status_code == 200 and "unsafe" not in venue.headers["Content-Security-Policy"]


def test_nginx_serves_every_kind_of_file_of_the_phone_pages_with_its_type() -> None:
    conf = (PAGE_DIR.parents[2] / "deploy" / "nginx" / "citycard.conf").read_text("utf-8")
    types = conf.split("location ~ \"^/verify/", 1)[1].split("types {", 1)[1].split("}", 1)[0]
    served = {ext for line in types.splitlines() for ext in line.split("#")[0].strip(" ;").split()[1:]}
    assert {p.suffix.lstrip(".") for p in PAGE_DIR.iterdir()} <= served
