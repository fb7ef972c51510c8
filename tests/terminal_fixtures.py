"""Helpers for the reader terminal tests (a helper module, not a test file).

- `live_issuer(dir)`: a development issuer on the real clock (a terminal verifies with it).
- `provision(store, issuer)`: what a technician does: pin the city root key on the terminal.
- `wallet_card(issuer, holder, now)`: the SD-JWT VC of a new card for a phone wallet, and the
  holder's device key.
- `personalised_card(issuer, holder)`: a VirtualType4Card personalised through cardio.chip
  (in-process, below the transport), ready to be presented through vpcd or nfcpy's radio.
- `Acr122Firmware`: stands in for an ACR122U's firmware in front of a card: it answers the
  FF 00 40 LED / buzzer pseudo-APDUs itself (90 <LED state>) and records them.
- `ServedApp`: a Flask app under waitress on 127.0.0.1 in a thread (SSE needs a real server).
- `city_api(issuer)`: the issuer API (the real `api.issuer.server` app when present) on loopback.
- `wait_for(predicate)`: poll until true.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from api.issuer.service import Issued, Issuer
from cardio import cose
from cardio.chip import CardProfile, bind, personalise
from cardio.credential import ChipBinding, Credential, Holder
from cardio.keys import SoftwareSigner
from cardio.published import ROOT_KEY_FILE
from cardio.sdjwt_vc import issue_vc
from hardware.local import LocalConnection
from hardware.virtual_t4t import VirtualType4Card

from .conftest import synthetic_photo
from .issuer_http import IssuerHttp

T = TypeVar("T")


def live_issuer(directory: Path, now: int | None = None) -> Issuer:
    """An issuer whose keys cover the real clock (its lists are fresh when published now)."""
    return Issuer.init(directory, now=int(time.time()) - 120 if now is None else now)


def provision(store: Path, issuer: Issuer) -> Path:
    """Pin the city root key on a terminal: copy root-key.pem into its trust directory."""
    store.mkdir(parents=True, exist_ok=True)
    shutil.copy(issuer.dir / "public" / ROOT_KEY_FILE, store / ROOT_KEY_FILE)
    return store


def wallet_card(issuer: Issuer, holder: Holder, now: int) -> tuple[str, SoftwareSigner]:
    """The SD-JWT VC (every disclosure) of a card `issuer` makes for `holder`, with a photo, a
    minute before `now` and publishes, and the holder's device key it is bound to."""
    chip = ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6"))
    issued = issuer.issue(replace(holder, photo=synthetic_photo()), None, chip, now=now - 60)
    issuer.publish()
    assert issued.chip_cose is not None
    card = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
    device = SoftwareSigner.generate()
    return issue_vc(issuer.keystore.signer("kiosk-1"), card, device.public_key).compact(), device


def personalised_card(
    issuer: Issuer, holder: Holder, profile: str = "t4t", now: int | None = None
) -> tuple[VirtualType4Card, Issued]:
    """A chip personalised with a photo, bound to its UID; the issuer is published after."""
    card = VirtualType4Card(profile=profile)
    conn = LocalConnection(card)
    issued = issuer.issue(
        replace(holder, photo=synthetic_photo(3072)),
        chip_binding=bind(conn, CardProfile(profile)),
        now=int(time.time()) - 60 if now is None else now,
    )
    assert issued.chip_cose is not None
    personalise(conn, issued.chip_cose)
    conn.close()
    card.power_off()
    issuer.publish()
    return card, issued


class Acr122Firmware:
    """An ACR122U in front of a card: FF 00 40 is the reader's, everything else the card's."""

    def __init__(self, card: VirtualType4Card) -> None:
        self.card = card
        self.feedback: list[bytes] = []

    @property
    def uid(self) -> bytes:
        return self.card.uid

    @property
    def atr(self) -> bytes:
        return self.card.atr

    @property
    def historical_bytes(self) -> bytes:
        return self.card.historical_bytes

    def power_on(self) -> bytes:
        return self.card.power_on()

    def power_off(self) -> None:
        self.card.power_off()

    def process(self, apdu: bytes) -> bytes:
        if apdu[:3] == b"\xff\x00\x40":
            self.feedback.append(bytes(apdu))
            return b"\x90" + bytes((apdu[3] & 0x03,))
        return self.card.process(apdu)


class ServedApp:
    """A WSGI app served by waitress on 127.0.0.1 (port chosen by the OS) in a thread."""

    def __init__(self, app: Any, threads: int = 6) -> None:
        import waitress.server

        self.server: Any = waitress.server.create_server(
            app, host="127.0.0.1", port=0, threads=threads, ident="citycard-test"
        )
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.effective_port}"

    def __enter__(self) -> ServedApp:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(quiet=exc_type is not None)

    def stop(self, quiet: bool = False) -> None:
        """Close the port and every open connection (kept-alive ones and SSE streams too).

        The closing runs on the server's own loop thread (through its trigger), which then
        ends because nothing is left to serve. A problem found on the way fails the test,
        unless `quiet` (its body failed already: that failure is the one to read, and the
        problem is logged beside it)."""
        if self._stopped:
            return
        self._stopped = True
        server = self.server

        def close_everything() -> None:
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()
            server.close()

        # waitress closes its own server (and trigger) after an uncaptured exception in its
        # listener, which it logs ("uncaptured python exception, closing channel"): that fails
        # the test. A trigger whose write descriptor is gone was closed by someone else in this
        # process (seen a few times in dozens of runs, in the wallet tests' teardown; whose
        # double close it is is not known yet, see _closed_by_someone_else). Then either the
        # loop has read the pipe's end and closed the trigger, leaving the server open, or it
        # has not yet and pulling the trigger meets EBADF.
        problem = None
        if server not in list(server._map.values()):
            problem = "waitress had already closed the server"
        elif server.trigger._closed:
            self._closed_by_someone_else("the loop read the end of its pipe and closed it")
        else:
            try:
                server.trigger.pull_trigger(close_everything)
            except OSError as exc:
                self._closed_by_someone_else(str(exc))
        self._thread.join(5)
        server.task_dispatcher.shutdown(timeout=5)
        if problem is not None:
            problem = f"{problem}; see the 'waitress' log lines captured with this test"
            if not quiet:
                raise AssertionError(problem)
            logging.getLogger("tests.served_app").warning("on stopping the server: %s", problem)

    def _closed_by_someone_else(self, what: str) -> None:
        """The loop cannot be woken through its trigger: empty its map, so that it ends at its
        next turn (waitress's loop runs while the map has channels; it wakes every second),
        then close the channels here. The test passed or failed on its own; this is the
        harness's teardown, so it is logged (with the descriptor's number), not failed."""
        server = self.server
        channels = list(server._map.values())
        server._map.clear()
        self._thread.join(5)
        for channel in channels:
            with contextlib.suppress(OSError):  # the trigger's own close meets the same EBADF
                channel.close()
        logging.getLogger("tests.served_app").warning(
            "on stopping the server: its trigger's write descriptor %s was closed by someone "
            "else in this process (%s); the server was stopped without it",
            server.trigger.trigger,
            what,
        )


@contextlib.contextmanager
def city_api(issuer: Issuer) -> Iterator[Any]:
    """The city's issuer API for `issuer`, on loopback: the real app (api.issuer.server.create_app)
    under waitress when it is there, else the stand-in `IssuerHttp` with the same public paths.
    Either has `.url` and `.stop()`."""
    try:
        from api.issuer.server import create_app
        from api.phone import blueprint as phone_pages
    except ImportError:
        with IssuerHttp(issuer.dir / "public") as server:
            yield server
        return
    with ServedApp(create_app(issuer.dir, pages=[phone_pages()])) as served:
        yield served


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
