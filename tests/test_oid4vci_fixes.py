"""Findings of a review of the OpenID4VCI pickup, each held by a test that failed before its fix.

1. One access token issued the same configuration again and again, each bound to whatever key
   the caller proved: copies of the card for other keys until the pickup's 15 minutes ended.
2. Nothing deleted an expired pickup unless another pickup request came: after the day's last
   offer its ciphertext stayed in the registry for hours.
3. A failure after the transaction code was checked (the registry away for a moment) answered
   "try again", but the code was already spent: the retry, and the wallet page, were refused.
4. The credential endpoint was not throttled: every request with a token of the right shape
   opened a write transaction, as fast as anyone could send them.
5. Two first requests at once each made their own nonce store; the loser's nonces were refused.
6. Errors answered before an OpenID4VCI endpoint ran (429, 413, 405) had no OAuth `error`; a
   token request sent as JSON was told its grant type was wrong.
7. A wallet running in a browser could not use the flow: no CORS headers, and a preflight got
   no Access-Control-Allow-*; the token answer lacked RFC 6749's `Pragma: no-cache`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.issuer.oid4vci import NONCES, _nonces
from api.issuer.registry import RegistryError
from api.issuer.wallet_pickup import PickupError
from cardio.credential import Holder
from cardio.keys import SoftwareSigner
from cardio.wallet_package import MDOC_CONFIGURATION, PICKUP_TTL, SD_JWT_CONFIGURATION

from .terminal_fixtures import wait_for
from .test_oid4vci import credential_request, nonce, proof, redeem
from .wallet_server import WalletIssuer, pre_authorized_code


@pytest.fixture
def env(tmp_path: Path, holder: Holder) -> Iterator[WalletIssuer]:
    with WalletIssuer(tmp_path, holder) as served:
        yield served


def fresh_proof(env: WalletIssuer) -> str:
    return proof(SoftwareSigner.generate(), env.url, nonce(env))


def test_an_access_token_issues_each_configuration_once(env: WalletIssuer) -> None:
    token = redeem(env, env.offer())
    status, _got = credential_request(env, token, fresh_proof(env))
    assert status == 200
    # The same format again, for another key: refused, and the offer still waits for its mdoc.
    status, got = credential_request(env, token, fresh_proof(env))
    assert (status, got["error"]) == (400, "credential_request_denied"), got
    assert "already issued" in got["error_description"]
    assert env.store.waiting() == 1
    status, _got = credential_request(env, token, fresh_proof(env), MDOC_CONFIGURATION)
    assert status == 200 and env.store.waiting() == 0
    for configuration in (SD_JWT_CONFIGURATION, MDOC_CONFIGURATION):  # and the pickup is gone
        status, got = credential_request(env, token, fresh_proof(env), configuration)
        assert (status, got["error"]) == (401, "invalid_token")


def test_requests_side_by_side_hand_over_one_credential_per_configuration(
    env: WalletIssuer,
) -> None:
    """Two requests that both opened the package before either handed its credential over:
    the handing over is the gate, and the second one gets nothing (also when the first one's
    handing over deleted the pickup, its other format fetched earlier)."""
    token = redeem(env, env.offer())
    first = env.store.open_for_token(token, SD_JWT_CONFIGURATION)
    second = env.store.open_for_token(token, SD_JWT_CONFIGURATION)
    assert first[0] == second[0]
    assert env.store.deliver(first[0], SD_JWT_CONFIGURATION) is False
    with pytest.raises(PickupError) as refused:
        env.store.deliver(second[0], SD_JWT_CONFIGURATION)
    assert refused.value.code == "credential_request_denied"
    # The mdoc, twice at once: the first takes the last format and deletes the pickup.
    pickup_id, _package = env.store.open_for_token(token, MDOC_CONFIGURATION)
    env.store.open_for_token(token, MDOC_CONFIGURATION)
    assert env.store.deliver(pickup_id, MDOC_CONFIGURATION) is True
    with pytest.raises(PickupError) as refused:
        env.store.deliver(pickup_id, MDOC_CONFIGURATION)
    assert refused.value.code == "invalid_token"
    assert env.store.waiting() == 0


def test_an_expired_pickup_goes_without_any_request(env: WalletIssuer) -> None:
    worker = env.app.extensions["citycard"].extra["publisher"]
    assert worker.running and worker.leader
    worker.pickup_sweep = 0.1  # every turn of its loop (10 s in service)
    env.clock.advance(-(PICKUP_TTL + 2))  # uploaded 15 minutes and 2 seconds ago
    env.offer()
    env.clock.advance(PICKUP_TTL + 2)
    assert env.store.waiting() == 1
    wait_for(lambda: env.store.waiting() == 0, timeout=10)
    # A live one stays through the sweeps, and its code still works.
    live = env.offer()
    swept = worker._swept_at
    wait_for(lambda: worker._swept_at != swept, timeout=10)
    assert env.store.waiting() == 1
    status, _got = env.token(pre_authorized_code(live.offer_uri), live.tx_code)
    assert status == 200


def test_a_failure_after_the_code_was_checked_spends_nothing(
    env: WalletIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer = env.offer()
    trust_list_body = env.issuer.trust_list_body
    failed: list[bool] = []

    def away_once(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise RegistryError("the registry is away for a moment")
        return trust_list_body(*args, **kwargs)

    monkeypatch.setattr(env.issuer, "trust_list_body", away_once)
    code = pre_authorized_code(offer.offer_uri)
    status, got = env.token(code, offer.tx_code)
    assert (status, got["code"]) == (503, "unavailable")
    status, got = env.token(code, offer.tx_code)  # the wallet tries again, as told
    assert status == 200, got
    assert failed == [True]


def test_the_credential_endpoint_is_throttled(env: WalletIssuer) -> None:
    token = "A" * 22 + ".AAAA.AAAA"  # the shape of a token, none of ours
    answers = [credential_request(env, token, "x")[0] for _ in range(40)]
    assert answers[:28] == [401] * 28 and answers[-1] == 429


class _SlowFirstLook(dict[str, Any]):
    """A state's `extra` whose first looks for the nonce store meet at a barrier: the two
    first requests both find none before either makes one."""

    def __init__(self, items: dict[str, Any]) -> None:
        super().__init__(items)
        self.barrier = threading.Barrier(2, timeout=5)

    def get(self, key: str, default: Any = None) -> Any:
        found = super().get(key, default)
        if key == NONCES and found is None:
            self.barrier.wait()
        return found


def test_first_requests_at_once_share_one_nonce_store(env: WalletIssuer) -> None:
    st = env.app.extensions["citycard"]
    st.extra = _SlowFirstLook({k: v for k, v in st.extra.items() if k != NONCES})
    made: list[object] = []

    def first_request() -> None:
        with env.app.app_context():
            made.append(_nonces())

    threads = [threading.Thread(target=first_request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(made) == 2 and made[0] is made[1]
    with env.app.app_context():  # and a nonce one hands out, the other takes
        assert _nonces() is made[0]


def test_errors_before_an_oauth_endpoint_runs_speak_oauth(env: WalletIssuer) -> None:
    status, got = env.request("GET", "/oid4vci/token")
    assert status == 405 and got["error"] == "invalid_request" and got["code"]
    huge = b"grant_type=" + b"x" * (2 * 1024 * 1024)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, got = env.request("POST", "/oid4vci/token", huge, form)
    assert status == 413 and got["error"] == "invalid_request"
    status, got = env.request(
        "POST",
        "/oid4vci/token",
        b'{"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code"}',
        {"Content-Type": "application/json"},
    )
    assert (status, got["error"]) == (400, "invalid_request")
    assert "x-www-form-urlencoded" in got["error_description"]
    for _ in range(40):
        status, got = env.token("A" * 22 + ".x", "123456")
    assert status == 429 and got["error"] == "invalid_request" and got["code"] == "too_many_requests"
    # The other endpoints keep our own shape only.
    status, got = env.request("GET", "/wallet/pickups/" + "A" * 22 + "/nothing")
    assert status == 404 and "error" not in got


def test_a_ciphertext_too_small_is_told_both_bounds(env: WalletIssuer) -> None:
    with pytest.raises(PickupError, match="more than 28 and at most"):
        env.store.upload("B" * 22, b"\x00" * 10)


def test_a_wallet_in_a_browser_may_take_the_offer(env: WalletIssuer) -> None:
    client = env.app.test_client()
    origin = {"Origin": "https://web-wallet.example"}
    for path in ("/.well-known/openid-credential-issuer", "/.well-known/oauth-authorization-server"):
        res = client.get(path, headers=origin)
        assert res.status_code == 200 and res.headers["Access-Control-Allow-Origin"] == "*"
    for path in ("/oid4vci/token", "/oid4vci/nonce", "/oid4vci/credential"):
        res = client.options(
            path,
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert res.status_code == 200, path
        assert res.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in res.headers["Access-Control-Allow-Methods"]
        allowed = res.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
    offer = env.offer()
    res = client.post(
        "/oid4vci/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": pre_authorized_code(offer.offer_uri),
            "tx_code": offer.tx_code,
        },
        headers=origin,
    )
    assert res.status_code == 200 and res.headers["Access-Control-Allow-Origin"] == "*"
    assert res.headers["Pragma"] == "no-cache" and res.headers["Cache-Control"] == "no-store"
    # a refusal is readable too, with its WWW-Authenticate
    res = client.post("/oid4vci/credential", json={}, headers=origin)
    assert res.status_code == 401 and res.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in res.headers["Access-Control-Expose-Headers"]
    # the rest of the API stays same-origin
    res = client.get("/wallet/pickups/" + "A" * 22, headers=origin)
    assert "Access-Control-Allow-Origin" not in res.headers
