"""OpenID4VCI pre-authorized code flow on a real issuer: a wallet we did not write takes the
kiosk's offer, and the credentials it receives verify offline like every city card.

The wallet is @openid4vc/openid4vci (OpenWallet Foundation) under Node, from tests/node
(`npm install --prefix tests/node`). The refusals (wrong, replayed or expired codes, bad proofs, throttling) are
driven from Python against the same server."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.issuer.oid4vci import NONCE_TTL, _Nonces
from api.terminal.cli import main as reader_main
from cardio import jws
from cardio.credential import Holder
from cardio.jwk import b64u_decode, public_jwk
from cardio.keys import SoftwareSigner
from cardio.mdoc import IssuerSigned, read_issuer_signed
from cardio.presentation import verify_wallet
from cardio.published import load_verifier
from cardio.verdict import Verdict
from cardio.wallet_package import (
    MDOC_CONFIGURATION,
    PICKUP_TTL,
    SD_JWT_CONFIGURATION,
)
from kiosk.wallet_offer import WalletOffer

from .wallet_server import NODE_DIR, WalletIssuer, offer_object, pre_authorized_code

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None or not (NODE_DIR / "node_modules" / "@openid4vc" / "openid4vci").is_dir(),
    reason="node or tests/node/node_modules missing (npm install --prefix tests/node)",
)


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    with WalletIssuer(tmp_path, holder) as served:
        yield served


def node_wallet(offer_uri: str, tx_code: str) -> dict[str, Any]:
    """Run the independent wallet; its JSON answer (holder_jwk, credentials)."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, "oid4vci_wallet.mjs", offer_uri, tx_code],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def check_received(issuer_dir: Path, received: dict[str, Any], tmp_path: Path) -> None:
    """Both credentials verify offline against the issuer's published files and are bound to
    the wallet's own key; `citycard-reader verify` accepts them as files."""
    verifier, problems = load_verifier(issuer_dir)
    assert problems == []
    credentials = received["credentials"]
    assert set(credentials) == {SD_JWT_CONFIGURATION, MDOC_CONFIGURATION}
    sd_jwt = credentials[SD_JWT_CONFIGURATION]
    mdoc = b64u_decode(credentials[MDOC_CONFIGURATION])
    for credential in (sd_jwt, mdoc):
        result = verify_wallet(verifier, credential)
        assert result.verdict is Verdict.VALID, result.message
    payload = jws.parse(sd_jwt.split("~")[0]).payload
    assert payload["cnf"]["jwk"] == received["holder_jwk"]
    _claims, device_key = read_issuer_signed(
        IssuerSigned.parse(mdoc), lambda kid: verifier.trust.by_kid[kid].public_key
    )
    assert public_jwk(device_key) == received["holder_jwk"]
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "card.sd-jwt").write_text(sd_jwt, "ascii")
    (tmp_path / "card.mdoc").write_bytes(mdoc)
    for name in ("card.sd-jwt", "card.mdoc"):
        res = CliRunner().invoke(
            reader_main, ["verify", "--trust", str(issuer_dir), str(tmp_path / name)]
        )
        assert res.exit_code == 0 and res.output.startswith("VALID"), res.output


@needs_node
def test_an_independent_wallet_takes_both_credentials(env: WalletIssuer, tmp_path: Path) -> None:
    offer = env.offer()
    grant = offer_object(offer.offer_uri)["grants"][
        "urn:ietf:params:oauth:grant-type:pre-authorized_code"
    ]
    assert grant["tx_code"]["input_mode"] == "numeric" and grant["tx_code"]["length"] == 6
    assert offer.tx_code not in offer.offer_uri  # shown on the screen, never in the QR
    received = node_wallet(offer.offer_uri, offer.tx_code)
    check_received(env.dir, received, tmp_path / "got")
    # Both configurations fetched: the pickup is gone; the code cannot be redeemed again.
    assert env.store.waiting() == 0
    status, got = env.token(pre_authorized_code(offer.offer_uri), offer.tx_code)
    assert (status, got["error"]) == (400, "invalid_grant")
    # Nothing of the resident stayed in the issuer's files.
    from .test_wallet_pickup import issuer_files_holding, personal_needles

    assert issuer_files_holding(env, personal_needles(env.holder)) == []


def proof(signer: SoftwareSigner, audience: str, nonce: str, iat: float | None = None) -> str:
    header = {"typ": "openid4vci-proof+jwt", "jwk": public_jwk(signer.public_key)}
    payload = {"aud": audience, "nonce": nonce, "iat": int(time.time() if iat is None else iat)}
    return jws.sign(signer, header, payload)


def credential_request(
    env: WalletIssuer, token: str, jwt: str, configuration: str = SD_JWT_CONFIGURATION
) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"credential_configuration_id": configuration, "proofs": {"jwt": [jwt]}})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return env.request("POST", "/oid4vci/credential", body.encode(), headers)


def nonce(env: WalletIssuer) -> str:
    status, got = env.request("POST", "/oid4vci/nonce", b"")
    assert status == 200
    return str(got["c_nonce"])


def redeem(env: WalletIssuer, offer: WalletOffer) -> str:
    status, got = env.token(pre_authorized_code(offer.offer_uri), offer.tx_code)
    assert status == 200, got
    assert got["token_type"] == "Bearer" and 0 < got["expires_in"] <= PICKUP_TTL
    return str(got["access_token"])


def test_a_pre_authorized_code_is_redeemed_once(env: WalletIssuer) -> None:
    offer = env.offer()
    redeem(env, offer)
    status, got = env.token(pre_authorized_code(offer.offer_uri), offer.tx_code)
    assert (status, got["error"]) == (400, "invalid_grant")
    assert "already redeemed" in got["error_description"]
    # The wallet page's link for the same card is dead too: one pickup only.
    pickup_id = pre_authorized_code(offer.offer_uri).split(".")[0]
    status, got = env.request("GET", f"/wallet/pickups/{pickup_id}")
    assert (status, got["code"]) == (404, "pickup_gone")


def test_a_redeemed_offer_still_expires_with_its_pickup(env: WalletIssuer) -> None:
    offer = env.offer()
    token = redeem(env, offer)
    env.clock.advance(PICKUP_TTL + 1)
    wallet = SoftwareSigner.generate()
    status, got = credential_request(env, token, proof(wallet, env.url, nonce(env)))
    assert (status, got["error"]) == (401, "invalid_token")
    assert env.store.waiting() == 0


def test_proofs_are_checked(env: WalletIssuer) -> None:
    offer = env.offer()
    token = redeem(env, offer)
    wallet = SoftwareSigner.generate()
    fresh = nonce(env)
    refusals = {
        proof(wallet, "https://other.example", nonce(env)): "invalid_proof",
        proof(wallet, env.url, "not-a-nonce-of-ours"): "invalid_nonce",
        proof(wallet, env.url, nonce(env), iat=time.time() - 3600): "invalid_proof",
        # an iat no float holds: `now - iat` raised OverflowError, a 500
        proof(wallet, env.url, nonce(env), iat=10**400): "invalid_proof",
        proof(wallet, env.url, nonce(env), iat=-(10**400)): "invalid_proof",
        proof(wallet, env.url, fresh)[:-4] + "AAAA": "invalid_proof",
        "not a jwt": "invalid_proof",
    }
    for jwt, error in refusals.items():
        status, got = credential_request(env, token, jwt)
        assert (status, got["error"]) == (400, error), got
    status, got = credential_request(env, token, proof(wallet, env.url, fresh))
    assert status == 200, got
    status, got = credential_request(  # a used nonce (the mdoc: the SD-JWT is issued once)
        env, token, proof(wallet, env.url, fresh), MDOC_CONFIGURATION
    )
    assert (status, got["error"]) == (400, "invalid_nonce")
    status, got = credential_request(env, "x" + token, proof(wallet, env.url, nonce(env)))
    assert (status, got["error"]) == (401, "invalid_token")
    status, got = credential_request(env, token, proof(wallet, env.url, nonce(env)), "other")
    assert (status, got["error"]) == (400, "unknown_credential_configuration")
    assert env.store.waiting() == 1  # the mdoc is still to be fetched
    status, got = credential_request(
        env, token, proof(wallet, env.url, nonce(env)), MDOC_CONFIGURATION
    )
    assert status == 200 and env.store.waiting() == 0


def test_a_credential_request_nested_too_deep_is_refused(env: WalletIssuer) -> None:
    """Flask's get_json(silent=True) lets the parser's RecursionError through: it was a 500."""
    token = redeem(env, env.offer())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in (b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"\xff{}"):
        status, got = env.request("POST", "/oid4vci/credential", body, headers)
        assert (status, got["error"]) == (400, "invalid_credential_request"), got


def test_nonces_are_good_once_and_handing_them_out_keeps_nothing() -> None:
    """The open nonce endpoint stored every nonce and swept them all on each call: its cost
    grew with every call (a way to starve the issuer's threads). Now only a nonce used in a
    proof is remembered, until it expires."""
    now = [1_790_000_000.0]
    nonces = _Nonces(lambda: now[0])
    handed = [nonces.new() for _ in range(1000)]
    assert nonces.remembered() == 0 and len(set(handed)) == 1000
    assert nonces.use(handed[0]) and not nonces.use(handed[0])  # good once
    assert nonces.remembered() == 1
    assert not nonces.use(_Nonces(lambda: now[0]).new())  # another process's
    forged = handed[1][:-2] + ("AA" if handed[1][-2:] != "AA" else "AB")
    for bad in (forged, "", "x" * 54, None, 7, handed[2] + "A", handed[2][:-1]):
        assert not nonces.use(bad), bad
    now[0] += NONCE_TTL
    assert not nonces.use(handed[3])  # expired
    assert nonces.use(nonces.new()) and nonces.remembered() == 1  # the expired use is forgotten


def test_wrong_transaction_codes_are_refused_and_throttled(env: WalletIssuer) -> None:
    offer = env.offer()
    code = pre_authorized_code(offer.offer_uri)
    wrong = "0" * 6 if offer.tx_code != "0" * 6 else "1" * 6
    status, got = env.token(code, wrong)
    assert (status, got["error"]) == (400, "invalid_grant")
    assert "transaction code is wrong" in got["error_description"]
    status, got = env.token(code, "")
    assert (status, got["error"]) == (400, "invalid_request")
    # Guessing at speed from one network: the bucket (30) runs dry, then 429 with Retry-After.
    answers = [env.token("A" * 22 + ".x", "123456")[0] for _ in range(40)]
    assert answers[:28] == [400] * 28 and answers[-1] == 429
    status, got = env.token(code, offer.tx_code)
    assert status == 429 and got["code"] == "too_many_requests"


def test_metadata_names_the_offered_configurations(env: WalletIssuer) -> None:
    status, meta = env.request("GET", "/.well-known/openid-credential-issuer")
    assert status == 200 and meta["credential_issuer"] == env.url
    assert set(meta["credential_configurations_supported"]) == set(
        offer_object(env.offer().offer_uri)["credential_configuration_ids"]
    )
    status, oauth = env.request("GET", "/.well-known/oauth-authorization-server")
    assert oauth["pre-authorized_grant_anonymous_access_supported"] is True
    assert oauth["token_endpoint"] == f"{env.url}/oid4vci/token"


def test_a_card_no_city_kiosk_signed_gets_no_token(env: WalletIssuer) -> None:
    """A kiosk account may upload, but the issuer re-signs only claims a trusted kiosk key
    signed: a package whose card another key signed is refused and deleted."""
    from cardio import cose
    from cardio.wallet_package import OfferSecrets, credential_offer_uri, seal
    from kiosk.wallet_offer import make_package, upload

    stranger = SoftwareSigner.generate()
    forged = cose.sign1(stranger, cose.parse_sign1(env.card_cose).payload)
    secrets = OfferSecrets.draw()
    package = make_package(stranger, forged, programme="Demo City Card", language="en")
    upload(env.url, env.kiosk, secrets.pickup_id, seal(package, secrets.key()))
    status, got = env.token(
        pre_authorized_code(credential_offer_uri(env.url, secrets)), secrets.tx_code
    )
    assert (status, got["error"]) == (400, "invalid_grant")
    assert "not signed by a city kiosk" in got["error_description"]
    assert env.store.waiting() == 0
