"""The phone page reads a printed QR code through the camera in a browser without
`BarcodeDetector` (Chromium on Linux): the vendored jsQR decodes frames of a fake camera that
films the card's QR code. The page shows the programme and entitlements by name and never the
birth date or sex. The vendored decoder is the npm release it claims to be.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from api.issuer.service import Issuer
from api.phone import PAGE_DIR
from api.phone.names import render as render_names
from cardio.credential import Holder, to_qr

from .browser import ARTIFACTS, requires_chromium
from .qr_camera import NO_BARCODE_DETECTOR, chromium_with_camera, qr_video
from .terminal_fixtures import city_api

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = (
    ROOT / "api" / "phone" / "jsQR.vendor.json",
    ROOT / "api" / "terminal" / "static" / "terminal" / "vendor" / "jsQR.vendor.json",
)


def test_vendored_jsqr_is_the_npm_release_it_names() -> None:
    # scripts/check_vendored_js.py compares the manifest with the npm tarball itself
    for manifest in MANIFESTS:
        meta = json.loads(manifest.read_text())
        copy = manifest.parent / meta["copy"]
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == meta["sha256"], copy
        assert meta["package"] == "jsqr" and meta["license"] == "Apache-2.0"
        assert (manifest.parent / "jsQR.LICENSE").read_text().startswith(
            "                                 Apache License"
        )


def test_names_file_matches_the_programme_profiles() -> None:
    assert (PAGE_DIR / "names.json").read_text("utf-8") == render_names()


@requires_chromium
def test_phone_page_decodes_a_qr_from_the_camera_without_barcode_detector(
    tmp_path: Path, holder: Holder
) -> None:
    now = int(time.time())
    issuer = Issuer.init(tmp_path / "issuer", now=now - 120)
    zurich = Holder(
        program="zurich",
        family_name=holder.family_name,
        given_name=holder.given_name,
        birth_date=holder.birth_date,
        sex="X",
        entitlements=("pool", "culture-discount"),
    )
    card = issuer.issue(zurich, now=now - 60)
    issuer.publish()
    qr = to_qr(card.print_cose)
    video = qr_video(qr, tmp_path / "card.y4m")
    with city_api(issuer) as server, chromium_with_camera(video) as browser:
        page = browser.new_page()
        page.add_init_script(NO_BARCODE_DETECTOR)
        page.goto(server.url + "/verify/")
        page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)
        assert page.evaluate("'BarcodeDetector' in window") is False
        assert page.evaluate("typeof window.jsQR") == "function"
        page.click("#scan")  # shown: the fallback decoder is there
        page.wait_for_selector('#result[data-verdict="VALID"]', timeout=30_000)
        assert page.input_value("#qr") == qr
        result = page.inner_text("#result")
        assert "Zurich City Card" in result and "zurich" not in result
        assert "City pools" in result and "Reduced culture fees" in result
        assert "culture-discount" not in result
        assert str(holder.birth_date) not in result and "Born" not in result
        assert "Sex" not in result
        page.screenshot(path=str(ARTIFACTS / "phone-page-camera.png"), full_page=True)
