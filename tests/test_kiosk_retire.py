"""`citycard-api kiosk retire`: a kiosk decommissioned while the cards it made stay valid.

Its account is refused (403 kiosk_retired), its signing key becomes `retired` with `not_after`
at the retirement plus the kiosk clock skew the API allows, so readers keep accepting what it
signed before, even by a kiosk whose clock runs fast, and refuse a card dated later
(KEY_EXPIRED); `kiosk revoke` still withdraws it for good (KEY_REVOKED).
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.issuer import cli
from api.issuer.catalogues import TOOL
from api.issuer.desk.history import history_lines
from api.issuer.errors import IssuerError
from api.issuer.page_i18n import DESK_LANGUAGES, SOURCE_LANGUAGE
from api.issuer.registry import audit_queries
from api.issuer.server import ServerConfig
from api.issuer.service import Issuer
from api.phone import PAGE_DIR
from cardio import cose, mdoc
from cardio.credential import ChipBinding, Credential, Holder, sign_credential, to_qr
from cardio.keys import SoftwareSigner
from cardio.presentation import verify_wallet
from cardio.published import load_trust_list, load_verifier
from cardio.sdjwt_vc import issue_vc
from cardio.trustlist import KeyState
from cardio.verdict import Verdict
from kiosk.allocator import AllocationError
from kiosk.http_allocator import HttpAllocator
from printer.receipt import RevocationCode
from tests.api_fixtures import Api, fixture_api, fixture_database_url  # noqa: F401 - fixtures

from .conftest import NOW
from .test_api import assert_json_error

RETIRED_AT = NOW + 100
SKEW = ServerConfig(Path()).clock_skew  # [kiosk] clock_skew's default
END = RETIRED_AT + SKEW  # the retired key's not_after
LATE = END + 50  # a card dated after the key's end
READ_AT = NOW + 1000
NODE = shutil.which("node")


@pytest.fixture(name="made")
def fixture_made(tmp_path: Path, holder: Holder) -> tuple[Issuer, Credential, bytes]:
    """An issuer with kiosk-2 and a card kiosk-2 signed (print and chip credentials)."""
    issuer = Issuer.init(tmp_path / "issuer", now=NOW)
    issuer.add_kiosk("kiosk-2", now=NOW)
    issued = issuer.issue(
        holder, date(2030, 12, 31), ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6")),
        "kiosk-2", now=NOW + 10,
    )  # fmt: skip
    issuer.publish(NOW + 10)
    assert issued.chip_cose is not None
    chip = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
    return issuer, chip, issued.print_cose


def _trusted(issuer: Issuer, label: str) -> tuple[KeyState, int]:
    key = {k.label: k for k in load_trust_list(issuer.dir).keys}[label]
    return key.state, key.not_after


def test_cards_signed_before_stay_valid_and_later_ones_read_key_expired(
    made: tuple[Issuer, Credential, bytes],
) -> None:
    issuer, chip, print_cose = made
    issuer.retire_kiosk("kiosk-2", now=RETIRED_AT)
    assert _trusted(issuer, "kiosk-2") == (KeyState.RETIRED, END)
    assert issuer.key_state("kiosk-2") is KeyState.RETIRED
    verifier, problems = load_verifier(issuer.dir, now=READ_AT)
    assert problems == []
    assert verifier.verify(print_cose, READ_AT).verdict is Verdict.VALID
    # the same key, a card dated after its end (retire does not stop one who holds the key
    # and dates a card earlier: that is what revoke is for)
    signer = issuer.keystore.signer("kiosk-2")
    late = sign_credential(signer, replace(chip, issued_at=LATE))
    assert verifier.verify(late, READ_AT).verdict is Verdict.KEY_EXPIRED
    # the wallet formats (SD-JWT VC, mdoc) follow the same rule
    device = SoftwareSigner.generate().public_key
    for before, after in (
        (issue_vc(signer, chip, device).compact(), issue_vc(
            signer, replace(chip, issued_at=LATE), device).compact()),
        (mdoc.issue_mdoc(signer, chip, device), mdoc.issue_mdoc(
            signer, replace(chip, issued_at=LATE), device)),
    ):  # fmt: skip
        assert verify_wallet(verifier, before, now=READ_AT).verdict is Verdict.VALID
        assert verify_wallet(verifier, after, now=READ_AT).verdict is Verdict.KEY_EXPIRED
    # the issuer itself signs nothing new with it
    with pytest.raises(IssuerError, match="not an active kiosk key"):
        issuer.issue(chip.holder, None, None, "kiosk-2", now=RETIRED_AT + 60)


def test_retire_twice_changes_nothing_and_keeps_the_first_end(
    made: tuple[Issuer, Credential, bytes],
) -> None:
    issuer = made[0]
    assert issuer.retire_kiosk("kiosk-2", now=RETIRED_AT)[1] is True
    version = issuer.config["trust_list_version"]
    for later in (RETIRED_AT + 500, RETIRED_AT - 50):  # a host whose clock is ahead, behind
        account, changed = issuer.retire_kiosk("kiosk-2", now=later)
        assert changed is False and account.state == "retired"
        assert _trusted(issuer, "kiosk-2") == (KeyState.RETIRED, END)
        assert issuer.config["trust_list_version"] == version


def test_a_card_made_just_before_retire_by_a_fast_kiosk_stays_valid(
    made: tuple[Issuer, Credential, bytes],
) -> None:
    """A kiosk whose clock runs 120 s fast (within the allowed skew) finishes a card 30 s
    before the retirement: its iat is after the server's moment, and it must stay VALID."""
    issuer, chip, _print = made
    (issuer.dir / "server.toml").write_text("[kiosk]\nclock_skew = 200\n", "utf-8")
    issuer.retire_kiosk("kiosk-2", now=RETIRED_AT)
    assert _trusted(issuer, "kiosk-2") == (KeyState.RETIRED, RETIRED_AT + 200)
    signer = issuer.keystore.signer("kiosk-2")
    just_before = sign_credential(signer, replace(chip, issued_at=RETIRED_AT - 30 + 120))
    verifier = load_verifier(issuer.dir, now=READ_AT)[0]
    assert verifier.verify(just_before, READ_AT).verdict is Verdict.VALID


def test_retire_on_a_host_whose_issuer_json_was_not_copied_keeps_the_recorded_end(
    made: tuple[Issuer, Credential, bytes],
) -> None:
    """The registry says retired, this host's issuer.json does not (a crash between the two,
    or a host set up from an older copy): the key ends where the first retirement put it,
    not at this run's moment, and the command says the kiosk was already retired."""
    issuer = made[0]
    config = issuer.dir / "issuer.json"
    before = config.read_bytes()
    issuer.retire_kiosk("kiosk-2", now=RETIRED_AT)
    config.write_bytes(before)
    other = Issuer(issuer.dir)
    try:
        assert other.key_state("kiosk-2") is KeyState.ACTIVE
        account, changed = other.retire_kiosk("kiosk-2", now=RETIRED_AT + 86400)
        assert changed is False and account.state == "retired"
        assert other.keys.entry("kiosk-2")["not_after"] == END
        assert _trusted(other, "kiosk-2") == (KeyState.RETIRED, END)
    finally:
        other.close()


def test_a_clock_behind_the_keys_start_never_makes_an_impossible_window(
    made: tuple[Issuer, Credential, bytes],
) -> None:
    """A host whose clock is behind the key's not_before (another host made it): the window
    closes at its start, not before it (readers refuse a trust list with nb > na)."""
    issuer = made[0]
    start = issuer.keys.entry("kiosk-2")["not_before"]
    issuer.retire_kiosk("kiosk-2", now=start - SKEW - 1000)
    assert _trusted(issuer, "kiosk-2") == (KeyState.RETIRED, start)


def test_revoke_after_retire_reads_key_revoked(made: tuple[Issuer, Credential, bytes]) -> None:
    issuer, _chip, print_cose = made
    issuer.retire_kiosk("kiosk-2", now=RETIRED_AT)
    issuer.revoke_kiosk("kiosk-2", now=RETIRED_AT + 10)
    assert _trusted(issuer, "kiosk-2")[0] is KeyState.REVOKED
    account = issuer.kiosk("kiosk-2")
    assert account is not None and account.state == "revoked"
    verifier = load_verifier(issuer.dir, now=READ_AT)[0]
    assert verifier.verify(print_cose, READ_AT).verdict is Verdict.KEY_REVOKED


def test_retiring_a_revoked_kiosk_is_refused(made: tuple[Issuer, Credential, bytes]) -> None:
    issuer = made[0]
    issuer.revoke_kiosk("kiosk-2", now=RETIRED_AT)
    with pytest.raises(IssuerError, match=r"revoked.*stays revoked"):
        issuer.retire_kiosk("kiosk-2", now=RETIRED_AT + 10)
    assert _trusted(issuer, "kiosk-2")[0] is KeyState.REVOKED
    result = CliRunner().invoke(
        cli.main, ["kiosk", "retire", "--dir", str(issuer.dir), "kiosk-2"]
    )
    assert result.exit_code != 0
    assert "stays revoked" in result.output and "Traceback" not in result.output


def test_retire_unknown_kiosk_says_where_to_look(made: tuple[Issuer, Credential, bytes]) -> None:
    result = CliRunner().invoke(
        cli.main, ["kiosk", "retire", "--dir", str(made[0].dir), "kiosk-9"]
    )
    assert result.exit_code != 0
    assert "There is no kiosk 'kiosk-9'" in result.output and "kiosk list" in result.output


def test_retired_kiosk_is_refused_with_its_own_code_and_listed(api: Api) -> None:
    assert api.kiosk_call("GET", "/api/v1/kiosk/self").status_code == 200
    runner = CliRunner()
    result = runner.invoke(cli.main, ["kiosk", "retire", "--dir", str(api.dir), "kiosk-2"])
    assert result.exit_code == 0, result.output
    assert "Kiosk 'kiosk-2' retired" in result.stdout
    assert "stay valid" in result.stdout and "(published)" in result.stdout
    # retire does not stop one who holds the key (they date a card earlier): it says so
    assert "from now on" not in result.stdout and "kiosk revoke" in result.stdout
    assert "wipe" in result.stdout.lower()
    helped = runner.invoke(cli.main, ["kiosk", "retire", "--help"])
    assert "wiped" in helped.stdout and "kiosk revoke" in helped.stdout
    body = assert_json_error(api.kiosk_call("GET", "/api/v1/kiosk/self"), 403, "kiosk_retired")
    assert "retired" in body["message"]
    again = runner.invoke(cli.main, ["kiosk", "retire", "--dir", str(api.dir), "kiosk-2"])
    assert again.exit_code == 0, again.output
    assert "already retired" in again.stdout
    listed = runner.invoke(cli.main, ["kiosk", "list", "--dir", str(api.dir)])
    line = next(x for x in listed.stdout.splitlines() if x.startswith("kiosk-2 "))
    assert " retired " in line
    # the audit trail names it, and the desk shows a translated phrase for it
    with api.issuer.registry.read() as s:
        events = [e for e in audit_queries.recent(s) if e.action == "kiosk-retire"]
    assert len(events) == 1 and events[0].detail == "kiosk-2"
    what = history_lines(events, every=True)[0].what
    assert what != "kiosk-retire"
    for code in DESK_LANGUAGES:
        entry = TOOL.load_po(code).get(what)
        assert entry is not None and entry.string, (code, what)
        if code != SOURCE_LANGUAGE:
            assert entry.string != what, code
    # a retired kiosk found compromised later: revoke still works
    revoked = runner.invoke(cli.main, ["kiosk", "revoke", "--dir", str(api.dir), "kiosk-2"])
    assert revoked.exit_code == 0, revoked.output
    assert_json_error(api.kiosk_call("GET", "/api/v1/kiosk/self"), 403, "kiosk_revoked")


class _TestClientOpener:
    """urllib's opener, answered by the app's test client (no server process for one call)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def open(self, req: urllib.request.Request, timeout: float) -> Any:
        url = req.full_url.removeprefix("http://127.0.0.1")
        res = self.api.client.open(
            url, method=req.get_method(), data=req.data, headers=dict(req.header_items())
        )
        if res.status_code >= 400:
            raise urllib.error.HTTPError(
                req.full_url, res.status_code, res.status, res.headers, io.BytesIO(res.data)  # type: ignore[arg-type]
            )
        raise AssertionError(f"the retired kiosk's call was answered {res.status_code}")


def test_the_kiosk_shows_the_servers_sentence(api: Api) -> None:
    allocator = HttpAllocator("http://127.0.0.1", api.kiosk)
    allocator._opener = _TestClientOpener(api)  # type: ignore[assignment]
    api.issuer.retire_kiosk("kiosk-2")
    with pytest.raises(AllocationError, match=r"HTTP 403\): This kiosk has been retired") as exc:
        allocator.allocate("req-0123456789abcdef")
    assert exc.value.status == 403 and "stay valid" in exc.value.reason


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_phone_verifier_reads_the_published_retirement(
    made: tuple[Issuer, Credential, bytes],
) -> None:
    """verify.js (the phone's card check) on the published files: the same two verdicts."""
    issuer, _chip, print_cose = made
    issuer.retire_kiosk("kiosk-2", now=RETIRED_AT)
    base = Credential.from_payload(cose.parse_sign1(print_cose).payload)
    late = sign_credential(issuer.keystore.signer("kiosk-2"), replace(base, issued_at=LATE))
    public = issuer.dir / "public"
    files = {
        ".well-known/citycard/root-key": public / "root-key.pem",
        ".well-known/citycard/trust-list": public / "trust-list.cose",
        **{f"status/{p.stem}": p for p in (public / "status").glob("*.cwt")},
    }
    served = {k: base64.b64encode(p.read_bytes()).decode() for k, p in files.items()}
    script = (
        "const vm = require('vm'), fs = require('fs');"
        f"const FILES = {json.dumps(served)};"
        "const fetch = async (url) => { const path = new URL(url).pathname.slice(1);"
        " const b = FILES[path]; return b === undefined ? new Response(null, {status: 404})"
        " : new Response(Buffer.from(b, 'base64')); };"
        "const ctx = {window: {crypto}, TextEncoder, TextDecoder, URL, crypto, console, fetch,"
        " DecompressionStream, Response, URLSearchParams, atob, btoa,"
        " document: {readyState: 'loading', documentElement: {}, addEventListener() {},"
        "  querySelector() { return null; }, querySelectorAll() { return []; },"
        "  getElementById() { return null; }},"
        " location: {href: 'https://phone.example/', search: ''}, navigator: {languages: ['en']},"
        " localStorage: {getItem() { return null; }, setItem() {}, removeItem() {}}};"
        "vm.createContext(ctx);"
        "for (const f of ['presentation.js', 'verify.js'])"
        f" vm.runInContext(fs.readFileSync({json.dumps(str(PAGE_DIR))} + '/' + f, 'utf8'), ctx);"
        "(async () => { const C = ctx.window.citycard; await C.ready;"
        " if (!C.state.trust) throw new Error(JSON.stringify(C.state.problems));"
        " const key = [...C.state.trust.keys.values()].find((k) => k.label === 'kiosk-2');"
        f" const out = {{state: key.state, notAfter: key.notAfter,"
        f"  before: (await C.verifyText({json.dumps(to_qr(print_cose))}, {READ_AT})).verdict,"
        f"  after: (await C.verifyText({json.dumps(to_qr(late))}, {READ_AT})).verdict}};"
        " process.stdout.write(JSON.stringify(out)); })();"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "state": "retired", "notAfter": END, "before": "VALID", "after": "KEY_EXPIRED"
    }  # fmt: skip


# -- a kiosk retired just after its last card (issuer API) ---------------------------------------


def _retire(api: Api) -> int:
    """Retire kiosk-2 now; its key's end (unix seconds)."""
    account, _ = api.issuer.retire_kiosk("kiosk-2")
    return api.issuer.key_end(account.key_label)


def test_a_retired_kiosk_reports_the_card_it_signed_before(api: Api) -> None:
    made = api.allocate()["document_number"]
    unfinished = api.allocate()["document_number"]
    end = _retire(api)
    res = api.issued(made, iat=end - 60)
    assert res.status_code == 200, res.json
    assert res.json is not None and res.json["state"] == "issued"
    assert api.kiosk_call("POST", f"/api/v1/kiosk/cards/{unfinished}/void").status_code == 200
    # the same report again (a retry after a lost answer) is still taken
    assert api.issued(made, iat=end - 60).status_code == 200


def test_a_retired_kiosk_may_do_nothing_else(api: Api) -> None:
    made = api.allocate()["document_number"]
    end = _retire(api)
    digest = RevocationCode.generate().digest
    late = assert_json_error(api.issued(made, iat=end + 1), 403, "kiosk_retired")
    assert "before its retirement" in late["message"]
    with_code = api.kiosk_call(
        "POST",
        f"/api/v1/kiosk/cards/{made}/issued",
        {"issued_at": end - 60, "expires_at": end + 86400, "revocation_code_hash": digest},
    )
    assert_json_error(with_code, 403, "kiosk_retired")
    assert_json_error(api.kiosk_call("GET", "/api/v1/kiosk/self"), 403, "kiosk_retired")
    allocate = api.kiosk_call(
        "POST", "/api/v1/kiosk/allocations", {"request_id": "req-0123456789abcdef"}
    )
    assert_json_error(allocate, 403, "kiosk_retired")
    code = api.kiosk_call(
        "POST", f"/api/v1/kiosk/cards/{made}/revocation-code", {"revocation_code_hash": digest}
    )
    assert_json_error(code, 403, "kiosk_retired")
    # nor cancel a card it made: whoever kept its credential must not void them all
    assert api.issued(made, iat=end - 60).status_code == 200
    refused = api.kiosk_call("POST", f"/api/v1/kiosk/cards/{made}/void")
    assert "reported issued" in assert_json_error(refused, 409, "conflict")["message"]
    card = api.issuer.card(made)
    assert (card.state, card.status) == ("issued", "valid")


def test_a_revoked_kiosk_reports_nothing(api: Api) -> None:
    made = api.allocate()["document_number"]
    _retire(api)
    api.issuer.revoke_kiosk("kiosk-2")
    assert_json_error(api.issued(made, iat=NOW), 403, "kiosk_revoked")
    void = api.kiosk_call("POST", f"/api/v1/kiosk/cards/{made}/void")
    assert_json_error(void, 403, "kiosk_revoked")
