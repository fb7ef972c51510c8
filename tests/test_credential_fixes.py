"""Fixes from an exploratory pass over the credential: the last expiry day, the printed last day
anywhere in the city, the QR size the samples really need, resident file dates, the demo's
photo size and two sentences of docs/credential.md."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from api.issuer import cli as issuer_cli
from api.issuer.service import Issuer
from api.phone import PAGE_DIR
from cardio import presentation
from cardio.credential import Holder, expiry_timestamp, local_day, sign_credential, to_qr
from cardio.errors import MalformedError
from cardio.keys import SoftwareSigner, p256_xy
from cardio.published import load_verifier
from cardio.resident import ResidentFileError, read_resident
from cardio.trustlist import KeyPurpose
from cardio.verdict import Verdict
from cardio.verify import EXPIRY_GRACE, Policy
from cardio.wallet_claims import WalletClaims

from .conftest import NOW

DOCS = Path(__file__).resolve().parent.parent / "docs"
CREDENTIAL_MD = (DOCS / "credential.md").read_text("utf-8")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture
def new_york() -> Iterator[None]:
    """This process on a New York station's clock (TZ), restored afterwards."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


# -- 1. the last expiry day a credential can hold ------------------------------------------------


def test_the_last_expiry_day_is_9999_12_30() -> None:
    assert expiry_timestamp(date(9999, 12, 30)) == 253_402_214_400  # 9999-12-31T00:00:00Z
    with pytest.raises(MalformedError, match="9999-12-30"):
        expiry_timestamp(date(9999, 12, 31))  # an OverflowError before


def _resident(tmp_path: Path, **changes: str) -> Path:
    body = {"family_name": "Beispiel", "given_name": "Mira", "birth_date": "1990-01-01"}
    path = tmp_path / "resident.json"
    path.write_text(json.dumps({**body, **changes}), "utf-8")
    return path


def test_a_far_expiry_is_one_sentence_and_takes_no_number(tmp_path: Path) -> None:
    Issuer.init(tmp_path / "iss", now=NOW).close()
    resident = _resident(tmp_path, expires="9999-12-31")
    result = CliRunner().invoke(
        issuer_cli.main,
        ["issue", "--dir", str(tmp_path / "iss"), "--resident", str(resident),
         "--out", str(tmp_path / "c.cose")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "9999-12-30" in result.output and "Traceback" not in result.output
    issuer = Issuer(tmp_path / "iss")
    try:  # no number was taken: the next card gets the first one
        holder = Holder("demo", "Beispiel", "Mira", date(1990, 1, 1))
        issued = issuer.issue(holder, date(2030, 1, 1), now=NOW)
        assert issued.credential.document_number == "DEV00000018"
    finally:
        issuer.close()


def test_the_issuers_own_issue_refuses_a_far_expiry_before_a_number(tmp_path: Path) -> None:
    """The Python (and HTTP) path, not only the resident file: nothing is allocated."""
    Issuer.init(tmp_path / "iss", now=NOW).close()
    issuer = Issuer(tmp_path / "iss")
    try:
        holder = Holder("demo", "Beispiel", "Mira", date(1990, 1, 1))
        with pytest.raises(MalformedError, match="9999-12-30"):
            issuer.issue(holder, date(9999, 12, 31), now=NOW)
        assert issuer.issue(holder, date(2030, 1, 1), now=NOW).credential.document_number == (
            "DEV00000018"
        )
    finally:
        issuer.close()


def test_a_compact_chip_from_the_issuer_holds_no_name_or_birth_date(tmp_path: Path) -> None:
    """`Issuer.issue` signs what a compact chip may hold, as the kiosk does (card-profiles.md)."""
    from cardio import fastpath
    from cardio.cose import parse_sign1
    from cardio.credential import ChipBinding, Variant

    Issuer.init(tmp_path / "iss", now=NOW).close()
    issuer = Issuer(tmp_path / "iss")
    try:
        holder = Holder("demo", "Beispiel", "Mira", date(2000, 2, 29), entitlements=("library",))
        uid = bytes.fromhex("04A1B2C3D4E5F6")
        issued = issuer.issue(holder, date(2030, 1, 1), ChipBinding(uid=uid, compact=True), now=NOW)
        assert issued.chip_cose is not None
        payload = parse_sign1(issued.chip_cose, "credential").payload
        assert fastpath.claims(payload).variant == Variant.COMPACT
        assert b"Beispiel" not in issued.chip_cose and b"Mira" not in issued.chip_cose
    finally:
        issuer.close()


def test_a_date_pickers_last_day_is_not_taken_as_an_expiry() -> None:
    from kiosk.web.flow.documents import _end_date

    today = date(2026, 12, 7)
    assert _end_date("9999-12-31", today) is None
    assert _end_date("9999-12-30", today) == date(9999, 12, 30)


# -- 2. the printed last day, wherever the city is ---------------------------------------------


def test_a_new_york_card_is_valid_all_evening_of_its_last_day(
    issuer: Issuer, holder: Holder
) -> None:
    last = date(2026, 12, 7)
    issued = issuer.issue(holder, last, now=NOW)
    evening = datetime(2026, 12, 7, 20, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
    issuer.publish(int(evening) - 60)
    verifier, problems = load_verifier(issuer.dir, now=evening)
    assert problems == []
    res = verifier.verify(issued.print_cose, evening)
    assert res.verdict is Verdict.VALID and res.claims is not None
    assert res.claims["expires"] == "2026-12-07"  # the printed date, as before
    # the whole of the day in the last place on earth where it is still 7 December (UTC-12)
    exp = issued.credential.expires_at
    assert EXPIRY_GRACE == 12 * 3600 == Policy().expiry_grace
    assert verifier.verify(issued.print_cose, exp + EXPIRY_GRACE - 1).verdict is Verdict.VALID
    assert verifier.verify(issued.print_cose, exp + EXPIRY_GRACE).verdict is Verdict.EXPIRED


def test_wallet_answers_get_the_same_grace(issuer: Issuer) -> None:
    verifier, _ = load_verifier(issuer.dir, now=NOW)
    kid = next(k.kid for k in verifier.trust.keys if k.purpose is KeyPurpose.ISSUE)
    exp = expiry_timestamp(date(2026, 12, 7))
    claims = WalletClaims("sd-jwt-vc", verifier.trust.issuer, NOW, exp, 0, "none", kid, {}, ())
    late = presentation._status_verdict(verifier, claims, verifier.trust.issuer, exp + 3600)
    assert late[0] is not Verdict.EXPIRED  # no status list here: STATUS_UNAVAILABLE
    gone = presentation._status_verdict(verifier, claims, verifier.trust.issuer, exp + EXPIRY_GRACE)
    assert gone[0] is Verdict.EXPIRED


def _node(script: str) -> object:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", script], capture_output=True, text=True, timeout=20, check=True
    )
    return json.loads(done.stdout)


_VM = (
    "const vm = require('vm'), fs = require('fs');"
    "const ctx = {window: {}, TextEncoder, TextDecoder, URL, crypto, console,"
    " document: {readyState: 'loading', addEventListener() {}, querySelector() { return null; }},"
    " location: {href: 'https://phone.example/'}, navigator: {languages: ['en']},"
    " fetch: () => new Promise(() => {}), localStorage: {getItem() { return null; }, setItem() {}}};"
    "vm.createContext(ctx);"
    "for (const f of ['presentation.js', 'verify.js'])"
    f" vm.runInContext(fs.readFileSync({json.dumps(str(PAGE_DIR))} + '/' + f, 'utf8'), ctx);"
)


@needs_node
def test_the_phone_pages_apply_the_same_grace(tmp_path: Path, holder: Holder) -> None:
    """verify.js (the card check page) and presentation.js (wallet answers) call a card
    EXPIRED from exp + 12 h, as cardio.verify does."""
    signer = SoftwareSigner.generate()
    issuer = Issuer.init(tmp_path / "iss", now=NOW)
    try:
        base = issuer.issue(holder, date(2026, 12, 7), now=NOW).credential
    finally:
        issuer.close()
    qr = to_qr(sign_credential(signer, base))
    x, y = p256_xy(signer.public_key)
    exp = base.expires_at
    script = _VM + (
        "(async () => {"
        " const C = ctx.window.citycard, P = ctx.window.citycardPresentation;"
        f" const point = Buffer.from('04{x.hex()}{y.hex()}', 'hex');"
        " const key = await crypto.subtle.importKey('raw', point, {name: 'ECDSA', namedCurve: 'P-256'}, true, ['verify']);"
        f" C.state.trust = {{issuer: {json.dumps(base.issuer)}, keys: new Map([[{json.dumps(signer.kid.hex())},"
        "  {purpose: 'issue', key, state: 'active', notBefore: 0, notAfter: 2 ** 40}]])};"
        " const out = {policy: [C.POLICY.expiryGrace, P.POLICY.expiryGrace]};"
        f" for (const [name, t] of [['late', {exp + 3600}], ['gone', {exp + EXPIRY_GRACE}]]) {{"
        f"  out[name] = (await C.verifyText({json.dumps(qr)}, t)).verdict;"
        "  out['wallet_' + name] = P.statusVerdict({trust: {issuer: 'x', keys: new Map([['k', {state: 'active', notBefore: 0, notAfter: 2 ** 40}]])}, status: new Map()},"
        f"   {{kid: 'k', issuer: 'x', iat: {NOW}, exp: {exp}, uri: 'u', idx: 0}}, t).verdict;"
        " }"
        " process.stdout.write(JSON.stringify(out));"
        "})();"
    )
    got = _node(script)
    assert got == {
        "policy": [EXPIRY_GRACE, EXPIRY_GRACE],
        "late": "STATUS_UNAVAILABLE", "gone": "EXPIRED",
        "wallet_late": "STATUS_UNAVAILABLE", "wallet_gone": "EXPIRED",
    }  # fmt: skip


def test_the_printed_issue_date_is_the_stations_day(new_york: None) -> None:
    from printer.card_design import CardData

    evening = int(datetime(2026, 12, 7, 19, 30, tzinfo=ZoneInfo("America/New_York")).timestamp())
    assert local_day(evening) == date(2026, 12, 7)
    holder = Holder("new-york", "Beispiel", "Mira", date(1990, 1, 1))
    from cardio.credential import Credential

    cred = Credential("new-york-demo", "NEW00000018", evening, expiry_timestamp(date(2031, 12, 7)),
                      1, "https://cc.example/status/1", holder)  # fmt: skip
    data = CardData.from_credential(cred, "CC1:X")
    assert (data.issued, data.expires) == (date(2026, 12, 7), date(2031, 12, 7))


def test_the_rules_count_age_on_the_stations_day(new_york: None) -> None:
    from kiosk import rules

    evening = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)  # 19:30 on 7 December in New York
    assert rules.station_day(evening) == date(2026, 12, 7)


def test_the_kiosk_demo_decides_on_the_stations_day(
    new_york: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kiosk import demo

    evening = datetime(2026, 12, 8, 0, 30, tzinfo=UTC).timestamp()
    monkeypatch.setattr(demo.time, "time", lambda: evening)
    seen: list[date] = []

    class Stop(Exception):
        pass

    def spy(program: object, resident: object, today: date, *args: object, **kw: object) -> None:
        seen.append(today)
        raise Stop

    monkeypatch.setattr(demo, "build_application", spy)
    with pytest.raises(Stop):
        demo.run_demo("new-york", tmp_path / "data", tmp_path / "out", echo=lambda s: None)
    assert seen == [date(2026, 12, 7)]


# -- 3. the print credential's real size ---------------------------------------------------------

PROGRAMMES = sorted(p.stem for p in (DOCS.parent / "programs").glob("*.toml"))
QR_VERSION_BOUND = 14  # docs/credential.md section 5: every programme's sample fits it
QR_BYTES_BOUND = 349  # the largest credential a version-14 QR holds at level M


def _sample_print_credential(programme: str) -> bytes:
    """The print credential the kiosk demo makes for the programme's sample resident (the
    demo issuer's id and address, a status index of five bytes), signed by a throwaway key."""
    from kiosk.demo import load_known_program, sample_resident
    from kiosk.demo_application import build_application
    from kiosk.web.adapters import holder_of
    from kiosk.web.ports import CardRequest

    program = load_known_program(programme, None)
    app = build_application(program, sample_resident(programme), date(2026, 12, 7), lambda s: None)
    request = CardRequest("x", app.view, app.form, app.decision_view, None, None)
    holder = holder_of(request)
    if app.entitlements:
        holder = replace(holder, entitlements=app.entitlements)
    from cardio.credential import Credential

    cred = Credential(f"{programme}-demo", "ABC00000018", 1_800_000_000,
                      expiry_timestamp(date(2031, 12, 31)), 100_000,
                      "https://cc.example/status/1", holder)  # fmt: skip
    return sign_credential(SoftwareSigner.generate(), cred)


@pytest.mark.parametrize("programme", PROGRAMMES)
def test_every_programmes_sample_fits_the_documented_qr(programme: str) -> None:
    import qrcode
    from qrcode.util import MODE_ALPHA_NUM, QRData

    cose = _sample_print_credential(programme)
    assert len(cose) <= QR_BYTES_BOUND, (programme, len(cose))
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(QRData(to_qr(cose), mode=MODE_ALPHA_NUM))
    qr.make(fit=True)
    assert qr.version <= QR_VERSION_BOUND, (programme, qr.version)


def test_the_docs_state_the_bound_the_test_holds() -> None:
    assert "The budget is 240 bytes" not in CREDENTIAL_MD
    assert f"version {QR_VERSION_BOUND} at level M" in CREDENTIAL_MD
    assert f"{QR_BYTES_BOUND} bytes" in CREDENTIAL_MD
    bench = (DOCS / "benchmarks.md").read_text("utf-8")
    assert "237 ≤ 240 bytes" not in bench and f"version {QR_VERSION_BOUND}" in bench


# -- 5. resident file dates ----------------------------------------------------------------------


@pytest.mark.parametrize("written", ["19900101", "1990-W01-1", "1990-001", "1990-01-01T00:00"])
def test_resident_dates_are_only_yyyy_mm_dd(tmp_path: Path, written: str) -> None:
    with pytest.raises(ResidentFileError, match="YYYY-MM-DD"):
        read_resident(_resident(tmp_path, birth_date=written), "demo")
    with pytest.raises(ResidentFileError, match="YYYY-MM-DD"):
        read_resident(_resident(tmp_path, expires=written), "demo")


def test_the_earliest_birth_date_is_said_as_accepted(tmp_path: Path) -> None:
    assert read_resident(_resident(tmp_path, birth_date="1900-01-01"), "demo")[
        0
    ].birth_date == date(1900, 1, 1)
    with pytest.raises(ResidentFileError, match="on or after 1900-01-01"):
        read_resident(_resident(tmp_path, birth_date="1899-12-31"), "demo")


def test_a_resident_expiry_after_9999_12_30_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResidentFileError, match="9999-12-30"):
        read_resident(_resident(tmp_path, expires="9999-12-31"), "demo")
    assert read_resident(_resident(tmp_path, expires="9999-12-30"), "demo")[1] == date(9999, 12, 30)


# -- 7. the demo's photo size --------------------------------------------------------------------


@pytest.mark.parametrize("size", [3034, 3035, 3036])
def test_demo_verdict_counts_the_photos_bytes(size: int) -> None:
    from kiosk.demo import _public

    photo = base64.b64encode(bytes(size)).decode("ascii")
    shown = _public({"verdict": "VALID", "claims": {"photo_base64": photo}})
    assert shown["claims"] == {"photo_bytes": size}


# -- 8. two sentences of docs/credential.md ------------------------------------------------------


def _section(heading: str) -> str:
    return CREDENTIAL_MD.split(heading, 1)[1].split("\n### ", 1)[0]


def test_the_qr_input_layer_names_the_byte_order_mark() -> None:
    from api.terminal.inputs import file_qr_text

    qr_section = " ".join(_section("### 1.2 QR text").split())
    assert "byte order mark" in qr_section and "EF BB BF" in qr_section
    assert file_qr_text(b"\xef\xbb\xbfCC1:AB") == "CC1:AB"


def test_the_compact_warning_order_agrees_with_4_2() -> None:
    text = " ".join(_section("### 4.1 Verifying a credential").split())
    sentence = re.search(
        r"A `VALID` compact credential comes with .*?\.\"? [^.]*?first[^.]*\.", text
    )
    assert sentence is not None
    assert "after the warning that the chip binding was not checked" in sentence.group(0)


def test_expiry_grace_is_in_the_contract() -> None:
    flat = " ".join(CREDENTIAL_MD.split())
    assert "`exp` + 12 h" in flat or "exp + 43200" in flat
    assert "| expiry grace | 43200 s" in flat
    utc = (datetime(2026, 12, 8, tzinfo=UTC) + timedelta(hours=12)).timestamp()
    assert int(utc) == expiry_timestamp(date(2026, 12, 7)) + EXPIRY_GRACE
