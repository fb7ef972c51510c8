"""Findings of a review of the kiosk's last step, the phone offer, each held by a test that
failed before its fix. The issuer is real; in front of it, a proxy that passes everything
through but answers a phone offer's upload as a broken or hostile server would.

1. An answer http.client cannot parse (a broken status line, a body cut short) escaped
   `upload` as neither URLError nor OSError: the web kiosk's card job took it for a failure,
   said "the card was not made" for a card that was, and kept the resident's data.
2. `citycard-kiosk demo --api`: an offer that failed after the card was made lost
   verdict.json and the card's number (an error, exit 2, before they were written).
3. A redirect was followed: the kiosk's signed request went to another address, and an
   offer naming any `issuer_url` (not even http) was shown as made.
4. An issuer sending its answer a byte at a time held the card's last step without bound.
5. A failed demo run left the previous resident's phone card in OUT/wallet.
6. An answer that is not JSON was reported as "cannot be reached".
7. The web kiosk kept what belonged to a resident who had left: the credential signed for a
   job that failed afterwards (with the resident's name), and an offer whose upload was still
   under way when the resident finished (its keys and code, never dropped again).
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.cli import main as kiosk_main
from kiosk.wallet_offer import WalletOfferError, upload

from .conftest import fictional_holder
from .wallet_server import WalletIssuer

PICKUPS = "/wallet/pickups"


class Proxy:
    """The issuer at `upstream`, except for POST /wallet/pickups, answered as `mode` says."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.stolen: list[str] = []  # requests that followed a redirect away from the issuer
        self.slow = threading.Event()  # mode "slow": an upload has arrived, and waits
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/steal":
                    proxy.stolen.append(self.command)
                    self._raw(_answer(201, {"expires_at": 2, "issuer_url": "https://evil.example"}))
                elif self.command == "POST" and self.path == PICKUPS and proxy.mode == "slow":
                    proxy.slow.set()
                    time.sleep(1.5)
                    self._forward(body)
                elif self.command == "POST" and self.path == PICKUPS and proxy.mode != "pass":
                    self._broken(proxy.mode)
                else:
                    self._forward(body)

            def _raw(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True

            def _broken(self, mode: str) -> None:
                if mode == "badstatus":
                    self._raw(b"NONSENSE\r\n\r\n")
                elif mode == "incomplete":
                    self._raw(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{\"expires")
                elif mode == "redirect":
                    self._raw(b"HTTP/1.1 302 Found\r\nLocation: /steal\r\nContent-Length: 0\r\n\r\n")
                elif mode == "badurl":
                    self._raw(_answer(201, {"expires_at": 2, "issuer_url": "javascript:alert(1)"}))
                elif mode == "garbage":
                    self._raw(b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\nnot json!")
                elif mode == "drip":  # 200 bytes promised, one every 0.2 s, then given up
                    self.wfile.write(b"HTTP/1.1 201 Created\r\nContent-Length: 200\r\n\r\n")
                    for _ in range(40):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.2)
                    self.close_connection = True

            def _forward(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
                req = urllib.request.Request(
                    proxy.upstream + self.path, data=body or None, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(req, timeout=30) as res:
                        status, answer, kind = res.status, res.read(), res.headers.get("Content-Type")
                except urllib.error.HTTPError as exc:
                    status, answer, kind = exc.code, exc.read(), exc.headers.get("Content-Type")
                    exc.close()
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/octet-stream")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _answer(status: int, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WalletIssuer]:
    with WalletIssuer(tmp_path_factory.mktemp("offer-review"), fictional_holder()) as served:
        yield served


@pytest.fixture
def proxy(env: WalletIssuer) -> Iterator[Proxy]:
    served = Proxy(env.url)
    try:
        yield served
    finally:
        served.close()


@pytest.mark.parametrize("mode", ["badstatus", "incomplete", "redirect", "badurl", "garbage", "drip"])
def test_a_broken_answer_to_an_offer_is_a_sentence(env: WalletIssuer, proxy: Proxy, mode: str) -> None:
    proxy.mode = mode
    started = time.monotonic()
    with pytest.raises(WalletOfferError) as refused:
        upload(proxy.url, env.kiosk, "P" * 22, b"\x00" * 64, timeout=1)
    assert time.monotonic() - started < 5  # the drip: two timeouts at most, not 8 s or more
    assert "the card is made" in str(refused.value).lower()
    assert proxy.stolen == []  # the redirect was not followed
    if mode in ("badurl", "garbage"):
        assert "answered the phone offer with something it never sends" in str(refused.value)


def _demo(data: Path, out: Path, api: str) -> Any:
    args = ["demo", "--program", "zurich", "--profile", "print", "--data", str(data)]
    return CliRunner().invoke(kiosk_main, [*args, "--out", str(out), "--api", api])


def test_the_demo_keeps_its_card_when_the_offer_fails(
    env: WalletIssuer, proxy: Proxy, tmp_path: Path
) -> None:
    data = env.dir.parent  # DATA_DIR/issuer is the served issuer: the demo registers there
    out = tmp_path / "out"
    made = _demo(data, out, proxy.url)  # through the proxy, passing everything: an offer
    assert made.exit_code == 0, made.output
    wallet = out / "wallet"
    assert {p.name for p in wallet.iterdir()} >= {"card.sd-jwt", "card.mdoc", "offer.txt"}
    assert (wallet / "card.sd-jwt").stat().st_mode & 0o777 == 0o600
    assert (out / "verdict.json").stat().st_mode & 0o777 == 0o600

    proxy.mode = "badstatus"
    res = _demo(data, out, proxy.url)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    number = json.loads((out / "verdict.json").read_text("utf-8"))["document_number"]
    assert f"Card {number} made" in res.output
    assert "Error: The issuer at" in res.output and "the card is made" in res.output
    assert (wallet / "card.sd-jwt").is_file() and not (wallet / "offer.txt").exists()

    # A run that fails before its card: the last resident's phone card does not stay behind.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    res = _demo(data, out, f"http://127.0.0.1:{port}")
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert not (out / "verdict.json").exists()
    assert not any((wallet / name).exists() for name in ("card.sd-jwt", "card.mdoc", "holder-key.jwk"))


def test_the_web_kiosk_forgets_what_belonged_to_a_resident_who_left(
    env: WalletIssuer, proxy: Proxy, tmp_path: Path
) -> None:
    from cardio import cose
    from cardio.credential import Credential
    from kiosk.allocator import SignedCard
    from kiosk.programs import load_program
    from kiosk.registry_options import RegistryOptions
    from kiosk.simulate import simulated_station
    from kiosk.web.adapters import StationJobs

    credential = tmp_path / "kiosk.json"
    credential.write_text(env.kiosk.to_json(), "utf-8")
    registry = RegistryOptions(proxy.url, credential, env.dir / "keys")
    print_cose = env.issued.print_cose
    card = SignedCard(
        Credential.from_payload(cose.parse_sign1(print_cose).payload), print_cose, env.card_cose
    )
    with simulated_station(tmp_path / "data", load_program("new-york"), registry=registry) as station:
        jobs = StationJobs(station)
        offers = jobs.offers
        assert offers.signer is not None
        # a job signed its card, then failed (a printer out of order); the resident leaves
        offers.signer._last = card
        jobs.forget("resident-1")
        assert offers.signer.take() is None
        # the resident leaves while the offer of a card made is being uploaded
        offers.signer._last = card
        proxy.mode = "slow"
        got: list[object] = []
        upload = threading.Thread(target=lambda: got.append(offers.made("resident-2", "City", "de")))
        upload.start()
        assert proxy.slow.wait(10)
        jobs.forget("resident-2")
        upload.join(30)
        assert got == [None] and offers.get("resident-2") is None
        assert offers._pending == set()
