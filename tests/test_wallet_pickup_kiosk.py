"""The web kiosk's done page offers the card for the phone: the real station (HTTP allocator,
kiosk key) behind the web flow, a real issuer API over HTTP. The done page shows both QR
codes and the transaction code; the wallet page's link opens the card; the kiosk forgets the
offer when the resident finishes, and nothing of the resident is on either side's disk."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from cardio.credential import Holder
from cardio.jwk import b64u_decode
from cardio.presentation import verify_wallet
from cardio.published import load_verifier
from cardio.verdict import Verdict
from kiosk.demo import synthetic_portrait
from kiosk.programs import load_program
from kiosk.registry_options import RegistryOptions
from kiosk.simulate import simulated_station
from kiosk.wallet_offer import offer_of
from kiosk.web.adapters import StationJobs

from .test_kiosk_web import FAMILY, GIVEN, Kiosk, make_app
from .wallet_server import WalletIssuer, decrypt, fragment, offer_object, take_path


def test_done_page_offers_the_card_for_the_phone(
    tmp_path: Path, holder: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    data = tmp_path / "data"
    with WalletIssuer(tmp_path, holder) as env:
        credential = tmp_path / "kiosk-2.json"
        credential.write_text(env.kiosk.to_json(), "utf-8")
        registry = RegistryOptions(env.url, credential, env.dir / "keys")
        with simulated_station(data, load_program("new-york"), registry=registry) as station:
            jobs = StationJobs(station)
            kiosk = Kiosk(make_app("new-york", job=jobs))
            kiosk.language("es")
            kiosk.about()
            kiosk.details(address="Calle Inventada 12, Queens", eye_colour="hazel", height="163",
                          birth_day="17", birth_month="11", birth_year="1979")  # fmt: skip
            kiosk.documents("passport", "utility-bill")
            photo = synthetic_portrait()
            kiosk.photo(photo)
            kiosk.signature()
            kiosk.attendant()
            kiosk.fee()
            request_id = kiosk.review()
            kiosk.post("/personalise", {"request_id": request_id})
            kiosk.wait_done(30)
            assert kiosk.session().finished, kiosk.session().job
            page = kiosk.get("/done").get_data(as_text=True)

            offer = offer_of(jobs, request_id)
            assert offer is not None
            section = page[page.index('class="wallet-offer"') :]
            assert section.count("<svg") == 2  # our wallet page's QR and the wallet app's
            shown = re.search(r'id="wallet-tx-code">(\d{6})<', section)
            assert shown is not None and shown.group(1) == offer.tx_code
            assert offer.tx_code not in offer.offer_uri
            assert offer_object(offer.offer_uri)["credential_issuer"] == env.url

            # The phone: our wallet page's link opens the card, in the resident's language.
            _pickup_id, key = fragment(offer.wallet_url)
            status, got = env.request("GET", take_path(offer.wallet_url))
            assert status == 200
            package = decrypt(b64u_decode(got["ciphertext"]), key)
            assert package["display"]["language"] == "es"
            verifier, problems = load_verifier(env.dir)
            assert problems == []
            assert verify_wallet(verifier, package["sd_jwt"]).verdict is Verdict.VALID

            # Finish: the kiosk drops the offer with the session.
            kiosk.post("/finish")
            assert offer_of(jobs, request_id) is None
        # The pickup id is the issuer's own row key; the key K and the code it never sees.
        secrets = [FAMILY.encode(), GIVEN.encode(), b"1979-11-17", photo[200:264], key,
                   offer.wallet_url.split("&k=")[1].encode()]  # fmt: skip
        files = [p for root in (data, temp, env.dir) for p in root.rglob("*") if p.is_file()]
        for path in files:
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, (path, secret[:20])
