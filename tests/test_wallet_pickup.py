"""Wallet pickups on a real issuer over HTTP: only ciphertext is stored, one pickup, 15 minutes.

The kiosk's own code (kiosk.wallet_offer.make_offer) seals the card and uploads it; the test
then plays our wallet page: it reads P and K from the URL fragment, GETs the ciphertext and
opens it, as the page does in the browser (docs/wallet.md)."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.issuer.wallet_pickup import MAX_TX_CODE_FAILURES
from cardio.credential import Holder
from cardio.jwk import b64u, b64u_decode
from cardio.presentation import NOT_BOUND, verify_wallet
from cardio.published import load_verifier
from cardio.verdict import Verdict
from cardio.wallet_package import (
    PICKUP_TTL,
    OfferSecrets,
    PackageError,
    derive_key,
    open_package,
    pickup_proof,
    seal,
)
from kiosk.wallet_offer import make_offer, upload

from .api_fixtures import BACKENDS, fixture_database_url  # noqa: F401 - a fixture
from .wallet_server import (
    WalletIssuer,
    decrypt,
    fragment,
    offer_object,
    pre_authorized_code,
    take_path,
)

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


@pytest.fixture
def env(tmp_path: Path, holder: Holder, database_url: str | None) -> Iterator[WalletIssuer]:
    with WalletIssuer(tmp_path, holder, database_url) as served:
        yield served


def personal_needles(holder: Holder) -> list[bytes]:
    assert holder.photo is not None
    photo = holder.photo
    windows = [photo[i : i + 32] for i in range(0, len(photo) - 32, 97)]
    return [
        holder.family_name.encode(),
        holder.given_name.encode(),
        b"1990-01-01",
        b"19900101",
        *windows,
        base64.b64encode(photo[:48]),
    ]


def issuer_files_holding(env: WalletIssuer, needles: list[bytes]) -> list[str]:
    found = []
    for path in sorted(env.dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n[:12]!r}" for n in needles if n in data]
    return found


def stored_rows(env: WalletIssuer) -> list[bytes]:
    with env.issuer.registry.read() as s:
        from api.issuer.registry.wallet_schema import WalletPickup

        return [bytes(r.sealed) + (r.token_hash or "").encode() for r in s.query(WalletPickup)]


def test_the_issuer_stores_only_ciphertext_and_forgets_it_on_pickup(env: WalletIssuer) -> None:
    offer = env.offer()
    assert offer.wallet_url.startswith(f"{env.url}/wallet/#p=")
    pickup_id, key = fragment(offer.wallet_url)
    assert len(key) == 32
    needles = personal_needles(env.holder)

    rows = stored_rows(env)
    assert len(rows) == 1 and len(rows[0]) > 2000  # the photo's size, sealed
    assert not [n for n in needles if n in rows[0]]
    # Zero retention: nothing of the resident in any file the issuer wrote (SQLite, WAL, keys,
    # published files), while the pickup waits.
    if env.issuer.registry.url.get_backend_name() == "sqlite":
        with sqlite3.connect(env.dir / "registry.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(FULL)")
    assert issuer_files_holding(env, needles) == []

    status, got = env.request("GET", take_path(offer.wallet_url))
    assert status == 200, got
    package = decrypt(b64u_decode(got["ciphertext"]), key)
    assert package["display"] == {
        "programme": "Demo City Card",
        "issuer": "demo-city",
        "valid_from": env.issued.credential.issued_at,
        "valid_until": env.issued.credential.expires_at,
        "language": "de",
    }
    verifier, problems = load_verifier(env.dir)
    assert problems == []
    for credential in (package["sd_jwt"], b64u_decode(package["mdoc"])):
        result = verify_wallet(verifier, credential)
        assert result.verdict is Verdict.VALID and NOT_BOUND in result.warnings
        assert result.claims is not None
        assert env.holder.family_name in json.dumps(result.claims, ensure_ascii=False)

    # One pickup only: the row is gone, and a second GET is the typed 404.
    assert stored_rows(env) == []
    status, again = env.request("GET", f"/wallet/pickups/{pickup_id}")
    assert (status, again["code"]) == (404, "pickup_gone")
    assert "new offer" in again["message"]
    # ... and the OpenID4VCI offer for the same card no longer works either.
    status, token = env.token(pre_authorized_code(offer.offer_uri), offer.tx_code)
    assert (status, token["error"]) == (400, "invalid_grant")


def test_a_pickup_is_gone_after_15_minutes(env: WalletIssuer) -> None:
    first, second = env.offer(), env.offer()
    env.clock.advance(PICKUP_TTL - 5)
    assert env.request("GET", take_path(first.wallet_url))[0] == 200  # in time
    env.clock.advance(10)
    status, got = env.request("GET", take_path(second.wallet_url))
    assert (status, got["code"]) == (404, "pickup_gone")
    assert stored_rows(env) == []  # swept, not only hidden
    status, token = env.token(pre_authorized_code(second.offer_uri), second.tx_code)
    assert (status, token["error"]) == (400, "invalid_grant")
    assert "expired" in token["error_description"]


def test_an_expired_pickup_is_swept_by_the_next_upload(env: WalletIssuer) -> None:
    env.offer()
    env.clock.advance(PICKUP_TTL + 1)
    assert env.store.waiting() == 1  # nobody asked yet
    env.offer()
    assert env.store.waiting() == 1  # the new one only


def test_a_wrong_key_cannot_open_the_package(env: WalletIssuer) -> None:
    offer = env.offer()
    pickup_id, key = fragment(offer.wallet_url)
    _status, got = env.request("GET", take_path(offer.wallet_url))
    ciphertext = b64u_decode(got["ciphertext"])
    other = OfferSecrets.draw()
    wrong_digits = "0" * 6 if offer.tx_code != "0" * 6 else "1" * 6
    code_secret = b64u_decode(pre_authorized_code(offer.offer_uri).split(".")[1])
    for bad in (
        other.key(),
        derive_key(pickup_id, code_secret, wrong_digits),
        derive_key(other.pickup_id, code_secret, offer.tx_code),
    ):
        with pytest.raises(PackageError):
            open_package(ciphertext, bad)
    assert derive_key(pickup_id, code_secret, offer.tx_code) == key
    tampered = bytearray(ciphertext)
    tampered[40] ^= 1
    with pytest.raises(PackageError):
        open_package(bytes(tampered), key)


def test_a_damaged_key_is_refused_and_the_pickup_stays(env: WalletIssuer) -> None:
    offer = env.offer()
    pickup_id, key = fragment(offer.wallet_url)
    wrong = bytearray(key)
    wrong[0] ^= 1
    for proof in ("", f"?proof={pickup_proof(bytes(wrong))}", "?proof=short", "?proof=" + "A" * 43):
        status, got = env.request("GET", f"/wallet/pickups/{pickup_id}{proof}")
        assert (status, got["code"]) == (403, "pickup_link_damaged"), proof
        assert "scan the kiosk's code again" in got["message"]
    assert len(stored_rows(env)) == 1  # still waiting, untouched
    status, got = env.request("GET", take_path(offer.wallet_url))
    assert status == 200 and decrypt(b64u_decode(got["ciphertext"]), key)["v"] == 1
    assert stored_rows(env) == []
    # the proof is kept only as a digest: nothing in the row is the proof or the key
    second = env.offer()
    _pickup_id, second_key = fragment(second.wallet_url)
    (row,) = stored_rows(env)
    assert pickup_proof(second_key).encode() not in row and second_key not in row


def test_a_pickup_left_without_a_proof_is_taken_without_one(env: WalletIssuer) -> None:
    # a kiosk of the release before proofs (or one that sends none)
    secrets = OfferSecrets.draw()
    upload(env.url, env.kiosk, secrets.pickup_id, seal({"v": 1}, secrets.key()))
    status, got = env.request("GET", f"/wallet/pickups/{secrets.pickup_id}")
    assert status == 200 and open_package(b64u_decode(got["ciphertext"]), secrets.key()) == {"v": 1}
    # a proof that is not 43 base64url characters is refused at upload
    other = OfferSecrets.draw()
    body = json.dumps(
        {"pickup_id": other.pickup_id, "ciphertext": b64u(seal({"v": 1}, other.key())), "proof": "x"}
    ).encode()
    headers = {"Content-Type": "application/json", **env.kiosk.headers("POST", "/wallet/pickups", body)}
    status, got = env.request("POST", "/wallet/pickups", body, headers)
    assert (status, got["code"]) == (400, "bad_request") and "proof" in got["message"]


def test_uploads_need_a_kiosk_signature_and_a_fresh_id(env: WalletIssuer) -> None:
    secrets = OfferSecrets.draw()
    ciphertext = seal({"v": 1}, secrets.key())
    body = json.dumps({"pickup_id": secrets.pickup_id, "ciphertext": b64u(ciphertext)}).encode()
    status, got = env.request(
        "POST", "/wallet/pickups", body, {"Content-Type": "application/json"}
    )
    assert (status, got["code"]) == (401, "unauthorized")
    expires, public = upload(env.url, env.kiosk, secrets.pickup_id, ciphertext)
    assert expires > time.time() and public == env.url  # the issuer's base URL (issuer.json)
    from kiosk.wallet_offer import WalletOfferError

    with pytest.raises(WalletOfferError, match="HTTP 409"):
        upload(env.url, env.kiosk, secrets.pickup_id, ciphertext)
    # A package with a large photo passes the API's 64 KiB limit for other bodies; a larger
    # one than a package can be is refused.
    big = OfferSecrets.draw()
    assert upload(env.url, env.kiosk, big.pickup_id, seal({"v": 1, "x": "A" * 200_000}, big.key()))
    huge = OfferSecrets.draw()
    with pytest.raises(WalletOfferError, match="HTTP 413"):
        upload(env.url, env.kiosk, huge.pickup_id, seal({"v": 1, "x": "A" * 400_000}, huge.key()))
    bad = json.dumps({"pickup_id": "short", "ciphertext": "AAAA"}).encode()
    headers = {"Content-Type": "application/json", **env.kiosk.headers("POST", "/wallet/pickups", bad)}
    status, got = env.request("POST", "/wallet/pickups", bad, headers)
    assert (status, got["code"]) == (400, "bad_request")
    assert "pickup_id" in got["message"]


def test_unknown_and_malformed_ids_get_the_same_answer(env: WalletIssuer) -> None:
    for pickup_id in ("A" * 22, "not-an-id", "x" * 200):
        status, got = env.request("GET", f"/wallet/pickups/{pickup_id}")
        assert (status, got["code"]) == (404, "pickup_gone")


def test_five_wrong_transaction_codes_withdraw_the_offer(env: WalletIssuer) -> None:
    offer = env.offer()
    code = pre_authorized_code(offer.offer_uri)
    wrong = "0" * 6 if offer.tx_code != "0" * 6 else "1" * 6
    for left in range(MAX_TX_CODE_FAILURES - 1, 0, -1):
        status, got = env.token(code, wrong)
        assert (status, got["error"]) == (400, "invalid_grant")
        assert f"{left} {'try' if left == 1 else 'tries'} left" in got["error_description"]
    status, got = env.token(code, wrong)
    assert "withdrawn" in got["error_description"]
    assert stored_rows(env) == []
    status, got = env.token(code, offer.tx_code)  # too late, even with the right digits
    assert (status, got["error"]) == (400, "invalid_grant")


def test_a_transaction_code_that_is_not_six_digits_costs_no_try(env: WalletIssuer) -> None:
    """Only six digits can be right, so a typo ("12345", "abcdef", "1234567") is refused
    without counting against the five tries; spaces typed between the digits are ignored."""
    offer = env.offer()
    code = pre_authorized_code(offer.offer_uri)
    for typo in ("12345", "abcdef", "1234567", "١٢٣٤٥٦", "12345\u00b2") * 2:
        status, got = env.token(code, typo)
        assert (status, got["error"]) == (400, "invalid_request"), typo
        assert "not counted" in got["error_description"]
    wrong = "0" * 6 if offer.tx_code != "0" * 6 else "1" * 6
    status, got = env.token(code, wrong)
    assert f"{MAX_TX_CODE_FAILURES - 1} tries left" in got["error_description"]
    spaced = f" {offer.tx_code[:3]} {offer.tx_code[3:]} "
    status, got = env.token(code, spaced)
    assert status == 200 and got["access_token"], got


def test_the_qr_codes_name_the_issuers_public_address(env: WalletIssuer) -> None:
    """A kiosk may reach the issuer by an inside address; phones need the public one (the
    issuer's base URL), which the upload's answer gives."""
    inside = env.url.replace("127.0.0.1", "localhost")
    offer = make_offer(
        inside,
        env.kiosk,
        env.issuer.keystore.signer("kiosk-1"),
        env.card_cose,
        programme="Demo City Card",
        language="en",
    )
    assert offer.wallet_url.startswith(f"{env.url}/wallet/#p=")
    assert offer_object(offer.offer_uri)["credential_issuer"] == env.url
