"""`citycard-kiosk demo --api URL` leaves the phone offer with a running issuer and writes
OUT/wallet/offer.txt; the offer is still redeemable after the demo has exited. Without --api
there is no offer.txt."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cardio.credential import Holder
from kiosk.cli import main as kiosk_main

from .test_oid4vci import check_received, needs_node, node_wallet
from .wallet_server import WalletIssuer, offer_object


def demo(data: Path, out: Path, *extra: str) -> list[str]:
    args = ["demo", "--program", "zurich", "--profile", "print", "--data", str(data)]
    res = CliRunner().invoke(kiosk_main, [*args, "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    return str(res.output).splitlines()


@needs_node
def test_demo_with_api_writes_a_redeemable_offer(tmp_path: Path, holder: Holder) -> None:
    with WalletIssuer(tmp_path, holder) as env:
        credential = tmp_path / "kiosk-2.json"
        credential.write_text(env.kiosk.to_json(), "utf-8")
        out = tmp_path / "out"
        api = ["--api", env.url, "--kiosk-credential", str(credential)]
        output = demo(tmp_path / "data", out, *api, "--kiosk-key", str(env.dir / "keys"))
        offer_file = out / "wallet" / "offer.txt"
        assert any(line.startswith("Wallet offer (redeemable for 15 minutes):") for line in output)
        assert offer_file.stat().st_mode & 0o777 == 0o600
        uri, tx_code = offer_file.read_text("ascii").splitlines()
        assert uri.startswith("openid-credential-offer://?credential_offer=")
        assert len(tx_code) == 6 and tx_code.isdigit()
        assert offer_object(uri)["credential_issuer"] == env.url
        assert env.store.waiting() == 1
        # The demo has exited; a standard wallet now takes the offer.
        received = node_wallet(uri, tx_code)
        check_received(env.dir, received, tmp_path / "got")
        assert env.store.waiting() == 0

        # Without --api: no offer, and the last run's offer.txt does not linger.
        demo(tmp_path / "data2", out)
        assert not offer_file.exists()
        assert (out / "wallet" / "card.sd-jwt").is_file()


def test_demo_with_api_alone_registers_itself_with_its_own_issuer(tmp_path: Path, holder: Holder) -> None:
    """`demo --api URL` with no --kiosk-credential stopped at "--api needs --kiosk-credential",
    although DATA_DIR/issuer was the very issuer the API served. Now the demo registers itself
    there once as a kiosk (as 'citycard-api kiosk add' would) and keeps the credential; a data
    directory with another issuer gets a sentence saying what to give instead, and no card."""
    with WalletIssuer(tmp_path, holder) as env:  # serves tmp_path/issuer
        kiosks = len(env.issuer.kiosks())
        out = tmp_path / "out"
        output = demo(tmp_path, out, "--api", env.url)
        assert any(line.startswith("Registered as kiosk 'demo-") for line in output), output
        credential = tmp_path / "kiosk" / "api-kiosk.json"
        assert credential.stat().st_mode & 0o777 == 0o600
        assert len(env.issuer.kiosks()) == kiosks + 1
        uri, tx_code = (out / "wallet" / "offer.txt").read_text("ascii").splitlines()
        assert offer_object(uri)["credential_issuer"] == env.url and len(tx_code) == 6
        assert not any(line.startswith("Note: the offer sends wallets") for line in output)
        assert env.store.waiting() == 1
        # the second card: the same account, no new one
        again = demo(tmp_path, tmp_path / "out2", "--api", env.url)
        assert not any(line.startswith("Registered as kiosk") for line in again)
        assert len(env.issuer.kiosks()) == kiosks + 1
        assert env.store.waiting() == 2

        # another issuer's data directory: refused before any number, with what to give
        other = tmp_path / "other"
        demo(other, tmp_path / "o")  # makes other/issuer, a development issuer of its own
        res = CliRunner().invoke(kiosk_main, [
            "demo", "--program", "zurich", "--profile", "print", "--data", str(other),
            "--out", str(tmp_path / "o2"), "--api", env.url,
        ])  # fmt: skip
        assert res.exit_code != 0
        assert f"{other / 'issuer'} is not the issuer at {env.url}" in res.output
        assert "--kiosk-credential FILE and --kiosk-key KEY" in res.output
        assert "Traceback" not in res.output and not (tmp_path / "o2" / "verdict.json").exists()
        assert env.store.waiting() == 2
