"""The phone verification page (api/static/verify) in Debian's Chromium, driven by Playwright.

The page and the lists come from the issuer API (`api.issuer.server`, or the stand-in `IssuerHttp`
with the same public paths before it exists). The page must reach exactly the verdicts of cardio's reference verifier: a
valid QR is VALID, a tampered one BAD_SIGNATURE, a revoked one REVOKED after a list refresh,
and a batch of edge cases is compared verdict by verdict with `Verifier.verify_qr`. Once
loaded, the page keeps working with the API down (service worker + stored lists).
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2

from api.issuer.registry import queries
from api.issuer.service import Issuer
from cardio import cbor, cose
from cardio.credential import ChipBinding, Holder, sign_credential, to_qr
from cardio.keys import fingerprint, load_public_pem
from cardio.published import ROOT_KEY_FILE, load_verifier
from cardio.trustlist import KeyState
from cardio.verdict import Verdict

from .browser import ARTIFACTS, chromium, requires_chromium
from .issuer_http import PAGE_DIR, IssuerHttp
from .terminal_fixtures import city_api

pytestmark = [requires_chromium]


def _check(page: Any, text: str) -> str:
    page.evaluate("document.getElementById('result').setAttribute('data-verdict', '')")
    page.fill("#qr", text)
    page.click("#check")
    page.wait_for_selector('#result:not([data-verdict=""])', timeout=10_000)
    return str(page.get_attribute("#result", "data-verdict"))


def _ready(page: Any) -> None:
    page.wait_for_selector('#lists[data-state="ready"]', timeout=15_000)


def _tamper(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


# The page's own sentence where the chip reader's does not fit it: cardio's MALFORMED sends the
# holder to the printed QR, the very code this page reads.
PAGE_SENTENCES = {
    Verdict.MALFORMED: (
        "The code could not be read; scan it again, holding the card flat, or type it exactly"
        " as printed."
    ),
}


def test_page_verdicts_match_cardio_names() -> None:
    script = (PAGE_DIR / "verify.js").read_text("utf-8")
    for verdict in Verdict:
        assert f"{verdict.name}: " in script or f"{verdict.name}:\n" in script, verdict
        sentence = PAGE_SENTENCES.get(verdict, verdict.sentence)
        flat = script.replace('" +\n      "', "")
        assert sentence in flat, verdict


def test_phone_page_verifies_valid_tampered_revoked_and_offline(
    tmp_path: Path, holder: Holder
) -> None:
    now = int(time.time())
    issuer = Issuer.init(tmp_path / "issuer", now=now - 120)
    valid = issuer.issue(holder, now=now - 60)
    other = issuer.issue(replace(holder, given_name="Noor", entitlements=()), now=now - 60)
    issuer.publish()
    root = load_public_pem((issuer.dir / "public" / ROOT_KEY_FILE).read_bytes())
    with city_api(issuer) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 420, "height": 900})
        page.goto(server.url + "/verify/")
        _ready(page)
        shown = page.inner_text("#fingerprint").split(":", 1)[1].replace(" ", "")
        assert shown == fingerprint(root)

        assert _check(page, to_qr(valid.print_cose)) == "VALID"
        assert page.inner_text("#verdict-big") == "VALID"
        assert page.inner_text('[data-claim="family_name"]') == holder.family_name
        assert page.inner_text('[data-claim="entitlements"]') == "library, pool"
        page.screenshot(path=str(ARTIFACTS / "phone-page-valid.png"), full_page=True)

        tampered = _tamper(valid.print_cose, len(valid.print_cose) - 10)  # in the signature
        assert _check(page, to_qr(tampered)) == "BAD_SIGNATURE"
        assert page.inner_text("#verdict-sentence") == Verdict.BAD_SIGNATURE.sentence
        page.screenshot(path=str(ARTIFACTS / "phone-page-bad-signature.png"), full_page=True)

        assert _check(page, to_qr(other.print_cose)) == "VALID"
        issuer.set_status(other.status_index, "revoked")
        issuer.publish()
        page.click("#refresh")
        _ready(page)
        assert _check(page, to_qr(other.print_cose)) == "REVOKED"
        assert page.inner_text("#verdict-big") == "NOT VALID"
        assert page.locator("[data-claim]").count() == 0  # no claims unless VALID
        page.screenshot(path=str(ARTIFACTS / "phone-page-revoked.png"), full_page=True)

        # offline: the service worker serves the page and script, the lists are kept
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10_000)
        page.evaluate("window.citycard.refresh().then(() => true)")
        server.stop()
        page.reload()
        _ready(page)
        assert _check(page, to_qr(valid.print_cose)) == "VALID"
        assert _check(page, to_qr(other.print_cose)) == "REVOKED"
        assert "No network" in page.inner_text("#lists")  # it says where the lists come from
        page.screenshot(path=str(ARTIFACTS / "phone-page-offline.png"), full_page=True)


def _sign_claims(issuer: Issuer, label: str, claims: Any) -> bytes:
    return cose.sign1(issuer.keystore.signer(label), cbor.dumps(claims))


def test_phone_page_agrees_with_the_reference_verifier(tmp_path: Path, holder: Holder) -> None:
    now = int(time.time())
    start = now - 400 * 86400
    issuer = Issuer.init(tmp_path / "issuer", now=start)
    base_url = issuer.config["base_url"]
    kiosk = issuer.keystore.signer("kiosk-1")

    def qr_of(data: bytes) -> str:
        return to_qr(data)

    vectors: dict[str, tuple[str, float | None]] = {}
    valid = issuer.issue(holder, now=now - 60)
    vectors["valid"] = (qr_of(valid.print_cose), None)
    revoked = issuer.issue(holder, now=now - 60)
    suspended = issuer.issue(holder, now=now - 60)
    renewed = issuer.issue(holder, now=now - 60)
    expired = issuer.issue(
        holder,
        now=start + 60,
        expires=datetime.fromtimestamp(start, UTC).date() + timedelta(days=30),
    )
    vectors["expired"] = (qr_of(expired.print_cose), None)
    future = issuer.issue(holder, now=now + 86400)
    vectors["not yet valid"] = (qr_of(future.print_cose), None)
    chip = issuer.issue(holder, now=now - 60, chip_binding=ChipBinding(uid=bytes(7)))
    assert chip.chip_cose is not None
    vectors["chip credential in a QR"] = (qr_of(chip.chip_cose), None)
    cred = valid.credential
    vectors["wrong issuer"] = (
        qr_of(sign_credential(kiosk, replace(cred, issuer="other-city"))),
        None,
    )
    vectors["status key signs a card"] = (
        qr_of(sign_credential(issuer.keystore.signer("status-1"), cred)),
        None,
    )
    vectors["unknown status list"] = (
        qr_of(sign_credential(kiosk, replace(cred, status_uri=base_url + "/status/9"))),
        None,
    )
    vectors["index beyond the list"] = (
        qr_of(sign_credential(kiosk, replace(cred, status_index=200_000))),
        None,
    )
    issuer._create_key("kiosk-2", "issue", start, years=5)
    by_kiosk_2 = issuer.issue(holder, kiosk_label="kiosk-2", now=now - 60)
    issuer._create_key("kiosk-3", "issue", start, years=5)
    by_kiosk_3 = issuer.issue(holder, kiosk_label="kiosk-3", now=now - 60)
    vectors["key revoked"] = (qr_of(by_kiosk_2.print_cose), None)
    vectors["forged under a revoked key"] = (qr_of(_tamper(by_kiosk_2.print_cose, -3)), None)
    vectors["key expired"] = (qr_of(by_kiosk_3.print_cose), None)
    vectors["tampered signature"] = (qr_of(_tamper(valid.print_cose, -1)), None)
    vectors["tampered name"] = (
        qr_of(valid.print_cose.replace(holder.given_name.encode(), b"Mara")),
        None,
    )
    vectors["truncated"] = (qr_of(valid.print_cose[:-1]), None)
    vectors["trailing byte"] = (qr_of(valid.print_cose + b"\0"), None)
    vectors["not a citycard code"] = ("https://example.org/", None)
    vectors["bad base45 length"] = ("CC1:ABCD", None)
    vectors["base45 out of range"] = ("CC1:::::", None)
    vectors["lower case"] = (qr_of(valid.print_cose).lower(), None)
    vectors["leading space and newline"] = ("CC1: " + qr_of(valid.print_cose)[4:] + "\n", None)
    vectors["empty"] = ("CC1:", None)

    claims = cred.to_claims()
    card = claims[-65537]

    def variant(name: str, change: Any) -> None:
        c = copy.deepcopy(claims)  # nested maps too: each variant changes one thing only
        change(c)
        vectors[name] = (qr_of(_sign_claims(issuer, "kiosk-1", c)), None)

    variant("hidden extra claim", lambda c: c.update({99: "residence"}))
    variant("hidden card field", lambda c: c[-65537].update({10: "x"}))
    variant("sex null", lambda c: c[-65537].update({5: None}))
    variant("sex lower case", lambda c: c[-65537].update({5: "f"}))
    variant("zero width space in name", lambda c: c[-65537].update({3: "Mi\u200bra"}))
    variant("zwj in name is fine", lambda c: c[-65537].update({3: "Mi\u200dra"}))
    variant("blank name", lambda c: c[-65537].update({2: "\u3000 "}))
    variant("101-character name", lambda c: c[-65537].update({2: "a" * 101}))
    variant("astral name of 100", lambda c: c[-65537].update({2: "\U0001f600" * 100}))
    variant("float expiry", lambda c: c.update({4: float(c[4])}))
    variant("variant true", lambda c: c[-65537].update({0: True}))
    variant("entitlements null", lambda c: c[-65537].update({7: None}))
    variant("entitlement upper case", lambda c: c[-65537].update({7: ["Pool"]}))
    variant("photo on print", lambda c: c[-65537].update({6: b"\xff\xd8\xff"}))
    variant("photo null", lambda c: c[-65537].update({6: None}))
    variant("uid on print", lambda c: c[-65537].update({9: bytes(7)}))
    variant("status extra key", lambda c: c[65535]["status_list"].update({"x": 1}))
    variant("document number lower", lambda c: c.update({7: b"dev0000001"}))
    variant(
        "born 1899", lambda c: c[-65537].update({4: (date(1899, 12, 31) - date(1970, 1, 1)).days})
    )
    variant("birth date as text", lambda c: c[-65537].update({4: "1990-01-01"}))
    variant("expiry before issue", lambda c: c.update({4: c[6]}))
    variant("expiry in the year 10000", lambda c: c.update({4: 253_402_300_800}))
    variant("missing cti", lambda c: c.pop(7))
    # raw payloads the canonical encoder would never write
    payload = cbor.dumps(claims)
    assert payload == cbor.dumps(cred.to_claims()) and payload[0] == 0xA6  # the variants left it alone
    duplicate = b"\xa7" + payload[1:] + b"\x01" + cbor2.dumps("other")
    vectors["duplicate claim key"] = (qr_of(cose.sign1(kiosk, duplicate)), None)
    vectors["indefinite map"] = (qr_of(cose.sign1(kiosk, b"\xbf" + payload[1:] + b"\xff")), None)
    iat_at = payload.index(b"\x06\x1a") + 1  # iat as a 4-byte integer
    long_iat = payload[:iat_at] + b"\x1b\x00\x00\x00\x00" + payload[iat_at + 1 :]
    vectors["non-minimal integer"] = (qr_of(cose.sign1(kiosk, long_iat)), None)
    iss_entry, exp_entry = b"\x01" + cbor2.dumps(claims[1]), b"\x04" + cbor2.dumps(claims[4])
    assert payload.startswith(b"\xa6" + iss_entry + exp_entry)
    reordered = b"\xa6" + exp_entry + iss_entry + payload[1 + len(iss_entry) + len(exp_entry) :]
    assert cbor2.loads(reordered) == cbor2.loads(payload)  # the same claims, out of order
    vectors["claims out of order"] = (qr_of(cose.sign1(kiosk, reordered)), None)
    vectors["boolean claim key"] = (
        qr_of(cose.sign1(kiosk, b"\xa6\xf5" + payload[2:])),  # true where iss (1) was
        None,
    )
    vectors["bignum tag for exp"] = (
        qr_of(cose.sign1(kiosk, payload.replace(b"\x04\x1a", b"\x04\xc2\x44", 1))),
        None,
    )
    vectors["payload not a map"] = (qr_of(cose.sign1(kiosk, cbor.dumps([1, 2]))), None)
    _ = card

    issuer.set_status(revoked.status_index, "revoked")
    issuer.set_status(suspended.status_index, "suspended")
    with issuer.registry.write() as session:  # as a renewal leaves its old card
        old = queries.card_at(session, renewed.status_list, renewed.status_index)
        assert old is not None
        queries.set_status(old, "superseded", now)
    issuer.set_key_state("kiosk-2", KeyState.REVOKED)
    entry = next(k for k in issuer.config["keys"] if k["label"] == "kiosk-3")
    entry["not_after"] = now - 3600  # kiosk-3's window closed before it signed
    issuer._save_config()
    issuer.publish(now)
    vectors["revoked"] = (qr_of(revoked.print_cose), None)
    vectors["suspended"] = (qr_of(suspended.print_cose), None)
    vectors["superseded"] = (qr_of(renewed.print_cose), None)
    vectors["revoked and expired"] = (qr_of(revoked.print_cose), now + 800 * 86400)
    vectors["valid, list due for refresh"] = (qr_of(valid.print_cose), now + 7200)
    vectors["valid, list too old"] = (qr_of(valid.print_cose), now + 8 * 86400)
    other_city = Issuer.init(tmp_path / "other", now=now - 120)
    vectors["another city's card"] = (
        qr_of(other_city.issue(holder, now=now - 60).print_cose),
        None,
    )

    verifier, problems = load_verifier(issuer.dir)
    assert not problems
    with IssuerHttp(issuer.dir / "public") as server, chromium() as browser:
        page = browser.new_page()
        page.goto(server.url + "/verify/")
        _ready(page)
        at = time.time()
        mismatches = []
        seen = set()
        for name, (text, when) in vectors.items():
            moment = at if when is None else when
            expected = verifier.verify_qr(text, moment)
            got = page.evaluate("([t, n]) => window.citycard.verifyText(t, n)", [text, moment])
            seen.add(expected.verdict)
            if got["verdict"] != expected.verdict.name or got["warnings"] != list(
                expected.warnings
            ):
                mismatches.append((name, expected.verdict.name, got["verdict"], got["warnings"]))
            elif expected.claims is not None:
                assert got["claims"] == expected.claims, name
    assert not mismatches, mismatches
    # every verdict a QR code can produce was exercised
    assert seen == set(Verdict) - {Verdict.CLONE_SUSPECTED}, set(Verdict) - seen
