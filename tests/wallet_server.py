"""A real issuer API under waitress for the wallet offer tests, with a clock the test moves.

    with WalletIssuer(tmp_path, holder) as env:
        offer = env.offer()                # a kiosk's offer for a card the issuer made
        env.clock.advance(15 * 60 + 1)     # the pickup store's clock (expiry)

The issuer's base URL is the served address, so the OpenID4VCI `credential_issuer` is the URL
a wallet fetches. The card is made by the issuer's own kiosk key (`kiosk-1`) for a fictional
resident; the offer is uploaded by the kiosk account `kiosk-2`, signed as a kiosk signs.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from api.issuer.routes_wallet import STORE
from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from api.issuer.wallet_pickup import PickupStore
from api.phone import blueprint as phone_blueprint
from api.phone.wallet import blueprint as wallet_blueprint
from cardio.credential import ChipBinding, Holder
from cardio.jwk import b64u_decode
from cardio.wallet_package import open_package, pickup_proof
from kiosk.wallet_offer import WalletOffer, make_offer

from .conftest import synthetic_photo
from .terminal_fixtures import ServedApp

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class WalletIssuer:
    """An issuer in tmp_path/issuer served on 127.0.0.1, one card made, one kiosk account."""

    def __init__(self, tmp_path: Path, holder: Holder, database_url: str | None = None) -> None:
        # The port first (the OS picks a free one), so that the issuer's base URL names it.
        self.served = ServedApp(self._wsgi, threads=4)
        self.url = self.served.url
        directory = tmp_path / "issuer"
        directory.mkdir(parents=True)
        if database_url is not None:
            (directory / "server.toml").write_text(
                f"[database]\nurl = {json.dumps(database_url)}\n", "utf-8"
            )
        self.issuer = Issuer.init(directory, base_url=self.url)
        _account, credential = self.issuer.add_kiosk("kiosk-2")
        assert credential is not None
        self.kiosk = credential
        self.holder = replace(holder, photo=synthetic_photo())
        self.issued = self.issuer.issue(
            self.holder, date(2030, 12, 31), ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6"))
        )
        self.issuer.publish()
        assert self.issued.chip_cose is not None
        self.card_cose: bytes = self.issued.chip_cose
        self.app = create_app(load_config(directory), issuer=self.issuer)
        self.clock = Clock()
        served = self.issuer
        self.store = PickupStore(lambda: served.registry, self.clock)
        self.app.extensions["citycard"].extra[STORE] = self.store

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)

    @property
    def dir(self) -> Path:
        return self.issuer.dir

    def __enter__(self) -> WalletIssuer:
        self.served.__enter__()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.served.stop(quiet=t is not None)  # never in place of the test's own failure
        finally:
            self.issuer.close()

    def offer(self) -> WalletOffer:
        """The offer a kiosk leaves for this card (the same call the kiosk makes)."""
        return make_offer(
            self.url,
            self.kiosk,
            self.issuer.keystore.signer("kiosk-1"),
            self.card_cose,
            programme="Demo City Card",
            language="de",
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(
            self.url + path, data=body, headers=headers or {}, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, json.loads(res.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            exc.close()
            return exc.code, json.loads(raw)

    def token(self, code: str, tx_code: str) -> tuple[int, dict[str, Any]]:
        from urllib.parse import urlencode

        form = urlencode(
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                "pre-authorized_code": code,
                "tx_code": tx_code,
            }
        ).encode()
        return self.request(
            "POST",
            "/oid4vci/token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )


def fragment(wallet_url: str) -> tuple[str, bytes]:
    """(pickup id, K) from our wallet page's URL, as the page reads them."""
    parts = parse_qs(urlsplit(wallet_url).fragment)
    return parts["p"][0], b64u_decode(parts["k"][0], "k")


def take_path(wallet_url: str) -> str:
    """The pickup's address with the proof our wallet page sends for the link's key."""
    pickup_id, key = fragment(wallet_url)
    return f"/wallet/pickups/{pickup_id}?proof={pickup_proof(key)}"


def offer_object(offer_uri: str) -> dict[str, Any]:
    """The credential offer JSON inside an openid-credential-offer:// URI."""
    query = parse_qs(urlsplit(offer_uri).query)
    data: dict[str, Any] = json.loads(query["credential_offer"][0])
    return data


def pre_authorized_code(offer_uri: str) -> str:
    grant = offer_object(offer_uri)["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    return str(grant["pre-authorized_code"])


def decrypt(ciphertext: bytes, key: bytes) -> dict[str, Any]:
    return open_package(ciphertext, key)


@contextlib.contextmanager
def serving_pages(tmp_path: Path, holder: Holder, wallet: bool = True) -> Iterator[WalletIssuer]:
    """A WalletIssuer for a Zurich resident (pool, culture discount) with the phone pages, and
    the wallet page unless `wallet` is False, as `citycard-api serve` composes them."""
    zurich = replace(holder, program="zurich", entitlements=("pool", "culture-discount"))
    served = WalletIssuer(tmp_path, zurich)
    served.app.register_blueprint(phone_blueprint())
    if wallet:
        served.app.register_blueprint(wallet_blueprint())
    with served:
        yield served
