"""The issuer API through Flask's test client (and once through a real waitress server).

Most tests run on SQLite and, when CITYCARD_TEST_PG_URL is set, on PostgreSQL too.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.test import TestResponse

from api.issuer import cli
from api.issuer.publishing import PublisherWorker
from api.issuer.registry import publication_queries
from api.issuer.routes_public import FastPath
from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from cardio import codes
from cardio.keys import fingerprint, load_public_pem
from cardio.kiosk_auth import SCHEME, KioskCredential
from cardio.statuslist import Status, parse_token
from cardio.trustlist import KeyState, parse_trust_list
from tests.api_fixtures import (
    ALLOCATE,
    BACKENDS,
    Api,
    fixture_api,  # noqa: F401 - fixture
    fixture_database_url,  # noqa: F401 - fixture
    make_api,
    new_request_id,
)

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
TRUST = "/.well-known/citycard/trust-list"
ROOT = "/.well-known/citycard/root-key"


def assert_json_error(res: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """A JSON error {code, message}: no HTML, no traceback, the message a sentence."""
    assert res.status_code == status, (res.status_code, res.get_data(as_text=True))
    assert res.mimetype == "application/json", res.mimetype
    body = res.get_json()
    assert isinstance(body, dict) and set(body) == {"code", "message"}, body
    assert re.fullmatch(r"[A-Z'].*[.;)]", body["message"]), body["message"]
    text = res.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    if code is not None:
        assert body["code"] == code, body
    return body


def status_of(api: Api, list_id: str, index: int) -> int:
    token = parse_token(api.client.get(f"/status/{list_id}").data)
    return token.status_list.get(index)


# -- public files -------------------------------------------------------------------------------


@BOTH
def test_trust_list_etag_cache_control_and_304(api: Api) -> None:
    res = api.client.get(TRUST)
    assert res.status_code == 200
    assert res.mimetype == "application/vnd.citycard.trust-list+cwt"
    assert res.data == (api.dir / "public" / "trust-list.cose").read_bytes()
    etag = res.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "max-age=" in res.headers["Cache-Control"] and "public" in res.headers["Cache-Control"]
    trust = parse_trust_list(res.data, load_public_pem(api.client.get(ROOT).data))
    assert "kiosk-2" in {k.label for k in trust.keys}

    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = api.client.get(TRUST, headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == res.headers["Cache-Control"]
    assert api.client.get(TRUST, headers={"If-None-Match": '"other"'}).status_code == 200
    assert api.client.head(TRUST).status_code == 200

    # A new publish shows at once, with a new ETag; the old one no longer matches.
    api.issuer.revoke_kiosk("kiosk-2")
    fresh = api.client.get(TRUST, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag


@BOTH
def test_status_list_media_type_etag_and_changes(api: Api) -> None:
    res = api.client.get("/status/1")
    assert res.status_code == 200
    assert res.mimetype == "application/statuslist+cwt"
    etag = res.headers["ETag"]
    assert api.client.get("/status/1", headers={"If-None-Match": etag}).status_code == 304
    token = parse_token(res.data)
    assert token.uri == "https://cc.example/status/1" and token.ttl == 3600

    card = api.allocate()
    assert api.issued(card["document_number"]).status_code == 200
    assert api.staff("suspend", card["document_number"]).status_code == 200
    changed = api.client.get("/status/1", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert parse_token(changed.data).status_list.get(card["status_index"]) == Status.SUSPENDED

    assert_json_error(api.client.get("/status/2"), 404, "not_found")
    assert_json_error(api.client.get("/status/..%2Fissuer.json"), 404)


def _age_published_status(env: Api, seconds: int) -> None:
    """Make the registry's status list 1 look `seconds` older (as after a quiet night)."""
    with env.issuer.registry.write() as s:
        row = publication_queries.stored_file(s, "status/1.cwt")
        assert row is not None
        row.published_at -= seconds


def test_stale_status_list_is_signed_again_by_the_publisher(tmp_path: Path) -> None:
    env = make_api(tmp_path / "issuer", None)
    old = env.client.get("/status/1").data
    _age_published_status(env, 7200)  # older than ttl / 2
    env.app.extensions["citycard"].extra["publisher"].nudge()
    deadline = time.monotonic() + 10
    while env.client.get("/status/1").data == old:
        assert time.monotonic() < deadline, "the publisher did not sign the stale list again"
        time.sleep(0.05)
    res = env.client.get("/status/1")
    assert res.status_code == 200 and parse_token(res.data).iat >= int(time.time()) - 5
    assert res.data == (env.dir / "public" / "status" / "1.cwt").read_bytes()
    env.app.extensions["citycard"].issuer.close()
    env.issuer.close()


def test_a_failing_publisher_leaves_the_last_published_bytes_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_api(tmp_path / "issuer", None)
    server_issuer = env.app.extensions["citycard"].issuer
    calls = []

    def broken(*_args: Any, **_kwargs: Any) -> None:
        calls.append(1)
        raise RuntimeError("the key store is away")

    monkeypatch.setattr(server_issuer.publisher, "publish_status", broken)
    before = env.client.get("/status/1").data
    _age_published_status(env, 7200)
    env.app.extensions["citycard"].extra["publisher"].nudge()
    deadline = time.monotonic() + 10
    while not calls:
        assert time.monotonic() < deadline, "the publisher did not try"
        time.sleep(0.05)
    res = env.client.get("/status/1")
    assert res.status_code == 200 and res.data == before
    # Nothing published at all (a new database, no publisher running yet): 503, never a traceback.
    env.app.extensions["citycard"].extra["publisher"].stop()
    with env.issuer.registry.write() as s:
        publication_queries.forget_file(s, "status/1.cwt")
        publication_queries.forget_file(s, "trust-list.cose")
    time.sleep(1.1)  # what a host holds in memory is checked against the registry each second
    body = assert_json_error(env.client.get("/status/1"), 503, "not_published")
    assert env.client.get("/status/1").headers["Retry-After"].isdigit(), body
    assert_json_error(env.client.get(TRUST), 503, "not_published")
    server_issuer.close()
    env.issuer.close()


@BOTH
def test_root_key_is_the_published_pem(api: Api) -> None:
    res = api.client.get(ROOT)
    assert res.status_code == 200
    assert res.mimetype == "application/x-pem-file"
    assert res.data == (api.dir / "public" / "root-key.pem").read_bytes()
    assert fingerprint(load_public_pem(res.data)) == fingerprint(
        api.issuer.keystore.signer("root").public_key
    )
    assert api.client.get(ROOT, headers={"If-None-Match": res.headers["ETag"]}).status_code == 304


# -- kiosk endpoints ----------------------------------------------------------------------------


@BOTH
def test_allocate_is_idempotent_per_request_id(api: Api) -> None:
    rid = new_request_id()
    first = api.kiosk_call("POST", ALLOCATE, {"request_id": rid})
    assert first.status_code == 201, first.json
    a = first.json
    assert a is not None
    assert re.fullmatch(r"DEV\d{8}", a["document_number"])
    assert a["kid"] == api.issuer.kiosk("kiosk-2").kid  # type: ignore[union-attr]
    assert a["status_uri"] == "https://cc.example/status/1"
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", a["revocation_code"])

    # The kiosk retries (a new signature, the same request id): the same allocation.
    again = api.kiosk_call("POST", ALLOCATE, {"request_id": rid})
    assert again.status_code == 200
    b = again.json
    assert b is not None
    keys = ("document_number", "status_list", "status_index", "kid", "request_id")
    assert {k: b[k] for k in keys} == {k: a[k] for k in keys}
    assert b["revocation_code"] != a["revocation_code"]  # the later code replaces the earlier

    other = api.allocate()
    assert other["document_number"] != a["document_number"]
    cards = api.issuer.registry.cards()
    assert len(cards) == 2 and cards[a["document_number"]]["state"] == "allocated"

    # Only the last code works once the card is issued.
    assert api.issued(a["document_number"]).status_code == 200
    assert api.self_revoke(a["document_number"], a["revocation_code"]).status_code == 403
    assert api.self_revoke(a["document_number"], b["revocation_code"]).status_code == 200
    # A request id whose card is finished cannot allocate again.
    assert_json_error(api.kiosk_call("POST", ALLOCATE, {"request_id": rid}), 409, "conflict")


@BOTH
def test_unauthenticated_kiosk_calls_are_refused(api: Api) -> None:
    body = {"request_id": new_request_id()}
    res = api.client.post(ALLOCATE, json=body)
    assert_json_error(res, 401, "unauthorized")
    assert res.headers["WWW-Authenticate"] == SCHEME
    for header in (
        "Bearer abc",
        f"{SCHEME} ",
        f'{SCHEME} id="kiosk-2"',
        f'{SCHEME} id="kiosk-2", ts="1", nonce="aaaaaaaaaaaaaaaaaaaa", sig="!!"',
        f'{SCHEME} id="kiosk-2", id="kiosk-2", ts="1", nonce="aaaaaaaaaaaaaaaaaaaa", sig="AA"',
        # str.isdigit takes "²" (a 500 from int()) and other scripts' digits
        f'{SCHEME} id="kiosk-2", ts="\u00b2", nonce="aaaaaaaaaaaaaaaaaaaa", sig="{"A" * 86}"',
        f'{SCHEME} id="kiosk-2", ts="\u0661\u0662", nonce="aaaaaaaaaaaaaaaaaaaa", sig="{"A" * 86}"',
    ):
        assert_json_error(
            api.client.post(ALLOCATE, json=body, headers={"Authorization": header}), 401
        )
    for path in ("/api/v1/kiosk/self", "/api/v1/kiosk/cards/DEV00000018/void"):
        method = "GET" if path.endswith("self") else "POST"
        assert_json_error(api.client.open(path, method=method), 401)
    assert api.issuer.registry.cards() == {}


@BOTH
def test_forged_kiosk_calls_are_refused(api: Api) -> None:
    payload = {"request_id": new_request_id()}
    # Someone with their own key claims to be kiosk-2.
    impostor = KioskCredential.generate("kiosk-2")
    assert_json_error(api.kiosk_call("POST", ALLOCATE, payload, impostor), 401, "unauthorized")
    # A kiosk id that does not exist gets the same answer as a bad signature.
    ghost = KioskCredential.generate("kiosk-9")
    ghost_res = api.kiosk_call("POST", ALLOCATE, payload, ghost)
    impostor_res = api.kiosk_call("POST", ALLOCATE, payload, impostor)
    assert ghost_res.get_json() == impostor_res.get_json()
    # A signature with one bit flipped.
    body = json.dumps(payload).encode()
    headers = api.kiosk.headers("POST", ALLOCATE, body)
    sig = re.search(r'sig="([^"]+)"', headers["Authorization"])
    assert sig is not None
    flipped = sig[1][:-2] + ("A" if sig[1][-2] != "A" else "B") + sig[1][-1]
    headers["Authorization"] = headers["Authorization"].replace(sig[1], flipped)
    res = api.client.post(
        ALLOCATE, data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert_json_error(res, 401)
    # A timestamp outside the allowed skew, validly signed.
    stale = api.kiosk.headers("POST", ALLOCATE, body, now=int(time.time()) - 3600)
    res = api.client.post(
        ALLOCATE, data=body, headers={**stale, "Content-Type": "application/json"}
    )
    assert "clock" in assert_json_error(res, 401)["message"]
    assert api.issuer.registry.cards() == {}


@BOTH
def test_replayed_kiosk_calls_are_refused(api: Api) -> None:
    body_a = json.dumps({"request_id": new_request_id()}).encode()
    body_b = json.dumps({"request_id": new_request_id()}).encode()
    headers = {**api.kiosk.headers("POST", ALLOCATE, body_a), "Content-Type": "application/json"}
    # Captured headers on another body, another path, another method: refused.
    assert_json_error(api.client.post(ALLOCATE, data=body_b, headers=headers), 401)
    assert_json_error(
        api.client.post("/api/v1/kiosk/cards/DEV00000018/void", data=body_a, headers=headers), 401
    )
    assert_json_error(api.client.put(ALLOCATE, data=body_a, headers=headers), 405)
    # The genuine request works once; the exact replay is refused.
    assert api.client.post(ALLOCATE, data=body_a, headers=headers).status_code == 201
    replay = api.client.post(ALLOCATE, data=body_a, headers=headers)
    assert "replay" in assert_json_error(replay, 401)["message"]
    assert len(api.issuer.registry.cards()) == 1


@BOTH
def test_revoked_kiosk_is_cut_off(api: Api) -> None:
    assert api.kiosk_call("GET", "/api/v1/kiosk/self").status_code == 200
    before = parse_trust_list(
        api.client.get(TRUST).data, load_public_pem(api.client.get(ROOT).data)
    )
    result = CliRunner().invoke(cli.main, ["kiosk", "revoke", "--dir", str(api.dir), "kiosk-2"])
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stdout
    assert_json_error(api.kiosk_call("GET", "/api/v1/kiosk/self"), 403, "kiosk_revoked")
    assert_json_error(
        api.kiosk_call("POST", ALLOCATE, {"request_id": new_request_id()}), 403, "kiosk_revoked"
    )
    after = parse_trust_list(api.client.get(TRUST).data, load_public_pem(api.client.get(ROOT).data))
    assert after.version == before.version + 1
    assert {k.label: k.state for k in after.keys}["kiosk-2"] is KeyState.REVOKED


@BOTH
def test_report_issued_and_void(api: Api) -> None:
    who = api.kiosk_call("GET", "/api/v1/kiosk/self")
    assert who.status_code == 200 and who.json is not None
    assert who.json["kiosk_id"] == "kiosk-2" and who.json["state"] == "active"

    card = api.allocate()
    number, idx = card["document_number"], card["status_index"]
    res = api.issued(number)
    assert res.status_code == 200 and res.json is not None
    assert res.json["state"] == "issued" and res.json["issued_at"] == 1_790_000_000
    assert api.issued(number).status_code == 200  # reported twice: the same answer
    assert_json_error(api.issued(number, iat=1_790_000_100), 409, "conflict")
    bad = api.kiosk_call(
        "POST", f"/api/v1/kiosk/cards/{number}/issued", {"issued_at": 5, "expires_at": 5}
    )
    assert_json_error(bad, 400)

    half_made = api.allocate()
    res = api.kiosk_call("POST", f"/api/v1/kiosk/cards/{half_made['document_number']}/void")
    assert res.status_code == 200 and res.json is not None
    assert (res.json["state"], res.json["status"]) == ("voided", "revoked")
    assert status_of(api, "1", half_made["status_index"]) == Status.INVALID
    assert status_of(api, "1", idx) == Status.VALID
    assert_json_error(api.issued(half_made["document_number"]), 409)

    # Another kiosk cannot touch kiosk-2's cards, nor can anyone report a number never allocated.
    _acct, other = api.issuer.add_kiosk("kiosk-3")
    assert other is not None
    for path in (f"/api/v1/kiosk/cards/{number}/void", "/api/v1/kiosk/cards/DEV99999997/void"):
        assert_json_error(api.kiosk_call("POST", path, credential=other), 404, "not_found")
    assert api.issuer.card_status(number) == "valid"


@BOTH
def test_kiosk_body_validation(api: Api) -> None:
    for payload in ({}, {"request_id": "short"}, {"request_id": 12345678}, [1], {"x": 1}):
        assert_json_error(api.kiosk_call("POST", ALLOCATE, payload), 400)
    res = api.kiosk_call("POST", ALLOCATE, raw=b'{"request_id": ')
    assert_json_error(res, 400, "bad_json")
    res = api.kiosk_call("POST", "/api/v1/kiosk/cards/dev-lower/void")
    assert_json_error(res, 400)


# -- staff revocation ---------------------------------------------------------------------------


@BOTH
def test_staff_revoke_suspend_reinstate(api: Api) -> None:
    card = api.allocate()
    number, idx = card["document_number"], card["status_index"]
    assert api.issued(number).status_code == 200

    assert_json_error(api.client.post(f"/api/v1/staff/cards/{number}/suspend"), 401)
    assert_json_error(api.staff("suspend", number, token="ccs_forged"), 401, "unauthorized")
    assert_json_error(api.staff("suspend", number, token=api.staff_token + "x"), 401)
    assert api.issuer.card_status(number) == "valid"

    res = api.staff("suspend", number)
    assert res.status_code == 200 and res.json is not None
    assert (res.json["status"], res.json["changed"]) == ("suspended", True)
    assert status_of(api, "1", idx) == Status.SUSPENDED
    assert api.staff("suspend", number).json == {**res.json, "changed": False}

    res = api.staff("reinstate", number)
    assert res.status_code == 200 and res.json is not None and res.json["status"] == "valid"
    assert status_of(api, "1", idx) == Status.VALID

    res = api.staff("revoke", number)
    assert res.status_code == 200 and res.json is not None and res.json["status"] == "revoked"
    assert status_of(api, "1", idx) == Status.INVALID
    assert (
        "cannot be reinstated" in assert_json_error(api.staff("reinstate", number), 409)["message"]
    )
    assert_json_error(api.staff("suspend", number), 409)
    assert_json_error(api.staff("revoke", "DEV99999997"), 404, "not_found")
    assert_json_error(api.staff("delete", number), 404)

    got = api.client.get(
        f"/api/v1/staff/cards/{number}", headers={"Authorization": f"Bearer {api.staff_token}"}
    )
    assert got.status_code == 200 and got.json is not None and got.json["status"] == "revoked"

    # A withdrawn staff account's token stops working at once.
    api.issuer.revoke_staff("desk-1")
    assert_json_error(api.staff("revoke", number), 401)


# -- self-revocation ----------------------------------------------------------------------------


@BOTH
def test_self_revocation_right_code_works_once(api: Api) -> None:
    card = api.allocate()
    number, code = card["document_number"], card["revocation_code"]
    assert api.issued(number).status_code == 200

    res = api.self_revoke(number, code.lower().replace("-", " "))  # typed loosely: still fine
    assert res.status_code == 200 and res.json is not None
    assert (res.json["document_number"], res.json["status"]) == (number, "revoked")
    assert status_of(api, "1", card["status_index"]) == Status.INVALID

    again = api.self_revoke(number, code)
    unknown = api.self_revoke("DEV99999997", code)
    assert_json_error(again, 403, "no_match")
    assert again.get_json() == unknown.get_json()


@BOTH
def test_kiosk_made_revocation_codes(api: Api) -> None:
    """A kiosk that prints its own code (printer.receipt) reports only the digest."""
    receipt = pytest.importorskip("printer.receipt")
    card = api.allocate()
    number = card["document_number"]
    printed = receipt.RevocationCode.generate()
    path = f"/api/v1/kiosk/cards/{number}/issued"
    times = {"issued_at": 1_790_000_000, "expires_at": 1_853_072_000}
    for bad in ("scrypt$14$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43, "plain", 5):
        res = api.kiosk_call("POST", path, {**times, "revocation_code_hash": bad})
        assert_json_error(res, 400, "bad_request")
    res = api.kiosk_call("POST", path, {**times, "revocation_code_hash": printed.digest})
    assert res.status_code == 200, res.json
    # The receipt was printed again with a new code: only the newest digest counts.
    reprinted = receipt.RevocationCode.generate()
    res = api.kiosk_call(
        "POST",
        f"/api/v1/kiosk/cards/{number}/revocation-code",
        {"revocation_code_hash": reprinted.digest},
    )
    assert res.status_code == 200, res.json
    for stale in (card["revocation_code"], printed.printable):
        assert api.self_revoke(number, stale).status_code == 403
    assert api.self_revoke(number, reprinted.printable.lower()).status_code == 200
    res = api.kiosk_call(
        "POST",
        f"/api/v1/kiosk/cards/{number}/revocation-code",
        {"revocation_code_hash": printed.digest},
    )
    assert_json_error(res, 409, "conflict")  # a revoked card needs no code


def test_code_digests_match_the_receipt_module() -> None:
    receipt = pytest.importorskip("printer.receipt")
    printed = receipt.RevocationCode.generate()
    assert codes.check_code(printed.printable, printed.digest)
    assert codes.parse_digest(printed.digest) is not None
    ours = codes.new_revocation_code()
    assert receipt.verify_revocation_code(ours, codes.hash_code(ours))
    assert codes.normalise_code(ours.lower().replace("0", "o")) == ours.replace("-", "")


@BOTH
def test_wrong_code_reveals_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    card = api.allocate()
    number = card["document_number"]
    assert api.issued(number).status_code == 200
    wrong = "AAAAA-BBBBB"
    calls: list[int] = []
    real = codes._scrypt

    def counting(canon: str, salt: bytes) -> bytes:
        calls.append(1)
        return real(canon, salt)

    monkeypatch.setattr(codes, "_scrypt", counting)
    answers, times = {}, {}
    for label, target in (("exists", number), ("missing", "DEV99999997")):
        samples = []
        for i in range(5):  # the per-number limit allows 5
            calls.clear()
            t0 = time.perf_counter()
            res = api.self_revoke(
                target, wrong, address=f"198.51.100.{i + (10 if label == 'exists' else 20)}"
            )
            samples.append(time.perf_counter() - t0)
            assert len(calls) == 1  # the same work: one scrypt either way
            answers.setdefault(label, set()).add(
                (res.status_code, res.get_data(), tuple(sorted(res.headers.items())))
            )
        times[label] = statistics.median(samples)
    assert answers["exists"] == answers["missing"] and len(answers["exists"]) == 1
    ((status, _body, _h),) = answers["exists"]
    assert status == 403
    ratio = times["exists"] / times["missing"]
    assert 0.5 < ratio < 2.0, times
    # A text that cannot be a code gets the same answer whether the number exists or not.
    assert api.self_revoke(number, "x").get_data() == api.self_revoke("DEV99999997", "x").get_data()
    assert api.issuer.card_status(number) == "valid"


@BOTH
def test_self_revocation_is_throttled(tmp_path: Path, database_url: str | None) -> None:
    env = make_api(
        tmp_path / "issuer", database_url, number_burst=3, address_burst=6, number_per_hour=1
    )
    try:
        card = env.allocate()
        number = card["document_number"]
        assert env.issued(number).status_code == 200
        for _ in range(3):
            assert env.self_revoke(number, "AAAAA-BBBBB", "203.0.113.1").status_code == 403
        # The 4th try on this number is throttled, from any address, even with the right code.
        for address, code in (
            ("203.0.113.1", "AAAAA-BBBBB"),
            ("203.0.113.2", card["revocation_code"]),
        ):
            res = env.self_revoke(number, code, address)
            assert_json_error(res, 429, "rate_limited")
            assert int(res.headers["Retry-After"]) > 0
        # A number that does not exist is throttled exactly alike.
        for _ in range(3):
            assert env.self_revoke("DEV99999997", "AAAAA-BBBBB", "203.0.113.3").status_code == 403
        assert env.self_revoke("DEV99999997", "AAAAA-BBBBB", "203.0.113.3").status_code == 429
        # One address trying many numbers runs out too.
        codes_seen = [
            env.self_revoke(f"DEV0000{i:03d}0", "AAAAA-BBBBB", "203.0.113.9").status_code
            for i in range(8)
        ]
        assert codes_seen == [403] * 6 + [429] * 2
        # The IPv6 neighbours of one /64 share a bucket.
        ipv6 = [
            env.self_revoke(f"DEV0001{i:03d}0", "AAAAA-BBBBB", f"2001:db8::{i + 1:x}").status_code
            for i in range(7)
        ]
        assert ipv6 == [403] * 6 + [429]
        assert env.issuer.card_status(number) == "valid"
    finally:
        env.app.extensions["citycard"].issuer.close()
        env.issuer.close()


# -- errors and the OpenAPI document ------------------------------------------------------------


def test_errors_are_json(api: Api) -> None:
    assert_json_error(api.client.get("/no/such/page"), 404, "not_found")
    res = api.client.delete(TRUST)
    assert_json_error(res, 405, "method_not_allowed")
    assert "GET" in res.headers["Allow"]
    assert_json_error(api.client.get("/api/v1/self-revocation"), 405)
    bad = api.client.post(
        "/api/v1/self-revocation", data=b"{not json", content_type="application/json"
    )
    assert_json_error(bad, 400, "bad_json")
    assert_json_error(
        api.client.post("/api/v1/self-revocation", data=b"[]", content_type="application/json"),
        400,
    )
    assert_json_error(
        api.client.post("/api/v1/self-revocation", data=b"NaN", content_type="application/json"),
        400,
    )
    assert_json_error(
        api.client.post("/api/v1/self-revocation", data=b"x=1", content_type="text/plain"), 415
    )
    big = b'{"code": "' + b"A" * 70_000 + b'"}'
    assert_json_error(
        api.client.post("/api/v1/self-revocation", data=big, content_type="application/json"),
        413,
    )
    assert_json_error(
        api.client.post("/api/v1/self-revocation", json={"document_number": "DEV1"}), 400
    )


def test_internal_errors_are_json_without_details(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api.app.extensions["citycard"].issuer, "self_revoke", broken)
    res = api.self_revoke("DEV00000018", "AAAAA-BBBBB")
    body = assert_json_error(res, 500, "internal_error")
    assert "secret" not in json.dumps(body)


def test_openapi_describes_every_route(api: Api) -> None:
    """The generated document names every route of the app with its methods (APIFairy's own
    /openapi.json aside), the schemas' constraints and the security schemes."""
    first = api.client.get("/openapi.json", base_url="http://other.example")
    res = api.client.get("/openapi.json")
    assert res.status_code == 200 and res.mimetype == "application/json"
    doc = res.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": "/"}] and first.get_json() == doc  # no Host kept in it
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in api.app.url_map.iter_rules():
        if rule.endpoint.startswith(("apifairy.", "lost.", "desk.")):
            continue  # APIFairy's own, and the HTML pages (the lost-card page, the desk)
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                served.add((path, method))
    assert served == documented
    assert len(served) == 21  # 14 (/health among them), the 2 wallet pickup routes and the 5 of OpenID4VCI
    schemes = doc["components"]["securitySchemes"]
    assert schemes["staffToken"] == {**schemes["staffToken"], "type": "http", "scheme": "bearer"}
    assert (schemes["kioskSignature"]["type"], schemes["kioskSignature"]["name"]) == (
        "apiKey",
        "Authorization",
    )
    assert SCHEME in schemes["kioskSignature"]["description"]
    allocate = doc["paths"][ALLOCATE]["post"]
    assert allocate["security"] == [{"kioskSignature": []}]
    request_id = doc["components"]["schemas"]["AllocationRequest"]["properties"]["request_id"]
    assert request_id["pattern"] == "^[A-Za-z0-9._:-]{8,64}$"
    assert {"200", "201", "400", "401", "403", "409", "413", "415"} <= set(allocate["responses"])
    void = doc["paths"]["/api/v1/kiosk/cards/{number}/void"]["post"]
    assert void["requestBody"]["required"] is False
    assert void["parameters"][0]["schema"]["pattern"] == "^[A-Z0-9-]{4,24}$"
    trust = doc["paths"][TRUST]["get"]
    assert "security" not in trust
    assert set(trust["responses"]["200"]["content"]) == {"application/vnd.citycard.trust-list+cwt"}
    assert "ETag" in trust["responses"]["200"]["headers"] and "304" in trust["responses"]
    root = doc["paths"][ROOT]["get"]["responses"]["200"]["content"]
    assert root == {"application/x-pem-file": {"schema": {"type": "string", "format": "binary"}}}
    status = doc["paths"]["/status/{list_id}"]["get"]["responses"]["200"]["content"]
    assert set(status) == {"application/statuslist+cwt"}
    limited = doc["paths"]["/api/v1/self-revocation"]["post"]["responses"]["429"]
    assert "Retry-After" in limited["headers"]


@BOTH
def test_requests_violating_a_schema_are_400_json(api: Api) -> None:
    """The schemas that document the API also check it: every violation is 400 {code, message}."""
    card = api.allocate()
    issued = f"/api/v1/kiosk/cards/{card['document_number']}/issued"
    times = {"issued_at": 1_790_000_000, "expires_at": 1_853_072_000}
    cases = [
        (ALLOCATE, {"request_id": "short"}, "'request_id' must be 8 to 64"),
        (ALLOCATE, {"request_id": None}, "'request_id' must be 8 to 64"),
        (ALLOCATE, {}, "The field 'request_id' is missing."),
        (ALLOCATE, {"request_id": new_request_id(), "x": 1}, "Unknown field 'x'; remove it."),
        (issued, {**times, "issued_at": True}, "'issued_at' must be a whole number"),
        (issued, {**times, "issued_at": 5.0}, "'issued_at' must be a whole number"),
        (issued, {**times, "expires_at": -1}, "'expires_at' must be a whole number"),
        (issued, {**times, "expires_at": 2**40}, "'expires_at' must be a whole number"),
        (issued, {"issued_at": 9, "expires_at": 9}, "'expires_at' must be after 'issued_at'."),
        (issued, {**times, "revocation_code_hash": "plain"}, "'revocation_code_hash' must be"),
        ("/api/v1/kiosk/cards/dev-lower/void", None, "'number' must be 4 to 24 capital"),
        ("/api/v1/kiosk/cards/DEV00000018/void", {"x": 1}, "Unknown field 'x'; remove it."),
    ]
    for path, payload, message in cases:
        body = assert_json_error(api.kiosk_call("POST", path, payload), 400, "bad_request")
        assert body["message"].startswith(message), (path, payload, body)
    for payload, message in (
        ({"document_number": 5, "code": "AAAAA-BBBBB"}, "'document_number' must be text."),
        ({"document_number": "DEV1", "code": "A" * 65}, "'code' must be the receipt's code"),
        ({"document_number": "dev 0000 0018!", "code": "AAAAA-BBBBB"}, "'document_number' must be 4 to"),
    ):
        res = api.client.post("/api/v1/self-revocation", json=payload)
        assert assert_json_error(res, 400, "bad_request")["message"].startswith(message)
    staff = api.client.post(
        "/api/v1/staff/cards/DEV00000018/suspend",
        json={"reason": "x"},
        headers={"Authorization": f"Bearer {api.staff_token}"},
    )
    assert_json_error(staff, 400, "bad_request")
    assert api.issuer.card_status(card["document_number"]) == "valid"


# Headers every answer of the issuer carries (the phone pages relax only the CSP).
STRICT = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def test_security_headers_on_every_answer(api: Api) -> None:
    answers = [
        api.client.get(TRUST),
        api.client.get(TRUST, headers={"If-None-Match": api.client.get(TRUST).headers["ETag"]}),
        api.client.get(ROOT),
        api.client.get("/status/1"),
        api.client.get("/status/9"),
        api.client.get("/openapi.json"),
        api.client.get("/no/such/page"),
        api.client.delete(TRUST),
        api.kiosk_call("GET", "/api/v1/kiosk/self"),
        api.kiosk_call("POST", ALLOCATE, {"request_id": "short"}),
        api.client.post(ALLOCATE, json={"request_id": new_request_id()}),
        api.self_revoke("DEV00000018", "AAAAA-BBBBB"),
    ]
    for res in answers:
        for name, value in STRICT.items():
            assert res.headers.get(name) == value, (res.request.path, res.status_code, name)


def test_phone_pages_get_a_policy_that_runs_their_own_scripts(tmp_path: Path) -> None:
    from api import phone

    env = make_api(tmp_path / "issuer", None)
    app = create_app(load_config(env.dir), pages=[phone.blueprint()])
    client = app.test_client()
    page = client.get("/verify/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp or "script-src" not in csp
    for name in ("X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options"):
        assert page.headers[name] == STRICT[name]
    assert client.get("/verify/verify.js").status_code == 200
    # The API beside the pages keeps its strict policy.
    assert client.get(TRUST).headers["Content-Security-Policy"] == STRICT["Content-Security-Policy"]
    app.extensions["citycard"].issuer.close()
    env.issuer.close()


# -- a real server ------------------------------------------------------------------------------


def test_waitress_serves_the_trust_list(tmp_path: Path) -> None:
    directory = tmp_path / "issuer"
    env = make_api(directory, None)
    env.issuer.close()
    env.app.extensions["citycard"].issuer.close()  # its publisher lets the lock go
    exe = Path(sys.executable).with_name("citycard-api")
    proc = subprocess.Popen(
        [str(exe), "serve", "--dir", str(directory), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)/ ", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        base = match[1]
        with urllib.request.urlopen(base + TRUST, timeout=10) as res:
            body, etag = res.read(), res.headers["ETag"]
            assert res.headers["Content-Type"] == "application/vnd.citycard.trust-list+cwt"
            assert res.headers["Server"] == "citycard"
        assert body == (directory / "public" / "trust-list.cose").read_bytes()
        req = urllib.request.Request(base + TRUST, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10)
        assert info.value.code == 304
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(base + "/nothing-here", timeout=10)
        assert info.value.code == 404
        assert json.loads(info.value.read())["code"] == "not_found"
        # a supervisor's stop (SIGTERM) ends it in order, as Ctrl-C does (it used to die of it)
        proc.terminate()
        out, _err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and out == "Stopped.\n", (proc.returncode, out)
        publisher = PublisherWorker(Issuer(directory))
        assert publisher.lock.acquire()  # its publisher gave the lock up
        publisher.lock.release()
        publisher.issuer.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


# -- command line -------------------------------------------------------------------------------


def test_cli_kiosk_and_staff_accounts(tmp_path: Path) -> None:
    directory = tmp_path / "issuer"
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli.main, list(args))
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result

    assert run("init", "--dir", str(directory)).exit_code == 0
    added = run("kiosk", "add", "--dir", str(directory), "kiosk-7")
    assert added.exit_code == 0, added.output
    lines = added.stdout.splitlines()
    assert lines[0].startswith("Kiosk 'kiosk-7' added: signing key ")
    assert "trust list version 2" in lines[0]
    credential = KioskCredential.from_json(lines[-1])
    assert credential.kiosk_id == "kiosk-7"

    duplicate = run("kiosk", "add", "--dir", str(directory), "kiosk-7")
    assert duplicate.exit_code == 2
    assert duplicate.stderr.strip() == (
        "Error: There is already a kiosk 'kiosk-7'; revoke it or choose another id."
    )
    out = tmp_path / "kiosk-8.json"
    quiet = run("kiosk", "add", "--dir", str(directory), "kiosk-8", "--out", str(out))
    assert quiet.exit_code == 0 and "PRIVATE KEY" not in quiet.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    assert KioskCredential.from_json(out.read_text()).kiosk_id == "kiosk-8"

    # A kiosk that made its own API key registers only the public half.
    own = KioskCredential.generate("kiosk-9")
    pem = tmp_path / "kiosk-9-api.pem"
    pem.write_text(own.public_key.public_bytes(*_spki()).decode())
    registered = run("kiosk", "add", "--dir", str(directory), "kiosk-9", "--api-key", str(pem))
    assert registered.exit_code == 0 and "PRIVATE KEY" not in registered.stdout
    assert fingerprint(own.public_key) in registered.stdout

    listed = json.loads(run("kiosk", "list", "--dir", str(directory), "--json").stdout)
    assert [k["kiosk_id"] for k in listed] == ["kiosk-7", "kiosk-8", "kiosk-9"]

    staff = run("staff", "add", "--dir", str(directory), "desk-2")
    assert staff.exit_code == 0
    token = staff.stdout.splitlines()[-1]
    assert token.startswith("ccs_") and len(token) > 40
    assert run("staff", "add", "--dir", str(directory), "desk-2").exit_code == 2
    bad_label = run("staff", "add", "--dir", str(directory), "Desk Two")
    assert bad_label.exit_code == 2 and bad_label.stderr.startswith("Error: ")

    app = create_app(load_config(directory))
    client = app.test_client()
    body = json.dumps({"request_id": new_request_id()}).encode()
    for cred in (credential, own):
        headers = {**cred.headers("POST", ALLOCATE, body), "Content-Type": "application/json"}
        assert client.post(ALLOCATE, data=body, headers=headers).status_code == 201
    res = client.get(
        "/api/v1/staff/cards/DEV00000018", headers={"Authorization": f"Bearer {token}"}
    )
    assert res.status_code == 200

    revoked = run("kiosk", "revoke", "--dir", str(directory), "kiosk-7")
    assert revoked.exit_code == 0
    assert "trust list version 5" in revoked.stdout
    missing = run("kiosk", "revoke", "--dir", str(directory), "kiosk-0")
    assert missing.exit_code == 2 and "There is no kiosk 'kiosk-0'" in missing.stderr
    assert run("staff", "revoke", "--dir", str(directory), "desk-2").exit_code == 0
    res = client.get(
        "/api/v1/staff/cards/DEV00000018", headers={"Authorization": f"Bearer {token}"}
    )
    assert res.status_code == 401
    app.extensions["citycard"].issuer.close()


def _spki() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo


def test_serve_refuses_a_bad_configuration(tmp_path: Path) -> None:
    directory = tmp_path / "issuer"
    assert CliRunner().invoke(cli.main, ["init", "--dir", str(directory)]).exit_code == 0
    (directory / "server.toml").write_text("[server]\nport = 'eighty'\n")
    result = CliRunner().invoke(cli.main, ["serve", "--dir", str(directory)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == "Error: The server setting 'port' has an unusable value 'eighty'."
    )
    (directory / "server.toml").write_text("[database]\nurl = 'mysql://x@y/z'\n")
    result = CliRunner().invoke(cli.main, ["serve", "--dir", str(directory)])
    assert result.exit_code == 2
    assert "SQLite or PostgreSQL" in result.stderr


def test_fast_path_answers_exactly_like_flask(tmp_path: Path) -> None:
    """The WSGI fast path for the public files and the Flask blueprint give the same answers."""
    env = make_api(tmp_path / "issuer", None)
    slow_dir = env.dir
    (slow_dir / "server.toml").write_text("[server]\nfast_path = false\n")
    slow = create_app(load_config(slow_dir)).test_client()
    fast = env.client
    assert isinstance(env.app.wsgi_app, FastPath)
    cases = []
    for path in (TRUST, ROOT, "/status/1"):
        etag = fast.get(path).headers["ETag"]
        for method in ("GET", "HEAD"):
            for inm in (None, etag, '"other"', "*"):
                cases.append((method, path, inm))
    cases += [("GET", "/status/9", None), ("POST", TRUST, None), ("GET", "/status/a/b", None)]
    for method, path, inm in cases:
        headers = {"If-None-Match": inm} if inm else {}
        a = fast.open(path, method=method, headers=headers)
        b = slow.open(path, method=method, headers=headers)
        assert a.status_code == b.status_code, (method, path, inm)
        assert a.data == b.data, (method, path, inm)
        assert sorted(a.headers.items()) == sorted(b.headers.items()), (method, path, inm)
    env.issuer.close()
